//! `hms-ffi serve --security` with a `[tls]` table on grpcs://, https:// and wss://, and
//! `hms-ffi call`/`list` with the client's TLS settings in the URI query (`?ca=…&cert=…&key=…`).
//! Certificates are made at test time by rcgen.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Stdio;

use common::{audit_lines, bin, free_port, proto, run, text, wait_for_ports, Serve};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, SanType,
};

/// Writes `ca.pem`, `server.pem`/`server.key` (localhost, 127.0.0.1) and `client.pem`/
/// `client.key` (URI SAN `spiffe://example.org/cli`) into `dir`.
fn make_certs(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "cli test CA");
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    let leaves = [
        (
            "server",
            vec!["localhost".to_string(), "127.0.0.1".to_string()],
            false,
        ),
        ("client", vec![], true),
    ];
    for (name, sans, client) in leaves {
        let mut p = CertificateParams::new(sans).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        if client {
            let uri = "spiffe://example.org/cli".try_into().unwrap();
            p.subject_alt_names.push(SanType::URI(uri));
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
}

#[test]
fn serve_and_call_over_grpcs_https_and_wss() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_certs(d);
    let security = d.join("security.toml");
    let audit = d.join("audit.jsonl");
    std::fs::write(
        &security,
        format!(
            "[tls]\ncert_file = {:?}\nkey_file = {:?}\nclient_ca_file = {:?}\n\
             [audit]\nfile = {:?}\n",
            d.join("server.pem"),
            d.join("server.key"),
            d.join("ca.pem"),
            audit
        ),
    )
    .unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let uris: Vec<String> = ["grpcs", "https", "wss"]
        .iter()
        .zip(ports)
        .map(|(s, p)| format!("{s}://127.0.0.1:{p}"))
        .collect();
    let mut cmd = bin();
    cmd.args(["serve", "--echo", "--schema"])
        .arg(proto())
        .arg("--security")
        .arg(&security);
    for u in &uris {
        cmd.args(["--listen", u]);
    }
    // Dropping it kills the server, also when an assertion fails.
    let _server = Serve(cmd.stderr(Stdio::null()).spawn().unwrap());
    assert!(wait_for_ports(&ports), "hms-ffi serve did not listen");

    let ca = d.join("ca.pem");
    let (cert, key) = (d.join("client.pem"), d.join("client.key"));
    for uri in &uris {
        let with_cert = format!(
            "{uri}?ca={}&cert={}&key={}",
            ca.display(),
            cert.display(),
            key.display()
        );
        let out = run(&["list", &with_cert]);
        assert!(out.status.success(), "{uri}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Conformance/Echo("), "{uri}");
        let out = run(&[
            "call",
            &with_cert,
            "hms.conformance.v1.Conformance/Echo",
            r#"{"unicodeText": "over TLS"}"#,
            "--timeout",
            "5",
        ]);
        assert!(out.status.success(), "{uri}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), r#"{"unicodeText":"over TLS"}"#);
        // Without a client certificate: refused, with the code on stderr.
        let out = run(&["list", &format!("{uri}?ca={}", ca.display())]);
        assert!(!out.status.success(), "{uri}");
        assert!(
            text(&out.stderr).contains("UNAUTHENTICATED"),
            "{uri}: {}",
            text(&out.stderr)
        );
    }
    let lines = audit_lines(&audit, 9);
    let echoed: Vec<_> = lines
        .iter()
        .filter(|l| l["method"] == "hms.conformance.v1.Conformance/Echo")
        .collect();
    assert_eq!(echoed.len(), 3, "{lines:?}");
    for l in echoed {
        assert_eq!(l["identity"], "spiffe://example.org/cli", "{l}");
        assert_eq!(l["code"], "OK");
    }
}
