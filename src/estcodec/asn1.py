"""Compile ASN.1 modules into estcodec models.

``compile(sources)`` reads ASN.1 module texts (or paths to ``.asn`` files) with asn1tools' parser (the optional
extra ``estclient[asn1]``), and returns a namespace of model classes declared with :mod:`estcodec.schema`;
``generate(sources)`` returns the same declarations as Python source, which imports only estcodec (what
``python -m estcodec compile MODULE.asn ... -o models.py`` writes), so a project can commit the models and drop
asn1tools.

What maps, and how (docs/asn1-compile.md has the table):

- SEQUENCE, SET, SEQUENCE OF, SET OF, CHOICE; named types become classes (SEQUENCE/SET/CHOICE) or aliases;
  components defined inline become classes named ``Outer_component``; SET components are declared in tag
  order (the order DER encodes them in); COMPONENTS OF is inlined;
- OPTIONAL, DEFAULT (BOOLEAN, INTEGER and ENUMERATED values or names, strings, OIDs, BIT STRING, OCTET STRING
  and named-bit values);
- tags: ``[n]``, ``[APPLICATION n]``, ``[PRIVATE n]``, EXPLICIT/IMPLICIT per component or by the module's
  default, AUTOMATIC tagging (X.680 §25.3), and tags on type assignments (``T ::= [APPLICATION 1] ...``); a tag
  on an untagged CHOICE or open type is EXPLICIT whatever the default (X.680 §31.2.7);
- SIZE constraints of SEQUENCE OF / SET OF are enforced (min_size / max_size). SIZE constraints of strings and
  value constraints of INTEGER are NOT enforced by the schema engine: they are kept as comments in the
  generated source;
- extensibility markers: components after ``...`` are OPTIONAL; elements unknown to the module (additions from
  a later version) are refused when decoding, as every element the model does not know;
- IMPORTS between the modules given together;
- open types: ``ANY`` and ``ANY DEFINED BY x`` (raw TLV bytes, resolved through the registry
  ``OPEN_TYPES["Type.component"]`` that callers may fill: OID -> type), and information-object-class fields
  ``CLASS.&Type({Set}{@id})``, whose registry is built from the object set where the parser gives its objects
  (an object given only by reference is skipped: asn1tools does not expose its fields); parameterised types
  whose parameters are object sets compile once, their registries left to the caller;
- OBJECT IDENTIFIER and INTEGER value assignments become constants (``id_pe = "1.3.6.1.5.5.7.1"``).

What does not map is refused with ``CompileError`` naming the type and the construct: REAL, GeneralString
and other types the engine has no codec for, recursive types, parameterised types with a type parameter,
DEFAULT values of constructed types, an open type whose ``@field`` comes after it (``omit_unsupported=True``
leaves such types out instead). Two constructs that X.680 forbids but PKI modules use are compiled and listed
in ``namespace.__warnings__`` (refused with ``strict=True``): a CHOICE whose alternatives share a tag (an open
type, raw TLV), and consecutive OPTIONAL components whose tags clash.
"""
from __future__ import annotations

import builtins
import os
import types as _types
from collections.abc import Iterable

# Re-exported for the generated code, which imports only estcodec (fields are ``_a.Annotated[<Python type>, ...]``)
from datetime import datetime as datetime
from typing import Annotated as Annotated
from typing import Any as _TypingAny

from . import _der
from ._asn1_compiler import _generate
from ._asn1_parse import _CLASS_NUM, CompileError, _Node
from ._asn1_parse import _snake  # noqa: F401 - benchmarks/asn1tools_corpus.py uses estcodec.asn1._snake
from .schema import Spec, decode, encode, spec_of

__all__ = ["CompileError", "compile", "generate", "tagged", "set_type", "TaggedType"]


# --- helpers the generated source uses (no asn1tools needed) ----------------------------------------------


class TaggedType:
    """A type under a tag of its own assignment (``T ::= [APPLICATION 3] IMPLICIT SEQUENCE {...}``). Usable in
    annotations like any type; ``from_der``/``to_der`` decode and encode it on its own."""

    def __init__(self, spec: Spec, name: str) -> None:
        self._asn1_spec = spec
        self.__name__ = name

    def from_der(self, data: bytes, *, ber: bool = False) -> _TypingAny:
        """Decode ``data`` as this tagged type (strict DER unless ``ber``); raises :class:`~estcodec.DecodeError`.
        """
        return decode(self, data, ber=ber)

    def to_der(self, value: object) -> bytes:
        """The DER of ``value`` under this type's tag."""
        return encode(self, value)

    def __repr__(self) -> str:
        return f"<ASN.1 type {self.__name__}: {self._asn1_spec.type_name}>"


