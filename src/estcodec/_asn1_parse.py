"""The front of :mod:`estcodec.asn1`'s compiler: its error, the tables of ASN.1 built-in types, naming (ASN.1
identifiers to Python names), the modules of asn1tools' parse tree and reading ASN.1 sources (X.680).

Part of :mod:`estcodec.asn1`, which re-exports :class:`CompileError`; import it from there.
"""
from __future__ import annotations

import keyword
import os
import re
from collections.abc import Iterable

from typing import Any as _TypingAny

from .errors import Error

# asn1tools' parse tree (JSON-like dicts), and a tag as (class, number)
_Node = dict[str, _TypingAny]
_Tag = tuple[int, int]


class CompileError(Error, ValueError):
    """An ASN.1 construct that cannot be compiled into estcodec models (the message names type and construct)."""


# --- ASN.1 built-in types and names -----------------------------------------------------------------------

_CLASS_NUM = {"UNIVERSAL": 0, "APPLICATION": 1, "CONTEXT": 2, "PRIVATE": 3}

_PRIMS = {
    "BOOLEAN": ("Boolean", 1), "INTEGER": ("Integer", 2), "BIT STRING": ("BitString", 3),
    "OCTET STRING": ("OctetString", 4), "NULL": ("Null", 5), "OBJECT IDENTIFIER": ("ObjectIdentifier", 6),
    "ENUMERATED": ("Enumerated", 10), "UTF8String": ("UTF8String", 12), "NumericString": ("NumericString", 18),
    "PrintableString": ("PrintableString", 19), "TeletexString": ("TeletexString", 20),
    "T61String": ("TeletexString", 20), "IA5String": ("IA5String", 22), "UTCTime": ("UTCTime", 23),
    "GeneralizedTime": ("GeneralizedTime", 24), "VisibleString": ("VisibleString", 26),
    "ISO646String": ("VisibleString", 26), "UniversalString": ("UniversalString", 28),
    "BMPString": ("BMPString", 30),
}
_UNSUPPORTED = {
    "REAL", "GeneralString", "GraphicString", "VideotexString", "ObjectDescriptor", "EXTERNAL", "EMBEDDED PDV",
    "RELATIVE-OID", "DATE", "TIME-OF-DAY", "DATE-TIME", "DURATION", "TIME", "CHARACTER STRING", "OID-IRI",
    "RELATIVE-OID-IRI",
}
_TAG_OF_KIND = {"SEQUENCE": 16, "SEQUENCE OF": 16, "SET": 17, "SET OF": 17}
# Python value type of each schema type the generated code names (``Any``: the raw TLV bytes)
_PY_TYPES = {
    "Boolean": "bool", "Integer": "int", "Enumerated": "int", "BitString": "_s.BitStringValue", "OctetString": "bytes",
    "Null": "None", "ObjectIdentifier": "str", "UTCTime": "_a.datetime", "GeneralizedTime": "_a.datetime",
    "Any": "bytes", "AnyValue": "object", **{n: "str" for n in (
        "UTF8String", "NumericString", "PrintableString", "TeletexString", "IA5String", "VisibleString",
        "UniversalString", "BMPString")},
}


def _first_argument(args: str) -> str:
    """The first argument of a call's argument text (``X(a, b)`` -> ``X(a, b)`` given ``"X(a, b), 1)"``)."""
    depth = 0
    for i, ch in enumerate(args):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            if depth == 0:
                return args[:i].strip()
            depth -= 1
        elif ch == "," and depth == 0:
            return args[:i].strip()
    return args.strip()


def _snake(name: str) -> str:
    # a one-letter prefix before an acronym joins it (dNSName -> dns_name, cRLIssuer -> crl_issuer, cA -> ca), as
    # the hand-written models spell them; eContent stays e_content
    s = re.sub(r"^([a-z])([A-Z]+?)(?=[A-Z][a-z]|[0-9_-]|$)", lambda m: m.group(1) + m.group(2).lower(), name)
    s = s.replace("-", "_")
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", s)
    s = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", "_", s)
    s = s.lower()
    if keyword.iskeyword(s) or s in ("self", "cls"):
        s += "_"
    return s


def _pyname(name: str) -> str:
    s = name.replace("-", "_").replace(".", "_")
    if keyword.iskeyword(s):
        s += "_"
    return s


# [UNIVERSAL n] IMPLICIT OCTET STRING is how modules written for pre-1994 compilers define the string types
# those compilers lack (RFC 2797 and RFC 5272's "UTF8String ::= [UNIVERSAL 12] IMPLICIT OCTET STRING"): the
# encoding is the built-in string type's, so such a node compiles as that type. Other UNIVERSAL tags stay refused.
_UNIVERSAL_STRINGS = {num: kind for kind, (_, num) in _PRIMS.items()
                      if kind.endswith("String") and kind not in ("BIT STRING", "OCTET STRING")}


def _universal_builtin(node: _TypingAny, depth: int = 0) -> _TypingAny:
    """The node with every [UNIVERSAL n] IMPLICIT OCTET STRING for a known string type n replaced by that type."""
    if depth > 200:
        return node
    if isinstance(node, list):
        return [_universal_builtin(x, depth + 1) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _universal_builtin(v, depth + 1) for k, v in node.items()}
    tag = out.get("tag")
    if (isinstance(tag, dict) and tag.get("class") == "UNIVERSAL" and tag.get("kind") == "IMPLICIT"
            and out.get("type") == "OCTET STRING" and isinstance(tag.get("number"), int)
            and tag["number"] in _UNIVERSAL_STRINGS):
        del out["tag"]
        out["type"] = _UNIVERSAL_STRINGS[tag["number"]]
    return out


class _Module:
    def __init__(self, name: str, d: _Node) -> None:
        self.name = name
        self.types: _Node = {n: _universal_builtin(t) for n, t in d.get("types", {}).items()}
        self.values: _Node = d.get("values", {})
        self.classes: _Node = d.get("object-classes", {})
        self.sets: _Node = d.get("object-sets", {})
        self.tags: str = d.get("tags") or "EXPLICIT"
        self.implied: bool = bool(d.get("extensibility-implied"))
        self.imports: _Node = {}
        for mod, names in d.get("imports", {}).items():
            for n in names:
                self.imports[n] = mod

def _parse(sources: Iterable[str] | str | _Node) -> _Node:
    if isinstance(sources, dict):
        return sources  # already parsed: what asn1tools.parse_string / parse_files return
    try:
        import asn1tools
    except ImportError as exc:  # pragma: no cover - the optional extra
        raise CompileError("estcodec.asn1 needs asn1tools to parse ASN.1 (pip install 'estclient[asn1]')") from exc
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    texts = []
    for s in sources:
        s = os.fspath(s)
        if "\n" not in s and "::=" not in s:  # a path
            try:
                with open(s, encoding="utf-8") as fh:
                    texts.append(fh.read())
            except (OSError, UnicodeDecodeError) as exc:
                raise CompileError(f"{s}: cannot read the module ({exc})") from None
        else:
            texts.append(s)
    try:
        out: _Node = asn1tools.parse_string("\n".join(texts))
        return out
    except Exception as exc:  # asn1tools raises its own ParseError and others
        raise CompileError(f"ASN.1 parse error: {exc}") from None
