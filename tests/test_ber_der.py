"""Values read with ``ber=True`` re-encode as DER, including the rules only the schema knows.

The schema-less BER normalisation (``der.parse(data, ber=True)``) makes lengths definite and minimal, joins
constructed universal strings and canonicalises universal primitives. What it cannot know is left to the schema
engine: a DEFAULT value that is present, trailing zero bits of a named bit list, a constructed or non-canonical
IMPLICIT-tagged primitive (OpenSSL streams EnvelopedData's ``[0] IMPLICIT OCTET STRING`` constructed). When the
decoder met any of those, it writes the value as DER (source octets where they are DER, values where not) and reads
that: ``to_der()`` then gives DER, and a strict decode of it gives the same values.
"""
from pathlib import Path

import pytest

from estcodec import DecodeError, der
from estcodec import enveloped as E
from estcodec.schema import (
    AnyValue, Boolean, Integer, NamedBitString, ObjectIdentifier, OctetString, Sequence, SetOf, field,
)

DATA = Path(__file__).resolve().parent / "data" / "enveloped"


def H(text):
    return bytes.fromhex(text.replace(" ", ""))


class Implicit(Sequence, gc=False):
    a: Integer
    b: OctetString = field(implicit=0)
    flag: Boolean = field(implicit=1, optional=True)


class Inner(Sequence, gc=False):
    x: Integer
    flag: Boolean = field(default=False)


class Outer(Sequence, gc=False):
    items: SetOf[Inner] = field(explicit=0)
    label: AnyValue


class Caps(Sequence, gc=False):
    ca: Boolean = field(default=False)
    depth: Integer = field(optional=True)


CAPS = {"1.2.3": Caps}


class Wrapped(Sequence, gc=False):
    kind: ObjectIdentifier
    critical: Boolean = field(default=False)
    value: OctetString = field(defined_by="kind", registry=CAPS, contains=True)
    bits: NamedBitString("a", "b", "c", "d") = field(implicit=2, optional=True)


Wrapped.caps = property(lambda self: self._value_contained)


def _strict_same(model, ber_input, expected_der):
    got = model.from_der(H(ber_input), ber=True)
    assert got.to_der() == H(expected_der)
    again = model.from_der(got.to_der())            # strict DER
    assert again.to_der() == H(expected_der)
    der.parse(got.to_der())
    return got, again


def test_implicit_constructed_octet_string_becomes_primitive():
    got, _ = _strict_same(Implicit, "3080 020101 a080 04026869 040121 0000 0000", "3008 020101 8003686921")
    assert got.b == b"hi!"
    with pytest.raises(DecodeError):
        Implicit.from_der(H("300c 020101 a007 04026869 040121"))


def test_implicit_boolean_made_canonical():
    got, _ = _strict_same(Implicit, "3009 020101 8001 61 810101", "3009 020101 800161 8101ff")
    assert got.flag is True


def test_default_values_dropped_inside_a_set_whose_order_is_kept():
    # SET OF in the order it came (unsorted: 3 before 1), one element with its DEFAULT value encoded, and a
    # PrintableString label that must stay a PrintableString.
    ber = "3080 a080 3180 3006 020103 010100 3003 020101 0000 0000 1302 6162 0000"
    got, again = _strict_same(Outer, ber, "3012 a00c 310a 3003020103 3003020101 13026162")
    assert [(i.x, i.flag) for i in got.items] == [(3, False), (1, False)]
    assert got.label == "ab" and again.label == "ab"


def test_contained_value_and_named_bits_re_encoded():
    # critical FALSE and the contained ca FALSE are DEFAULT values; the named bits have a trailing zero bit.
    ber = "3016 06022a03 010100 0408 3006 010100 020105 8203 00a000"
    got, again = _strict_same(Wrapped, ber, "300f 06022a03 0405 3003020105 8202 05a0")
    assert got.caps.depth == 5 and got.caps.ca is False and again.caps.depth == 5
    assert got.bits == again.bits == frozenset({"a", "c"})


def test_der_input_read_with_ber_true_is_untouched():
    data = H("300f 06022a03 0405 3003020105 8202 05a0")
    assert Wrapped.from_der(data, ber=True).to_der() == data


@pytest.mark.parametrize("name", ["multi-stream", "multi-stream-pwri"])
def test_openssl_streamed_enveloped_data_re_encodes_as_openssl_converts_it(name):
    ber = (DATA / f"{name}.ber").read_bytes()
    converted = (DATA / f"{name}.cmsout.der").read_bytes()   # openssl cms -cmsout -outform DER
    env = E.parse_enveloped_data(ber)
    expected = der.parse(converted).children[1].children[0].to_der()    # ContentInfo [0] EXPLICIT content
    assert env.to_der() == expected
    strict = E.EnvelopedData.from_der(expected)
    assert strict.encrypted_content_info.encrypted_content == env.encrypted_content_info.encrypted_content
