//! How hms-ffi reaches a nats-server that asks for credentials or TLS: the user part and the
//! query of `nats://[CREDENTIALS@]host:port/PREFIX[?OPTIONS]` (specified in
//! `docs/messaging.md`, "Credentials and TLS"), turned into async-nats's connect options.
//!
//! One parser for every use of a nats-server (RPC servers and clients, the bus, JetStream), so
//! every binding gets the same options from the URI it already passes. Files named in the URI
//! are read when the connection is made, not when the URI is parsed.

use std::path::PathBuf;

use super::tls::percent_decode;
use super::{ClientTlsConfig, TlsTarget};
use crate::error::{Code, Error, Result};

/// How to prove who we are to the nats-server. At most one per URI, as nats-server checks one.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum NatsAuth {
    /// No credentials.
    #[default]
    None,
    /// `nats://user:password@host:port`.
    UserPassword(String, String),
    /// `nats://token@host:port`.
    Token(String),
    /// `?creds=FILE`: a credentials file (a user JWT and its nkey seed, as `nsc` writes it).
    CredsFile(PathBuf),
    /// `?nkey=FILE`: a file holding an nkey seed (`SU…`), as `nk -gen user` writes it.
    NkeyFile(PathBuf),
}

// Secrets stay out of logs and error messages.
impl std::fmt::Debug for NatsAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NatsAuth::None => f.write_str("None"),
            NatsAuth::UserPassword(user, _) => write!(f, "UserPassword({user:?}, \"***\")"),
            NatsAuth::Token(_) => f.write_str("Token(\"***\")"),
            NatsAuth::CredsFile(p) => write!(f, "CredsFile({p:?})"),
            NatsAuth::NkeyFile(p) => write!(f, "NkeyFile({p:?})"),
        }
    }
}

/// Credentials and TLS for a nats-server connection, from a `nats://` URI.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NatsConnect {
    /// The credentials.
    pub auth: NatsAuth,
    /// TLS settings (`?ca=`, `?cert=`, `?key=`) when the URI asks for TLS (those or `?tls=true`);
    /// `None`: TLS only if the nats-server requires it, trusting the public web roots.
    pub tls: Option<ClientTlsConfig>,
}

