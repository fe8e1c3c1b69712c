"""The files :mod:`estcodec.show` recognises beyond the core PKI structures, and the way it prints some values:

- PKCS#12 (PFX, RFC 7292): its version, whether a MAC protects it and, when it opens without a password, which
  certificates and keys it holds (read by ``cryptography``; key material is never part of a summary);
- the RFC 7030 §4.4.2 server-generated key response, ``multipart/mixed`` with a key part and a certificate part,
  each summarised as the structure it holds;
- a text file that is not PEM or base64 is called what it is ("not a PKI file (looks like text)");
- subjectAltNames as OpenSSL prints them (``DNS:``, ``IP Address:``, ``email:``, ``URI:``, ``DirName:``) and
  serial numbers as the octets of their DER INTEGER, leading zero octet included.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

from . import der as _der
from . import oids as _oids
from . import pem as _pem
from .errors import Error

__all__ = ["is_pkcs12", "summarize_pkcs12", "summarize_multipart", "looks_like_text", "openssl_general_name",
           "serial_hex"]

_ID_DATA = _oids.ID_DATA
_ID_SIGNED_DATA = _oids.ID_SIGNED_DATA
_MAX_PARTS = 16


def serial_hex(serial: int) -> str:
    """The serial number as the hex of its DER INTEGER content octets: ``00`` first when the high bit is set."""
    if serial < 0:
        return "-" + format(-serial, "x")
    return serial.to_bytes(serial.bit_length() // 8 + 1, "big").hex()


_GN_LABELS = {
    "dns_name": "DNS", "rfc822_name": "email", "uniform_resource_identifier": "URI", "ip_address": "IP Address",
    "directory_name": "DirName", "registered_id": "Registered ID", "other_name": "othername",
    "x400_address": "X400Name", "edi_party_name": "EdiPartyName",
}


def openssl_general_name(gn: Any) -> str:
    """A GeneralName as ``openssl x509 -text`` prints it: ``DNS:host``, ``IP Address:10.0.0.1``, ``email:a@b``,
    ``URI:...``, ``DirName:CN=...``, ``Registered ID:1.2.3``, ``othername:OID:<hex of the value>``."""
    kind = str(getattr(gn, "name", "name"))
    label = _GN_LABELS.get(kind, kind)
    try:
        value = gn.python_value()
    except Exception:  # noqa: BLE001 - a value this reader cannot turn into Python: show its raw form
        value = gn.value
    if kind == "ip_address" and isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        if len(raw) in (4, 16):
            return f"{label}:{ipaddress.ip_address(raw)}"
        if len(raw) in (8, 32):  # a name constraint: address and mask
            half = len(raw) // 2
            return f"{label}:{ipaddress.ip_address(raw[:half])}/{ipaddress.ip_address(raw[half:])}"
    if hasattr(value, "type_id") and hasattr(value, "value"):  # AnotherName
        inner = value.value
        return f"{label}:{value.type_id}:{bytes(inner).hex() if isinstance(inner, (bytes, bytearray)) else inner}"
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).hex()
    elif hasattr(value, "rfc4514_string"):
        value = value.rfc4514_string()
    return f"{label}:{value}"


def looks_like_text(data: bytes) -> bool:
    """True when ``data`` is printable UTF-8 text (what a configuration file or a log is), not base64."""
    if not data:
        return False
    try:
        text = data[:8192].decode("utf-8")
    except UnicodeDecodeError:
        return False
    compact = "".join(text.split())
    words_on_a_line = any(len(line.split()) > 1 for line in text.splitlines())
    if not words_on_a_line and len(compact) % 4 == 0 and re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", compact):
        return False  # base64 of something: the reader's own error about what it holds says more
    return all(ch.isprintable() or ch in "\t\r\n\f\v" for ch in text)


def is_pkcs12(data: bytes) -> bool:
    """True for a PFX: SEQUENCE { version INTEGER 3, authSafe ContentInfo (data or signedData), ... }."""
    try:
        top = _der.parse(data, ber=True)
        if not (top.tag_class == "universal" and top.tag == 16 and len(top) in (2, 3)):
            return False
        version, auth_safe = top[0], top[1]
        if not (version.tag == 2 and version.tag_class == "universal" and version.value == 3):
            return False
        return auth_safe.tag == 16 and len(auth_safe) >= 1 and auth_safe[0].value in (_ID_DATA, _ID_SIGNED_DATA)
    except (Error, ValueError, IndexError, TypeError):
        return False


def summarize_pkcs12(data: bytes) -> dict[str, Any]:
    """Version, integrity mode and, when the file opens without a password, its certificates (subject, serial)
    and whether it holds a private key (its type only)."""
    top = _der.parse(data, ber=True)
    out: dict[str, Any] = {
        "version": 3,
        "integrity": "password MAC" if len(top) == 3 else ("public-key signature" if top[1][0].value == _ID_SIGNED_DATA
                                                           else "none"),
    }
    try:
        from cryptography.hazmat.primitives.serialization import pkcs12

        bundle = pkcs12.load_pkcs12(data, None)
    except (ValueError, TypeError):
        out["contents"] = "encrypted: a password is needed to list them (openssl pkcs12 -info)"
        return out
    certs = ([bundle.cert] if bundle.cert is not None else []) + list(bundle.additional_certs)
    out["certificates"] = [
        f"{c.certificate.subject.rfc4514_string()} (serial {serial_hex(c.certificate.serial_number)})" for c in certs
    ]
    if bundle.key is not None:
        from cryptography.hazmat.primitives import serialization

        from .show import describe_public_key
        from .x509 import SubjectPublicKeyInfo

        spki = bundle.key.public_key().public_bytes(serialization.Encoding.DER,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
        out["private_key"] = f"{describe_public_key(SubjectPublicKeyInfo.from_der(spki))} (not shown)"
    else:
        out["private_key"] = "none"
    return out


def _boundary(text: str) -> str | None:
    m = re.search(r'boundary="?([^";\r\n]+)"?', text, re.I)
    if m:
        return m.group(1).strip()
    for line in text.splitlines()[:8]:
        if line.startswith("--") and len(line) > 2 and not line.startswith("-----"):
            return line[2:].strip()
    return None


def summarize_multipart(data: bytes, trust: Any = None) -> dict[str, Any] | None:
    """The summary of an RFC 7030 §4.4.2 ``multipart/mixed`` body (each part as the structure it holds), or None
    when ``data`` is not one."""
    from .show import summarize

    if b"-----BEGIN" in data or b"--" not in data[:4096] or b"content-type" not in data[:8192].lower():
        return None
    text = data.decode("latin-1")
    boundary = _boundary(text)
    if not boundary:
        return None
    parts: list[dict[str, Any]] = []
    for chunk in text.split("--" + boundary)[1:_MAX_PARTS + 1]:
        if chunk.startswith("--"):
            break  # the closing delimiter
        head, sep, body = chunk.lstrip("\r\n").replace("\r\n", "\n").partition("\n\n")
        if not sep:
            continue
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head.splitlines())}
        part: dict[str, Any] = {"content_type": headers.get("content-type", "?")}
        try:
            s = summarize(_pem.load_any(body.strip().encode("latin-1")), trust=trust)
            part["holds"] = s.pop("name")
            for k in ("type", "encoding", "size"):
                s.pop(k, None)
            part.update(s)
        except (Error, ValueError) as exc:
            part["error"] = str(exc)
        parts.append(part)
    if not parts:
        return None
    return {"type": "serverkeygen-multipart", "name": "EST server-generated key (multipart/mixed, RFC 7030 §4.4.2)",
            "encoding": "MIME", "size": len(data), "boundary": boundary, "parts": parts}
