"""The client against globalsign/est's estserver, from recorded answers (tests/vectors/globalsign-captures):
base64 broken into CRLF lines, an empty /csrattrs, a 404 /fullcmc, a 500 /csrattrs under its ``triggererrors``
label and, under its ``pkcs7`` label, a server-generated key as a CMS EncryptedData with malformed parameters.
The CLI cases replay the same answers from a real TLS server on 127.0.0.1 (hostile_server.py)."""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from estclient import AsyncEstClient, EstClient
from estclient.config import EstClientConfig, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import ConfigError, NotSupported, ProtocolError, ServerError
from estclient.protocol import (
    EstResponse,
    Issued,
    parse_cacerts_response,
    parse_csrattrs_response,
    parse_enroll_response,
    parse_fullcmc_response,
    parse_serverkeygen_response,
)
from hostile_server import HostileServer, Reply, Request

GLOBALSIGN = Path(__file__).resolve().parents[1] / "vectors" / "globalsign-captures"


def _recorded(name: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """A ``server-NAME.resp`` capture: status, headers (without the framing ones curl left), body."""
    head, _, body = (GLOBALSIGN / f"server-{name}.resp").read_bytes().partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(x.strip() for x in ln.split(":", 1)) for ln in lines[1:]]
    keep = [(k, v) for k, v in headers if k.lower() not in ("transfer-encoding", "content-length")]
    return int(lines[0].split()[1]), keep, body  # type: ignore[return-value]


def _response(name: str) -> EstResponse:
    status, headers, body = _recorded(name)
    return EstResponse(status, headers, body)


def _reply(name: str) -> Reply:
    status, headers, body = _recorded(name)
    return Reply(status, headers, body)


def test_recorded_answers_parse() -> None:
    cas = parse_cacerts_response(_response("cacerts"))
    assert [c.subject.rfc4514_string() for c in cas.certificates] == ["CN=gs mock CA"]
    assert parse_csrattrs_response(_response("csrattrs")).is_empty()
    issued = parse_enroll_response(_response("simpleenroll"))
    assert isinstance(issued, Issued) and issued.certificate.subject.rfc4514_string() == "CN=cap"
    with pytest.raises(NotSupported):
        parse_fullcmc_response(_response("fullcmc"))
    with pytest.raises(ServerError) as info:
        parse_csrattrs_response(_response("triggererrors-csrattrs"))
    assert info.value.status == 500


