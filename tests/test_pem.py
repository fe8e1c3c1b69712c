"""Tests of estcodec.pem: RFC 7468 reading/writing and the DER/PEM/base64 loader.

Real inputs: certificates of the ``cryptography_vectors`` package (checked against ``cryptography``'s own PEM
reader) and the RFC 7030 base64 bodies from tests/vectors/rfc7030.
"""
from __future__ import annotations

import base64
import os
from pathlib import Path

import cryptography_vectors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from estcodec import DecodeError, pem

VECTORS = Path(__file__).resolve().parent / "vectors"
CV_X509 = Path(os.path.dirname(cryptography_vectors.__file__)) / "x509"


def _expect_invalid(text, offset=None):
    with pytest.raises(DecodeError) as info:
        pem.decode(text)
    assert info.value.reason == "invalid-pem"
    if offset is not None:
        assert info.value.offset == offset
    return info.value


# ---------------------------------------------------------------- real files


@pytest.mark.parametrize("name", ["cryptography.io.pem", "rapidssl_sha256_ca_g3.pem", "letsencryptx3.pem"])
def test_decode_real_certificate_matches_cryptography(name):
    data = (CV_X509 / name).read_bytes()
    blocks = pem.decode(data)
    assert [label for label, _ in blocks] == ["CERTIFICATE"]
    expected = x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    assert blocks[0][1] == expected
    # str input gives the same result
    assert pem.decode(data.decode("ascii")) == blocks


def test_decode_chain_keeps_order():
    data = (CV_X509 / "cryptography.io.chain.pem").read_bytes()
    blocks = pem.decode(data)
    certs = x509.load_pem_x509_certificates(data)
    assert len(blocks) == len(certs) >= 2
    assert [der for _, der in blocks] == [c.public_bytes(Encoding.DER) for c in certs]


def test_decode_ignores_explanatory_text_between_blocks():
    data = (CV_X509 / "cryptography.io.chain_with_garbage.pem").read_bytes()
    blocks = pem.decode(data)
    assert len(blocks) == data.count(b"-----BEGIN ")
    certs = x509.load_pem_x509_certificates((CV_X509 / "cryptography.io.chain.pem").read_bytes())
    cert_ders = [c.public_bytes(Encoding.DER) for c in certs]
    assert [der for label, der in blocks if label == "CERTIFICATE"] == cert_ders


def test_decode_with_garbage_returns_each_block_label():
    data = (CV_X509 / "cryptography.io.with_garbage.pem").read_bytes()
    blocks = pem.decode(data)
    assert [label for label, _ in blocks] == ["PRIVATE KEY", "CERTIFICATE", "PRIVATE KEY"]
    assert blocks[1][1] == x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    assert blocks[0][1] == base64.b64decode("aHR0cHM6Ly9iaXQubHkvM3VKOXpZZw==")


def test_legacy_encrypted_key_headers_are_rejected():
    # Proc-Type/DEK-Info headers: skipping them would return ciphertext as if it were DER.
    data = (CV_X509 / "cryptography.io.with_headers.pem").read_bytes()
    err = _expect_invalid(data)
    assert err.offset == data.index(b"-----BEGIN RSA PRIVATE KEY-----")
    assert "header" in err.detail


def test_label_with_space_and_old_label():
    data = (CV_X509 / "cryptography.io.old_header.pem").read_bytes()
    (label, der), = pem.decode(data)
    assert label == "X509 CERTIFICATE"
    assert der == pem.decode((CV_X509 / "cryptography.io.pem").read_bytes())[0][1]


# ---------------------------------------------------------------- tolerance


DER = bytes.fromhex("3003020105")  # SEQUENCE { INTEGER 5 }
DER_LONG = bytes(range(256)) * 3


def test_crlf_and_cr_line_ends():
    text = pem.encode("CERTIFICATE", DER_LONG)
    for eol in ("\r\n", "\r"):
        assert pem.decode(text.replace("\n", eol)) == [("CERTIFICATE", DER_LONG)]


def test_whitespace_inside_and_around_base64_lines():
    b64 = base64.b64encode(DER_LONG).decode()
    body = "\n".join("  " + b64[i: i + 50] + " \t" for i in range(0, len(b64), 50))
    text = f"  -----BEGIN X-----  \n{body}\n\n   -----END X-----"
    assert pem.decode(text) == [("X", DER_LONG)]
    # one long line, no line breaks at 64 columns
    assert pem.decode(f"-----BEGIN X-----\n{b64}\n-----END X-----\n") == [("X", DER_LONG)]


def test_empty_label_allowed_by_rfc7468():
    assert pem.decode("-----BEGIN -----\nMAMCAQU=\n-----END -----\n") == [("", DER)]


def test_bytes_with_non_ascii_explanatory_text():
    text = "Subject: CN=Ünïcödé\n".encode() + pem.encode("CERTIFICATE", DER).encode()
    assert pem.decode(text) == [("CERTIFICATE", DER)]


