"""TLS and mutual TLS against stock peers: a grpcio client with ssl_channel_credentials calls the
hms-ffi CLI's grpcs:// server, real curl (--cacert --cert --key) calls its https:// Connect
endpoint, and the Python binding connects with the settings in the URI query. Certificates are
made at test time with the `cryptography` package; the client identity is checked in the audit log."""

from __future__ import annotations

import datetime
import ipaddress
import json
import pathlib
import shutil
import socket
import subprocess
import time
from typing import Iterator

import grpc
import pytest

import hms_ffi
from conftest import free_port

# `make test-interop` installs cryptography; without it every test here fails (never skips), so
# a run that could not make certificates cannot pass as one that checked TLS.
try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as e:  # pragma: no cover - the failure is reported by the fixture
    CRYPTOGRAPHY_MISSING: ImportError | None = e
else:
    CRYPTOGRAPHY_MISSING = None

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = ROOT / "target" / "debug" / "hms-ffi"
PROTO = ROOT / "tests" / "conformance" / "conformance.proto"
SERVICE = "hms.conformance.v1.Conformance"
CLIENT_ID = "spiffe://example.org/interop"
CURL = shutil.which("curl")


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(subject: str, issuer: tuple | None, *, ca: bool = False, sans: list | None = None, usage=None):
    """A certificate and its key, signed by `issuer` (certificate, key) or self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    signer_cert, signer_key = issuer if issuer else (None, key)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(signer_cert.subject if signer_cert else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if usage:
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return b.sign(signer_key, hashes.SHA256()), key


def _write(directory: pathlib.Path, name: str, cert, key) -> tuple[pathlib.Path, pathlib.Path]:
    c, k = directory / f"{name}.pem", directory / f"{name}.key"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return c, k


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`hms-ffi serve --echo` on grpcs:// and https:// with mutual TLS and an audit log."""
    if CRYPTOGRAPHY_MISSING is not None:
        pytest.fail(f"the TLS interop tests need the cryptography package (pip install cryptography): {CRYPTOGRAPHY_MISSING}")
    if not CLI.exists():
        pytest.fail(f"{CLI} is not built (cargo build -p hms-ffi-cli)")
    d = tmp_path_factory.mktemp("tls")
    ca = _issue("interop CA", None, ca=True)
    ca_pem, _ = _write(d, "ca", *ca)
    server = _issue("server", ca, sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], usage=ExtendedKeyUsageOID.SERVER_AUTH)
    server_pem, server_key = _write(d, "server", *server)
    client = _issue("interop client", ca, sans=[x509.UniformResourceIdentifier(CLIENT_ID)], usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    client_pem, client_key = _write(d, "client", *client)
    rogue_ca = _issue("rogue CA", None, ca=True)
    rogue = _issue("rogue client", rogue_ca, sans=[x509.UniformResourceIdentifier(CLIENT_ID)], usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    rogue_pem, rogue_key = _write(d, "rogue", *rogue)
    audit = d / "audit.jsonl"
    security = d / "security.toml"
    security.write_text(f'[tls]\ncert_file = "{server_pem}"\nkey_file = "{server_key}"\nclient_ca_file = "{ca_pem}"\n[audit]\nfile = "{audit}"\n')
    grpcs, https = free_port(), free_port()
    proc = subprocess.Popen(
        [str(CLI), "serve", "--echo", "--schema", str(PROTO), "--security", str(security), "--listen", f"grpcs://127.0.0.1:{grpcs}", "--listen", f"https://127.0.0.1:{https}"],
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            for p in (grpcs, https):
                socket.create_connection(("127.0.0.1", p), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("hms-ffi serve did not listen")
    yield {
        "grpcs": f"127.0.0.1:{grpcs}",
        "https": f"https://127.0.0.1:{https}",
        "ca": ca_pem,
        "cert": client_pem,
        "key": client_key,
        "rogue": (rogue_pem, rogue_key),
        "server": (server_pem, server_key),
        "audit": audit,
    }
    proc.terminate()
    proc.wait(timeout=10)


def _audit_lines(path: pathlib.Path, want: int) -> list[dict]:
    for _ in range(100):
        lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        if len(lines) >= want:
            return lines
        time.sleep(0.02)
    return lines


def _grpcio_channel(srv: dict, with_cert: bool = True) -> grpc.Channel:
    creds = grpc.ssl_channel_credentials(
        root_certificates=srv["ca"].read_bytes(),
        private_key=srv["key"].read_bytes() if with_cert else None,
        certificate_chain=srv["cert"].read_bytes() if with_cert else None,
    )
    return grpc.secure_channel(srv["grpcs"], creds)


def test_grpcio_client_with_a_certificate_is_served_under_its_identity(stubs, tls_server) -> None:
    pb2, pb2_grpc = stubs
    with _grpcio_channel(tls_server) as ch:
        reply = pb2_grpc.ConformanceStub(ch).Echo(pb2.AllTypes(unicode_text="grpcio over TLS"), timeout=5)
    assert reply.unicode_text == "grpcio over TLS"
    lines = _audit_lines(tls_server["audit"], 1)
    mine = [entry for entry in lines if entry["transport"] == "grpcs" and entry["code"] == "OK"]
    assert mine and all(entry["identity"] == CLIENT_ID for entry in mine), lines


def test_grpcio_client_without_a_certificate_is_unauthenticated(stubs, tls_server) -> None:
    pb2, pb2_grpc = stubs
    with _grpcio_channel(tls_server, with_cert=False) as ch, pytest.raises(grpc.RpcError) as info:
        pb2_grpc.ConformanceStub(ch).Echo(pb2.AllTypes(unicode_text="x"), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, info.value
    assert "client certificate" in info.value.details()


def _curl(tls_server: dict, *cert_args: str) -> subprocess.CompletedProcess:
    args = [str(CURL), "-sS", "-X", "POST", "-H", "Content-Type: application/json", "-H", "Connect-Protocol-Version: 1", "--data-binary", '{"unicodeText": "curl over TLS"}', "--cacert", str(tls_server["ca"]), "-w", "\n%{http_code}", *cert_args, f"{tls_server['https']}/{SERVICE}/Echo"]
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(CURL is None, reason="curl is not installed (apt-get install curl)")
def test_curl_with_a_certificate_calls_the_https_connect_endpoint(tls_server) -> None:
    done = _curl(tls_server, "--cert", str(tls_server["cert"]), "--key", str(tls_server["key"]))
    assert done.returncode == 0, done.stderr
    body, status = done.stdout.rsplit("\n", 1)
    assert status == "200" and json.loads(body)["unicodeText"] == "curl over TLS"
    # Without a certificate: Connect's unauthenticated error (HTTP 401).
    done = _curl(tls_server)
    body, status = done.stdout.rsplit("\n", 1)
    assert status == "401" and json.loads(body)["code"] == "unauthenticated", done.stdout
    # A certificate from another CA: the handshake fails, the server keeps serving.
    rogue_cert, rogue_key = tls_server["rogue"]
    assert _curl(tls_server, "--cert", str(rogue_cert), "--key", str(rogue_key)).returncode != 0
    assert _curl(tls_server, "--cert", str(tls_server["cert"]), "--key", str(tls_server["key"])).returncode == 0


def test_python_binding_takes_tls_settings_from_the_uri(tls_server) -> None:
    q = f"?ca={tls_server['ca']}&cert={tls_server['cert']}&key={tls_server['key']}"
    for uri in (f"grpcs://{tls_server['grpcs']}{q}", f"{tls_server['https']}{q}"):
        client = hms_ffi.connect(uri)
        assert client.call(f"{SERVICE}/Echo", {"unicode_text": "py"})["unicode_text"] == "py"
    with pytest.raises(hms_ffi.Unauthenticated):
        hms_ffi.connect(f"grpcs://{tls_server['grpcs']}?ca={tls_server['ca']}")


def test_python_server_takes_tls_from_its_security_file(tls_server, tmp_path: pathlib.Path) -> None:
    cert, key = tls_server["server"]
    security = tmp_path / "py-security.toml"
    security.write_text(f'[tls]\ncert_file = "{cert}"\nkey_file = "{key}"\nclient_ca_file = "{tls_server["ca"]}"\n')
    server = hms_ffi.Server(hms_ffi.Schema.load(PROTO), security=str(security))
    seen = []

    @server.method(f"{SERVICE}/Echo")
    def echo(req, ctx):
        seen.append((ctx.identity, ctx.transport))
        cert = ctx.peer_certificate
        seen.append((cert["identity"], cert["subject"] != "", cert["der"][:1]))
        return req

    uri = server.listen("wss://127.0.0.1:0")
    try:
        client = hms_ffi.connect(f"{uri}?ca={tls_server['ca']}&cert={tls_server['cert']}&key={tls_server['key']}")
        assert client.call(f"{SERVICE}/Echo", {"unicode_text": "py server"})["unicode_text"] == "py server"
        # The certificate itself: its identity, subject and DER (a SEQUENCE, 0x30).
        assert seen == [(CLIENT_ID, "wss"), (CLIENT_ID, True, b"\x30")]
    finally:
        server.shutdown()
