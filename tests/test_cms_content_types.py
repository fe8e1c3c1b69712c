"""The one ContentInfo (estcodec.cms) with its content-type registry, and the one content-type sniffer that cms,
cmc, enveloped, pkcs8 and show share (estcodec.cms.content_type_of)."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from estcodec import cmc, cms, der, enveloped, oids, pkcs8
from estcodec.errors import DecodeError
from estcodec.schema import Integer, ObjectIdentifier, Sequence, encode


def _ci(content_type: str, content_der: bytes) -> bytes:
    return cms.ContentInfo(content_type=content_type, content=content_der).to_der()


def _ber(der_bytes: bytes) -> bytes:
    """The same ContentInfo with indefinite lengths on the outer SEQUENCE and the [0]."""
    top = der.parse(der_bytes)
    oid, content = top[0], top[1]
    return (b"\x30\x80" + oid.to_der() + b"\xa0\x80" + content[0].to_der() + b"\x00\x00" + b"\x00\x00")


def _seq(*parts: bytes) -> bytes:
    body = b"".join(parts)
    assert len(body) < 128
    return b"\x30" + bytes([len(body)]) + body


def test_there_is_one_content_info() -> None:
    assert enveloped.ContentInfo is cms.ContentInfo


def test_content_type_of_reads_der_and_ber() -> None:
    data = _ci(oids.ID_CCT_PKI_DATA, cmc.PkiDataBuilder().build().to_der())
    assert cms.content_type_of(data) == oids.ID_CCT_PKI_DATA
    assert cms.content_type_of(_ber(data)) == oids.ID_CCT_PKI_DATA
    assert cms.content_type_of(bytearray(data)) == oids.ID_CCT_PKI_DATA


@pytest.mark.parametrize("data", [
    b"", b"\x30", b"\x02\x01\x00", b"\x30\x00", b"\x30\x03\x02\x01\x00",
    bytes.fromhex("3003060100"),                                   # an OID alone (and a malformed one)
    encode(ObjectIdentifier, oids.ID_DATA),                        # not inside a SEQUENCE
    # SEQUENCE { OID, OID }: a CSR attributes list, not a ContentInfo
    _seq(encode(ObjectIdentifier, oids.PKCS_9_AT_CHALLENGE_PASSWORD), encode(ObjectIdentifier, oids.ID_EC_PUBLIC_KEY)),
    # SEQUENCE { OID, [0] {...}, INTEGER }: something after the content
    _seq(encode(ObjectIdentifier, oids.ID_DATA), b"\xa0\x02\x05\x00", b"\x02\x01\x00"),
    # SEQUENCE { OID, [1] {...} }
    _seq(encode(ObjectIdentifier, oids.ID_DATA), b"\xa1\x02\x05\x00"),
])
def test_content_type_of_is_none_for_anything_else(data: bytes) -> None:
    assert cms.content_type_of(data) is None


def test_decode_content_through_the_registry() -> None:
    pki = cmc.PkiDataBuilder().transaction_id(7).build()
    got = cms.ContentInfo.from_der(_ci(oids.ID_CCT_PKI_DATA, pki.to_der())).decode_content()
    assert isinstance(got, cmc.PKIData) and got.transaction_id == 7
    env = enveloped.build_enveloped_data(b"hello", [enveloped.KEKRecipient(kek=bytes(16), kek_id=b"k")])
    assert isinstance(cms.ContentInfo.from_der(env).decode_content(), enveloped.EnvelopedData)
    keys = pkcs8.build_asymmetric_key_package([ed25519.Ed25519PrivateKey.generate()])
    assert len(cms.ContentInfo.from_der(_ci(oids.ID_CT_KP_A_KEY_PACKAGE, keys)).decode_content()) == 1
    assert cms.ContentInfo.from_der(_ci(oids.ID_DATA, b"\x04\x02hi")).decode_content() == b"hi"


def test_decode_content_errors_refer_to_the_whole_content_info() -> None:
    with pytest.raises(DecodeError) as info:
        cms.ContentInfo.from_der(_ci(oids.ID_CT_COMPRESSED_DATA, b"\x05\x00")).decode_content()
    assert info.value.reason == "unexpected-content-type" and info.value.path == "$.content_type"
    with pytest.raises(DecodeError) as info:
        cms.ContentInfo.from_der(_ci(oids.ID_SIGNED_DATA, b"\x30\x03\x04\x01\x00")).decode_content()
    assert info.value.path.startswith("$.content")


class _Counter(Sequence):
    count: Integer


def test_register_a_content_type() -> None:
    new_oid = "1.3.6.1.4.1.55555.1"
    cms.register_content_type(new_oid, _Counter)
    cms.register_content_type(new_oid, _Counter)  # the same again is fine
    assert cms.content_model(new_oid) is _Counter
    got = cms.ContentInfo.from_der(_ci(new_oid, encode(_Counter, _Counter(count=3)))).decode_content()
    assert got.count == 3
    with pytest.raises(ValueError, match="already has a model"):
        cms.register_content_type(oids.ID_SIGNED_DATA, _Counter)
    with pytest.raises(ValueError, match="dotted"):
        cms.register_content_type("signedData", _Counter)


def test_every_registered_model_resolves() -> None:
    for content_type in list(cms._CONTENT_TYPES):
        assert cms.content_model(content_type) is not None, content_type
        assert content_type in oids.OID_NAMES or content_type.startswith("1.3.6.1.4.1.55555")


def test_cmc_reads_bare_wrapped_and_refuses_other_content() -> None:
    pki = cmc.PkiDataBuilder().transaction_id(9).build()
    assert cmc.parse_pki_data(pki.to_der()).transaction_id == 9
    assert cmc.parse_pki_data(_ci(oids.ID_CCT_PKI_DATA, pki.to_der())).transaction_id == 9
    with pytest.raises(DecodeError):
        cmc.parse_pki_data(_ci(oids.ID_CT_COMPRESSED_DATA, pki.to_der()))
    with pytest.raises(DecodeError):
        cmc.parse_pki_data(b"\x02\x01\x00")
