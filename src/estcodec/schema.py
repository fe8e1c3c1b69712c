"""Declarative ASN.1 models, compiled once into the specs that the core walks.

A model reads like the RFC's ASN.1; annotations are the types, ``field()`` gives tagging and OPTIONAL/DEFAULT.
Each annotation is ``Annotated[<Python value type>, <ASN.1 type>]``: type checkers and editors read the first
argument, the schema the ASN.1 type among the metadata (a model class whose instances are the values, such as
``TBSCertificate`` or a non-transparent CHOICE, is written bare)::

    class Extension(Sequence):
        extn_id: Annotated[str, ObjectIdentifier]
        critical: Annotated[bool, Boolean] = field(default=False)
        extn_value: Annotated[bytes, OctetString]

    class GeneralName(Choice):
        rfc822_name: Annotated[str, IA5String] = field(implicit=1)
        dns_name: Annotated[str, IA5String] = field(implicit=2)

    class TBS(Sequence):
        version: Annotated[int, Integer] = field(explicit=0, default=0)
        extensions: Annotated[list[Extension] | None, SequenceOf[Extension]] = field(explicit=3, optional=True)
        parameters: Annotated[object, Any] = field(optional=True, defined_by="algorithm", registry=ALGORITHM_PARAMS)

An annotation ``ClassVar[...]`` declares a class attribute for checkers (such as a descriptor set on the class
later), not a field. The bare ASN.1 type (``version: Integer``) is still accepted, as older code may declare it;
only the ``Annotated`` form tells a checker what the field holds. Either way the annotation is read once, when the
class is made: decoding never looks at it.

``Model.from_der(data)`` decodes (strict DER; ``ber=True`` for BER), ``instance.to_der()`` encodes (a decoded
instance gives back exactly its input bytes), ``Model(field=value, ...)`` builds, ``instance.replace(...)`` copies
with changes. Python values: INTEGER/ENUMERATED ``int``, BOOLEAN ``bool``, NULL ``None``, OBJECT IDENTIFIER dotted
``str``, BIT STRING ``BitStringValue``, named BIT STRING ``frozenset`` of names, OCTET STRING ``bytes``, string types
``str``, times aware UTC ``datetime``, SEQUENCE OF / SET OF ``list`` (a read-only ``LazyList`` for a long
``lazy=True`` one), ``Any`` raw TLV ``bytes``, ``AnyValue`` the
decoded value of a universal primitive (else raw TLV bytes).

Field names double as error-path segments (``$.tbs_certificate.validity.not_after``). Annotations must be real
objects (do not use ``from __future__ import annotations`` in model modules); strings are evaluated in the
module's namespace at class creation. Recursive types are not supported.

Speed notes. Each class is compiled once; its spec is fixed from then on (``_asn1_spec`` cannot be rebound).
``class M(Sequence, gc=False)`` (as every model of ``estcodec.x509`` is declared) makes instances without a
``__dict__`` that the cyclic GC never tracks, allocated from a list of reused blocks: the cheapest objects the
engine can make. Decoding checks everything eagerly, but builds the value of an OCTET STRING or BIT STRING field
only when it is first read (until then the instance keeps where it lies in the source bytes), a ``lazy=True``
CHOICE builds its value on first access, and a long ``SequenceOf(X, lazy=True)`` of small elements builds its first
elements while decoding (64, or one per 128 bytes, at most 1024) and the rest (checked all the same) when read.
"""
from __future__ import annotations

import sys
from typing import Annotated, ClassVar, get_origin
from typing import Any as _TypingAny

from . import _der
from ._der import BitStringValue, ChoiceModel, FieldGetter, FieldSpec, Model, Spec

__all__ = [
    "Sequence", "Choice", "SequenceOf", "SetOf", "field", "Any", "AnyValue", "Integer", "Enumerated", "Boolean",
    "Null", "ObjectIdentifier", "BitString", "NamedBitString", "OctetString", "UTF8String", "PrintableString",
    "IA5String", "NumericString", "VisibleString", "TeletexString", "BMPString", "UniversalString", "UTCTime",
    "GeneralizedTime", "BitStringValue", "Spec", "FieldSpec", "spec_of", "decode", "encode",
]

_CLASSES = {"universal": 0, "application": 1, "context": 2, "private": 3}
_NOTHING = object()


