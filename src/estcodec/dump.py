"""``python -m estcodec dump``: print the element tree of DER/BER/PEM/base64 input, like ``openssl asn1parse -i``.

Each line shows the element's offset, depth, header length, content length, form and tag, then the decoded
value of a primitive::

        0:d=0  hl=4 l= 645 cons: SEQUENCE
        4:d=1  hl=4 l= 365 cons:  SEQUENCE
        8:d=2  hl=2 l=   1 prim:   INTEGER           :0
       17:d=5  hl=2 l=   3 prim:      OBJECT            :commonName (2.5.4.3)

Input is read with :func:`estcodec.pem.load_any` (DER, first PEM block, or base64). It is parsed as strict
DER; if that fails and BER parses, the tree is shown from the BER parse with a note on stderr saying why the
input is not DER (``--ber`` asks for BER directly, without the note). OCTET STRINGs and BIT STRINGs whose
content is itself a constructed DER element (extension values, signed content) are expanded below them,
marked ``encapsulates``; ``--no-expand`` turns that off.
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from . import der
from . import oids as _oids
from .errors import DecodeError
from .pem import load_any

__all__ = ["OID_NAMES", "oid_name", "format_tree", "dump_bytes", "run"]

# The one name table of estcodec (OID -> short name); kept here under its old name.
OID_NAMES: dict[str, str] = _oids.OID_NAMES

_UNIVERSAL = {
    0: "EOC", 1: "BOOLEAN", 2: "INTEGER", 3: "BIT STRING", 4: "OCTET STRING", 5: "NULL", 6: "OBJECT",
    7: "OBJECT DESCRIPTOR", 8: "EXTERNAL", 9: "REAL", 10: "ENUMERATED", 11: "EMBEDDED PDV",
    12: "UTF8STRING", 13: "RELATIVE OID", 16: "SEQUENCE", 17: "SET", 18: "NUMERICSTRING",
    19: "PRINTABLESTRING", 20: "T61STRING", 21: "VIDEOTEXSTRING", 22: "IA5STRING", 23: "UTCTIME",
    24: "GENERALIZEDTIME", 25: "GRAPHICSTRING", 26: "VISIBLESTRING", 27: "GENERALSTRING",
    28: "UNIVERSALSTRING", 30: "BMPSTRING",
}
_CLASS_PREFIX = {"application": "appl", "context": "cont", "private": "priv"}
_STRING_TAGS = frozenset({7, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30})

MAX_VALUE_CHARS = 80   # strings longer than this are cut
MAX_HEX_BYTES = 32     # octet/bit strings longer than this are cut


oid_name = _oids.oid_label  # ``"commonName (2.5.4.3)"`` for a known OID, the dotted form otherwise


def _tag_name(el: Any) -> str:
    if el.tag_class == "universal":
        return _UNIVERSAL.get(el.tag, f"[UNIVERSAL {el.tag}]")
    return f"{_CLASS_PREFIX[el.tag_class]} [ {el.tag} ]"


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return "".join(out)


def _cut(text: str) -> str:
    if len(text) > MAX_VALUE_CHARS:
        return text[:MAX_VALUE_CHARS] + f"... ({len(text)} chars)"
    return text


def _hex(data: bytes) -> str:
    if len(data) > MAX_HEX_BYTES:
        return data[:MAX_HEX_BYTES].hex().upper() + f"... ({len(data)} bytes)"
    return data.hex().upper()


def _int_text(v: int) -> str:
    if -(1 << 64) < v < (1 << 64):
        return str(v)
    n = (v.bit_length() + 8) // 8
    return "0x" + _hex(v.to_bytes(n, "big", signed=True))


def _value_text(el: Any) -> str:
    """The text after ``:`` for a primitive element ('' for none)."""
    content = bytes(el.content)
    if el.tag_class != "universal":
        # implicitly tagged value of unknown type: text if it looks like text, hex otherwise
        if content and all(0x20 <= b < 0x7F for b in content):
            return _cut(_escape(content.decode("ascii")))
        return _hex(content)
    tag = el.tag
    value = el.value
    if tag == 1:
        return "TRUE" if value else "FALSE"
    if tag in (2, 10):
        return _int_text(value)
    if tag == 5:
        return ""
    if tag == 6:
        return oid_name(value)
    if tag == 3:
        bits = value
        prefix = f"unused={bits.unused_bits} " if bits.unused_bits else ""
        return prefix + _hex(bits.data)
    if tag in (23, 24):
        when = value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else str(value)
        if isinstance(value, datetime) and value.microsecond:
            when += f".{value.microsecond:06d}".rstrip("0")
        return f"{_escape(content.decode('latin-1'))} ({when} UTC)"
    if tag in _STRING_TAGS and isinstance(value, str):
        return _cut(_escape(value))
    if isinstance(value, str):
        return _cut(_escape(value))
    return _hex(content)


def _is_indefinite(data: bytes, el: Any) -> bool:
    """True if the element's header in *data* uses the indefinite length form."""
    if not el.constructed:
        return False
    return data[el.offset + el.header_length - 1] == 0x80 and _tag_len(data, el.offset) == el.header_length - 1


