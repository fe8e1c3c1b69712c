"""The engine's fast paths against its generic paths, on real and on damaged inputs.

A fast path may only make decoding cheaper: it must accept exactly what the generic walk accepts, give the same
values, and fail with the same offset, path and reason (it may hand over to the generic walk for that).
"""
import gc
import random
import sys

import pytest

from estcodec import DecodeError, _der, der, x509
from estcodec._der import decode, rdn_pairs

from test_x509 import CERTS

# x509.Name as the engine sees it without the single-walk collection of the attribute pairs.
_SLOW_NAME = x509.Name._asn1_spec.copy()
_SLOW_NAME.rdn_pairs = False


def _names_of(der_cert):
    """The DER of the issuer and subject of a certificate (empty list if it does not decode)."""
    try:
        c = x509.Certificate.from_der(der_cert).validate_names()
    except DecodeError:
        return []
    return [c.issuer.to_der(), c.subject.to_der()]


NAMES = sorted({n for _, d in CERTS for n in _names_of(d)})


def _outcome(spec, data):
    try:
        v = decode(spec, data)
    except DecodeError as e:
        return ("error", e.offset, e.path, e.reason)
    return ("ok", v.attributes, rdn_pairs(v.value))


def test_names_corpus_is_large():
    assert len(NAMES) > 500


def test_pairs_collected_while_decoding_equal_those_built_from_the_rdn_models():
    for n in NAMES:
        fast = x509.Name.from_der(n)
        slow = decode(_SLOW_NAME, n)
        assert fast.attributes == slow.attributes == rdn_pairs(fast.value), n.hex()
        assert fast.attributes == [(a.type, a.value) for rdn in slow.rdns for a in rdn]


def test_attributes_are_a_fresh_list_each_time():
    name = x509.Name.from_der(NAMES[0])
    first = name.attributes
    first.append(("1.2.3", "x"))
    assert name.attributes != first


def _mutations(data, rng, count):
    out = []
    for _ in range(count):
        b = bytearray(data)
        kind = rng.randrange(4)
        i = rng.randrange(len(b))
        if kind == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:
            b[i] = rng.choice([0x00, 0x01, 0x04, 0x05, 0x06, 0x0C, 0x13, 0x16, 0x30, 0x31, 0x80, 0xA0, 0xFF])
        elif kind == 2:
            del b[i]
        else:
            b.insert(i, rng.randrange(256))
        out.append(bytes(b))
    return out


def test_damaged_names_fail_exactly_as_the_generic_walk_fails():
    rng = random.Random(7030)
    compared = errors = 0
    for n in NAMES[:300]:
        for m in _mutations(n, rng, 40):
            fast, slow = _outcome(x509.Name._asn1_spec, m), _outcome(_SLOW_NAME, m)
            assert fast == slow, m.hex()
            compared += 1
            errors += fast[0] == "error"
    assert compared == 12000 and errors > 3000


@pytest.mark.parametrize("hex_name, reason", [
    ("3000", None),                                         # empty name
    ("30023100", "invalid-value"),                          # empty RDN
    ("3004310230 00", "missing-field"),                     # attribute without type
    ("300931073005060355040 3".replace(" ", ""), "missing-field"),  # type without value
    ("300e310c300a06035504031303 61 2a 62".replace(" ", ""), "invalid-string"),  # '*' in a PrintableString
    ("300f310d300b0603550403130461626364 00".replace(" ", ""), "trailing-data"),
    ("3010310e300c060355040313036162630500".replace(" ", ""), "unexpected-tag"),  # extra element in the ATV
    ("300d310b300906035504030c02c328", "invalid-string"),  # bad UTF-8
    ("300b3109300706035504030500", None),                   # a NULL value is kept as a value
    ("300e310c300a06035504033003020101", None),             # a constructed value kept raw
])
def test_hand_made_names(hex_name, reason):
    data = bytes.fromhex(hex_name.replace(" ", ""))
    fast, slow = _outcome(x509.Name._asn1_spec, data), _outcome(_SLOW_NAME, data)
    assert fast == slow
    if reason is None:
        assert fast[0] == "ok"
    else:
        assert fast[0] == "error" and fast[3] == reason


def test_deep_value_inside_a_name_is_refused_like_the_generic_walk():
    # An attribute value nested far deeper than the engine's bound.
    value = b"\x05\x00"
    for _ in range(70):
        value = _tlv(0x30, value)
    atv = _tlv(0x30, _tlv(0x06, bytes.fromhex("550403")) + value)
    data = _tlv(0x30, _tlv(0x31, atv))
    fast, slow = _outcome(x509.Name._asn1_spec, data), _outcome(_SLOW_NAME, data)
    assert fast == slow and fast[0] == "error" and fast[3] == "too-deep"


def _tlv(tag, content):
    n = len(content)
    if n < 128:
        return bytes([tag, n]) + content
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(body)]) + body + content


def test_ber_names_take_the_generic_walk_and_agree():
    # Indefinite-length name: BER only.
    data = bytes.fromhex("3080310b300906035504030c0261620000")
    with pytest.raises(DecodeError):
        x509.Name.from_der(data)
    name = x509.Name.from_der(data, ber=True)
    assert name.attributes == [("2.5.4.3", "ab")]
    assert der.parse(name.to_der()).to_der() == name.to_der()