def spec_of(t: object) -> Spec:
    """The compiled spec of a type used in an annotation (``Annotated[T, asn1_type]`` gives ``asn1_type``'s)."""
    if get_origin(t) is Annotated:
        t = _asn1_type_of(t, repr(t))
    if isinstance(t, Spec):
        return t
    s = getattr(t, "_asn1_spec", None)
    if not isinstance(s, Spec):
        raise TypeError(f"{t!r} is not an ASN.1 type of estcodec.schema")
    return s


def decode(t: object, data: bytes, *, ber: bool = False) -> _TypingAny:
    """Decode ``data`` as type ``t`` (a model class or a primitive type such as ``Integer``)."""
    return _der.decode(spec_of(t), data, ber)


def encode(t: object, value: _TypingAny) -> bytes:
    """Encode ``value`` as type ``t`` into DER."""
    return _der.encode(spec_of(t), value)


# --- primitive types ----------------------------------------------------------------------------------------

class _Primitive:
    _asn1_spec: Spec

    def __init_subclass__(cls, tag: int = 0, **kw: _TypingAny) -> None:
        super().__init_subclass__(**kw)
        cls._asn1_spec = Spec(tag, 0, tag, type_name=cls.__name__)

    def __new__(cls, *a: object, **k: object) -> _TypingAny:  # pragma: no cover - types, not values
        raise TypeError(f"{cls.__name__} is an ASN.1 type marker; use plain Python values")


def _prim(name: str, tag: int, type_name: str) -> type[_Primitive]:
    t: type[_Primitive] = type(name, (_Primitive,), {"__doc__": f"ASN.1 {type_name}"}, tag=tag)
    t._asn1_spec.type_name = type_name
    return t


Boolean = _prim("Boolean", 1, "BOOLEAN")
Integer = _prim("Integer", 2, "INTEGER")
BitString = _prim("BitString", 3, "BIT STRING")
OctetString = _prim("OctetString", 4, "OCTET STRING")
Null = _prim("Null", 5, "NULL")
ObjectIdentifier = _prim("ObjectIdentifier", 6, "OBJECT IDENTIFIER")
Enumerated = _prim("Enumerated", 10, "ENUMERATED")
UTF8String = _prim("UTF8String", 12, "UTF8String")
NumericString = _prim("NumericString", 18, "NumericString")
PrintableString = _prim("PrintableString", 19, "PrintableString")
TeletexString = _prim("TeletexString", 20, "TeletexString")
IA5String = _prim("IA5String", 22, "IA5String")
UTCTime = _prim("UTCTime", 23, "UTCTime")
GeneralizedTime = _prim("GeneralizedTime", 24, "GeneralizedTime")
VisibleString = _prim("VisibleString", 26, "VisibleString")
UniversalString = _prim("UniversalString", 28, "UniversalString")
BMPString = _prim("BMPString", 30, "BMPString")


class Any:
    """An open type: the raw TLV bytes of whatever element is there."""
    _asn1_spec = Spec(_der.KIND_ANY, -1, 0, type_name="ANY")


class AnyValue:
    """An open type decoded to the Python value of a universal primitive (str for strings), else raw TLV bytes."""
    _asn1_spec = Spec(_der.KIND_ANYVAL, -1, 0, type_name="ANY")


class _TypeExpr:
    """A constructed type made by ``SequenceOf[...]``, ``SetOf[...]`` or ``NamedBitString(...)``."""

    def __init__(self, spec: Spec) -> None:
        self._asn1_spec = spec

    def __repr__(self) -> str:
        return f"<ASN.1 type {self._asn1_spec.type_name}>"


class _CollectionFactory:
    def __init__(self, kind: int, tag: int, label: str) -> None:
        self._kind, self._tag, self._label = kind, tag, label

    def __getitem__(self, item: object) -> _TypeExpr:
        return self(item)

    def __call__(self, item: object, *, min_size: int = 0, max_size: int = -1, lazy: bool = False) -> _TypeExpr:
        """The collection type of ``item``. ``lazy=True``: past its first elements (64, or one per 128 bytes of
        contents, at most 1024), a decoded value's elements are checked while decoding but built only when read (a
        ``LazyList``, which reads as a list), so a long list of tiny elements costs no Python object per element."""
        inner = spec_of(item)
        name = f"{self._label} {inner.type_name or getattr(item, '__name__', '?')}"
        spec = Spec(self._kind, 0, self._tag, inner=inner, min_size=min_size, max_size=max_size, type_name=name)
        spec.lazy = lazy
        return _TypeExpr(spec)


