"""Fields checked while decoding and built on first read (``field(lazy=True)``), a request's subject checked without
building its pairs, and the request's extensions read straight from the bytes of its attributes: each against the
eager decode of the same bytes. Both must accept the same inputs, refuse the same ones with the same error (offset,
path, reason), and give equal values."""
import random
from pathlib import Path
from typing import Annotated

import cryptography_vectors
import pytest

from estcodec import DecodeError, pem, x509
from estcodec.pkcs10 import CertificationRequest, CertificationRequestInfo
from estcodec.schema import BitString, Integer, Sequence, SetOf, field
from estcodec.x509 import (
    AlgorithmIdentifier, Attribute, Certificate, Extension, Name, SubjectPublicKeyInfo, TBSCertificate,
)

VECTORS = Path(cryptography_vectors.__file__).resolve().parent / "x509"
MUTATIONS_PER_INPUT = 40


class EagerAlg(Sequence, gc=False):
    x: AlgorithmIdentifier


class LazyAlg(Sequence, gc=False):
    x: AlgorithmIdentifier = field(lazy=True)


class EagerKey(Sequence, gc=False):
    x: SubjectPublicKeyInfo


class LazyKey(Sequence, gc=False):
    x: SubjectPublicKeyInfo = field(lazy=True)


class EagerExt(Sequence, gc=False):
    x: Extension


class LazyExt(Sequence, gc=False):
    x: Extension = field(lazy=True)


class EagerTbs(Sequence, gc=False):
    x: TBSCertificate


class LazyTbs(Sequence, gc=False):
    x: TBSCertificate = field(lazy=True)


class EagerInfo(Sequence, gc=False):
    x: CertificationRequestInfo


class LazyInfo(Sequence, gc=False):
    x: CertificationRequestInfo = field(lazy=True)


def _wrap(tlv: bytes) -> bytes:
    n = len(tlv)
    if n < 0x80:
        return b"\x30" + bytes([n]) + tlv
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\x30" + bytes([0x80 | len(octets)]) + octets + tlv


def _outcome(model: type, data: bytes) -> tuple:
    try:
        v = model.from_der(data)
        return ("ok", v.x.to_der(), repr(v.x))
    except DecodeError as e:
        return ("error", e.offset, e.path, e.reason)


def _mutants(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = [data]
    for _ in range(MUTATIONS_PER_INPUT):
        b = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(b))
            b[i] = rng.choice((0x00, 0x01, 0x05, 0x06, 0x30, 0x80, 0xFF, rng.randrange(256)))
        out.append(bytes(b))
    return out


def _certs() -> list[Certificate]:
    out = []
    for path in sorted(VECTORS.glob("*.pem"))[:40]:
        try:
            out.append(Certificate.from_pem(path.read_bytes()))
        except DecodeError:
            continue
    return out


def _requests() -> list[bytes]:
    out = []
    for path in sorted((VECTORS / "requests").iterdir()):
        data = path.read_bytes()
        try:
            der = pem.decode(data)[0][1] if path.suffix == ".pem" else data
            CertificationRequest.from_der(der)
        except DecodeError:
            continue
        out.append(der)
    return out


CERTS = _certs()
REQUESTS = _requests()


def _pairs(eager: type, lazy: type, tlvs: list[bytes]) -> int:
    checked = 0
    for k, tlv in enumerate(tlvs):
        for data in _mutants(_wrap(tlv), k):
            assert _outcome(eager, data) == _outcome(lazy, data), data.hex()
            checked += 1
    return checked


def test_corpora_are_there():
    assert len(CERTS) >= 20 and len(REQUESTS) >= 5


def test_lazy_algorithm_identifiers_and_keys_decide_as_eager_ones():
    algs = [c.tbs_certificate.signature.to_der() for c in CERTS] + [c.signature_algorithm.to_der() for c in CERTS]
    keys = [c.public_key_info.to_der() for c in CERTS]
    assert _pairs(EagerAlg, LazyAlg, algs) > 1000
    assert _pairs(EagerKey, LazyKey, keys) > 500


def test_lazy_extensions_decide_as_eager_ones():
    exts = [e.to_der() for c in CERTS for e in c.extensions][:150]
    # a DEFAULT written out (critical FALSE) and an unknown OID with any value
    exts.append(bytes.fromhex("300c 0603551d0f 010100 0402 0500".replace(" ", "")))
    exts.append(bytes.fromhex("300a 06032a0304 0403 020101".replace(" ", "")))
    assert _pairs(EagerExt, LazyExt, exts) > 1000
    assert _outcome(LazyExt, _wrap(exts[-2]))[3] == "default-encoded"