def tagged(base: object, mode: str, number: int, tag_class: str = "context", name: str = "") -> TaggedType:
    """``base`` under the tag ``[tag_class number]``, ``mode`` "implicit" or "explicit"."""
    s = spec_of(base)
    cls = _CLASS_NUM[tag_class.upper()]
    label = "" if cls == 2 else tag_class.upper() + " "
    if mode == "implicit":
        if s.kind == _der.KIND_ANYVAL or (s.kind == _der.KIND_CHOICE and s.tcls < 0) or s.kind == _der.KIND_ANY:
            raise TypeError(f"{name or s.type_name}: an untagged CHOICE or open type cannot be tagged IMPLICIT")
        t = s.copy()
        t.tcls, t.tnum = cls, number
        t.type_name = f"[{label}{number}] IMPLICIT {s.type_name}"
    elif mode == "explicit":
        t = Spec(_der.KIND_EXPLICIT, cls, number, inner=s, type_name=f"[{label}{number}] EXPLICIT {s.type_name}")
    else:
        raise TypeError(f"bad tagging mode {mode!r}")
    return TaggedType(t, name or t.type_name)


def set_type(cls: type) -> type:
    """Make the SEQUENCE model ``cls`` a SET (universal tag 17; DER wants its components in tag order, which
    the compiler checked the declaration follows)."""
    s = spec_of(cls)
    s.tnum = 17
    s.type_name = f"SET ({cls.__name__})"
    return cls


def generate(sources: Iterable[str] | str | _Node, *, strict: bool = False, omit_unsupported: bool = False) -> str:
    """Python source declaring the models of the ASN.1 modules ``sources``: module texts or file paths (or the
    dict asn1tools' ``parse_string``/``parse_files`` return). With ``omit_unsupported=True`` a type that cannot be
    compiled (and every type that uses it) is left out and named in ``__warnings__`` instead of refusing the
    whole input."""
    return _generate(sources, strict, omit_unsupported)[0]


def compile(sources: Iterable[str] | str | _Node, *, strict: bool = False,  # noqa: A001
            omit_unsupported: bool = False) -> _types.SimpleNamespace:
    """Compile ASN.1 modules (texts or file paths) into a namespace of estcodec model classes and constants.
    ``__warnings__`` lists the constructs compiled as open types (refused with ``strict=True``) and the types
    left out with ``omit_unsupported=True``; ``__source__`` is the generated Python source; ``OPEN_TYPES`` the
    open-type registries."""
    import sys

    src, _ = _generate(sources, strict, omit_unsupported)
    # Model classes resolve string annotations through their module, so the source runs as a module that can be
    # found while it is executed. Its classes cannot be pickled by reference (write them out with
    # ``python -m estcodec compile`` for that).
    mod = _types.ModuleType("estcodec._asn1_compiled")
    prev = sys.modules.get(mod.__name__)
    sys.modules[mod.__name__] = mod
    try:
        exec(builtins.compile(src, "<estcodec.asn1>", "exec"), mod.__dict__)  # noqa: S102 - our generated source
    except TypeError as exc:  # a declaration the schema refuses (its message names the class)
        raise CompileError(f"cannot be declared as an estcodec model: {exc}") from None
    finally:
        if prev is None:
            sys.modules.pop(mod.__name__, None)
        else:
            sys.modules[mod.__name__] = prev
    out = _types.SimpleNamespace(**{k: v for k, v in mod.__dict__.items() if not k.startswith("__")})
    out.__warnings__ = mod.__dict__["__warnings__"]
    out.__source__ = src
    return out


def run(args: _TypingAny) -> int:
    """``python -m estcodec compile``: write the models of the given modules as Python source."""
    import sys

    try:
        src, warnings = _generate(args.modules, args.strict, args.omit_unsupported)
    except (CompileError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.output in (None, "-"):
        sys.stdout.write(src)
    else:
        tmp = args.output + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(src)
        os.replace(tmp, args.output)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    return 0


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
