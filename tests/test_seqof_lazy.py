"""Lazily built SEQUENCE OF / SET OF (``SequenceOf(X, lazy=True)``, ``_der.LazyList``; issue 12, last point).

Past its first ``SEQOF_EAGER_ELEMENTS`` elements a lazy SEQUENCE OF is checked while decoding (a malformed
element still fails in ``from_der``, with offset and path) and built when read. The value reads as the list it
was before; re-encoding is byte-identical; and a long run of tiny elements no longer costs a Python object per
element, so decoders stay under 10x their input (tracemalloc peaks, as in test_ber_memory).
"""
from __future__ import annotations

import pickle

import pytest

from estcodec import DecodeError, _der
from estcodec.cms import ContentInfo, SignedData, parse_certs_only, parse_signed_data
from estcodec.csrattrs import CsrAttrs
from estcodec.pkcs10 import CertificationRequest
from estcodec.x509 import Certificate
from estcodec.schema import Integer, ObjectIdentifier, Sequence, SequenceOf, SetOf, decode, encode, spec_of

from test_ber_memory import DECODER_BOUND, _tlv, peak_of

EAGER = _der.SEQOF_EAGER_ELEMENTS
LAZY_OIDS = spec_of(SequenceOf(ObjectIdentifier, lazy=True))
EAGER_OIDS = spec_of(SequenceOf(ObjectIdentifier))


class Holder(Sequence):
    version: Integer
    oids: SequenceOf(ObjectIdentifier, lazy=True)
    sized: SetOf(Integer, min_size=1, max_size=100, lazy=True)


def _oids(n: int) -> list[str]:
    return [f"1.2.{i}" for i in range(n)]


