"""The client against hostile servers (issue #12, client-transport findings 1, 3, 4, 5, 9, 11 and RFC 7030
§3.2.3): real TLS on 127.0.0.1 (tests/client/hostile_server.py), the sync and the async client each time.

Every test bounds the client by counts the server saw (requests, connections, dripped bytes), never by time;
every wait here is a bounded poll."""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from estclient import AsyncEstClient, EstClient
from estclient.config import EstClientConfig, HttpAuth, TrustAnchors
from estclient.errors import (
    AuthenticationRequired,
    ConfigError,
    EstError,
    PendingTimeout,
    TlsConfigError,
    TransportError,
)
from hostile_server import HostileServer, Reply

MODES = ["sync", "async"]


def run(mode: str, config: EstClientConfig, op: Callable[[Any], Any]) -> Any:
    """``op(client)`` on a fresh sync client, or awaited on a fresh async client."""
    if mode == "sync":
        with EstClient(config) as client:
            return op(client)

    async def main() -> Any:
        async with AsyncEstClient(config) as client:
            return await op(client)

    return asyncio.run(main())


def config_for(srv: HostileServer, **kw: Any) -> EstClientConfig:
    return EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem), **kw)


def csr_der() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hostile-test")]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.DER)


def certs_only_body(*pems: bytes) -> bytes:
    certs = [x509.load_pem_x509_certificate(p) for p in pems]
    return base64.b64encode(pkcs7.serialize_certificates(certs, serialization.Encoding.DER))


PKCS7 = ("Content-Type", "application/pkcs7-mime; smime-type=certs-only")


# ------------------------------------------------------------------------ finding 1: no trust by typo


@pytest.mark.parametrize("kind", ["insecure", "none", "System", "", "explicit"])
def test_unknown_or_incomplete_trust_kind_is_refused_when_made(kind: str) -> None:
    with pytest.raises(ConfigError):
        TrustAnchors(kind)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        dataclasses.replace(TrustAnchors.system(), kind=kind)


@pytest.mark.parametrize("mode", MODES)
def test_forged_trust_kind_never_connects_unverified(mode: str) -> None:
    # Even a TrustAnchors whose kind was changed behind the constructor's back gives no unverified TLS:
    # nothing reaches the server, in particular no Basic credentials.
    with HostileServer(Reply(200, [PKCS7], b"")) as srv:
        trust = TrustAnchors.system()
        object.__setattr__(trust, "kind", "insecure")
        assert not trust.verified
        cfg = EstClientConfig(srv.url, trust=trust, http_auth=HttpAuth("user", "secret"))
        with pytest.raises(TlsConfigError):
            run(mode, cfg, lambda c: c.get_ca_certs())
        assert srv.requests == []


# ------------------------------------------------------------------------ finding 3: bounded 202 polling


PAST = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("retry_after", ["0", PAST])
def test_202_with_zero_or_past_retry_after_is_bounded(mode: str, retry_after: str) -> None:
    with HostileServer(Reply(202, [("Retry-After", retry_after)])) as srv:
        cfg = config_for(srv, min_retry_delay=0.1)
        csr = csr_der()
        with pytest.raises(PendingTimeout):
            run(mode, cfg, lambda c: c.enroll_and_wait(csr, max_wait=0.5))
        # floor 0.1 s, budget 0.5 s: at most 0.5 / 0.1 + 1 = 6 requests (main sent 3,254 in 12 s)
        assert 1 <= len(srv.requests) <= 6
        assert all(r.path.endswith("/simpleenroll") for r in srv.requests)


def test_min_retry_delay_must_be_positive() -> None:
    for bad in (0, -1, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ConfigError):
            EstClientConfig("https://127.0.0.1", min_retry_delay=bad)