def test_lazy_certificate_bodies_and_request_infos_decide_as_eager_ones():
    assert _pairs(EagerTbs, LazyTbs, [c.tbs_der for c in CERTS[:20]]) > 500
    assert _pairs(EagerInfo, LazyInfo, [CertificationRequest.from_der(r).tbs_der for r in REQUESTS]) > 100


def test_request_version_refused_the_same_way_lazy_or_not():
    info = CertificationRequest.from_der(REQUESTS[0]).tbs_der
    bad = bytearray(info)
    at = bad.index(b"\x02\x01\x00")
    bad[at + 2] = 1
    data = _wrap(bytes(bad))
    expected = ("error", len(data) - len(bad) + at, "$.x.version", "invalid-value")  # the INTEGER's own offset
    assert _outcome(EagerInfo, data) == _outcome(LazyInfo, data) == expected


def _read(f) -> tuple:
    try:
        return ("ok", f())
    except DecodeError as e:
        return ("error", e.offset, e.path, e.reason)


@pytest.mark.parametrize("index", range(len(REQUESTS)))
def test_request_fast_reads_equal_the_generic_ones(index):
    der = REQUESTS[index]
    fast = CertificationRequest.from_der(der)
    slow = CertificationRequest.from_der(der, ber=True)  # nothing lazy under BER: the generic paths
    generic_name = Name.from_der(fast.subject.to_der(), ber=True)
    assert fast.subject.rfc4514_string() == generic_name.rfc4514_string() == slow.subject.rfc4514_string()
    assert fast.subject.attributes == generic_name.attributes == slow.subject.attributes
    assert _read(lambda: [(e.oid, e.critical, e.parsed) for e in fast.extensions]) == \
        _read(lambda: [(e.oid, e.critical, e.parsed) for e in type(fast)._extensions_general(fast)]) == \
        _read(lambda: [(e.oid, e.critical, e.parsed) for e in slow.extensions])
    assert fast.public_key_info == slow.public_key_info
    assert fast.signature_algorithm == slow.signature_algorithm
    assert fast.attributes == slow.attributes
    assert fast.to_der() == der


def test_the_usual_request_is_read_in_place_and_refusals_keep_the_general_errors():
    # The C path of CertificationRequest.extensions (a SingleAttributeList) built again here with a fallback that
    # counts its calls: every request of the usual shape (one extensionRequest with one value) that the C path
    # can read is read without the general path, and gives what the general path gives.
    from estcodec import pkcs10
    from estcodec._der import SingleAttributeList
    from estcodec.oids import PKCS_9_AT_EXTENSION_REQUEST
    from estcodec.x509 import Extension

    assert type(CertificationRequest.__dict__["extensions"]) is SingleAttributeList
    calls = []

    def general(obj):
        calls.append(obj)
        return CertificationRequest._extensions_general(obj)

    reader = SingleAttributeList((0, 3), PKCS_9_AT_EXTENSION_REQUEST, pkcs10._EXTENSIONS_SPEC,
                                 Extension.__dict__["parsed"], general)
    usual = 0
    for der in REQUESTS:
        csr = CertificationRequest.from_der(der)
        attrs = CertificationRequest.from_der(der, ber=True).attributes
        if not (len(attrs) == 1 and attrs[0].attr_type == PKCS_9_AT_EXTENSION_REQUEST
                and len(attrs[0].attr_values) == 1):
            continue
        other = CertificationRequest.from_der(der)      # (reading the general path builds the attribute SET)
        expected = _read(lambda other=other: [(e.oid, e.critical, e.parsed) for e in other._extensions_general()])
        calls.clear()
        got = _read(lambda csr=csr: [(e.oid, e.critical, e.parsed)
                                     for e in reader.__get__(csr, CertificationRequest)])
        assert got == expected
        if expected[0] == "ok":
            assert calls == []      # read in C
            usual += 1
    assert usual >= 5
    # a value the C path refuses is read again by the general path, which raises as it always has (offset in the
    # attribute value, its path)
    san = b"\x06\x03\x55\x1d\x11\x04"                       # subjectAltName, not critical: its OCTET STRING
    der = bytearray(next(r for r in REQUESTS if san in r))
    at = der.index(san) + 5
    assert der[at + 1] < 0x80 and der[at + 2] == 0x30
    der[at + 2] = 0x31                                          # GeneralNames SEQUENCE -> SET: refused
    csr = CertificationRequest.from_der(bytes(der))
    fast = _read(lambda: csr.extensions)
    general = _read(lambda: type(csr)._extensions_general(csr))
    assert fast[0] == "error" and fast == general