impl NatsConnect {
    /// Parses the user part (before `@`, percent-encoded) and the query (after `?`).
    pub(crate) fn parse(
        userinfo: Option<&str>,
        query: Option<&str>,
    ) -> std::result::Result<Self, String> {
        let decode = |what: &str, v: &str| {
            percent_decode(v).ok_or_else(|| format!("bad percent-encoding in the NATS {what}"))
        };
        let mut auth = match userinfo {
            None => NatsAuth::None,
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => {
                    NatsAuth::UserPassword(decode("user", user)?, decode("password", pass)?)
                }
                None => NatsAuth::Token(decode("token", u)?),
            },
        };
        if matches!(&auth, NatsAuth::Token(t) | NatsAuth::UserPassword(t, _) if t.is_empty()) {
            return Err("an empty NATS user or token before '@'".into());
        }
        // `ca`, `cert` and `key` are the TLS query of `grpcs://` and its kin: its parser reads
        // them; the rest is NATS's own.
        let (mut tls_pairs, mut tls_flag) = (Vec::new(), None);
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if matches!(k, "ca" | "cert" | "key") {
                tls_pairs.push(pair);
                continue;
            }
            let v = decode(k, v)?;
            let mut set_auth = |a: NatsAuth| {
                if auth != NatsAuth::None {
                    return Err(format!(
                        "one kind of NATS credentials per URI: ?{k}= with {auth:?} already given"
                    ));
                }
                auth = a;
                Ok(())
            };
            match k {
                "creds" => set_auth(NatsAuth::CredsFile(v.into()))?,
                "nkey" => set_auth(NatsAuth::NkeyFile(v.into()))?,
                "tls" => match v.as_str() {
                    "true" | "1" => tls_flag = Some(true),
                    "false" | "0" => tls_flag = Some(false),
                    _ => return Err(tls_values(&v)),
                },
                _ => {
                    return Err(format!(
                        "unknown NATS parameter {k:?} (expected creds, nkey, ca, cert, key, tls)"
                    ))
                }
            }
        }
        let tls = TlsTarget::parse("", Some(&tls_pairs.join("&")))?.tls;
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return Err("a NATS client certificate needs both ?cert= and ?key=".into());
        }
        let want_tls = match tls_flag {
            Some(false) if !tls_pairs.is_empty() => return Err(tls_values("false")),
            Some(flag) => flag || !tls_pairs.is_empty(),
            None => !tls_pairs.is_empty(),
        };
        Ok(NatsConnect {
            auth,
            tls: want_tls.then_some(tls),
        })
    }

    /// async-nats's options with these credentials and TLS settings; reads the files.
    pub(crate) async fn options(&self) -> Result<async_nats::ConnectOptions> {
        let mut options = match &self.auth {
            NatsAuth::None => async_nats::ConnectOptions::new(),
            NatsAuth::UserPassword(user, pass) => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), pass.clone())
            }
            NatsAuth::Token(token) => async_nats::ConnectOptions::with_token(token.clone()),
            NatsAuth::CredsFile(path) => async_nats::ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|e| credentials_error("credentials file", path, &e))?,
            NatsAuth::NkeyFile(path) => {
                let text = tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| credentials_error("nkey seed file", path, &e))?;
                let seed = seed_of(&text).ok_or_else(|| {
                    bad_credentials(format!(
                        "nkey seed file {}: no seed (a line starting with SU)",
                        path.display()
                    ))
                })?;
                async_nats::ConnectOptions::with_nkey(seed)
            }
        };
        if let Some(tls) = &self.tls {
            options = options
                .require_tls(true)
                .tls_client_config(std::sync::Arc::unwrap_or_clone(tls.build(&[])?));
        }
        Ok(options)
    }
}

fn tls_values(given: &str) -> String {
    format!("?tls= takes true or false (without ca/cert/key), not {given:?}")
}

/// The first nkey user seed in `text` (a seed file, or the seed part of a credentials file).
fn seed_of(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("SU") && l.len() > 50)
        .map(str::to_string)
}

fn bad_credentials(message: String) -> Error {
    Error::new(Code::InvalidArgument, message).with_reason("BAD_NATS_CREDENTIALS")
}

fn credentials_error(what: &str, path: &std::path::Path, e: &std::io::Error) -> Error {
    bad_credentials(format!("NATS {what} {}: {e}", path.display()))
}

/// The error for a connection the nats-server refused or could not secure: `UNAUTHENTICATED`
/// for credentials it did not accept, `UNAVAILABLE` for the rest (unreachable, TLS failed).
pub(crate) fn connect_error(authority: &str, e: &async_nats::ConnectError) -> Error {
    use async_nats::ConnectErrorKind as Kind;
    match e.kind() {
        Kind::AuthorizationViolation | Kind::Authentication => Error::new(
            Code::Unauthenticated,
            format!("nats://{authority} refused our credentials: {e}"),
        )
        .with_reason("NATS_AUTH_FAILED"),
        kind if kind == Kind::Tls || (kind == Kind::Io && rustls_failed(e)) => {
            Error::unavailable(format!("TLS to nats://{authority}: {e}"))
                .with_reason("NATS_TLS_FAILED")
        }
        _ => Error::unavailable(format!("cannot reach nats://{authority}: {e}"))
            .with_reason("CONNECT_FAILED"),
    }
}

/// Whether the error comes from rustls (async-nats reports a failed handshake as an I/O error).
fn rustls_failed(e: &async_nats::ConnectError) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let inner = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        if s.is::<rustls::Error>() || inner.is_some_and(|i| i.is::<rustls::Error>()) {
            return true;
        }
        source = s.source();
    }
    false
}