def test_pending_wait_counts_the_clock_and_the_floor() -> None:
    from estclient._polling import PendingWait

    now = [0.0]
    wait = PendingWait(10, min_delay=2, clock=lambda: now[0])
    delays = []
    with pytest.raises(PendingTimeout):
        for _ in range(100):  # bounded: the policy must stop long before
            delays.append(wait.next_delay(0))
            now[0] += 0.001  # a sleep that returned early: the sum of the waits still counts
    assert delays == [2.0] * 5
    slow = PendingWait(10, min_delay=1, clock=lambda: now[0])
    now[0] += 9.5  # a slow server: the requests themselves used the budget
    with pytest.raises(PendingTimeout):
        slow.next_delay(1)


def test_cli_max_wait_is_bounded(tmp_path: Path) -> None:
    with HostileServer(Reply(202, [("Retry-After", "0")])) as srv:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(srv.ca_pem)
        proc = run_cli("enroll", "--server", srv.url, "--trust", str(ca), "--cn", "x", "--no-csrattrs",
                       "--key-out", str(tmp_path / "k.pem"), "--max-wait", "0.5", "--min-retry-delay", "0.1")
        assert proc.returncode == 7, proc.stderr
        assert 1 <= len(srv.requests) <= 6


def _identity_files(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "renewing-device")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "device.pem", tmp_path / "device.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.mark.parametrize("mode", MODES)
def test_renewal_202_polling_is_bounded(mode: str, tmp_path: Path) -> None:
    from estclient.renewal import AsyncRenewalScheduler, RenewalConfig, RenewalScheduler

    cert_path, key_path = _identity_files(tmp_path)
    with HostileServer(Reply(202, [("Retry-After", "0")])) as srv:
        cfg = config_for(srv, min_retry_delay=0.1, channel_binding="off")
        rcfg = RenewalConfig(renewal_threshold=3600, check_interval=3600, max_retries=0, max_pending_wait=0.5)
        if mode == "sync":
            with EstClient(cfg) as client, pytest.raises(PendingTimeout):
                RenewalScheduler(client, rcfg, cert_path, key_path).check_now(force=True)
        else:
            async def main() -> None:
                async with AsyncEstClient(cfg) as client:
                    await AsyncRenewalScheduler(client, rcfg, cert_path, key_path).check_now(force=True)

            with pytest.raises(PendingTimeout):
                asyncio.run(main())
        assert 1 <= len(srv.requests) <= 6
        assert all(r.path.endswith("/simplereenroll") for r in srv.requests)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EST_", "SSL_"))}
    return subprocess.run([sys.executable, "-m", "estclient", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


# ------------------------------------------------------------------------ finding 4: a total deadline


@pytest.mark.parametrize("mode", MODES)
def test_dripping_server_hits_the_total_deadline(mode: str) -> None:
    # one byte every 0.2 s: each read is quick, the exchange never ends; operation_timeout 1 s stops it
    with HostileServer(Reply(200, [PKCS7], b"A" * 400, drip=0.2)) as srv:
        cfg = config_for(srv, timeout=30, operation_timeout=1.0)
        with pytest.raises(TransportError, match="total deadline"):
            run(mode, cfg, lambda c: c.get_ca_certs())
        assert srv.wait_for(lambda: srv.closed_by_client >= 1)
        # the whole reply is over 440 bytes; about 5 fit in 1 s (generous bound for a loaded machine)
        assert srv.bytes_dripped <= 40


@pytest.mark.parametrize("mode", MODES)
def test_slow_redirects_share_one_deadline(mode: str) -> None:
    # each redirect takes about 0.8 s to arrive (80 bytes, 0.01 s apart): no single read is slow, five of them
    # would take 4 s; the deadline of 1 s covers the chain as a whole
    moved = Reply(307, [("Location", "/.well-known/est/cacerts")], drip=0.01)
    with HostileServer(moved) as srv:
        cfg = config_for(srv, timeout=30, operation_timeout=1.0, max_redirects=5)
        with pytest.raises(TransportError, match="total deadline"):
            run(mode, cfg, lambda c: c.get_ca_certs())
        assert 1 <= len(srv.requests) <= 3


@pytest.mark.parametrize("mode", MODES)
def test_stalled_tls_handshake_hits_the_total_deadline(mode: str) -> None:
    with HostileServer(Reply(200), stall_handshake=True) as srv:
        cfg = config_for(srv, timeout=30, operation_timeout=1.0)
        with pytest.raises(TransportError, match="total deadline"):
            run(mode, cfg, lambda c: c.get_ca_certs())
        assert srv.connections == 1
        assert srv.wait_for(lambda: srv.closed_by_client == 1)
        assert srv.requests == []


def test_operation_timeout_must_be_positive() -> None:
    for bad in (0, -1, float("inf"), True):
        with pytest.raises(ConfigError):
            EstClientConfig("https://127.0.0.1", operation_timeout=bad)


# ------------------------------------------------------------------------ finding 5: Digest it cannot answer


CHALLENGES = {
    'Digest realm="est", nonce="abc", qop="auth-int"': "auth-int",
    'Digest realm="est", nonce="abc", algorithm=FOO': "FOO",
    'Digest realm="est", nonce="abc", algorithm=SHA-512-256-sess': "SHA-512-256-SESS",
    'Digest realm="\u00e9st", nonce="abc"': "non-ASCII",
    'Digest realm="est"': "malformed",
    'Digest ,,=,"': "malformed",
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("challenge", list(CHALLENGES))
def test_unanswerable_digest_challenge_is_authentication_required(mode: str, challenge: str) -> None:
    with HostileServer(Reply(401, [("WWW-Authenticate", challenge)])) as srv:
        cfg = config_for(srv, http_auth=HttpAuth("user", "secret", "digest"))
        errors: list[AuthenticationRequired] = []
        # two calls: the second proves the Digest state was reset (httpx keeps the last challenge it read)
        if mode == "sync":
            def op(c: Any) -> None:
                for _ in range(2):
                    try:
                        c.get_ca_certs()
                    except AuthenticationRequired as exc:
                        errors.append(exc)
        else:
            async def op(c: Any) -> None:  # type: ignore[misc]
                for _ in range(2):
                    try:
                        await c.get_ca_certs()
                    except AuthenticationRequired as exc:
                        errors.append(exc)
        run(mode, cfg, op)
        assert len(errors) == 2
        for exc in errors:
            assert CHALLENGES[challenge] in str(exc), str(exc)
            assert "secret" not in str(exc)
            assert exc.challenge is not None and exc.challenge.startswith("Digest")
        assert len(srv.requests) == 2


def test_cli_unanswerable_digest_exits_3(tmp_path: Path) -> None:
    with HostileServer(Reply(401, [("WWW-Authenticate", 'Digest realm="est", nonce="n", algorithm=FOO')])) as srv:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(srv.ca_pem)
        pw = tmp_path / "pw"
        pw.write_text("secret")
        proc = run_cli("cacerts", "--server", srv.url, "--trust", str(ca), "--user", "u", "--password-file",
                       str(pw), "--digest")
        assert proc.returncode == 3, proc.stderr
        assert "FOO" in proc.stderr and "secret" not in proc.stderr


# ------------------------------------------------------------------------ RFC 7030 §3.2.3: close after a final 401


@pytest.mark.parametrize("mode", MODES)
def test_final_401_closes_the_connection(mode: str) -> None:
    with HostileServer(Reply(401, [("WWW-Authenticate", 'Basic realm="est"')])) as srv:
        cfg = config_for(srv, http_auth=HttpAuth("user", "secret"))
        seen: dict[str, Any] = {}

        def check() -> None:
            # with the client still open: every connection it made has been closed by it
            seen["closed"] = srv.wait_for(lambda: srv.closed_by_client == srv.connections)
            seen["connections"] = srv.connections

        if mode == "sync":
            def op(c: Any) -> None:
                with pytest.raises(AuthenticationRequired):
                    c.get_ca_certs()
                check()
        else:
            async def op(c: Any) -> None:  # type: ignore[misc]
                with pytest.raises(AuthenticationRequired):
                    await c.get_ca_certs()
                check()
        run(mode, cfg, op)
        assert seen["closed"]
        assert len(srv.requests) == 2  # without, then with credentials (RFC 7030 §3.2.3)
        assert seen["connections"] <= 2


# ------------------------------------------------------------------------ finding 9: repr never raises


def _huge_serial_cert(pem: bytes) -> Any:
    from estcodec.x509 import Certificate, TBSCertificate

    c = Certificate.from_pem(pem)
    t = c.tbs_certificate
    fields = ("version", "signature", "issuer", "validity", "subject", "subject_public_key_info", "extensions")
    tbs = TBSCertificate(**{f: getattr(t, f) for f in fields}, serial_number=1 << 16000)  # 2,001 bytes
    return Certificate(tbs_certificate=tbs, signature_algorithm=c.signature_algorithm,
                       signature_value=c.signature_value)


@pytest.mark.parametrize("mode", MODES)
def test_repr_of_a_huge_serial_never_raises(mode: str) -> None:
    from estcodec.x509 import Certificate

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "huge")]))
           .sign(key, hashes.SHA256()))
    with HostileServer(Reply(200)) as srv:
        # a certificate for the CSR's key with a 2,001-byte serial, returned by /simpleenroll
        ca_cert = x509.load_pem_x509_certificate(srv.ca_pem)
        now = dt.datetime.now(dt.timezone.utc)
        leaf = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_cert.subject)
                .public_key(key.public_key()).serial_number(7)
                .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
                .sign(key, hashes.SHA256()))
        huge = _huge_serial_cert(leaf.public_bytes(serialization.Encoding.PEM))
        body = certs_only_body(huge.to_pem().encode("ascii"))
        srv.script = Reply(200, [PKCS7], body)
        issued = run(mode, config_for(srv), lambda c: c.simple_enroll(csr.public_bytes(serialization.Encoding.DER)))
        text = repr(issued)
        assert "2001 bytes" in text and len(text) < 1000
        assert "serial=0x1000" in repr(Certificate.from_der(huge.to_der()))