def test_the_usual_request_is_read_while_it_is_decoded():
    # CertificationRequest.extensions reads the usual extensionRequest while the request is decoded (in place of
    # validating the attribute SET) and keeps the list: every read returns that list (as a decoded field of a model
    # is returned), equal to what the general path reads.
    import pickle

    from estcodec.oids import PKCS_9_AT_EXTENSION_REQUEST

    early = 0
    for der in REQUESTS:
        csr = CertificationRequest.from_der(der)
        attrs = CertificationRequest.from_der(der, ber=True).attributes
        usual = (len(attrs) == 1 and attrs[0].attr_type == PKCS_9_AT_EXTENSION_REQUEST
                 and len(attrs[0].attr_values) == 1)
        expected = _read(lambda der=der: [(e.oid, e.critical, e.parsed)
                                          for e in CertificationRequest.from_der(der)._extensions_general()])
        assert _read(lambda csr=csr: [(e.oid, e.critical, e.parsed) for e in csr.extensions]) == expected
        if not usual or expected[0] != "ok":
            continue
        first, second = csr.extensions, csr.extensions
        assert first is second and len(first) > 0                # kept since decoding, not read again
        again = pickle.loads(pickle.dumps(csr))                  # decoded again when first read: read again
        assert [(e.oid, e.critical, e.parsed) for e in again.extensions] == expected[1]
        early += 1
    assert early >= 5


def test_request_mutants_decide_as_under_ber_rules_for_der_input():
    # The lazy request (subject walk, lazy key, algorithm and attributes) against the same model decoded eagerly:
    # a copy of the request spec with nothing lazy.
    checked = 0
    for k, der in enumerate(REQUESTS):
        for data in _mutants(der, 1000 + k)[1:]:
            try:
                fast: tuple = ("ok", CertificationRequest.from_der(data).to_der())
            except DecodeError as e:
                fast = ("error", e.offset, e.path, e.reason)
            try:
                eager: tuple = ("ok", EagerRequest.from_der(data).to_der())
            except DecodeError as e:
                eager = ("error", e.offset, e.path, e.reason)
            assert fast == eager, data.hex()
            checked += 1
    assert checked >= 200


class EagerRequestInfo(Sequence, gc=False):
    version: Annotated[int, Integer] = field(allowed=(0,))
    subject: Name
    subject_pk_info: SubjectPublicKeyInfo
    attributes: Annotated[list, SetOf(Attribute, lazy=True)] = field(implicit=0)


class EagerRequest(Sequence, gc=False):
    certification_request_info: EagerRequestInfo
    signature_algorithm: AlgorithmIdentifier
    signature_value: Annotated[object, BitString]


class LazyPairsName(Sequence, gc=False):
    x: Name


class EagerPairsName(Sequence, gc=False):
    x: Name


# A certificate's name spec (values checked when read) with its pairs collected on first read, as certificates
# decode them, and the same spec collecting them while decoding.
_LAZY_PAIRS = x509._CERT_NAME.copy()
_EAGER_PAIRS = x509._CERT_NAME.copy()
_EAGER_PAIRS.rdn_pairs_on_read = False
LazyPairsName._asn1_spec.fields[0].spec = _LAZY_PAIRS
EagerPairsName._asn1_spec.fields[0].spec = _EAGER_PAIRS


def _name_outcome(model: type, data: bytes) -> tuple:
    try:
        name = model.from_der(data).x
    except DecodeError as e:
        return ("error", e.offset, e.path, e.reason)
    return ("ok", _read(lambda: name.attributes), name.rfc4514_string(), _read(lambda: name.rdns))


def test_certificate_names_read_the_same_with_pairs_collected_on_read():
    assert x509._CERT_NAME.rdn_pairs_on_read and x509._CERT_NAME.lenient_values
    checked = 0
    names = [n.to_der() for c in CERTS for n in (c.subject, c.issuer)]
    # a PrintableString with a control character: accepted while decoding, refused when read (lenient values)
    names.append(bytes.fromhex("300f310d300b06035504031304410142ff".replace(" ", "")))
    for k, der in enumerate(names):
        for data in _mutants(_wrap(der), 5000 + k):
            assert _name_outcome(LazyPairsName, data) == _name_outcome(EagerPairsName, data), data.hex()
            checked += 1
    assert checked > 1000
    assert _name_outcome(LazyPairsName, _wrap(names[-1]))[1][0] == "error"
