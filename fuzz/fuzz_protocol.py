"""Fuzz harness for the response parsers of ``estclient.protocol`` (sans-IO): cacerts, csrattrs,
simpleenroll, serverkeygen (multipart/mixed; plain and with the fixed decryption keys), fullcmc (without
and with the fixed trust anchor), and ``parse_retry_after`` / ``parse_media_type`` / ``decode_body``.

Input layout (so that the fuzzer mutates status, headers and body alike)::

    byte 0      which parser (mod 7)
    byte 1      which status (mod len(STATUSES))
    bytes 2..   header lines "Name: value" (CRLF or LF), then an empty line, then the body
                (no empty line: no headers, all body). Headers are decoded as UTF-8 with latin-1 fallback,
                as httpx does.

INVARIANT: every response either gives the parser's typed result or raises an ``estclient.errors.EstError``;
nothing else (no ValueError, IndexError, UnicodeError, codec errors), nothing slow. In addition: a
``Pending`` has ``retry_after`` None or a finite number >= 0; results have the documented types. Known
findings F2 (fuzz/_models.py: a Retry-After of non-ASCII digits or > 4300 digits), F6 (a multipart part
header with a non-ASCII byte) and F7 (a boundary outside latin-1) are counted, not raised, while open in the build under test.

Run: ``python fuzz/fuzz_protocol.py fuzz/corpus/protocol -max_len=16384`` (see fuzz/README.md).
"""
from __future__ import annotations

import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import (VECTORS, atheris_main, committed_seeds, fixed_keys, is_open, known, own_est,  # noqa: E402
                     signer_certificate_pem, timed)

from estclient import protocol as P  # noqa: E402

NAME = "protocol"
GROUP = "models"
SEED_EXTENSIONS = (".bin", ".txt")
MAX_MUTATION_INPUT = 1 << 14
STATUSES = (200, 202, 204, 301, 400, 401, 404, 500, 501, 503, 299, 302)
NOW = 1_800_000_000.0
TRUST = signer_certificate_pem()
PARSERS = ("cacerts", "csrattrs", "simpleenroll", "serverkeygen", "serverkeygen-keys", "fullcmc", "fullcmc-trust")


def _header_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def split(data: bytes) -> tuple[str, int, list[tuple[str, str]], bytes]:
    parser = PARSERS[data[0] % len(PARSERS)] if data else PARSERS[0]
    status = STATUSES[data[1] % len(STATUSES)] if len(data) > 1 else 200
    rest = data[2:]
    m = re.search(rb"\r?\n\r?\n", rest)
    headers: list[tuple[str, str]] = []
    if m is None:
        return parser, status, headers, rest
    for line in re.split(rb"\r?\n", rest[: m.start()]):
        name, sep, value = line.partition(b":")
        if sep and name.strip():
            headers.append((_header_text(name.strip()), _header_text(value.strip())))
    return parser, status, headers, rest[m.end():]


def join(parser: str, status: int, headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers).encode("utf-8")
    return bytes([PARSERS.index(parser), STATUSES.index(status)]) + head + b"\r\n" + body


def _check_pending(result) -> None:
    ra = result.retry_after
    assert ra is None or (isinstance(ra, float) and math.isfinite(ra) and ra >= 0), f"bad retry_after {ra!r}"


@timed
def check_one(data: bytes) -> None:
    parser, status, headers, body = split(data)
    resp = P.EstResponse(status, headers, body)
    for name, value in headers:
        text = value.strip()
        f2 = text.isdigit() and (not text.isascii() or len(text) > 4000) and is_open("F2-retry-after-digits")
        if f2:
            known("F2-retry-after-digits")
            if name.strip().lower() == "retry-after":
                return
        else:
            ra = own_est(P.parse_retry_after, value, now=NOW)
            assert ra is None or (isinstance(ra, float) and ra >= 0)
        own_est(P.parse_media_type, value)
    own_est(P.decode_body, body)
    k = fixed_keys()
    if parser == "cacerts":
        r = own_est(P.parse_cacerts_response, resp)
        assert r is None or (isinstance(r, P.CaCertificates) and len(r) >= 1)
        if r is not None:
            r.to_pem()
    elif parser == "csrattrs":
        r = own_est(P.parse_csrattrs_response, resp)
        if r is not None:
            r.oids  # noqa: B018
    elif parser == "simpleenroll":
        r = own_est(P.parse_enroll_response, resp, now=NOW)
        assert r is None or isinstance(r, (P.Issued, P.Pending))
        if isinstance(r, P.Pending):
            _check_pending(r)
        elif r is not None:
            r.to_pem()
    elif parser in ("serverkeygen", "serverkeygen-keys"):
        kw = dict(kek=k["kek"], kek_id=k["kek_id"], private_key=k["private_key"], verify_signer=False) \
            if parser == "serverkeygen-keys" else {}
        try:
            r = own_est(P.parse_serverkeygen_response, resp, now=NOW, **kw)
        except TypeError as exc:
            if "Header" in str(exc) and is_open("F6-multipart-header-object"):
                known("F6-multipart-header-object")
                return
            raise
        except UnicodeEncodeError:
            if is_open("F7-multipart-boundary-latin1"):
                known("F7-multipart-boundary-latin1")
                return
            raise
        assert r is None or isinstance(r, (P.ServerKeygenResponse, P.Pending))
        if isinstance(r, P.Pending):
            _check_pending(r)
        elif r is not None:
            repr(r)
    else:
        trust = TRUST if parser == "fullcmc-trust" else None
        r = own_est(P.parse_fullcmc_response, resp, signer_trust=trust, now=NOW)
        assert r is None or isinstance(r, (P.CmcResponse, P.Pending))
        if isinstance(r, P.Pending):
            _check_pending(r)


