//! Decentralized NATS authentication for a test: an operator, an account it signs and user
//! credentials files the account signs, written as nats-server and `nsc` write them (JWTs
//! signed with ed25519 nkeys, `alg: ed25519-nkey`), and the server configuration that trusts
//! the operator and preloads the account (`resolver: MEMORY`).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use nkeys::KeyPair;
use serde_json::{json, Value};

pub(crate) struct Operator {
    dir: PathBuf,
    operator: KeyPair,
    account: KeyPair,
}

/// A JWT of `claims` about `subject`, issued and signed by `issuer`.
fn encode(issuer: &KeyPair, subject: &str, name: &str, nats: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "ed25519-nkey"}).to_string());
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "jti": format!("T{iat}{}", &subject[1..12]),
        "iat": iat,
        "iss": issuer.public_key(),
        "name": name,
        "sub": subject,
        "nats": nats,
    });
    let body = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = URL_SAFE_NO_PAD.encode(issuer.sign(body.as_bytes()).unwrap());
    format!("{body}.{signature}")
}

impl Operator {
    /// A new operator and its account, their JWTs written under `dir`.
    pub(crate) fn new(dir: &Path) -> Operator {
        std::fs::create_dir_all(dir).unwrap();
        let operator = KeyPair::new_operator();
        let account = KeyPair::new_account();
        let op_jwt = encode(
            &operator,
            &operator.public_key(),
            "test-operator",
            json!({"type": "operator", "version": 2}),
        );
        std::fs::write(dir.join("operator.jwt"), op_jwt).unwrap();
        Operator {
            dir: dir.to_path_buf(),
            operator,
            account,
        }
    }

    /// The configuration lines of a nats-server that trusts this operator and knows its account.
    pub(crate) fn server_config(&self) -> String {
        let limits = json!({
            "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
            "wildcards": true, "conn": -1, "leaf": -1
        });
        let account_jwt = encode(
            &self.operator,
            &self.account.public_key(),
            "test-account",
            json!({"limits": limits, "type": "account", "version": 2}),
        );
        format!(
            "operator: {:?}\nresolver: MEMORY\nresolver_preload: {{ {}: {:?} }}\n",
            self.dir.join("operator.jwt"),
            self.account.public_key(),
            account_jwt
        )
    }

    /// A credentials file for a new user of the account, written under `dir`.
    pub(crate) fn user_creds(&self, dir: &Path, name: &str) -> PathBuf {
        let user = KeyPair::new_user();
        let nats = json!({
            "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
            "type": "user", "version": 2
        });
        let jwt = encode(&self.account, &user.public_key(), name, nats);
        let text = format!(
            "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\
             NKEYs are sensitive and should be treated as secrets.\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
             *************************************************************\n",
            user.seed().unwrap()
        );
        let path = dir.join(format!("{name}.creds"));
        std::fs::write(&path, text).unwrap();
        path
    }
}