def _tag_len(data: bytes, offset: int) -> int:
    if data[offset] & 0x1F != 0x1F:
        return 1
    i = offset + 1
    while data[i] & 0x80:
        i += 1
    return i + 1 - offset


def _encapsulated(el: Any) -> tuple[bytes, int] | None:
    """(inner DER, offset of its first byte within the element's content) if el wraps a constructed DER element."""
    if el.tag_class != "universal" or el.tag not in (3, 4) or el.constructed:
        return None
    content = bytes(el.content)
    skip = 0
    if el.tag == 3:
        if not content or content[0] != 0:
            return None
        skip = 1
    inner = content[skip:]
    if len(inner) < 2 or not inner[0] & 0x20:
        return None
    return inner, skip


def format_tree(root: Any, data: bytes, *, expand: bool = True, base: int = 0, depth0: int = 0) -> Iterator[str]:
    """Yield one line per element of the tree *root* parsed from *data* (offsets shifted by *base*)."""
    stack: list[tuple[Any, int]] = [(root, depth0)]
    while stack:
        el, depth = stack.pop()
        hl = el.header_length
        if _is_indefinite(data, el):
            length_text = "l=inf "
        else:
            length_text = f"l={el.length:4d}"
        merged = not el.constructed and bool(data[el.offset] & 0x20)
        form = "cons" if el.constructed else "prim"
        line = f"{base + el.offset:5d}:d={depth:<2d} hl={hl} {length_text} {form}: {' ' * depth}{_tag_name(el):<18s}"
        if not el.constructed:
            text = _value_text(el)
            if text:
                line += ":" + text
            if merged:
                line += "  [BER constructed string, content concatenated]"
        yield line.rstrip()
        if el.constructed:
            stack.extend((child, depth + 1) for child in reversed(list(el.children)))
        elif expand:
            enc = _encapsulated(el)
            if enc is not None and not merged:
                inner, skip = enc
                try:
                    sub = der.parse(inner)
                except DecodeError:
                    continue
                inner_base = base + el.offset + hl + skip
                yield f"{'':5s}  {' ' * (depth + 13)}encapsulates:"
                yield from format_tree(sub, inner, expand=True, base=inner_base, depth0=depth + 1)


def dump_bytes(data: bytes, *, ber: bool = False, expand: bool = True,
               out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    """Parse *data* (DER, PEM, base64; BER with fallback) and write its tree to *out*. Returns the exit status."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        raw = load_any(data)
    except DecodeError as exc:
        print(f"error: {exc.detail} (byte {exc.offset}) [{exc.reason}]", file=err)
        return 1
    if ber:
        try:
            root = der.parse(raw, ber=True)
        except DecodeError as exc:
            print(f"error: {exc} [{exc.reason}]", file=err)
            return 1
    else:
        try:
            root = der.parse(raw)
        except DecodeError as strict_exc:
            try:
                root = der.parse(raw, ber=True)
            except DecodeError as exc:
                print(f"error: {exc} [{exc.reason}]", file=err)
                return 1
            print(f"note: input is not DER ({strict_exc} [{strict_exc.reason}]); shown as parsed as BER",
                  file=err)
    for line in format_tree(root, raw, expand=expand):
        print(line, file=out)
    return 0


def run(args: Any) -> int:
    """Entry point of the ``dump`` subcommand (``args`` from ``estcodec.__main__``)."""
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return dump_bytes(data, ber=args.ber, expand=not args.no_expand)


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
