"""Model fields declared as ``Annotated[<Python type>, <ASN.1 type>]`` (estcodec.schema): the schema compiles them
exactly as the bare ASN.1 type, checkers read the Python type, and every model of estcodec is declared that way.

The static side (what mypy sees) is tests/typecheck/models_usage.py, checked here with ``mypy --strict``.

Models are declared at module level without ``from __future__ import annotations`` (the schema reads
annotations as objects)."""
import collections.abc
import datetime as dt
import importlib
import importlib.util
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, ClassVar, Optional, Union

import pytest

from estcodec import _der
from estcodec._der import ChoiceModel, Model
from estcodec.schema import (
    Any, BitString, BitStringValue, Boolean, Choice, IA5String, Integer, NamedBitString, ObjectIdentifier,
    OctetString, Sequence, SequenceOf, SetOf, UTCTime, decode, encode, field, spec_of,
)

HERE = Path(__file__).resolve().parent
MODEL_MODULES = ["x509", "crl", "ocsp", "pkcs10", "pkcs8", "cms", "cmc", "_cmc_asn1", "_cmc_model", "enveloped",
                 "_enveloped_model", "csrattrs", "_sigalgs"]


class _Inner(Sequence):
    n: Annotated[int, Integer]


class BareModel(Sequence):
    version: Integer = field(explicit=0, default=0)
    oid: ObjectIdentifier
    flag: Boolean = field(default=False)
    data: OctetString = field(implicit=1, optional=True)
    bits: BitString
    usage: NamedBitString("a", "b", "c") = field(optional=True)
    names: SequenceOf[IA5String]
    inners: SetOf(_Inner, min_size=1)
    when: UTCTime
    raw: Any = field(explicit=2, optional=True)


class TypedModel(Sequence):
    version: Annotated[int, Integer] = field(explicit=0, default=0)
    oid: Annotated[str, ObjectIdentifier]
    flag: Annotated[bool, Boolean] = field(default=False)
    data: Annotated[Optional[bytes], OctetString] = field(implicit=1, optional=True)
    bits: Annotated[BitStringValue, BitString]
    usage: Annotated[Optional[frozenset], NamedBitString("a", "b", "c")] = field(optional=True)
    names: Annotated[list, SequenceOf[IA5String]]
    inners: Annotated[list, SetOf(_Inner, min_size=1)]
    when: Annotated[dt.datetime, UTCTime]
    raw: Annotated[Optional[bytes], Any] = field(explicit=2, optional=True)


class WithClassVar(Sequence):
    note: ClassVar[str]
    n: Annotated[int, Integer]


WithClassVar.note = "a class attribute, not a field"


class StringAnnotations(Sequence):
    n: "Annotated[int, Integer]"
    s: "Annotated[str, IA5String]"


class TypedChoice(Choice):
    number: Annotated[int, Integer]
    text: Annotated[str, IA5String] = field(implicit=0)


def _shape(spec):
    out = [spec.kind, spec.tcls, spec.tnum, spec.type_name, spec.bit_names, spec.min_size, spec.max_size]
    if spec.inner is not None:
        out.append(_shape(spec.inner))
    return out


def _field_shape(f):
    return (f.name, _shape(f.spec), f.optional, f.has_default, f.default, f.defined_by, f.contained)


def _value():
    return dict(oid="1.2.3", flag=True, data=b"\x01", bits=BitStringValue(b"\x80", 7), usage=frozenset({"b"}),
                names=["x", "y"], inners=[_Inner(n=2), _Inner(n=1)],
                when=dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), raw=b"\x05\x00")


def test_annotated_fields_compile_like_bare_ones():
    bare = [_field_shape(f) for f in BareModel._asn1_spec.fields]
    typed = [_field_shape(f) for f in TypedModel._asn1_spec.fields]
    assert typed == bare


def test_annotated_and_bare_models_encode_and_decode_the_same():
    der = encode(BareModel, BareModel(**_value()))
    assert encode(TypedModel, TypedModel(**_value())) == der
    a, b = BareModel.from_der(der), TypedModel.from_der(der)
    assert a._values() == b._values()
    assert b.to_der() == der
    assert b.inners[0].n == 1  # SET OF sorted


def test_python_types_are_what_checkers_read():
    hints = typing.get_type_hints(TypedModel)
    assert hints["version"] is int and hints["when"] is dt.datetime
    extras = typing.get_type_hints(TypedModel, include_extras=True)
    assert typing.get_args(extras["oid"]) == (str, ObjectIdentifier)


def test_string_annotations_are_evaluated_in_the_module():
    m = StringAnnotations.from_der(encode(StringAnnotations, StringAnnotations(n=5, s="ok")))
    assert (m.n, m.s) == (5, "ok")


def test_classvar_annotation_is_not_a_field():
    assert [f.name for f in WithClassVar._asn1_spec.fields] == ["n"]
    assert WithClassVar.note == "a class attribute, not a field"
    assert WithClassVar.from_der(b"\x30\x03\x02\x01\x07").n == 7


def test_choice_with_annotated_alternatives():
    assert TypedChoice.from_der(b"\x80\x02hi").value == "hi"
    assert TypedChoice.from_der(b"\x02\x01\x05").name == "number"


def test_decode_and_encode_take_an_annotated_type():
    t = Annotated[int, Integer]
    assert spec_of(t) is spec_of(Integer)
    assert decode(t, encode(t, 300)) == 300


@pytest.mark.parametrize("ann, found", [(Annotated[int, "not a type"], 0), (Annotated[int, Integer, Boolean], 2)])
def test_annotated_needs_exactly_one_asn1_type(ann, found):
    with pytest.raises(TypeError, match=rf"Bad\.x: .*found {found}"):
        type("Bad", (Sequence,), {"__annotations__": {"x": ann}, "__module__": __name__})