def test_gc_false_models_are_untracked_and_free_their_type_references():
    cert_der = CERTS[-1][1]
    before = sys.getrefcount(x509.Extension), sys.getrefcount(x509.Name)
    for _ in range(200):
        c = x509.Certificate.from_der(cert_der)
        assert not gc.is_tracked(c) and not gc.is_tracked(c.subject)
        assert c.subject.attributes
        del c
    assert (sys.getrefcount(x509.Extension), sys.getrefcount(x509.Name)) == before


def _leaves(c):
    tbs = c.tbs_certificate
    return ([(e.extn_id, e.critical, e.extn_value) for e in c.extensions],
            tbs.subject_public_key_info.subject_public_key, c.signature_value, c.signature)


def test_deferred_octet_and_bit_strings_read_like_eagerly_built_ones():
    # ber=True builds every value while decoding; strict DER defers OCTET STRING and BIT STRING fields.
    checked = 0
    for _, d in CERTS:
        try:
            lazy = x509.Certificate.from_der(d).validate_names()
        except DecodeError:
            continue
        eager = x509.Certificate.from_der(d, ber=True)
        assert _leaves(lazy) == _leaves(eager)
        # read twice: the second read returns the object built by the first
        assert lazy.signature_value is lazy.signature_value
        assert repr(lazy.tbs_certificate.subject_public_key_info) == repr(eager.tbs_certificate.subject_public_key_info)
        checked += 1
    assert checked > 600


def test_deferred_leaves_survive_copies_and_pickling():
    import pickle

    c = x509.Certificate.from_der(CERTS[-1][1])
    spki = c.tbs_certificate.subject_public_key_info
    back = pickle.loads(pickle.dumps(spki))
    assert back.subject_public_key == spki.subject_public_key
    changed = spki.replace(algorithm=spki.algorithm)
    assert changed.to_der() == spki.to_der() and changed.subject_public_key == spki.subject_public_key
    ext = c.extensions[0]
    assert ext.replace(critical=ext.critical).to_der() == ext.to_der()


def test_bad_bit_string_in_a_deferred_field_is_refused_while_decoding():
    c = x509.Certificate.from_der(CERTS[-1][1])
    der_spki = bytearray(c.tbs_certificate.subject_public_key_info.to_der())
    # the BIT STRING is the last element: its first content octet is the unused-bits count
    h = der.parse(bytes(der_spki))
    bits = h.children[1]
    der_spki[bits.offset + bits.header_length] = 8   # more than 7 unused bits
    with pytest.raises(DecodeError) as info:
        x509.SubjectPublicKeyInfo.from_der(bytes(der_spki))
    assert info.value.path == "$.subject_public_key"


def test_from_der_is_bound_to_each_class_unless_a_class_defines_its_own():
    from estcodec import pkcs10
    from estcodec.schema import Integer, Sequence

    class Base(Sequence, gc=False):
        a: Integer

    class Sub(Base, gc=False):
        """adds behaviour only"""

    class Custom(Sequence):
        a: Integer

        @classmethod
        def from_der(cls, data, *, ber=False):
            return ("custom", cls)

    class CustomSub(Custom):
        pass

    data = bytes.fromhex("3003020107")
    assert type(Base.from_der(data)) is Base and type(Sub.from_der(data)) is Sub
    assert Sub.from_der(data).a == 7 and Base.from_der(data, ber=True).a == 7
    assert Custom.from_der(data) == ("custom", Custom)
    assert CustomSub.from_der(data) == ("custom", CustomSub)
    # a request's version is checked by the schema (field(allowed=...)), so it keeps the C decoder too
    assert _der.is_bound_decoder(pkcs10.CertificationRequest.__dict__["from_der"])
    # an instance reaches the same callable
    assert Base.from_der(data).from_der(data).a == 7


def test_a_model_class_spec_cannot_be_rebound():
    from estcodec.schema import Integer, Sequence

    class One(Sequence, gc=False):
        a: Integer

    assert One.from_der(bytes.fromhex("3003020101")).a == 1
    with pytest.raises(AttributeError):
        One._asn1_spec = x509.Extension._asn1_spec
    assert One.from_der(bytes.fromhex("3003020101")).a == 1


def test_replacing_a_spec_fields_tuple_rebuilds_what_was_derived_from_it():
    from estcodec.schema import Boolean, Integer, Sequence, spec_of
    from estcodec._der import FieldSpec, decode

    class Two(Sequence, gc=False):
        a: Integer
        b: Integer

    spec = spec_of(Two).copy()
    assert decode(spec, bytes.fromhex("3006020101020102")).b == 2
    # the same slots, the second field now a BOOLEAN: the flattened fields must follow
    spec.fields = (spec.fields[0], FieldSpec("b", spec_of(Boolean)))
    assert decode(spec, bytes.fromhex("30060201010101ff")).b is True
    with pytest.raises(DecodeError):
        decode(spec, bytes.fromhex("3006020101020102"))


def test_gc_false_needs_instances_without_dict_or_weakref():
    from estcodec import _der
    from estcodec.schema import Integer, Sequence

    with pytest.raises(TypeError, match="__dict__ or __weakref__"):
        class WithDict(Sequence, gc=False):
            __slots__ = ("__dict__",)
            a: Integer
    with pytest.raises(TypeError, match="not a model class"):
        _der._untracked_instances(int)


def test_string_annotation_from_a_module_that_cannot_be_found_is_a_clear_type_error():
    from estcodec.schema import Sequence

    ns = {"__module__": "no_such_module_here", "__annotations__": {"a": "Integer"}}
    with pytest.raises(TypeError, match="from __future__ import annotations"):
        type(Sequence)("Stringly", (Sequence,), ns)