SequenceOf = _CollectionFactory(_der.KIND_SEQOF, 16, "SEQUENCE OF")
SetOf = _CollectionFactory(_der.KIND_SETOF, 17, "SET OF")


def NamedBitString(*names: str) -> _TypeExpr:  # noqa: N802 - reads like a type
    """A BIT STRING whose bits have names (by position); decodes to a frozenset of the names that are set."""
    return _TypeExpr(Spec(_der.KIND_NAMEDBITS, 0, 3, bit_names=tuple(names), type_name="BIT STRING"))


# --- fields ------------------------------------------------------------------------------------------------

class _FieldInfo:
    __slots__ = ("explicit", "implicit", "optional", "default", "defined_by", "registry", "tag_class", "contains",
                 "allowed", "lazy")

    def __init__(self, explicit: int | None, implicit: int | None, optional: bool, default: object,
                 defined_by: str | None, registry: dict[str, _TypingAny] | None, tag_class: str,
                 contains: bool = False, allowed: tuple[object, ...] | None = None, lazy: bool = False) -> None:
        self.explicit, self.implicit, self.optional, self.default = explicit, implicit, optional, default
        self.defined_by, self.registry, self.tag_class = defined_by, registry, tag_class
        self.contains = contains
        self.allowed = allowed
        self.lazy = lazy


def field(*, explicit: int | None = None, implicit: int | None = None, optional: bool = False,
          default: object = _NOTHING, defined_by: str | None = None, registry: dict[str, _TypingAny] | None = None,
          tag_class: str = "context", contains: bool = False,
          allowed: tuple[object, ...] | None = None, lazy: bool = False) -> _TypingAny:
    """Describe how a component is tagged and whether it may be absent.

    ``explicit=n`` / ``implicit=n``: ``[n] EXPLICIT`` / ``[n] IMPLICIT`` (context class unless ``tag_class``);
    ``optional``; ``default`` (a DEFAULT value, omitted when encoding, refused when encoded in DER input);
    ``defined_by`` + ``registry``: ANY DEFINED BY the named earlier OID field, resolved through ``registry``
    (OID -> type); OIDs not in the registry keep the raw TLV bytes. With ``contains=True`` the field itself keeps
    its declared type (an OCTET STRING) and the registry's type is decoded from its content while decoding
    ("OCTET STRING CONTAINING", as extnValue): the result is read through the class attribute
    ``_<name>_contained`` (or a ``ContainedGetter`` on that slot). ``x509.Extension.parsed`` instead decodes
    its contained value on first read (``LazyContained``), so that one malformed extension value does not make
    a whole certificate unreadable.

    ``allowed``: the values a decoded field may hold (``version INTEGER { v1(0) }`` is ``allowed=(0,)``); any
    other value is refused while decoding (reason ``invalid-value``, at the field's offset and path). Building an
    instance does not check it.

    ``lazy=True`` (a SEQUENCE, SET, SEQUENCE OF or SET OF field): checked in full while decoding, as any field,
    but its value is built on first read, in place in the source bytes (a request's public key, read by few).
    Fields with a DEFAULT, ``allowed`` values or ANY DEFINED BY, and input decoded as BER, are built at once.
    """
    if explicit is not None and implicit is not None:
        raise TypeError("a field is tagged EXPLICIT or IMPLICIT, not both")
    if tag_class not in _CLASSES or tag_class == "universal":
        raise TypeError(f"bad tag_class {tag_class!r}")
    if (defined_by is None) != (registry is None):
        raise TypeError("defined_by and registry go together")
    if contains and defined_by is None:
        raise TypeError("contains needs defined_by and registry")
    if allowed is not None:
        allowed = tuple(allowed)
        if not allowed:
            raise TypeError("allowed needs at least one value")
    return _FieldInfo(explicit, implicit, optional, default, defined_by, registry, tag_class, contains, allowed,
                      lazy)


