"""The client against globalsign/est's estserver, from recorded answers (tests/vectors/globalsign-captures):
base64 broken into CRLF lines, an empty /csrattrs, a 404 /fullcmc, a 500 /csrattrs under its ``triggererrors``
label and, under its ``pkcs7`` label, a server-generated key as a CMS EncryptedData with malformed parameters.
The CLI cases replay the same answers from a real TLS server on 127.0.0.1 (hostile_server.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