def _models():
    for name in MODEL_MODULES:
        mod = importlib.import_module(f"estcodec.{name}")
        for obj in vars(mod).values():
            if (isinstance(obj, type) and issubclass(obj, (Model, ChoiceModel)) and obj.__module__ == mod.__name__
                    and "_asn1_spec" in obj.__dict__):
                yield obj


def test_every_estcodec_model_declares_python_types():
    """No field of an estcodec model is annotated with a bare ASN.1 marker (which checkers cannot read): each is
    ``Annotated[...]`` or a model class whose instances are the values."""
    bare = []
    for cls in _models():
        for name, ann in cls.__dict__.get("__annotations__", {}).items():
            if name.startswith("_"):
                continue
            if isinstance(ann, str):
                ann = eval(ann, vars(sys.modules[cls.__module__]))  # noqa: S307 - the module's own annotations
            if typing.get_origin(ann) in (Annotated, ClassVar) or ann is ClassVar:
                continue
            if isinstance(ann, type) and issubclass(ann, (Model, ChoiceModel)) and not spec_of(ann).transparent:
                continue
            bare.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert bare == []


def _check_value(value, hint, where):
    origin = typing.get_origin(hint)
    if hint is typing.Any or hint is object:
        return
    if origin in (Union, types.UnionType):
        errors = []
        for alt in typing.get_args(hint):
            try:
                _check_value(value, alt, where)
                return
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError("; ".join(errors))
    if hint is type(None):
        assert value is None, where
        return
    if origin in (list, collections.abc.Sequence):  # Sequence: a lazy SET/SEQUENCE OF gives a list or a LazyList
        assert isinstance(value, list) or origin is not list and isinstance(value, _der.LazyList), where
        (item,) = typing.get_args(hint) or (object,)
        for i, v in enumerate(value):
            _check_value(v, item, f"{where}[{i}]")
        return
    if origin is frozenset:
        assert isinstance(value, frozenset), where
        return
    assert isinstance(value, hint), f"{where}: {type(value).__name__} is not {hint}"


def _field_types(cls, globalns=None):
    """The Python type of each field of ``cls`` (the first argument of its ``Annotated``, else the class)."""
    out = {}
    for name in cls._field_names:
        ann = next(k.__dict__["__annotations__"][name] for k in cls.__mro__
                   if name in k.__dict__.get("__annotations__", {}))
        if isinstance(ann, str):
            ann = eval(ann, globalns if globalns is not None else vars(sys.modules[cls.__module__]))  # noqa: S307
        out[name] = typing.get_args(ann)[0] if typing.get_origin(ann) is Annotated else ann
    return out


def _check_model(obj, where="$", globalns=None):
    if isinstance(obj, ChoiceModel):
        return
    hints = _field_types(type(obj), globalns)
    for name in type(obj)._field_names:
        value = getattr(obj, name)
        _check_value(value, hints[name], f"{where}.{name}")
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, Model):
                _check_model(v, f"{where}.{name}", globalns)


def test_decoded_values_have_the_declared_python_types():
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from estcodec.pkcs10 import CertificationRequest, CertificationRequestBuilder
    from estcodec.x509 import Certificate

    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(cx509.oid.NameOID.COMMON_NAME, "typed")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(cx509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(cx509.SubjectAlternativeName([cx509.DNSName("a.example")]), critical=False)
            .sign(key, hashes.SHA256()))
    _check_model(Certificate.from_cryptography(cert))
    csr = CertificationRequestBuilder("CN=typed").add_extension(
        cx509.SubjectAlternativeName([cx509.DNSName("a.example")])).sign(key)
    _check_model(CertificationRequest.from_der(csr.to_der()))


def test_checkers_read_the_declared_types():
    """``mypy --strict`` over tests/typecheck/models_usage.py: ``assert_type`` of model fields and constructors."""
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it is in the 'test' extra)")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir=/dev/null",
                           str(HERE / "typecheck" / "models_usage.py")],
                          cwd=HERE.parent, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr



_ASN1 = """T DEFINITIONS IMPLICIT TAGS ::= BEGIN
Rec ::= SEQUENCE { version INTEGER DEFAULT 0, id OBJECT IDENTIFIER, names SEQUENCE SIZE (1..4) OF IA5String,
    flags BIT STRING { a(0), b(1) } OPTIONAL, when GeneralizedTime, pick CHOICE { n [0] INTEGER, s [1] UTF8String },
    tagged [2] EXPLICIT OCTET STRING OPTIONAL }
Recs ::= SEQUENCE OF Rec
Holder ::= SEQUENCE { recs Recs, b BOOLEAN }
END"""


def test_the_asn1_compiler_emits_python_types():
    pytest.importorskip("asn1tools")
    from estcodec import asn1

    source = asn1.generate(_ASN1)
    assert "    version: _a.Annotated[int, _s.Integer] = _s.field(default=0)" in source
    assert "    recs: _a.Annotated[list[Rec], Recs]" in source
    ns = asn1.compile(_ASN1)
    rec = ns.Rec(id="1.2.3", names=["x"], flags=frozenset({"b"}), pick=ns.Rec_pick("s", "t"), tagged=b"\x01",
                 when=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    holder = ns.Holder.from_der(encode(ns.Holder, ns.Holder(recs=[rec], b=True)))
    # compile() runs the source with string annotations (resolved in its namespace while the classes are made)
    _check_model(holder, globalns=vars(ns))
    assert _field_types(ns.Holder, vars(ns))["recs"] == list[ns.Rec]