@pytest.mark.parametrize("n", [0, 1, EAGER - 1, EAGER, EAGER + 1, 3 * EAGER + 7])
def test_reads_as_the_list_it_was(n):
    der = encode(EAGER_OIDS, _oids(n))
    lazy, plain = decode(LAZY_OIDS, der), decode(EAGER_OIDS, der)
    assert type(plain) is list
    assert (type(lazy) is _der.LazyList) == (n > EAGER)
    assert len(lazy) == n and bool(lazy) == bool(n)
    assert lazy == plain and plain == lazy and not (lazy != plain)
    assert list(lazy) == plain and list(iter(lazy)) == plain
    assert repr(lazy) == repr(plain)
    for i in (0, n // 2, n - 1, -1, -n):
        if n:
            assert lazy[i] == plain[i]
    assert lazy[3:n - 2] == plain[3:n - 2] and lazy[::-3] == plain[::-3]
    assert lazy + ["x"] == plain + ["x"] and ["x"] + lazy == ["x"] + plain
    assert list(reversed(lazy)) == plain[::-1]
    if n:
        assert plain[-1] in lazy and lazy.index(plain[-1]) == n - 1 and lazy.count(plain[0]) == 1
    assert pickle.loads(pickle.dumps(lazy)) == plain
    assert encode(EAGER_OIDS, lazy) == der


def test_lazy_list_cannot_be_made_or_hashed_by_hand():
    with pytest.raises(TypeError):
        _der.LazyList()
    lazy = decode(LAZY_OIDS, encode(EAGER_OIDS, _oids(EAGER + 1)))
    with pytest.raises(TypeError):
        hash(lazy)


def test_iteration_builds_elements_one_at_a_time_until_the_list_is_built():
    n = EAGER + 10
    lazy = decode(LAZY_OIDS, encode(EAGER_OIDS, _oids(n)))
    it = iter(lazy)
    first = [next(it) for _ in range(EAGER + 2)]
    assert lazy[EAGER + 5] == "1.2.%d" % (EAGER + 5)       # builds the whole list meanwhile
    assert first + list(it) == _oids(n)                    # the running iterator is not disturbed
    assert lazy[EAGER + 5] is lazy[EAGER + 5]              # once built, kept


def test_model_field_reencodes_byte_identically():
    # a SET OF kept in the order it came (not sorted), long enough to be lazy
    values = list(range(90, 0, -1))
    sized_der = _tlv(0x31, b"".join(_tlv(0x02, bytes([v])) for v in values))
    der = _tlv(0x30, _tlv(0x02, b"\x01") + encode(EAGER_OIDS, _oids(200)) + sized_der)
    h = Holder.from_der(der)
    assert type(h.oids) is _der.LazyList and type(h.sized) is _der.LazyList
    assert list(h.sized) == values                          # order kept
    assert h.to_der() == der
    again = h.replace(version=2)                            # encoded afresh from the values (a SET OF sorts)
    assert list(Holder.from_der(again.to_der()).sized) == sorted(values)
    assert Holder.from_der(again.to_der()).oids == _oids(200)


def test_malformed_late_element_fails_in_from_der_with_offset_and_path():
    der = bytearray(encode(EAGER_OIDS, _oids(3 * EAGER)))
    last = len(der) - 5                                    # the last element: 06 03 2a 81 3f (1.2.191)
    assert der[last] == 0x06
    der[last] = 0x02                                       # an INTEGER where an OID must be
    with pytest.raises(DecodeError) as excinfo:
        decode(LAZY_OIDS, bytes(der))
    assert excinfo.value.offset == last
    assert str(excinfo.value.path).endswith(f"[{3 * EAGER - 1}]")
    der[last] = 0x06
    der[last + 3] = 0x80                                   # an OID with a non-minimal subidentifier
    with pytest.raises(DecodeError) as excinfo:
        decode(LAZY_OIDS, bytes(der))
    assert str(excinfo.value.path).endswith(f"[{3 * EAGER - 1}]")


def test_size_constraint_is_checked_for_a_lazy_list():
    ok = Holder(version=1, oids=[], sized=list(range(100))).to_der()
    assert len(Holder.from_der(ok).sized) == 100
    too_many = _tlv(0x31, b"".join(_tlv(0x02, bytes([v % 100])) for v in range(101)))
    der = _tlv(0x30, _tlv(0x02, b"\x01") + _tlv(0x30, b"") + too_many)
    with pytest.raises(DecodeError) as excinfo:
        Holder.from_der(der)
    assert excinfo.value.reason == "invalid-value"


def test_ber_input_with_a_long_lazy_list():
    # indefinite lengths around and inside the list; the instance re-encodes as DER
    elements = b"".join(_tlv(0x06, bytes([0x2A, i & 0x7F])) for i in range(EAGER * 2))
    ber = b"\x30\x80" + _tlv(0x02, b"\x01") + b"\x30\x80" + elements + b"\x00\x00" + _tlv(0x31, b"\x02\x01\x05") + \
        b"\x00\x00"
    h = Holder.from_der(ber, ber=True)
    assert len(h.oids) == EAGER * 2 and h.oids[-1] == "1.2.%d" % ((EAGER * 2 - 1) & 0x7F)
    assert Holder.from_der(h.to_der()) == h


# --- memory: the shapes the hostile-server issue measured --------------------------------------------------

SIZE = 1 << 20
OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
OID_DATA = bytes.fromhex("06092a864886f70d010701")


def _sd(digest: bytes = b"", certs: bytes | None = None, crls: bytes | None = None, signers: bytes = b"") -> bytes:
    body = _tlv(0x02, b"\x01") + _tlv(0x31, digest) + _tlv(0x30, OID_DATA)
    if certs is not None:
        body += _tlv(0xA0, certs)
    if crls is not None:
        body += _tlv(0xA1, crls)
    body += _tlv(0x31, signers)
    return _tlv(0x30, body)


def _signed_data(**parts: bytes) -> bytes:
    return _tlv(0x30, OID_SIGNED_DATA + _tlv(0xA0, _sd(**parts)))


SHAPES = {
    # 5-byte AlgorithmIdentifiers (was 34x)
    "digest-algorithms": (_signed_data(digest=b"\x30\x03\x06\x01\x00" * (SIZE // 5)), SIZE // 5),
    # 7-byte ``other`` certificate choices (was 47x through parse_certs_only)
    "other-certificates": (_signed_data(certs=b"\xa3\x05\x06\x01\x00\x05\x00" * (SIZE // 7)), SIZE // 7),
    "other-crls": (_signed_data(crls=b"\xa1\x05\x06\x01\x00\x05\x00" * (SIZE // 7)), SIZE // 7),
    # 3-byte OIDs (was 46x)
    "csrattrs-oids": (_tlv(0x30, b"\x06\x01\x00" * (SIZE // 3)), SIZE // 3),
}
DECODERS = {
    "ContentInfo": lambda d: ContentInfo.from_der(d),
    "ContentInfo(ber)": lambda d: ContentInfo.from_der(d, ber=True),
    "parse_signed_data": parse_signed_data,
    "parse_certs_only": parse_certs_only,
    "CsrAttrs": CsrAttrs.from_der,
    "CsrAttrs(ber)": lambda d: CsrAttrs.from_der(d, ber=True),
}
PAIRS = [(s, d) for s in SHAPES for d in DECODERS if (s == "csrattrs-oids") == d.startswith("CsrAttrs")]


@pytest.mark.parametrize("shape,decoder", PAIRS)
def test_many_tiny_elements_stay_within_the_bound(shape, decoder):
    data, _ = SHAPES[shape]
    peak = peak_of(DECODERS[decoder], data)
    assert peak <= DECODER_BOUND * len(data), f"{decoder} on {shape}: peak {peak / len(data):.1f}x the input"


def test_many_tiny_elements_are_all_there():
    sd = SignedData.from_der(parse_signed_data(SHAPES["digest-algorithms"][0]).to_der())
    assert len(sd.digest_algorithms) == SHAPES["digest-algorithms"][1]
    assert sd.digest_algorithms[-1].algorithm == "0.0"
    certs = parse_signed_data(SHAPES["other-certificates"][0]).certificates
    assert len(certs) == SHAPES["other-certificates"][1] and certs[-1].name == "other"
    assert parse_certs_only(SHAPES["other-certificates"][0]) == []
    attrs = CsrAttrs.from_der(SHAPES["csrattrs-oids"][0])
    assert len(attrs) == SHAPES["csrattrs-oids"][1] and attrs.oids[-1] == "0.0"
    assert attrs.to_der() == SHAPES["csrattrs-oids"][0]


@pytest.mark.parametrize("k", [3, 5000, SIZE // 70])
def test_a_malformed_tiny_element_still_fails_the_parse(k):
    data = bytearray(_sd(certs=b"\xa3\x05\x06\x01\x00\x05\x00" * (SIZE // 70)))
    data[-3 - 7 * (SIZE // 70 - k)] = 0x01                 # element k: its NULL with a length byte of 1
    with pytest.raises(DecodeError) as excinfo:
        SignedData.from_der(bytes(data))
    assert excinfo.value.path == f"$.certificates[{k - 1}].other"     # as for an element built while decoding


# --- more shapes: a request's attributes and their values, a certificate's extensions -------------------------

def _csr(attributes: bytes) -> bytes:
    spki = _tlv(0x30, _tlv(0x30, _tlv(0x06, bytes.fromhex("2a8648ce3d0201"))) + _tlv(0x03, b"\x00"))
    info = _tlv(0x30, _tlv(0x02, b"\x00") + _tlv(0x30, b"") + spki + _tlv(0xA0, attributes))
    return _tlv(0x30, info + _tlv(0x30, _tlv(0x06, bytes.fromhex("2a8648ce3d040302"))) + _tlv(0x03, b"\x00"))


def _certificate_with_extensions(extensions: bytes) -> bytes:
    from test_x509 import CERTS

    cert = Certificate.from_der(CERTS[-1][1])
    tbs = cert.tbs_certificate.replace(extensions=None).to_der()
    (_, _, _, _, cs, ce), = _der.tlv_children(tbs, 0, len(tbs))
    tbs = _tlv(0x30, tbs[cs:ce] + _tlv(0xA3, _tlv(0x30, extensions)))
    return _tlv(0x30, tbs + cert.signature_algorithm.to_der() + _tlv(0x03, b"\x00\x01"))


OID_CHALLENGE = bytes.fromhex("06092a864886f70d010907")
MORE_SHAPES = {
    # one attribute holding 2-byte values (was 22x)
    "csr-attribute-values": (_csr(_tlv(0x30, OID_CHALLENGE + _tlv(0x31, b"\x04\x00" * (SIZE // 2)))),
                             CertificationRequest.from_der),
    # 9-byte attributes (was 28x)
    "csr-attributes": (_csr(_tlv(0x30, b"\x06\x01\x00\x31\x02\x05\x00") * (SIZE // 9)), CertificationRequest.from_der),
    # 7-byte extensions (was 24x)
    "certificate-extensions": (_certificate_with_extensions(b"\x30\x05\x06\x01\x00\x04\x00" * (SIZE // 7)),
                               Certificate.from_der),
}


@pytest.mark.parametrize("shape", sorted(MORE_SHAPES))
def test_more_shapes_stay_within_the_bound(shape):
    data, decoder = MORE_SHAPES[shape]
    peak = peak_of(decoder, data)
    assert peak <= DECODER_BOUND * len(data), f"{shape}: peak {peak / len(data):.1f}x the input"


def test_more_shapes_read_whole():
    csr = CertificationRequest.from_der(MORE_SHAPES["csr-attribute-values"][0])
    (attr,) = csr.attributes
    assert len(attr.attr_values) == SIZE // 2 and attr.attr_values[-1] == b"\x04\x00"
    with pytest.raises(DecodeError):
        csr.challenge_password                              # more than one value
    csr = CertificationRequest.from_der(MORE_SHAPES["csr-attributes"][0])
    assert len(csr.attributes) == SIZE // 9 and csr.attribute("1.2.3") is None
    cert = Certificate.from_der(MORE_SHAPES["certificate-extensions"][0])
    assert len(cert.extensions) == SIZE // 7 and cert.extensions[-1].oid == "0.0"
    assert cert.to_der() == MORE_SHAPES["certificate-extensions"][0]