def test_encrypted_data_key_is_kept_and_refused_cleanly() -> None:
    resp = _response("pkcs7-serverkeygen")
    result = parse_serverkeygen_response(resp)  # no key given: the part is kept as received
    assert result.private_key is None and result.key_encrypted
    assert result.encrypted_key is not None and result.encrypted_key[:2] == b"\x30\x82"
    with pytest.raises(ConfigError, match="signer_trust"):  # the package's error, not estcodec's bare ValueError
        parse_serverkeygen_response(resp, kek=b"pseudohistorical", kek_id=b"\x01")
    # the GCM parameters are a primitive SEQUENCE (tag 0x10 at byte 54): refused as what it is, not a crash
    with pytest.raises(ProtocolError, match="could not be unwrapped.*constructed"):
        parse_serverkeygen_response(resp, kek=b"pseudohistorical", kek_id=b"\x01", verify_signer=False)


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EST_", "SSL_"))}
    return subprocess.run([sys.executable, "-m", "estclient", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_cli_names_the_failing_csrattrs_step(tmp_path: Path) -> None:
    """Under globalsign's ``triggererrors`` label /csrattrs answers 500: the enrollment was never sent, and the
    message says which request failed and how to skip it."""
    def script(req: Request) -> Reply:
        return _reply("triggererrors-csrattrs" if req.path.endswith("/csrattrs") else "simpleenroll")

    with HostileServer(script) as srv:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(srv.ca_pem)
        proc = _run_cli("enroll", "--server", srv.url, "--trust", str(ca), "--label", "triggererrors", "--cn", "x",
                        "--key-out", str(tmp_path / "k.pem"), "--out", str(tmp_path / "c.pem"))
        assert proc.returncode == 5, proc.stderr
        assert "500" in proc.stderr and "/csrattrs" in proc.stderr and "--no-csrattrs" in proc.stderr
        assert [r.path for r in srv.requests] == ["/.well-known/est/triggererrors/csrattrs"]
    assert not (tmp_path / "k.pem").exists()


def test_cli_encrypted_key_says_how_to_decrypt(tmp_path: Path) -> None:
    def script(req: Request) -> Reply:
        return _reply("csrattrs" if req.path.endswith("/csrattrs") else "pkcs7-serverkeygen")

    with HostileServer(script) as srv:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(srv.ca_pem)
        proc = _run_cli("serverkeygen", "--server", srv.url, "--trust", str(ca), "--label", "pkcs7", "--cn", "x",
                        "--key-out", str(tmp_path / "k.pem"), "--out", str(tmp_path / "c.pem"))
        assert proc.returncode == 6, proc.stderr
        assert "--kek-id" in proc.stderr and "--encrypt-to-cert" in proc.stderr
        assert [r.path.rsplit("/", 1)[1] for r in srv.requests] == ["csrattrs", "serverkeygen"]
    assert not (tmp_path / "k.pem").exists()


def test_cli_refuses_a_plaintext_key_it_asked_to_have_encrypted(tmp_path: Path) -> None:
    """globalsign's estserver ignores DecryptKeyIdentifier / AsymmetricDecryptKeyIdentifier and sends the key in
    clear (RFC 7030 §4.4.1.1 and §4.4.1.2 say it MUST encrypt): the CLI must not write it and claim it was
    encrypted. The same recorded answer to a request that asked for no encryption is accepted."""
    def script(req: Request) -> Reply:
        return _reply("csrattrs" if req.path.endswith("/csrattrs") else "serverkeygen")

    kek = tmp_path / "kek.hex"
    kek.write_text("00112233445566778899aabbccddeeff")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "holder")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "holder.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "holder.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "holder.key").chmod(0o600)
    with HostileServer(script) as srv:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(srv.ca_pem)
        common = ("serverkeygen", "--server", srv.url, "--trust", str(ca), "--cn", "x")
        for extra in (("--kek-id", "01", "--kek-file", str(kek)),
                      ("--cert", str(tmp_path / "holder.pem"), "--key", str(tmp_path / "holder.key"),
                       "--encrypt-to-cert")):
            proc = _run_cli(*common, *extra, "--key-out", str(tmp_path / "k.pem"), "--out", str(tmp_path / "c.pem"))
            assert proc.returncode == 6, proc.stderr
            # refused by the response parser (a decryption key was given) or by the flow (the request asked for
            # encryption), whichever sees it first; either way nothing is written
            assert "unencrypted although" in proc.stderr
            assert not (tmp_path / "k.pem").exists() and not (tmp_path / "c.pem").exists()
        proc = _run_cli(*common, "--key-out", str(tmp_path / "k.pem"), "--out", str(tmp_path / "c.pem"))
        assert proc.returncode == 0, proc.stderr
        assert "unencrypted (over TLS)" in proc.stderr + proc.stdout
        assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
        assert [r.path.rsplit("/", 1)[1] for r in srv.requests] == ["csrattrs", "serverkeygen"] * 3


def test_client_refuses_a_plaintext_key_it_asked_to_have_encrypted() -> None:
    """The same rule in the library, sync and async: a KEK given, the recorded clear-text answer is refused."""
    with HostileServer(_reply("serverkeygen")) as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.ca_pem))
        kw = {"kek": bytes(16), "kek_id": b"\x01", "signer_trust": srv.ca_pem}
        with EstClient(cfg) as client, pytest.raises(ProtocolError, match="unencrypted although"):
            client.server_keygen(CsrBuilder().common_name("x"), **kw)

        async def main() -> None:
            async with AsyncEstClient(cfg) as client:
                await client.server_keygen(CsrBuilder().common_name("x"), **kw)

        with pytest.raises(ProtocolError, match="unencrypted although"):
            asyncio.run(main())
        with EstClient(cfg) as client:  # asked for nothing: the key over TLS is what was asked for
            assert client.server_keygen(CsrBuilder().common_name("x")).private_key is not None
        assert [r.path for r in srv.requests if r.method == "POST"] == ["/.well-known/est/serverkeygen"] * 3