def _tagged(base: Spec, info: _FieldInfo | None, owner: str, name: str) -> Spec:
    if info is None:
        return base
    cls = _CLASSES[info.tag_class]
    label = "" if info.tag_class == "context" else info.tag_class.upper() + " "
    if info.implicit is not None:
        if base.kind == _der.KIND_ANYVAL or (base.kind == _der.KIND_CHOICE and base.tcls < 0):
            raise TypeError(f"{owner}.{name}: an untagged CHOICE or open type cannot be tagged IMPLICIT")
        # ``Any`` tagged IMPLICIT keeps the raw TLV of a type not modelled further (e.g. ORAddress); it matches
        # only its tag and its value is the raw bytes, tag included.
        s = base.copy()
        s.tcls, s.tnum = cls, info.implicit
        s.type_name = f"[{label}{info.implicit}] IMPLICIT {base.type_name}"
        return s
    if info.explicit is not None:
        return Spec(_der.KIND_EXPLICIT, cls, info.explicit, inner=base,
                    type_name=f"[{label}{info.explicit}] EXPLICIT {base.type_name}")
    return base


def _is_asn1_type(obj: object) -> bool:
    return isinstance(obj, Spec) or isinstance(getattr(obj, "_asn1_spec", None), Spec)


def _asn1_type_of(ann: object, where: str) -> object:
    """The ASN.1 type an annotation declares: the annotation itself, or for ``Annotated[T, asn1_type, ...]`` the
    one metadata item that is an ASN.1 type (the Python type ``T`` is for type checkers only)."""
    if get_origin(ann) is not Annotated:
        return ann
    found = [m for m in getattr(ann, "__metadata__", ()) if _is_asn1_type(m)]
    if len(found) != 1:
        raise TypeError(f"{where}: Annotated[...] must hold exactly one ASN.1 type of estcodec.schema after the "
                        f"Python type, found {len(found)}")
    return found[0]


def _resolve(ann: object, module: str) -> object:
    if isinstance(ann, str):
        mod = sys.modules.get(module)
        if mod is None:
            raise TypeError(f"annotation {ann!r} is a string and its module {module!r} cannot be found to evaluate "
                            "it: declare models without 'from __future__ import annotations'")
        return eval(ann, dict(vars(mod)), {})  # noqa: S307 - annotations of model modules
    return ann


def _compile_fields(cls: type, kind: str) -> tuple[FieldSpec, ...]:
    annotations = cls.__dict__.get("__annotations__", {})
    fields: list[FieldSpec] = []
    names: list[str] = []
    for name, ann in annotations.items():
        if name.startswith("_"):
            continue
        resolved = _resolve(ann, cls.__module__)
        if resolved is ClassVar or get_origin(resolved) is ClassVar:
            continue  # a class attribute declared for type checkers (a descriptor set on the class), not a field
        t = _asn1_type_of(resolved, f"{cls.__name__}.{name}")
        raw_default = cls.__dict__.get(name, _NOTHING)
        info = raw_default if isinstance(raw_default, _FieldInfo) else None
        if info is None and raw_default is not _NOTHING:
            info = _FieldInfo(None, None, False, raw_default, None, None, "context")
        spec = _tagged(spec_of(t), info, cls.__name__, name)
        optional = bool(info and info.optional)
        has_default = bool(info and info.default is not _NOTHING)
        defined_by = -1
        registry = None
        if info and info.defined_by is not None:
            if kind != "sequence" or info.defined_by not in names:
                raise TypeError(f"{cls.__name__}.{name}: defined_by must name an earlier field")
            defined_by = names.index(info.defined_by)
            registry = info.registry
        fields.append(FieldSpec(name, spec, optional=optional, has_default=has_default,
                                default=info.default if info is not None and has_default else None,
                                defined_by=defined_by, registry=registry, contained=bool(info and info.contains),
                                allowed=info.allowed if info is not None else None,
                                lazy=bool(info and info.lazy)))
        names.append(name)
    nfields = len(fields)
    extra = 0
    for f in fields:
        if f.contained:
            f.slot = nfields + extra
            extra += 1
    return tuple(fields)


def _inherits_plain_from_der(cls: type) -> bool:
    # True unless a class on the way up defines a from_der of its own (that one is kept).
    for klass in cls.__mro__:
        if "from_der" in klass.__dict__:
            v = klass.__dict__["from_der"]
            return klass in (Model, ChoiceModel) or _der.is_bound_decoder(v)
    return False


