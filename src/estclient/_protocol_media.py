"""Body, media-type and header encodings of EST messages (RFC 7030 §4, RFC 8951), shared by every operation.

Part of :mod:`estclient.protocol`, which re-exports the public names; import them from there.
"""
from __future__ import annotations

import base64
import binascii
import re
import time
from email.utils import parsedate_to_datetime

from .config import OPERATIONS, validate_ca_label
from .errors import ProtocolError

WELL_KNOWN = "/.well-known/est"

CT_PKCS10 = "application/pkcs10"
CT_PKCS7 = "application/pkcs7-mime"
CT_CSRATTRS = "application/csrattrs"
CT_PKCS8 = "application/pkcs8"
CT_MULTIPART = "multipart/mixed"
CT_TEXT = "text/plain"

#: Operations a server may leave out (RFC 7030 §4): 404/501 there mean "not supported".
OPTIONAL_OPERATIONS = ("csrattrs", "serverkeygen", "fullcmc")

_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
_WHITESPACE = b" \t\r\n\x0b\x0c"


def operation_path(operation: str, ca_label: str | None = None) -> str:
    """``/.well-known/est/[label/]operation`` (RFC 7030 §3.2.2)."""
    if operation not in OPERATIONS:
        raise ValueError(f"unknown EST operation {operation!r}")
    if ca_label is None:
        return f"{WELL_KNOWN}/{operation}"
    return f"{WELL_KNOWN}/{validate_ca_label(ca_label)}/{operation}"


def encode_body(der: bytes) -> bytes:
    """base64 with a line break every 64 characters (RFC 7030 §4 / RFC 8951)."""
    b64 = base64.b64encode(der)
    return b"\r\n".join(b64[i : i + 64] for i in range(0, len(b64), 64)) + b"\r\n"


def decode_body(body: bytes, what: str = "body") -> bytes:
    """Decode an EST body to DER: base64 with whitespace anywhere and trailing NULs, PEM armour, or raw DER.

    Raises ProtocolError when the body is neither.
    """
    raw = bytes(body)
    data = raw.rstrip(b"\x00" + _WHITESPACE).lstrip(_WHITESPACE)
    if not data:
        raise ProtocolError(f"{what} is empty")
    if data.startswith(b"-----BEGIN"):
        lines = [ln for ln in re.split(rb"\r\n|\n|\r", data) if ln and not ln.startswith(b"-----")]
        data = b"".join(ln for ln in lines if b":" not in ln)
    compact = data.translate(None, _WHITESPACE)
    if compact and all(c in _B64_ALPHABET for c in compact):
        text = compact.replace(b"-", b"+").replace(b"_", b"/").rstrip(b"=")
        text += b"=" * (-len(text) % 4)
        try:
            decoded = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if decoded:
            return decoded
    if raw[:1] == b"\x30":
        # raw DER/BER (RFC 8951 §3.2 tolerance): returned exactly as received; trailing bytes are the
        # decoder's business (a DER SET OF may legitimately end in 0x00)
        return raw
    raise ProtocolError(f"{what} is neither base64 nor DER")


def parse_media_type(value: str | None) -> tuple[str, dict[str, str]]:
    """``'Application/PKCS7-MIME ; smime-type="certs-only"'`` -> ``('application/pkcs7-mime',
    {'smime-type': 'certs-only'})``. Parameter names are lower-cased, values unquoted."""
    if not value:
        return "", {}
    parts = _split_params(value)
    mtype = re.sub(r"\s+", "", parts[0]).lower()
    params: dict[str, str] = {}
    for p in parts[1:]:
        if "=" not in p:
            continue
        k, v = p.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] == '"':
            v = v[1:-1].replace('\\"', '"')
        params[k.strip().lower()] = v
    return mtype, params


def _split_params(value: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [p.strip() for p in out]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3); ``None`` when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        # delay-seconds; an absurdly long number is as unreadable as garbage (int() refuses > 4300 digits)
        return float(int(text)) if len(text) <= 12 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