# ---------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    "text, offset",
    [
        # mismatched END label: offset of the END line
        ("-----BEGIN CERTIFICATE-----\nMAMCAQU=\n-----END X509 CRL-----\n", 37),
        # no END line at all
        ("-----BEGIN CERTIFICATE-----\nMAMCAQU=\n", 0),
        ("xx\n-----BEGIN CERTIFICATE-----", 3),
        # bad base64 character
        ("-----BEGIN A-----\nMAMC*AQU=\n-----END A-----\n", 0),
        # missing padding
        ("-----BEGIN A-----\nMAMCAQU\n-----END A-----\n", 0),
        # padding in the middle
        ("-----BEGIN A-----\nMA==MAMCAQU=\n-----END A-----\n", 0),
        # non-zero padding bits ("MAMCAQV=" decodes to the same bytes as "MAMCAQU=")
        ("-----BEGIN A-----\nMAMCAQV=\n-----END A-----\n", 0),
        # empty body
        ("-----BEGIN A-----\n-----END A-----\n", 0),
        ("-----BEGIN A-----\n\n  \n-----END A-----\n", 0),
        # non-ASCII inside the body
        ("-----BEGIN A-----\nMAMCAQU=\u00e9\n-----END A-----\n", 0),
        # a header line
        ("-----BEGIN A-----\nComment: hello\n\nMAMCAQU=\n-----END A-----\n", 0),
        # a second BEGIN before the END
        ("-----BEGIN A-----\nMAMCAQU=\n-----BEGIN A-----\nMAMCAQU=\n-----END A-----\n", 27),
        # stray END line after a good block
        ("-----BEGIN A-----\nMAMCAQU=\n-----END A-----\n-----END A-----\n", 43),
        # text on the BEGIN line after the boundary
        ("-----BEGIN A----- MAMCAQU=\n-----END A-----\n", 0),
        # END not at the start of its line
        ("-----BEGIN A-----\nMAMCAQU=-----END A-----\n", 26),
        # broken boundary (4 dashes)
        ("-----BEGIN A----\nMAMCAQU=\n-----END A-----\n", 0),
        # no PEM at all
        ("hello world\n", 0),
        ("", 0),
    ],
)
def test_invalid_pem(text, offset):
    _expect_invalid(text, offset)
    _expect_invalid(text.encode("utf-8"), None)


def test_error_in_second_block_reports_its_offset():
    good = pem.encode("A", DER)
    bad = "-----BEGIN B-----\nMAMC!AQU=\n-----END B-----\n"
    _expect_invalid(good + bad, len(good))


def test_decode_rejects_non_text():
    with pytest.raises(TypeError):
        pem.decode(12)  # type: ignore[arg-type]


def test_invalid_pem_is_a_value_error():
    with pytest.raises(ValueError):
        pem.decode("-----BEGIN A-----\n!\n-----END A-----\n")


# ---------------------------------------------------------------- encode


def test_encode_64_columns_and_round_trip():
    text = pem.encode("CERTIFICATE", DER_LONG)
    lines = text.split("\n")
    assert lines[0] == "-----BEGIN CERTIFICATE-----"
    assert lines[-2] == "-----END CERTIFICATE-----"
    assert lines[-1] == ""  # final newline
    body = lines[1:-2]
    assert all(len(line) == 64 for line in body[:-1])
    assert 0 < len(body[-1]) <= 64
    assert "".join(body) == base64.b64encode(DER_LONG).decode()
    assert pem.decode(text) == [("CERTIFICATE", DER_LONG)]


def test_encode_exact_multiple_of_48_bytes():
    text = pem.encode("X", bytes(96))  # 128 base64 chars: exactly two full lines
    assert text.count("\n") == 4
    assert pem.decode(text) == [("X", bytes(96))]


def test_encode_matches_cryptography_output():
    cert = x509.load_pem_x509_certificate((CV_X509 / "cryptography.io.pem").read_bytes())
    der = cert.public_bytes(Encoding.DER)
    assert pem.encode("CERTIFICATE", der) == cert.public_bytes(Encoding.PEM).decode("ascii")


@pytest.mark.parametrize("label", ["A-", "-A", "A--B", "A  B", "A\nB", "Ä"])
def test_encode_rejects_bad_labels(label):
    with pytest.raises(ValueError):
        pem.encode(label, DER)


# ---------------------------------------------------------------- load_any


def test_load_any_der_passthrough():
    der = (VECTORS / "rfc7030" / "A.2_csrattrs_response.der").read_bytes()
    assert pem.load_any(der) == der
    assert pem.load_any(bytearray(der)) == der
    assert pem.load_any(memoryview(der)) == der


@pytest.mark.parametrize(
    "name",
    ["A.1_cacerts_response", "A.2_csrattrs_response", "A.3_simpleenroll_request_pkcs10", "sec4.5.2_csrattrs_example"],
)
def test_load_any_base64_rfc7030_bodies(name):
    b64 = (VECTORS / "rfc7030" / f"{name}.b64").read_bytes()
    der = (VECTORS / "rfc7030" / f"{name}.der").read_bytes()
    assert pem.load_any(b64) == der
    assert pem.load_any(b64.decode("ascii")) == der
    assert pem.load_any(b64.replace(b"\n", b"\r\n")) == der


def test_load_any_pem_first_block():
    data = (CV_X509 / "cryptography.io.chain.pem").read_bytes()
    assert pem.load_any(data) == pem.decode(data)[0][1]
    assert pem.load_any(data.decode()) == pem.decode(data)[0][1]


def test_load_any_der_made_of_base64_characters_passes_through():
    # SEQUENCE { UTF8String "abcdefghij" }: tag 0x0c and length 0x0a are whitespace in ASCII
    der = bytes.fromhex("300c0c0a") + b"abcdefghij"
    assert pem.load_any(der) == der


@pytest.mark.parametrize("text", ["not base64 at all!", "MAMCAQU", "", "Ωmega"])
def test_load_any_text_must_be_pem_or_base64(text):
    with pytest.raises(DecodeError) as info:
        pem.load_any(text)
    assert info.value.reason == "invalid-pem"


def test_load_any_bad_pem_raises():
    with pytest.raises(DecodeError) as info:
        pem.load_any(b"-----BEGIN A-----\nMAMC\n-----END B-----\n")
    assert info.value.reason == "invalid-pem"


def test_load_any_empty_bytes():
    with pytest.raises(DecodeError):
        pem.load_any(b"")


def test_load_any_rejects_other_types():
    with pytest.raises(TypeError):
        pem.load_any(None)  # type: ignore[arg-type]