class _ModelMeta(type):
    """Gives ``gc=False`` model classes empty ``__slots__`` (no instance dict) and makes their instances plain
    objects the cyclic garbage collector never tracks (decoded values cannot form cycles; as msgspec's ``gc=False``
    structs). Decoding large inputs into many tracked objects otherwise spends a large share of its time in
    collections. Do not build reference cycles through the lists inside such instances."""

    def __setattr__(cls, name: str, value: object) -> None:
        # Each class's from_der is bound to its spec when the class is made: a spec, once made, stays.
        if name == "_asn1_spec" and "_asn1_spec" in cls.__dict__:
            raise AttributeError(f"{cls.__name__}._asn1_spec is fixed once the class is made")
        super().__setattr__(name, value)

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, object], gc: bool = True,  # noqa: N804
                lazy: bool = False, **kw: _TypingAny) -> _ModelMeta:
        if not gc:
            ns.setdefault("__slots__", ())
        cls = super().__new__(mcls, name, bases, ns, **kw)
        spec = cls.__dict__.get("_asn1_spec")
        if not gc:
            _der._untracked_instances(cls)
        if spec is not None and _inherits_plain_from_der(cls):
            type.__setattr__(cls, "from_der", _der.bound_decoder(spec))
        if spec is not None:
            spec.untrack = not gc
            if lazy:
                if spec.kind != _der.KIND_CHOICE or spec.transparent:
                    raise TypeError(f"{name}: lazy=True is for (non-transparent) CHOICE models")
                spec.lazy = True
            if spec.kind == _der.KIND_CHOICE:
                _der.value_slot(cls)  # .value read straight from the instance where it can be
        return cls


class Sequence(Model, metaclass=_ModelMeta):
    """Base class of SEQUENCE models (subclass it and annotate the components in order).

    ``class M(Sequence, gc=False)`` makes instances without a ``__dict__`` that the cyclic GC does not track."""

    __slots__ = ()
    _asn1_spec: Spec

    def __init_subclass__(cls, **kw: _TypingAny) -> None:
        super().__init_subclass__(**kw)
        fields = _compile_fields(cls, "sequence")
        base = cls.__mro__[1]
        if not fields and base is not Sequence and hasattr(base, "_asn1_spec"):
            # A subclass that adds only behaviour keeps its parent's fields.
            fields = base._asn1_spec.fields
        spec = Spec(_der.KIND_SEQ, 0, 16, model=cls, fields=fields, type_name=f"SEQUENCE ({cls.__name__})")
        spec.nslots = len(fields) + sum(1 for f in fields if f.contained)
        if spec.nslots > _der.MODEL_MAX_SLOTS:
            raise TypeError(f"{cls.__name__}: a SEQUENCE model holds at most {_der.MODEL_MAX_SLOTS} fields")
        cls._asn1_spec = spec
        for i, f in enumerate(fields):
            setattr(cls, f.name, FieldGetter(i, f.name))
            if f.contained:
                setattr(cls, f"_{f.name}_contained", FieldGetter(f.slot, f.name))
        _der.field_slots(cls)  # plain fields read straight from the instance
        cls._field_names = tuple(f.name for f in fields)


class Choice(ChoiceModel, metaclass=_ModelMeta):
    """Base class of CHOICE models. ``transparent=True`` decodes to the bare value; such a class must define
    ``_select(value) -> index of the alternative`` for encoding. ``gc=False`` as for Sequence. ``lazy=True``: the
    value is fully validated while decoding but built only when ``.value`` is first read (for large values that are
    often not read, or read through a faster path such as ``x509.Name.attributes``)."""

    __slots__ = ()
    _asn1_spec: Spec

    def __init_subclass__(cls, transparent: bool = False, **kw: _TypingAny) -> None:
        super().__init_subclass__(**kw)
        fields = _compile_fields(cls, "choice")
        for f in fields:
            if f.optional or f.has_default:
                raise TypeError(f"{cls.__name__}.{f.name}: CHOICE alternatives cannot be OPTIONAL or DEFAULT")
        if transparent and not hasattr(cls, "_select"):
            raise TypeError(f"transparent CHOICE {cls.__name__} needs a _select(value) classmethod")
        cls._asn1_spec = Spec(_der.KIND_CHOICE, -1, 0, model=cls, fields=fields, transparent=transparent,
                              type_name=f"CHOICE ({cls.__name__})")
        cls._field_names = tuple(f.name for f in fields)


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