def _captures() -> dict[str, tuple[str, int, list[tuple[str, str]], bytes]]:
    out = {}
    folder = VECTORS / "libest-captures"
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.resp.bin")):
        raw = path.read_bytes()
        name = path.name[: -len(".resp.bin")]
        for i, m in enumerate(re.finditer(rb"HTTP/1\.[01] (\d{3})[^\n]*\n(.*?)\r?\n\r?\n", raw, re.S)):
            status = int(m.group(1))
            headers = []
            for line in re.split(rb"\r?\n", m.group(2)):
                k, sep, v = line.partition(b":")
                if sep:
                    headers.append((k.strip().decode("latin-1"), v.strip().decode("latin-1")))
            length = next((int(v) for k, v in headers if k.lower() == "content-length"), None)
            start = m.end()
            nxt = raw.find(b"HTTP/1.", start)
            end = start + length if length is not None else (len(raw) if nxt < 0 else nxt)
            out[f"{name}#{i}"] = (status, headers, raw[start:end])
    return out


def collect_seeds() -> dict[str, bytes]:
    seeds: dict[str, bytes] = {}
    for name, (status, headers, body) in _captures().items():
        op = re.match(r"[a-z]*", name).group(0)
        parser = {"cacerts": "cacerts", "csrattrs": "csrattrs", "simpleenroll": "simpleenroll",
                  "serverkeygen": "serverkeygen", "fullcmc": "fullcmc"}.get(op, "simpleenroll")
        st = status if status in STATUSES else 400
        seeds[f"capture__{name}"] = join(parser, st, headers, body)
    rfc = VECTORS / "rfc7030"
    mp = "multipart/mixed; boundary=est"
    if rfc.is_dir():
        seeds["rfc7030__A.1"] = join("cacerts", 200, [("Content-Type", "application/pkcs7-mime")],
                                     (rfc / "A.1_cacerts_response.b64").read_bytes())
        seeds["rfc7030__A.2"] = join("csrattrs", 200, [("Content-Type", "application/csrattrs")],
                                     (rfc / "A.2_csrattrs_response.b64").read_bytes())
        seeds["rfc7030__A.3"] = join("simpleenroll", 200, [("Content-Type", "application/pkcs7-mime; smime-type=certs-only")],
                                     (rfc / "A.3_simpleenroll_response_certs-only.b64").read_bytes())
        for le in ("CRLF", "LF"):
            text = (rfc / f"A.4_serverkeygen_response_multipart.{le}.txt").read_bytes()
            seeds[f"rfc7030__A.4.{le}"] = join(
                "serverkeygen", 200, [("Content-Type", "multipart/mixed; boundary=estServerExampleBoundary")], text)
        certs = (rfc / "A.4_serverkeygen_response_part2_certs-only.b64").read_bytes()
        for fname, data in committed_seeds("enveloped").items():
            if "servergen" not in fname:
                continue
            import base64

            body = (b"--est\r\nContent-Type: application/pkcs7-mime; smime-type=server-generated-key\r\n"
                    b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data)
                    + b"--est\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\n\r\n" + certs
                    + b"\r\n--est--\r\n")
            seeds[f"encrypted-keygen__{fname}"] = join("serverkeygen-keys", 200, [("Content-Type", mp)], body)
    for fname, data in committed_seeds("pki_response").items():
        import base64

        seeds[f"fullcmc__{fname}"] = join("fullcmc-trust", 200, [("Content-Type", "application/pkcs7-mime; smime-type=CMC-response")],
                                          base64.encodebytes(data))
    seeds["pending-date"] = join("simpleenroll", 202, [("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT")], b"")
    seeds["error-text"] = join("cacerts", 503, [("Content-Type", "text/plain"), ("Retry-After", "120")], b"busy")
    return seeds


def TestOneInput(data: bytes) -> None:  # noqa: N802
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
