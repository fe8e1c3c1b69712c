"""Every EST operation of the reference server driven by curl and checked with openssl: two programs that
share no code with estcodec or estclient. Bodies are base64 without line breaks (``openssl base64 -A``
reads them as one line), requests go out with Content-Length and chunked, Basic and Digest (MD5, SHA-256),
and Full PKI Requests are signed by ``openssl cms -sign`` (DER and BER) and their responses verified by
``openssl cms -verify``.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from estclient.testing import EstTestServer
from estcodec.cmc import CmcStatusValue, PkiDataBuilder
from estcodec.cmc import oid as cmc_oid

from interop_peers import need, run, show

EST = "/.well-known/est/"


@pytest.fixture
def tools() -> dict[str, str]:
    return need("curl", "openssl")


class Curl:
    """curl against one server, trusting its CA; every call returns (status, headers, body)."""

    def __init__(self, tools: dict[str, str], srv: EstTestServer, tmp: Path) -> None:
        self.curl, self.srv, self.tmp = tools["curl"], srv, tmp
        self.ca = tmp / "tls-ca.pem"
        self.ca.write_bytes(srv.trust_anchor_pem)

    def __call__(self, op: str, *args: str, data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        head = self.tmp / "head.txt"
        cmd = [self.curl, "-sS", "--cacert", str(self.ca), "-D", str(head), "-o", "-", *args]
        if data is not None:
            body = self.tmp / "body.b64"
            body.write_bytes(data)
            cmd += ["--data-binary", f"@{body}"]
        res = run([*cmd, self.srv.url + EST + op])
        assert res.returncode == 0, show(res)
        blocks = [b for b in re.split(r"\r\n\r\n", head.read_bytes().decode("latin-1")) if b.startswith("HTTP/")]
        lines = blocks[-1].split("\r\n")  # the last response (curl --digest makes two)
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
        return int(lines[0].split()[1]), headers, res.stdout


def openssl(tools: dict[str, str], *args: str, input: bytes | None = None) -> bytes:
    res = run([tools["openssl"], *args], input=input)
    assert res.returncode == 0, show(res)
    return res.stdout


def b64_decode_with_openssl(tools: dict[str, str], body: bytes) -> bytes:
    # RFC 4648 §3.1: no line feed inside the base64 (a body ends with one LF, which libest's client needs)
    assert b"\n" not in body.removesuffix(b"\n") and b"\r" not in body
    return openssl(tools, "base64", "-d", "-A", input=body)


def certs_of(tools: dict[str, str], der: bytes) -> list[x509.Certificate]:
    pem = openssl(tools, "pkcs7", "-inform", "DER", "-print_certs", input=der)
    return x509.load_pem_x509_certificates(pem)


def new_request(tools: dict[str, str], tmp: Path, cn: str) -> tuple[Path, bytes]:
    key = tmp / f"{cn}.key"
    openssl(tools, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    der = openssl(tools, "req", "-new", "-key", str(key), "-subj", f"/CN={cn}", "-outform", "DER")
    return key, der


def test_cacerts_csrattrs_and_head(tools: dict[str, str], tmp_path: Path) -> None:
    with EstTestServer() as srv:
        curl = Curl(tools, srv, tmp_path)
        status, headers, body = curl("cacerts")
        assert status == 200 and headers["content-type"] == "application/pkcs7-mime"
        assert headers["content-transfer-encoding"] == "base64"
        assert body.endswith(b"\n") and certs_of(tools, b64_decode_with_openssl(tools, body)) == [srv.ca_certificate]
        status, headers, head_body = curl("cacerts", "-I")
        # curl -I prints the head on stdout: nothing follows it, and Content-Length is the GET body's
        assert status == 200 and head_body.endswith(b"\r\n\r\n") and head_body.count(b"\r\n\r\n") == 1
        assert int(headers["content-length"]) == len(body)
        status, headers, body = curl("csrattrs")
        assert status == 200 and headers["content-type"] == "application/csrattrs"
        parsed = openssl(tools, "asn1parse", "-inform", "DER", input=b64_decode_with_openssl(tools, body))
        assert b"sha256" in parsed
        status, _, _ = curl("csrattrs", "-I")
        assert status == 200
        status, headers, _ = curl("simpleenroll", "-I")
        assert status == 405 and headers["allow"] == "POST"
    assert [(r.method, r.status) for r in srv.requests] == [
        ("GET", 200), ("HEAD", 200), ("GET", 200), ("HEAD", 200), ("HEAD", 405)]


@pytest.mark.parametrize("auth", ["basic", "digest-MD5", "digest-SHA-256"])
def test_enroll_and_reenroll(tools: dict[str, str], tmp_path: Path, auth: str) -> None:
    scheme, _, algorithm = auth.partition("-")
    with EstTestServer(auth=scheme, digest_algorithm=algorithm or "SHA-256", password="curl-secret") as srv:
        curl = Curl(tools, srv, tmp_path)
        key, csr = new_request(tools, tmp_path, "curl-device")
        creds = ["--digest" if scheme == "digest" else "--basic", "-u", f"{srv.username}:{srv.password}"]
        ctype = ["-H", "Content-Type: application/pkcs10"]
        status, headers, body = curl("simpleenroll", *creds, *ctype, data=base64.b64encode(csr))
        assert status == 200, body
        assert headers["content-type"].startswith("application/pkcs7-mime")
        (cert,) = certs_of(tools, b64_decode_with_openssl(tools, body))
        assert cert.subject.rfc4514_string() == "CN=curl-device"
        cert_file = tmp_path / "cert.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        status, _, body = curl("simplereenroll", "--cert", str(cert_file), "--key", str(key), *ctype,
                               data=base64.b64encode(csr))
        assert status == 200, body
        (renewed,) = certs_of(tools, b64_decode_with_openssl(tools, body))
        assert renewed.subject == cert.subject and renewed.serial_number != cert.serial_number
        # without credentials: 401, with a challenge and an empty body
        status, headers, body = curl("simpleenroll", *ctype, data=base64.b64encode(csr))
        assert status == 401 and headers["www-authenticate"].lower().startswith(scheme) and body == b""
    assert [r.authenticated_by for r in srv.requests if r.status == 200] == [scheme, "certificate"]


def test_chunked_request_body(tools: dict[str, str], tmp_path: Path) -> None:
    """``curl -H 'Transfer-Encoding: chunked'`` (as globalsign's client always sends): 200 and a certificate."""
    with EstTestServer() as srv:
        curl = Curl(tools, srv, tmp_path)
        _, csr = new_request(tools, tmp_path, "chunky")
        status, headers, body = curl(
            "simpleenroll", "-u", f"{srv.username}:{srv.password}", "-H", "Transfer-Encoding: chunked",
            "-H", "Content-Type: application/pkcs10", data=base64.b64encode(csr))
        assert status == 200, body
        (cert,) = certs_of(tools, b64_decode_with_openssl(tools, body))
        assert cert.subject.rfc4514_string() == "CN=chunky"


def _multipart(headers: dict[str, str], body: bytes) -> list[tuple[dict[str, str], bytes]]:
    boundary = re.search(r'boundary="?([^";]+)"?', headers["content-type"]).group(1).encode()
    parts = []
    for chunk in body.split(b"--" + boundary)[1:-1]:
        head, _, content = chunk.strip(b"\r\n").partition(b"\r\n\r\n")
        fields = {k.strip().lower(): v.strip() for k, _, v in
                  (ln.partition(":") for ln in head.decode().split("\r\n"))}
        parts.append((fields, content.strip()))
    return parts


@pytest.mark.parametrize("key_type", [None, "rsa-2048"])
def test_serverkeygen_parts_read_by_openssl(tools: dict[str, str], tmp_path: Path, key_type: str | None) -> None:
    with EstTestServer(server_keygen_key_type=key_type) as srv:
        curl = Curl(tools, srv, tmp_path)
        _, csr = new_request(tools, tmp_path, "keyless")
        status, headers, body = curl("serverkeygen", "-u", f"{srv.username}:{srv.password}",
                                     "-H", "Content-Type: application/pkcs10", data=base64.b64encode(csr))
        assert status == 200 and headers["content-type"].startswith("multipart/mixed")
        (key_head, key_b64), (cert_head, cert_b64) = _multipart(headers, body)
        assert key_head["content-type"] == "application/pkcs8"
        assert cert_head["content-type"].startswith("application/pkcs7-mime")
        key_pem = openssl(tools, "pkey", "-inform", "DER", input=b64_decode_with_openssl(tools, key_b64))
        (cert,) = certs_of(tools, b64_decode_with_openssl(tools, cert_b64))
        key_pub = openssl(tools, "pkey", "-pubout", input=key_pem)
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        assert openssl(tools, "x509", "-pubkey", "-noout", input=cert_pem) == key_pub
        text = openssl(tools, "pkey", "-text", "-noout", input=key_pem)
        assert (b"RSA" in text or b"2048 bit" in text) == (key_type == "rsa-2048")


@pytest.mark.parametrize("encoding", ["der", "ber"])
def test_fullcmc_signed_by_openssl_verified_by_openssl(tools: dict[str, str], tmp_path: Path, encoding: str) -> None:
    with EstTestServer() as srv:
        curl = Curl(tools, srv, tmp_path)
        _, csr = new_request(tools, tmp_path, "cmc-device")
        pki_data = PkiDataBuilder().transaction_id(4711).sender_nonce(b"curl-nonce").add_certification_request(csr)
        content = tmp_path / "pkidata.der"
        content.write_bytes(pki_data.build().to_der())
        signer_cert, signer_key = srv.issue_client_identity("cmc-operator")
        (tmp_path / "signer.pem").write_bytes(signer_cert)
        (tmp_path / "signer.key").write_bytes(signer_key)
        signed = openssl(tools, "cms", "-sign", "-binary", "-nodetach", "-in", str(content), "-outform", "DER",
                         "-econtent_type", cmc_oid.PKI_DATA, "-signer", str(tmp_path / "signer.pem"),
                         "-inkey", str(tmp_path / "signer.key"), *(["-stream"] if encoding == "ber" else []))
        assert (signed[1] == 0x80) == (encoding == "ber")  # indefinite length: BER, not DER
        status, headers, body = curl("fullcmc", "-u", f"{srv.username}:{srv.password}",
                                     "-H", "Content-Type: application/pkcs7-mime; smime-type=CMC-request",
                                     data=base64.b64encode(signed))
        assert status == 200, body
        assert headers["content-type"].startswith("application/pkcs7-mime")
        response = tmp_path / "response.der"
        response.write_bytes(b64_decode_with_openssl(tools, body))
        (tmp_path / "ca.pem").write_bytes(srv.trust_anchor_pem)
        inner = openssl(tools, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(response),
                        "-CAfile", str(tmp_path / "ca.pem"), "-purpose", "any")
        from estcodec.cmc import PKIResponse

        pr = PKIResponse.from_der(inner)
        assert pr.status == CmcStatusValue.SUCCESS
        # a tampered request is refused with a CMC failure, however it is encoded
        tampered = bytearray(signed)
        at = bytes(tampered).find(b"curl-nonce")
        tampered[at] ^= 1
        status, _, _ = curl("fullcmc", "-u", f"{srv.username}:{srv.password}",
                            "-H", "Content-Type: application/pkcs7-mime", data=base64.b64encode(bytes(tampered)))
        assert status == 400
    assert [c.subject.rfc4514_string() for c in srv.issued_certificates] == ["CN=cmc-operator", "CN=cmc-device"]