# ------------------------------------------------------------------------ finding 11: serverkeygen, system trust


def _keygen_body(srv: HostileServer) -> bytes:
    b = "estboundary"
    return (
        f"--{b}\r\nContent-Type: application/pkcs7-mime; smime-type=server-generated-key\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\nMAA=\r\n"
        f"--{b}\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + certs_only_body(srv.ca_pem) + f"\r\n--{b}--\r\n".encode()


@pytest.mark.parametrize("mode", MODES)
def test_serverkeygen_with_system_trust_raises_est_error(mode: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # With system trust the client checks the key's signer against the validated /cacerts set, which it fetches
    # first; the encrypted key part here is garbage, so the operation must end in an EstError (it used to end in
    # a bare ValueError from estcodec.enveloped, "no signer trust").
    with HostileServer(Reply(200)) as srv:
        keygen = Reply(200, [("Content-Type", 'multipart/mixed; boundary="estboundary"')], _keygen_body(srv))
        cacerts = Reply(200, [("Content-Type", "application/pkcs7-mime")], certs_only_body(srv.ca_pem))
        srv.script = lambda req: cacerts if req.path.endswith("/cacerts") else keygen
        ca = tmp_path / "system-ca.pem"
        ca.write_bytes(srv.ca_pem)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # the "system" store, for this test only
        monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.system())
        with pytest.raises(EstError) as info:
            run(mode, cfg, lambda c: c.server_keygen(csr_der(), kek=bytes(16), kek_id=b"kid"))
        assert not isinstance(info.value, ConfigError), info.value  # the signer trust was found, not missing
        assert [r.path.rsplit("/", 1)[-1] for r in srv.requests] == ["cacerts", "serverkeygen"]
