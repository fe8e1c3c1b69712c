"""A deliberately tiny DER writer and reader for the reference EST server.

The test server is a peer the client is checked against, so the few structures it has to build or
pick apart that ``cryptography`` does not cover (CMS SignedData with a non-data content type,
EnvelopedData, CMC PKIResponse, CsrAttrs, CSR attributes) are written here with a handful of TLV
helpers rather than with ``estcodec``: a codec bug then cannot hide itself by being present on both
ends of a test. Only what the server needs is here; nothing in it is public API.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Asn1Error",
    "Tlv",
    "tlv",
    "seq",
    "set_of",
    "oid",
    "integer",
    "octet_string",
    "bit_string",
    "null",
    "boolean",
    "utf8",
    "explicit",
    "implicit",
    "parse",
    "parse_all",
    "decode_oid",
    "decode_integer",
]

# ---------------------------------------------------------------------------------------------- writer

CLASS_UNIVERSAL = 0x00
CLASS_CONTEXT = 0x80
CONSTRUCTED = 0x20


class Asn1Error(ValueError):
    """Malformed DER met by the test server (turned into an HTTP 400 by the server)."""


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(identifier: int, content: bytes) -> bytes:
    """One TLV with a single-byte identifier octet (tag numbers below 31 only)."""
    return bytes([identifier]) + _length(len(content)) + content


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    """DER SET OF: elements sorted by their encodings (X.690 §11.6)."""
    return tlv(0x31, b"".join(sorted(parts)))


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39):
        raise Asn1Error(f"bad OID {dotted!r}")
    values = [arcs[0] * 40 + arcs[1], *arcs[2:]]
    out = bytearray()
    for v in values:
        chunk = [v & 0x7F]
        v >>= 7
        while v:
            chunk.append(0x80 | (v & 0x7F))
            v >>= 7
        out.extend(reversed(chunk))
    return tlv(0x06, bytes(out))


def integer(value: int) -> bytes:
    length = (value + (value < 0)).bit_length() // 8 + 1
    return tlv(0x02, value.to_bytes(length, "big", signed=True))


def octet_string(data: bytes) -> bytes:
    return tlv(0x04, data)


def bit_string(data: bytes, unused_bits: int = 0) -> bytes:
    return tlv(0x03, bytes([unused_bits]) + data)


def null() -> bytes:
    return b"\x05\x00"


def boolean(value: bool) -> bytes:
    return tlv(0x01, b"\xff" if value else b"\x00")


def utf8(text: str) -> bytes:
    return tlv(0x0C, text.encode("utf-8"))


def explicit(number: int, inner: bytes) -> bytes:
    """[number] EXPLICIT: a constructed context tag around the whole inner TLV."""
    return tlv(CLASS_CONTEXT | CONSTRUCTED | number, inner)


def implicit(number: int, inner: bytes, *, constructed: bool | None = None) -> bytes:
    """[number] IMPLICIT: replace the identifier of ``inner``, keeping its constructed bit."""
    el = parse(inner)
    cons = el.constructed if constructed is None else constructed
    return tlv(CLASS_CONTEXT | (CONSTRUCTED if cons else 0) | number, el.content)


# ---------------------------------------------------------------------------------------------- reader

@dataclass(frozen=True)
class Tlv:
    """One parsed element: identifier octet, content bytes and the whole encoding."""

    identifier: int
    content: bytes
    encoded: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.identifier & CONSTRUCTED)

    @property
    def tag_class(self) -> int:
        return self.identifier & 0xC0

    @property
    def number(self) -> int:
        return self.identifier & 0x1F

    def is_context(self, number: int) -> bool:
        return self.tag_class == CLASS_CONTEXT and self.number == number

    def children(self) -> list[Tlv]:
        if not self.constructed:
            raise Asn1Error("expected a constructed element")
        return parse_all(self.content)


def _read(data: bytes, pos: int) -> tuple[Tlv, int]:
    if pos + 2 > len(data):
        raise Asn1Error("truncated element")
    ident = data[pos]
    if ident & 0x1F == 0x1F:
        raise Asn1Error("multi-byte tags are not used by EST structures")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise Asn1Error("indefinite or oversized length")
        if pos + count > len(data):
            raise Asn1Error("truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        if length < 0x80 or data[pos] == 0:
            raise Asn1Error("non-minimal length")
        pos += count
    end = pos + length
    if end > len(data):
        raise Asn1Error("truncated content")
    header_start = pos - 2 - (0 if first < 0x80 else first & 0x7F)
    return Tlv(ident, bytes(data[pos:end]), bytes(data[header_start:end])), end


def parse(data: bytes) -> Tlv:
    """Exactly one element, nothing after it."""
    el, end = _read(data, 0)
    if end != len(data):
        raise Asn1Error("trailing data after element")
    return el


def parse_all(data: bytes) -> list[Tlv]:
    """The concatenated elements of a constructed element's content."""
    out: list[Tlv] = []
    pos = 0
    while pos < len(data):
        el, pos = _read(data, pos)
        out.append(el)
    return out


def decode_oid(el: Tlv) -> str:
    if el.identifier != 0x06 or not el.content or el.content[-1] & 0x80:
        raise Asn1Error("expected an OBJECT IDENTIFIER")
    values: list[int] = []
    acc = 0
    for i, b in enumerate(el.content):
        if acc == 0 and b == 0x80:
            raise Asn1Error("non-minimal OID arc")
        acc = (acc << 7) | (b & 0x7F)
        if not b & 0x80:
            values.append(acc)
            acc = 0
    first = values[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(v) for v in head + values[1:])


def decode_integer(el: Tlv) -> int:
    if el.identifier != 0x02 or not el.content:
        raise Asn1Error("expected an INTEGER")
    return int.from_bytes(el.content, "big", signed=True)


def expect(el: Tlv, identifier: int, what: str) -> Tlv:
    if el.identifier != identifier:
        raise Asn1Error(f"expected {what}")
    return el
