"""The requested extensions of a CSR are checked in one C loop (``LazyContained.read_all``, issue 14): every known
value decoded and kept, duplicates refused, with the same errors and paths as an element-by-element check."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import estcodec
from estcodec import der
from estcodec.pkcs10 import CertificationRequest, CertificationRequestBuilder
from estcodec.x509 import Extension, oid

EXTS = "$.certification_request_info.attributes[0].attr_values[0]"
KEY = ec.generate_private_key(ec.SECP256R1())


def _csr(*exts):
    b = CertificationRequestBuilder().subject("CN=x")
    for e in exts:
        b = b.add_extension(e)
    return b.sign(KEY)


def _ext(extn_id, value, critical=False):
    return Extension(extn_id=extn_id, critical=critical, extn_value=value)


GOOD_BC = _ext(oid.BASIC_CONSTRAINTS, b"\x30\x03\x01\x01\xff", True)
GOOD_KU = _ext(oid.KEY_USAGE, b"\x03\x02\x05\xa0", True)
BAD_BC = _ext(oid.BASIC_CONSTRAINTS, b"\x04\x00", True)


def test_values_are_decoded_and_kept_by_the_read():
    csr = _csr(GOOD_BC, GOOD_KU, _ext("1.2.3.4", b"\x05\x00"))
    exts = csr.extensions
    assert [e.oid for e in exts] == [oid.BASIC_CONSTRAINTS, oid.KEY_USAGE, "1.2.3.4"]
    assert exts[0].parsed.ca is True and exts[1].parsed == frozenset({"digital_signature", "key_encipherment"})
    assert exts[2].parsed == b"\x05\x00"  # unregistered: the raw bytes
    assert exts[0].parsed is exts[0].parsed  # kept


@pytest.mark.parametrize("at", [0, 1, 2])
def test_a_malformed_value_is_refused_with_its_path(at):
    exts = [_ext("1.2.3.4", b"\x05\x00"), GOOD_KU, _ext("1.2.3.5", b"")]
    exts[at] = BAD_BC
    csr = _csr(*exts)
    with pytest.raises(estcodec.DecodeError) as ei:
        csr.extensions
    assert ei.value.path.startswith(f"{EXTS}[{at}].extn_value")
    value = csr.attributes[0].attr_values[0]  # offsets count from the start of the extensionRequest value
    assert value[ei.value.offset:].startswith(b"\x04\x00")


@pytest.mark.parametrize("first, second", [(0, 1), (0, 2), (1, 2)])
def test_a_duplicate_is_refused_at_its_second_place(first, second):
    # the builder refuses duplicates: request 1.2.3.4, 1.2.3.5 and 1.2.3.6, then give two of them the same OID in
    # the DER (the signature no longer matches; reading the extensions does not check it)
    ids = ["1.2.3.4", "1.2.3.5", "1.2.3.6"]
    src = _csr(*[_ext(i, b"\x05\x00") for i in ids]).to_der()
    tlv = [b"\x06\x03\x2a\x03" + bytes([4 + k]) for k in range(3)]
    assert all(src.count(t) == 1 for t in tlv)
    csr = CertificationRequest.from_der(src.replace(tlv[second], tlv[first]))
    with pytest.raises(estcodec.DecodeError, match=f"extension {ids[first]} requested twice") as ei:
        csr.extensions
    assert ei.value.path == f"{EXTS}[{second}]" and ei.value.reason == "invalid-value"


def test_read_all_refuses_what_is_not_a_list_of_its_models():
    read_all = Extension.__dict__["parsed"].read_all
    assert read_all([]) is None
    with pytest.raises(TypeError):
        read_all([der.parse(b"\x05\x00")])
    with pytest.raises(TypeError):
        read_all((GOOD_BC,))  # type: ignore[arg-type]
    assert read_all([GOOD_BC, GOOD_KU, GOOD_BC]) == 2  # built from values: decoded from their bytes
