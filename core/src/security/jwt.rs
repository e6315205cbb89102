//! Bearer-token authentication: a signed JWT (HS256 or ES256) in the `authorization: Bearer …`
//! metadata, with its signature, issuer, audience and expiry checked. The caller's identity is
//! the token's `sub`. A missing (where required) or bad token is `Unauthenticated`.

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::error::{Code, Error, Result};
use crate::interceptor::Interceptor;
use crate::peer::is_network;

/// Where a bearer token is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Required {
    /// On `grpc`, `http` and `ws`; local callers may omit it (their uid identifies them).
    #[default]
    Network,
    /// On every transport.
    Always,
    /// Never: a token is checked when present.
    Never,
}

/// How bearer tokens are checked (the `[jwt]` table of a security file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// `HS256` (shared secret) or `ES256` (P-256 public key).
    pub algorithm: String,
    /// The HS256 secret, as text.
    pub secret: Option<String>,
    /// A file holding the HS256 secret.
    pub secret_file: Option<PathBuf>,
    /// The ES256 public key, PEM text.
    pub public_key_pem: Option<String>,
    /// A file holding the ES256 public key (PEM).
    pub public_key_file: Option<PathBuf>,
    /// The `iss` a token must carry.
    pub issuer: Option<String>,
    /// The `aud` a token must carry.
    pub audience: Option<String>,
    /// Where a token is required.
    #[serde(default)]
    pub required: Required,
    /// Clock skew allowed on `exp`/`nbf`, in seconds.
    #[serde(default)]
    pub leeway_seconds: u64,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

pub(super) fn bad_config(msg: impl Into<String>) -> Error {
    Error::new(Code::InvalidArgument, msg).with_reason("BAD_SECURITY_CONFIG")
}

fn read(path: &PathBuf) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| bad_config(format!("cannot read {}: {e}", path.display())))
}

/// The interceptor checking bearer tokens.
pub(crate) struct JwtAuth {
    key: DecodingKey,
    validation: Validation,
    required: Required,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuth")
            .field("algorithms", &self.validation.algorithms)
            .field("required", &self.required)
            .finish()
    }
}

impl JwtAuth {
    pub(crate) fn new(c: &JwtConfig) -> Result<JwtAuth> {
        let (alg, key) = match c.algorithm.to_ascii_uppercase().as_str() {
            "HS256" => {
                let secret = match (&c.secret, &c.secret_file) {
                    (Some(s), _) => s.as_bytes().to_vec(),
                    (None, Some(p)) => read(p)?,
                    (None, None) => return Err(bad_config("HS256 needs secret or secret_file")),
                };
                if secret.len() < 32 {
                    return Err(bad_config("the HS256 secret must be at least 32 bytes"));
                }
                (Algorithm::HS256, DecodingKey::from_secret(&secret))
            }
            "ES256" => {
                let pem = match (&c.public_key_pem, &c.public_key_file) {
                    (Some(s), _) => s.as_bytes().to_vec(),
                    (None, Some(p)) => read(p)?,
                    (None, None) => {
                        return Err(bad_config("ES256 needs public_key_pem or public_key_file"))
                    }
                };
                let key = DecodingKey::from_ec_pem(&pem)
                    .map_err(|e| bad_config(format!("ES256 public key: {e}")))?;
                (Algorithm::ES256, key)
            }
            other => {
                return Err(bad_config(format!(
                    "jwt algorithm {other:?} is not supported (HS256, ES256)"
                )))
            }
        };
        let mut validation = Validation::new(alg);
        validation.leeway = c.leeway_seconds;
        validation.validate_exp = true;
        let mut required = vec!["exp", "sub"];
        match &c.issuer {
            Some(iss) => {
                validation.set_issuer(&[iss]);
                required.push("iss");
            }
            None => return Err(bad_config("jwt needs an issuer")),
        }
        match &c.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                required.push("aud");
            }
            None => return Err(bad_config("jwt needs an audience")),
        }
        validation.set_required_spec_claims(&required);
        Ok(JwtAuth {
            key,
            validation,
            required: c.required,
        })
    }

    fn required_on(&self, transport: &str) -> bool {
        match self.required {
            Required::Always => true,
            Required::Network => is_network(transport),
            Required::Never => false,
        }
    }
}

/// The token of an `authorization: Bearer <token>` value.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl Interceptor for JwtAuth {
    fn before(&self, ctx: &mut Context) -> Result<()> {
        let Some(value) = ctx.metadata().get("authorization").map(str::to_string) else {
            if self.required_on(ctx.transport()) {
                return Err(Error::new(
                    Code::Unauthenticated,
                    format!(
                        "a bearer token is required over {} (authorization: Bearer …)",
                        ctx.transport()
                    ),
                )
                .with_reason("MISSING_CREDENTIAL"));
            }
            return Ok(());
        };
        let refused = |why: String| {
            Error::new(
                Code::Unauthenticated,
                format!("bearer token refused: {why}"),
            )
            .with_reason("BAD_CREDENTIAL")
        };
        let token = bearer(&value).ok_or_else(|| refused("not a Bearer token".into()))?;
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| refused(e.to_string()))?;
        if data.claims.sub.is_empty() {
            return Err(refused("empty sub".into()));
        }
        ctx.set_identity(data.claims.sub);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_values_parse() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
    }
}
