"""Tests of estcodec.cmc (RFC 5272 / RFC 6402).

Vectors: tests/vectors/cmc (four signed PKIData messages from SUNET's python_cmc, MIT; the Microsoft
CMCReqGenerator request and the RFC 5275 GL-use-KEK message from pyasn1-alt-modules' tests, BSD-2) and the
CMC blobs of tests/vectors/pyasn1-alt-modules/index.tsv. Independent oracles: pyasn1-modules' rfc6402 (reads
what we build, writes the PKIResponses we read) and the ``openssl`` command line (verifies what we sign, signs
responses we verify). Keys are generated per test run with ``cryptography``.
"""
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyasn1.codec.der import decoder as pdec, encoder as penc
from pyasn1.type import char, univ, useful
from pyasn1_modules import rfc5652, rfc6402

from estcodec import DecodeError, EncodeError, Error, cmc, der
from estcodec.cmc import CmcFailInfo, CmcStatusValue, oid

VECTORS = Path(__file__).resolve().parent / "vectors"
CMC_DIR = VECTORS / "cmc"
PYASN1_ALT = VECTORS / "pyasn1-alt-modules"

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl command line not installed")


# --- helpers -----------------------------------------------------------------------------------------------

def _econtent(signed: bytes) -> bytes:
    """The eContent of a ContentInfo/SignedData, found with the schema-less layer (independent of cmc/cms)."""
    ci = der.parse(signed)
    assert ci.children[0].value == "1.2.840.113549.1.7.2"
    sd = ci.children[1].children[0]
    eci = sd.children[2]
    assert eci.children[0].value in (oid.PKI_DATA, oid.PKI_RESPONSE)
    return eci.children[1].children[0].content


def _signed_vectors():
    files = sorted(CMC_DIR.glob("sunet-python_cmc/*.der"))
    files += [CMC_DIR / "pyasn1-alt-modules" / "rfc5275__GLUseKEKTestCase__pem_text.der",
              CMC_DIR / "pyasn1-alt-modules" / "rfc6402__BackwardCompatibilityTestCase__pem_text.der"]
    return files


def _index_cmc_blobs():
    rows = (PYASN1_ALT / "index.tsv").read_text().splitlines()[1:]
    out = []
    for row in rows:
        name, _size, sniffed = (row.split("\t") + ["", ""])[:3]
        if "PKIData" in sniffed:
            out.append((name, sniffed))
    return out


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _csr(key, cn: str, *, ski: bool = True) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ed25519
    b = cx509.CertificateSigningRequestBuilder().subject_name(
        cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    if ski:
        b = b.add_extension(cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    h = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return b.sign(key, h).public_bytes(serialization.Encoding.DER)


def _self_signed(key, cn: str, *, ca: bool = True, issuer_key=None, issuer_cert=None):
    from cryptography.hazmat.primitives.asymmetric import ed25519
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = dt.datetime.now(dt.timezone.utc)
    b = (cx509.CertificateBuilder().subject_name(name)
         .issuer_name(issuer_cert.subject if issuer_cert else name)
         .public_key(key.public_key()).serial_number(cx509.random_serial_number())
         .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
         .add_extension(cx509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(cx509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer_cert is not None:
        b = b.add_extension(cx509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                            critical=False)
    signer = issuer_key or key
    return b.sign(signer, None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256())


# --- enums -------------------------------------------------------------------------------------------------

def test_status_values_match_rfc5272():
    assert {m.name: m.value for m in CmcStatusValue} == {
        "SUCCESS": 0, "FAILED": 2, "PENDING": 3, "NO_SUPPORT": 4, "CONFIRM_REQUIRED": 5, "POP_REQUIRED": 6,
        "PARTIAL": 7}
    # the same numbers as pyasn1-modules' CMCStatus named values
    assert sorted(v for _, v in rfc6402.CMCStatus.namedValues.items()) == sorted(m.value for m in CmcStatusValue)


def test_fail_info_values_and_descriptions():
    assert [m.value for m in CmcFailInfo][:12] == list(range(12))
    assert CmcFailInfo.BAD_REQUEST == 2 and CmcFailInfo.INTERNAL_CA_ERROR == 11
    assert dict(rfc6402.CMCFailInfo.namedValues.items())["internalCAError"] == 11
    for m in CmcFailInfo:
        assert m.description() and isinstance(m.description(), str)
    assert "private" in cmc.describe_fail_info(1500)
    assert cmc.describe_fail_info(9) == CmcFailInfo.POP_FAILED.description()


def test_oid_namespace():
    assert oid.TRANSACTION_ID == "1.3.6.1.5.5.7.7.5"
    assert oid.STATUS_INFO_V2 == "1.3.6.1.5.5.7.7.25"
    assert oid.CHANGE_SUBJECT_NAME == "1.3.6.1.5.5.7.7.36"
    assert oid.TRUSTED_ANCHORS == "1.3.6.1.5.5.7.7.26"
    assert oid.BATCH_REQUESTS == "1.3.6.1.5.5.7.7.28" and oid.BATCH_RESPONSES == "1.3.6.1.5.5.7.7.29"
    assert oid.PKI_DATA == "1.3.6.1.5.5.7.12.2" and oid.PKI_RESPONSE == "1.3.6.1.5.5.7.12.3"
    # every control OID pyasn1-modules knows has the same dotted value here
    for name in dir(rfc6402):
        if name.startswith("id_cmc_"):
            assert str(getattr(rfc6402, name)) in cmc.CONTROL_TYPES, name


def test_public_names():
    for name in cmc.__all__:
        assert hasattr(cmc, name), name
    for name in ("PKIData", "PKIResponse", "TaggedAttribute", "TaggedRequest", "BodyPartId", "BatchRequest",
                 "CmcStatusValue", "CmcFailInfo", "CmcStatusInfo", "PendingInfo", "PkiDataBuilder",
                 "sign_pki_data", "parse_pki_response", "parse_pki_data", "oid"):
        assert name in cmc.__all__, name
    for name in ("TRANSACTION_ID", "SENDER_NONCE", "RECIPIENT_NONCE", "IDENTIFICATION", "STATUS_INFO_V2",
                 "QUERY_PENDING", "REVOKE_REQUEST", "GET_CERT", "GET_CRL", "CHANGE_SUBJECT_NAME", "TRUSTED_ANCHORS",
                 "BATCH_REQUESTS", "BATCH_RESPONSES"):
        assert getattr(oid, name).startswith("1.3.6.1.5.5.7.7."), name


# --- the real vectors ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", _signed_vectors(), ids=lambda p: p.name)
def test_vector_pki_data_decodes_and_reencodes(path):
    inner = _econtent(path.read_bytes())
    pki = cmc.PKIData.from_der(inner)
    assert pki.to_der() == inner
    assert pki.replace().to_der() == inner          # re-encoded from values, not from the kept bytes
    pki.validate()
    # the same numbers pyasn1-modules finds
    ref, rest = pdec.decode(inner, asn1Spec=rfc6402.PKIData())
    assert not rest
    assert [int(c["bodyPartID"]) for c in ref["controlSequence"]] == [c.body_part_id for c in pki.control_sequence]
    assert [str(c["attrType"]) for c in ref["controlSequence"]] == [c.attr_type for c in pki.control_sequence]
    assert [r.getName() for r in ref["reqSequence"]] == [r.name for r in pki.req_sequence]


def test_sunet_crmf_request_fields():
    pki = cmc.PKIData.from_der(_econtent((CMC_DIR / "sunet-python_cmc" / "blob00_PKIData.der").read_bytes()))
    assert pki.sender_nonce is not None and len(pki.sender_nonce) == 128
    assert pki.control_value(oid.REG_INFO) == b"crmf"
    witness = pki.control_value(oid.LRA_POP_WITNESS)
    assert isinstance(witness, cmc.LraPopWitness) and witness.pki_data_bodyid == 0x2E9FD6A7
    (req,) = pki.req_sequence
    assert req.name == "crm" and req.body_part_id == 0x7FE121AF
    tmpl = req.value.cert_req.cert_template
    assert "CN=Date Name 2023-01-30 17:11:42" in tmpl.subject.rfc4514_string()
    assert tmpl.public_key.algorithm.algorithm == "1.2.840.10045.2.1"
    assert [e.extn_id for e in tmpl.extensions][:3] == ["2.5.29.19", "2.5.29.35", "2.5.29.14"]


def test_sunet_revoke_request_fields():
    pki = cmc.PKIData.from_der(_econtent((CMC_DIR / "sunet-python_cmc" / "blob03_PKIData.der").read_bytes()))
    rr = pki.control_value(oid.REVOKE_REQUEST)
    assert isinstance(rr, cmc.RevokeRequest)
    assert rr.serial_number == 0xD29920C9A2223D4A06D23DEE819A101A
    assert rr.reason == 6
    assert rr.invalidity_date == dt.datetime(2023, 1, 30, 21, 45, 42, tzinfo=dt.timezone.utc)
    assert "Headless CA" in rr.issuer_name.rfc4514_string()
    assert pki.req_sequence == [] and pki.cms_sequence == [] and pki.other_msg_sequence == []


def test_sunet_pkcs10_request_fields():
    pki = cmc.PKIData.from_der(_econtent((CMC_DIR / "sunet-python_cmc" / "blob01_PKIData.der").read_bytes()))
    assert pki.control_value(oid.REG_INFO) == b"pkcs10"
    (req,) = pki.req_sequence
    assert req.name == "tcr" and req.body_part_id == 0x46ABB5FE
    csr = req.value.certification_request
    assert "Date Name 2023-01-30 23:18:43" in csr.subject.rfc4514_string()


def test_microsoft_request_keeps_unknown_control_raw():
    data = (CMC_DIR / "pyasn1-alt-modules" / "rfc6402__BackwardCompatibilityTestCase__pem_text.der").read_bytes()
    pki = cmc.PKIData.from_der(_econtent(data))
    (ctl,) = pki.control_sequence
    assert ctl.attr_type == "1.3.6.1.4.1.311.10.10.1"           # a Microsoft control, not in the registry
    assert isinstance(ctl.values[0], bytes) and ctl.values[0][0] == 0x30
    (req,) = pki.req_sequence
    assert req.name == "tcr"


def test_gl_use_kek_control_kept_raw():
    data = (CMC_DIR / "pyasn1-alt-modules" / "rfc5275__GLUseKEKTestCase__pem_text.der").read_bytes()
    pki = cmc.PKIData.from_der(_econtent(data))
    (ctl,) = pki.control_sequence
    assert ctl.attr_type == "1.2.840.113549.1.9.16.8.1" and ctl.body_part_id == 1
    assert len(ctl.values) == 1 and isinstance(ctl.values[0], bytes)


@pytest.mark.parametrize("name,sniffed", _index_cmc_blobs(), ids=lambda x: x if isinstance(x, str) else "")
def test_index_cmc_blobs(name, sniffed):
    data = (PYASN1_ALT / "der" / f"{name}.der").read_bytes()
    if sniffed == "signedData/PKIData":
        inner = _econtent(data)
        assert cmc.PKIData.from_der(inner).to_der() == inner
        return
    # rfc8295: an Attribute (pkcs-9-at-pkcs7PDU) holding a ContentInfo whose PKIData is pyasn1-alt-modules'
    # RFC 8295 "subset" with only a reqSequence. That is not an RFC 5272 PKIData (four SEQUENCE OFs), so the
    # strict model refuses it; its one TaggedRequest decodes and re-encodes.
    attr = der.parse(data)
    ci = attr.children[1].children[0]
    assert ci.children[0].value == oid.PKI_DATA
    body = ci.children[1].children[0]
    with pytest.raises(DecodeError) as ei:
        cmc.PKIData.from_der(body.to_der())
    assert ei.value.reason == "unexpected-tag" and ei.value.path.startswith("$.control_sequence")
    (tr_el,) = body.children[0].children
    tr = cmc.TaggedRequest.from_der(tr_el.to_der())
    assert tr.name == "tcr" and tr.body_part_id == 0 and tr.to_der() == tr_el.to_der()


def test_truncated_pki_data_raises_decode_error_only():
    inner = _econtent((CMC_DIR / "sunet-python_cmc" / "blob00_PKIData.der").read_bytes())
    for n in range(len(inner)):
        with pytest.raises(DecodeError):
            cmc.PKIData.from_der(inner[:n])
    with pytest.raises(DecodeError):
        cmc.PKIData.from_der(inner + b"\x00")


# --- PkiDataBuilder read back by pyasn1-modules -------------------------------------------------------------

def test_builder_read_back_by_pyasn1(ec_key, rsa_key):
    csr1, csr2 = _csr(ec_key, "device one"), _csr(rsa_key, "device two")
    nonce = bytes(range(16))
    pki = (cmc.PkiDataBuilder().transaction_id(123456789).sender_nonce(nonce).identification("alice")
           .add_certification_request(csr1).add_certification_request(csr2).build())
    data = pki.to_der()
    ref, rest = pdec.decode(data, asn1Spec=rfc6402.PKIData(), decodeOpenTypes=True)
    assert not rest
    assert penc.encode(ref) == data
    controls = {str(c["attrType"]): c for c in ref["controlSequence"]}
    assert int(controls[oid.TRANSACTION_ID]["attrValues"][0]) == 123456789
    assert bytes(controls[oid.SENDER_NONCE]["attrValues"][0]) == nonce
    assert str(controls[oid.IDENTIFICATION]["attrValues"][0]) == "alice"
    reqs = ref["reqSequence"]
    assert [r.getName() for r in reqs] == ["tcr", "tcr"]
    assert [penc.encode(r["tcr"]["certificationRequest"]) for r in reqs] == [csr1, csr2]
    ids = [int(c["bodyPartID"]) for c in ref["controlSequence"]] + [int(r["tcr"]["bodyPartID"]) for r in reqs]
    assert len(set(ids)) == len(ids) and all(0 < i <= cmc.BODY_PART_ID_MAX for i in ids)
    assert len(ref["cmsSequence"]) == 0 and len(ref["otherMsgSequence"]) == 0
    # and by us
    back = cmc.PKIData.from_der(data)
    assert back.transaction_id == 123456789 and back.sender_nonce == nonce and back.identification == "alice"
    assert [c.to_der() for c in back.certification_requests] == [csr1, csr2]


def test_builder_random_nonce_and_recipient_nonce(ec_key):
    p1 = cmc.PkiDataBuilder().random_sender_nonce().recipient_nonce(b"\x01\x02").build()
    p2 = cmc.PkiDataBuilder().random_sender_nonce().build()
    assert len(p1.sender_nonce) == 16 and p1.sender_nonce != p2.sender_nonce
    assert p1.recipient_nonce == b"\x01\x02"
    ref, _ = pdec.decode(p1.to_der(), asn1Spec=rfc6402.PKIData(), decodeOpenTypes=True)
    got = {str(c["attrType"]): bytes(c["attrValues"][0]) for c in ref["controlSequence"]}
    assert got == {oid.SENDER_NONCE: p1.sender_nonce, oid.RECIPIENT_NONCE: b"\x01\x02"}


def test_builder_body_part_ids(ec_key):
    csr = _csr(ec_key, "x")
    pki = (cmc.PkiDataBuilder().transaction_id(1).add_certification_request(csr, body_part_id=2)
           .add_certification_request(csr).build())
    ids = pki.body_part_ids()
    assert ids == [1, 2, 3]
    with pytest.raises(EncodeError):
        (cmc.PkiDataBuilder().add_certification_request(csr, body_part_id=5)
         .add_certification_request(csr, body_part_id=5).build())
    with pytest.raises(EncodeError):
        cmc.PkiDataBuilder().add_certification_request(csr, body_part_id=2 ** 32).build()


def test_duplicate_body_part_ids_are_refused_on_validate(ec_key):
    csr = _csr(ec_key, "x")
    pki = cmc.PkiDataBuilder().transaction_id(1).add_certification_request(csr).build()
    dup = pki.replace(req_sequence=[cmc.TaggedRequest(tcr=cmc.TaggedCertificationRequest(
        body_part_id=1, certification_request=pki.certification_requests[0]))])
    with pytest.raises(DecodeError):
        cmc.PKIData.from_der(dup.to_der()).validate()


def test_change_subject_name_read_back_by_pyasn1():
    from estcodec.x509 import GeneralName, Name
    subject = Name.build([("2.5.4.3", "new name"), ("2.5.4.10", "Example")])
    san = [GeneralName(dns_name="new.example")]
    for kwargs in ({"subject": subject}, {"subject_alt": san}, {"subject": subject, "subject_alt": san}):
        pki = cmc.PkiDataBuilder().change_subject_name(**kwargs).build()
        back = cmc.parse_pki_data(pki.to_der())
        csn = back.control_value(oid.CHANGE_SUBJECT_NAME)
        assert (csn.subject.to_der() if csn.subject else None) == (subject.to_der() if "subject" in kwargs else None)
        assert (csn.subject_alt == san) if "subject_alt" in kwargs else csn.subject_alt is None
        # pyasn1-modules cannot tell the two untagged OPTIONAL SEQUENCEs apart either; read each component
        # with its own pyasn1 type instead
        from pyasn1_modules import rfc5280
        el = der.parse(pki.control_sequence[0].values[0].to_der())
        comps = [c.to_der() for c in el.children]
        if "subject" in kwargs:
            ref, rest = pdec.decode(comps.pop(0), asn1Spec=rfc5280.Name())
            assert not rest and str(ref[0][0][0]["value"]).endswith("new name")
        if "subject_alt" in kwargs:
            ref, rest = pdec.decode(comps.pop(0), asn1Spec=rfc5280.GeneralNames())
            assert not rest and str(ref[0]["dNSName"]) == "new.example"
        assert comps == []


def test_builder_crmf_and_other_request_round_trip():
    inner = _econtent((CMC_DIR / "sunet-python_cmc" / "blob04_PKIData.der").read_bytes())
    crm = cmc.PKIData.from_der(inner).req_sequence[0].value
    pki = cmc.PkiDataBuilder().transaction_id(9).add_crmf_request(crm) \
        .add_other_request("1.2.3.4", b"\x04\x01\x00").build()
    back = cmc.PKIData.from_der(pki.to_der())
    assert [r.name for r in back.req_sequence] == ["crm", "orm"]
    assert back.req_sequence[0].to_der() == cmc.PKIData.from_der(inner).req_sequence[0].to_der()
    assert back.req_sequence[0].value.cert_req.to_der() == crm.cert_req.to_der()
    assert back.req_sequence[1].value.request_message_value == b"\x04\x01\x00"
    ref, rest = pdec.decode(pki.to_der(), asn1Spec=rfc6402.PKIData())
    assert not rest and penc.encode(ref) == pki.to_der()


def test_unknown_control_built_from_der_values():
    pki = cmc.PkiDataBuilder().add_control("1.2.3.4.5", [b"\x02\x01\x05", b"\x0c\x01a"]).build()
    back = cmc.PKIData.from_der(pki.to_der())
    assert sorted(back.control_sequence[0].values) == sorted([b"\x02\x01\x05", b"\x0c\x01a"])


def test_typed_control_values_registry():
    ta = cmc.TaggedAttribute.build(4, oid.BATCH_REQUESTS, [[5, 6, 7]])
    assert cmc.TaggedAttribute.from_der(ta.to_der()).value == [5, 6, 7]
    pta = cmc.TaggedAttribute.build(1, oid.TRUSTED_ANCHORS, [cmc.PublishTrustAnchors(
        seq_number=3, hash_algorithm=__import__("estcodec.x509", fromlist=["x"]).AlgorithmIdentifier(
            algorithm="2.16.840.1.101.3.4.2.1"), anchor_hashes=[b"\x11" * 32])])
    ref, rest = pdec.decode(pta.to_der(), asn1Spec=rfc6402.TaggedAttribute(), decodeOpenTypes=True)
    assert not rest
    v = ref["attrValues"][0]
    assert int(v["seqNumber"]) == 3 and bytes(v["anchorHashes"][0]) == b"\x11" * 32
    back = cmc.TaggedAttribute.from_der(pta.to_der()).value
    assert back.seq_number == 3 and back.anchor_hashes == [b"\x11" * 32]


# --- PKIResponses written by pyasn1-modules ----------------------------------------------------------------

def _p_status_v2(status: int, body_ids, *, fail=None, pend=None, ext=None, text=None):
    v = rfc6402.CMCStatusInfoV2()
    v["cMCStatus"] = status
    for b in body_ids:
        ref = rfc6402.BodyPartReference()
        ref["bodyPartID"] = b
        v["bodyList"].append(ref)
    if text is not None:
        v["statusString"] = text
    if fail is not None:
        v["otherInfo"]["failInfo"] = fail
    elif pend is not None:
        p = rfc6402.PendInfo()
        p["pendToken"] = pend[0]
        p["pendTime"] = useful.GeneralizedTime(pend[1])
        v["otherInfo"]["pendInfo"] = p
    elif ext is not None:
        e = v["otherInfo"]["extendedFailInfo"]
        e["failInfoOID"] = univ.ObjectIdentifier(ext[0])
        e["failInfoValue"] = univ.Any(penc.encode(univ.Integer(ext[1])))
    return v


class _PStatusV2(univ.Sequence):
    """CMCStatusInfoV2 for pyasn1 decoding: pyasn1-modules' own type cannot decode any otherInfo (its CHOICE has
    two untagged SEQUENCE alternatives, pendInfo and extendedFailInfo, so pyasn1 reports an ambiguous tag
    map), hence otherInfo is read as ANY here and then decoded with pyasn1-modules' CMCFailInfo/PendInfo."""


from pyasn1.type import namedtype as _nt  # noqa: E402

_PStatusV2.componentType = _nt.NamedTypes(
    _nt.NamedType("cMCStatus", rfc6402.CMCStatus()),
    _nt.NamedType("bodyList", univ.SequenceOf(componentType=rfc6402.BodyPartReference())),
    _nt.OptionalNamedType("statusString", char.UTF8String()),
    _nt.OptionalNamedType("otherInfo", univ.Any()),
)


def _p_read_status_v2(der_bytes: bytes) -> dict:
    v, rest = pdec.decode(der_bytes, asn1Spec=_PStatusV2())
    assert not rest
    out = {"status": int(v["cMCStatus"]), "bodies": [int(b["bodyPartID"]) for b in v["bodyList"]],
           "text": str(v["statusString"]) if v["statusString"].isValue else None}
    if v["otherInfo"].isValue:
        raw = bytes(v["otherInfo"])
        if raw[0] == 0x02:
            out["fail"] = int(pdec.decode(raw, asn1Spec=rfc6402.CMCFailInfo())[0])
        else:
            try:
                p, _ = pdec.decode(raw, asn1Spec=rfc6402.PendInfo())
                out["pend"] = (bytes(p["pendToken"]), p["pendTime"].asDateTime)
            except Exception:  # noqa: BLE001 - then it is an extendedFailInfo
                e = pdec.decode(raw)[0]
                out["ext"] = (str(e[0]), int(pdec.decode(bytes(e[1]) if not isinstance(e[1], univ.Integer)
                                                         else penc.encode(e[1]))[0]))
    return out


def _p_control(bpid, attr_oid, values):
    ta = rfc6402.TaggedAttribute()
    ta["bodyPartID"] = bpid
    ta["attrType"] = univ.ObjectIdentifier(attr_oid)
    for v in values:
        ta["attrValues"].append(univ.Any(penc.encode(v)))
    return ta


def _p_response(*controls) -> bytes:
    r = rfc6402.PKIResponse()
    for c in controls:
        r["controlSequence"].append(c)
    r["cmsSequence"].clear()
    r["otherMsgSequence"].clear()
    return penc.encode(r)


def _p_content_info(content_type: str, body: bytes) -> bytes:
    ci = rfc5652.ContentInfo()
    ci["contentType"] = univ.ObjectIdentifier(content_type)
    ci["content"] = univ.Any(body)
    return penc.encode(ci)


def test_pyasn1_success_response():
    data = _p_response(_p_control(1, oid.STATUS_INFO_V2, [_p_status_v2(0, [1, 2], text="issued")]),
                       _p_control(2, oid.TRANSACTION_ID, [univ.Integer(77)]),
                       _p_control(3, oid.RECIPIENT_NONCE, [univ.OctetString(b"n" * 16)]))
    resp = cmc.parse_pki_response(data)
    assert resp.is_success() and not resp.is_pending() and resp.status is CmcStatusValue.SUCCESS
    (st,) = resp.statuses
    assert st.status is CmcStatusValue.SUCCESS and st.body_list == (1, 2) and st.status_string == "issued"
    assert resp.fail_info() is None and resp.transaction_id == 77 and resp.recipient_nonce == b"n" * 16
    assert resp.certificates == [] and resp.signature_verified is False
    assert resp.to_der() == data


def test_pyasn1_failed_response_with_fail_info():
    data = _p_response(_p_control(1, oid.STATUS_INFO_V2, [_p_status_v2(2, [0], fail=2, text="no")]))
    resp = cmc.parse_pki_response(data)
    assert resp.status is CmcStatusValue.FAILED and not resp.is_success()
    assert resp.fail_info() is CmcFailInfo.BAD_REQUEST
    assert resp.statuses[0].fail_info is CmcFailInfo.BAD_REQUEST
    assert "not permitted" in resp.statuses[0].description()


def test_pyasn1_pending_response_with_pend_info():
    data = _p_response(_p_control(1, oid.STATUS_INFO_V2,
                                  [_p_status_v2(3, [1], pend=(b"token-1", "20300102030405Z"))]))
    resp = cmc.parse_pki_response(data)
    assert resp.is_pending() and resp.status is CmcStatusValue.PENDING
    pi = resp.pending_info()
    assert isinstance(pi, cmc.PendingInfo)
    assert pi.pend_token == b"token-1"
    assert pi.pend_time == dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert resp.fail_info() is None


@pytest.mark.parametrize("how", ["failInfo", "extendedFailInfo"])
def test_pyasn1_private_fail_code_stays_int(how):
    kw = {"fail": 1500} if how == "failInfo" else {"ext": ("1.3.6.1.4.1.99999.1", 1500)}
    data = _p_response(_p_control(1, oid.STATUS_INFO_V2, [_p_status_v2(2, [1], **kw)]))
    resp = cmc.parse_pki_response(data)
    code = resp.fail_info()
    assert code == 1500 and type(code) is int
    if how == "extendedFailInfo":
        ext = resp.extended_fail_info()
        assert ext.fail_info_oid == "1.3.6.1.4.1.99999.1"
        assert resp.statuses[0].fail_info is None and resp.statuses[0].extended_fail_info is not None


def test_pyasn1_status_info_v1_and_several_statuses():
    v1 = rfc6402.CMCStatusInfo()
    v1["cMCStatus"] = 0
    v1["bodyList"].append(rfc6402.BodyPartID(1))
    data = _p_response(_p_control(1, oid.STATUS_INFO, [v1]),
                       _p_control(2, oid.STATUS_INFO_V2, [_p_status_v2(3, [4], pend=(b"t", "20300101000000Z"))]),
                       _p_control(3, oid.STATUS_INFO_V2, [_p_status_v2(0, [5])]))
    resp = cmc.parse_pki_response(data)
    assert [s.version for s in resp.statuses] == [1, 2, 2]
    assert [s.status for s in resp.statuses] == [CmcStatusValue.SUCCESS, CmcStatusValue.PENDING,
                                                  CmcStatusValue.SUCCESS]
    assert [s.body_list for s in resp.statuses] == [(1,), (4,), (5,)]
    assert resp.status is CmcStatusValue.PENDING           # partially pending overall
    data2 = _p_response(_p_control(1, oid.STATUS_INFO_V2, [_p_status_v2(3, [4], pend=(b"t", "20300101000000Z"))]),
                        _p_control(2, oid.STATUS_INFO_V2, [_p_status_v2(2, [5], fail=9)]))
    assert cmc.parse_pki_response(data2).status is CmcStatusValue.FAILED
    assert cmc.parse_pki_response(data2).fail_info() is CmcFailInfo.POP_FAILED


def test_unknown_status_code_stays_int():
    data = _p_response(_p_control(1, oid.STATUS_INFO_V2, [_p_status_v2(42, [1])]))
    resp = cmc.parse_pki_response(data)
    assert resp.statuses[0].status == 42 and type(resp.statuses[0].status) is int
    assert resp.status == 42 and not resp.is_success()


def test_content_info_wrapped_bare_response():
    body = _p_response(_p_control(1, oid.STATUS_INFO_V2, [_p_status_v2(0, [1])]))
    resp = cmc.parse_pki_response(_p_content_info(oid.PKI_RESPONSE, body))
    assert resp.is_success() and resp.to_der() == body


def test_bad_other_info_fails_at_parse_time():
    # otherInfo as a SEQUENCE starting with a BOOLEAN: neither pendInfo nor extendedFailInfo
    bad = _p_status_v2(2, [1])
    data = _p_response(_p_control(1, oid.STATUS_INFO_V2, [bad]))
    # splice a bogus otherInfo in by hand: append 30 03 01 01 FF to the CMCStatusInfoV2
    v = penc.encode(bad)
    v_bad = bytes([0x30, len(v) - 2 + 5]) + v[2:] + b"\x30\x03\x01\x01\xff"
    data = data.replace(v, v_bad)
    data = _p_response(_p_control(1, oid.STATUS_INFO_V2, [univ.Any(v_bad)]))
    with pytest.raises(DecodeError) as ei:
        cmc.parse_pki_response(data)
    assert ei.value.path == "$.control_sequence[0].attr_values[0].other_info"


def test_garbage_raises_decode_error():
    for data in (b"", b"\x30", b"\x04\x00", b"\x30\x03\x02\x01\x01", b"\x30\x80\x00\x00"):
        with pytest.raises(DecodeError):
            cmc.parse_pki_response(data)
        with pytest.raises(DecodeError):
            cmc.parse_pki_data(data)


def test_wrong_content_type_is_refused():
    body = _p_response(_p_control(1, oid.STATUS_INFO_V2, [_p_status_v2(0, [1])]))
    with pytest.raises(Error):
        cmc.parse_pki_data(_p_content_info(oid.PKI_RESPONSE, body))


# --- signed messages: sign_pki_data checked by openssl, responses signed by openssl checked by us -----------

def _openssl(*args, input=None):
    return subprocess.run([OPENSSL, *args], input=input, capture_output=True, check=False)


def _openssl_printed_ski(text: str) -> bytes:
    """The signer's subjectKeyIdentifier from ``openssl cms -cmsout -print`` (a hex dump under
    ``d.subjectKeyIdentifier:``)."""
    import re
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if "d.subjectKeyIdentifier" in ln)
    out = b""
    for ln in lines[start + 1:]:
        m = re.match(r"\s+[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){0,15}[0-9a-f]{2})", ln)
        if not m:
            break
        out += bytes.fromhex(m.group(1).replace("-", " "))
    return out


def _pem_cert(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@needs_openssl
@pytest.mark.parametrize("keytype", ["ec", "rsa"])  # (OpenSSL 3.0's cms cannot verify Ed25519 with signed attrs)
def test_sign_pki_data_without_certificate_openssl_verifies(tmp_path, keytype, ec_key, rsa_key):
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key = {"ec": ec_key, "rsa": rsa_key, "ed25519": ed25519.Ed25519PrivateKey.generate()}[keytype]
    csr = _csr(key, f"device {keytype}")
    pki = cmc.PkiDataBuilder().transaction_id(42).random_sender_nonce().add_certification_request(csr).build()
    signed = cmc.sign_pki_data(pki, key)
    f = tmp_path / "req.der"
    f.write_bytes(signed)
    out = tmp_path / "content.der"
    # -noverify skips the certificate chain; the signature is still checked, with the public key the
    # signer's SKI names: openssl cannot find it without a certificate, so give it a throwaway certificate
    # for the same key (same SKI by construction).
    cert = _self_signed(key, "signer")  # (for Ed25519 too: cryptography signs it with the key's own algorithm)
    cf = tmp_path / "signer.pem"
    cf.write_bytes(_pem_cert(cert))
    r = _openssl("cms", "-verify", "-inform", "DER", "-in", str(f), "-noverify", "-certfile", str(cf),
                 "-out", str(out), "-binary")
    assert r.returncode == 0, r.stderr.decode()
    assert b"Verification successful" in r.stderr
    assert out.read_bytes() == pki.to_der()
    # the SignerInfo names the signer by the SKI the CSR carries (RFC 5272 §3.2.1.3.1)
    r = _openssl("cms", "-cmsout", "-print", "-inform", "DER", "-in", str(f))
    assert r.returncode == 0
    assert _openssl_printed_ski(r.stdout.decode()) == \
        cx509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    assert "1.3.6.1.5.5.7.12.2" in r.stdout.decode() or "id-cct-PKIData" in r.stdout.decode()
    # and we read it back
    back = cmc.parse_pki_data(signed)
    assert back.to_der() == pki.to_der() and back.transaction_id == 42


def test_sign_pki_data_uses_the_csr_ski_extension(ec_key):
    # a CSR whose SKI extension is NOT method (1): the signer must be named by the CSR's value
    custom = b"\x01\x02\x03\x04\x05\x06\x07\x08"
    csr = (cx509.CertificateSigningRequestBuilder()
           .subject_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "custom ski")]))
           .add_extension(cx509.SubjectKeyIdentifier(custom), critical=False)
           .sign(ec_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    pki = cmc.PkiDataBuilder().transaction_id(1).add_certification_request(csr).build()
    signed = cmc.sign_pki_data(pki, ec_key)
    from estcodec import cms
    (si,) = cms.parse_signed_data(signed).signer_infos
    assert si.sid.name == "subject_key_identifier" and si.sid.value == custom
    # without an SKI extension in the CSR: RFC 5280 method (1)
    pki2 = cmc.PkiDataBuilder().add_certification_request(_csr(ec_key, "no ski", ski=False)).build()
    (si2,) = cms.parse_signed_data(cmc.sign_pki_data(pki2, ec_key)).signer_infos
    assert si2.sid.value == cx509.SubjectKeyIdentifier.from_public_key(ec_key.public_key()).digest
    assert si2.sid.value == cmc.subject_key_identifier(ec_key.public_key())


@needs_openssl
def test_sign_pki_data_with_certificate_openssl_verifies_with_cafile(tmp_path, ec_key):
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca = _self_signed(ca_key, "Test RA CA")
    ra_key = ec.generate_private_key(ec.SECP256R1())
    ra = _self_signed(ra_key, "Test RA", ca=False, issuer_key=ca_key, issuer_cert=ca)
    pki = (cmc.PkiDataBuilder().transaction_id(7).identification("ra-1")
           .add_certification_request(_csr(ec_key, "a")).add_certification_request(_csr(ec_key, "b")).build())
    signed = cmc.sign_pki_data(pki, ra_key, certificate=ra)
    (tmp_path / "req.der").write_bytes(signed)
    (tmp_path / "ca.pem").write_bytes(_pem_cert(ca))
    r = _openssl("cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "req.der"), "-CAfile",
                 str(tmp_path / "ca.pem"), "-purpose", "any", "-out", str(tmp_path / "out.der"), "-binary")
    assert r.returncode == 0, r.stderr.decode()
    assert (tmp_path / "out.der").read_bytes() == pki.to_der()
    back = cmc.parse_pki_data(signed)
    assert back == pki and [c.to_der() for c in back.certificates] == [ra.public_bytes(serialization.Encoding.DER)]
    # openssl refuses it against the wrong anchor (so the check above can fail)
    other = _self_signed(ec.generate_private_key(ec.SECP256R1()), "Other CA")
    (tmp_path / "other.pem").write_bytes(_pem_cert(other))
    r = _openssl("cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "req.der"), "-CAfile",
                 str(tmp_path / "other.pem"), "-purpose", "any", "-out", str(tmp_path / "out2.der"))
    assert r.returncode != 0


@pytest.fixture(scope="module")
def ca_pair():
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _self_signed(ca_key, "CMC Test CA")
    return ca_key, ca


@needs_openssl
def test_openssl_signed_pyasn1_response_verified(tmp_path, ca_pair, ec_key):
    ca_key, ca = ca_pair
    body = _p_response(_p_control(1, oid.STATUS_INFO_V2, [_p_status_v2(0, [1])]),
                       _p_control(2, oid.TRANSACTION_ID, [univ.Integer(5)]))
    leaf = _self_signed(ec_key, "issued device", ca=False, issuer_key=ca_key, issuer_cert=ca)
    (tmp_path / "body.der").write_bytes(body)
    (tmp_path / "ca.pem").write_bytes(_pem_cert(ca))
    (tmp_path / "ca.key").write_bytes(ca_key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
    (tmp_path / "leaf.pem").write_bytes(_pem_cert(leaf))
    r = _openssl("cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-econtent_type", oid.PKI_RESPONSE,
                 "-in", str(tmp_path / "body.der"), "-signer", str(tmp_path / "ca.pem"), "-inkey",
                 str(tmp_path / "ca.key"), "-certfile", str(tmp_path / "leaf.pem"), "-out", str(tmp_path / "r.der"))
    assert r.returncode == 0, r.stderr.decode()
    signed = (tmp_path / "r.der").read_bytes()
    resp = cmc.parse_pki_response(signed, signer_trust=_pem_cert(ca))
    assert resp.signature_verified and resp.is_success() and resp.transaction_id == 5
    got = sorted(c.to_der() for c in resp.certificates)
    assert got == sorted([ca.public_bytes(serialization.Encoding.DER), leaf.public_bytes(serialization.Encoding.DER)])
    assert [c.to_der() for c in resp.issued_certificates()] == [leaf.public_bytes(serialization.Encoding.DER)]
    assert [c.subject.rfc4514_string() for c in resp.chain_for(resp.issued_certificates()[0])] == \
        ["CN=issued device", "CN=CMC Test CA"]
    unverified = cmc.parse_pki_response(signed)
    assert not unverified.signature_verified and unverified.to_der() == body
    # wrong anchor: refused, not silently unverified
    other = _self_signed(ec.generate_private_key(ec.SECP256R1()), "Other CA")
    with pytest.raises(Error):
        cmc.parse_pki_response(signed, signer_trust=_pem_cert(other))


def test_response_builder_sign_and_parse(ca_pair, ec_key):
    ca_key, ca = ca_pair
    leaf = _self_signed(ec_key, "dev", ca=False, issuer_key=ca_key, issuer_cert=ca)
    req = cmc.PkiDataBuilder().transaction_id(99).random_sender_nonce() \
        .add_certification_request(_csr(ec_key, "dev")).build()
    signed = (cmc.PkiResponseBuilder().reply_to(req).random_sender_nonce().success([2], status_string="ok")
              .add_certificate(leaf).sign(ca_key, ca))
    resp = cmc.parse_pki_response(signed, signer_trust=[ca])
    assert resp.signature_verified and resp.is_success()
    assert resp.transaction_id == 99 and resp.recipient_nonce == req.sender_nonce
    assert resp.statuses[0].body_list == (2,) and resp.status_string() == "ok"
    assert resp.signer_certificate.to_der() == ca.public_bytes(serialization.Encoding.DER)
    assert {c.subject.rfc4514_string() for c in resp.certificates} == {"CN=dev", "CN=CMC Test CA"}
    # read back by pyasn1-modules as well
    ref, rest = pdec.decode(_econtent(signed), asn1Spec=rfc6402.PKIResponse())
    assert not rest
    st = [c for c in ref["controlSequence"] if str(c["attrType"]) == oid.STATUS_INFO_V2][0]["attrValues"][0]
    assert _p_read_status_v2(bytes(st)) == {"status": 0, "bodies": [2], "text": "ok"}


def test_response_builder_failed_pending_and_private_codes():
    when = dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    cases = [
        (cmc.PkiResponseBuilder().failed(CmcFailInfo.BAD_IDENTITY, [1]), CmcStatusValue.FAILED,
         CmcFailInfo.BAD_IDENTITY),
        (cmc.PkiResponseBuilder().failed(1500, [1]), CmcStatusValue.FAILED, 1500),
        (cmc.PkiResponseBuilder().failed(1501, [1], extended_oid="1.3.6.1.4.1.99999.7"), CmcStatusValue.FAILED, 1501),
        (cmc.PkiResponseBuilder().pending(b"tok", when, [1]), CmcStatusValue.PENDING, None),
    ]
    for builder, status, fail in cases:
        data = builder.build().to_der()
        resp = cmc.parse_pki_response(data)
        assert resp.status is status and resp.fail_info() == fail
        if isinstance(fail, int) and fail >= 1000:
            assert type(resp.fail_info()) is int
        # pyasn1-modules reads the same numbers
        ref, rest = pdec.decode(data, asn1Spec=rfc6402.PKIResponse())
        assert not rest
        got = _p_read_status_v2(bytes(ref["controlSequence"][0]["attrValues"][0]))
        assert got["status"] == int(status) and got["bodies"] == [1]
        if status is CmcStatusValue.PENDING:
            assert resp.pending_info().pend_token == b"tok" and resp.pending_info().pend_time == when
            assert got["pend"] == (b"tok", when)
        elif "ext" in got:
            assert got["ext"] == ("1.3.6.1.4.1.99999.7", fail)
        else:
            assert got["fail"] == fail


def test_trust_given_for_unsigned_message_is_refused(ca_pair):
    body = _p_response(_p_control(1, oid.STATUS_INFO_V2, [_p_status_v2(0, [1])]))
    with pytest.raises(cmc.CmcError):
        cmc.parse_pki_response(body, signer_trust=[ca_pair[1]])


def test_tampered_signed_response_is_refused(ca_pair):
    ca_key, ca = ca_pair
    signed = bytearray(cmc.PkiResponseBuilder().transaction_id(0x5A5A5A5A).success().sign(ca_key, ca))
    i = bytes(signed).index(bytes.fromhex("02045a5a5a5a"))  # the transactionId INTEGER
    signed[i + 5] = 0x5B
    with pytest.raises(Error):
        cmc.parse_pki_response(bytes(signed), signer_trust=[ca])
    # without trust it parses (and says it was not verified)
    resp = cmc.parse_pki_response(bytes(signed))
    assert resp.transaction_id == 0x5A5A5A5B and not resp.signature_verified


def test_batch_request_round_trip(ca_pair, ec_key):
    inner1 = cmc.sign_pki_data(cmc.PkiDataBuilder().transaction_id(1).add_certification_request(
        _csr(ec_key, "one")).build(), ec_key)
    inner2 = cmc.sign_pki_data(cmc.PkiDataBuilder().transaction_id(2).add_certification_request(
        _csr(ec_key, "two")).build(), ec_key)
    batch = cmc.BatchRequest().transaction_id(77).add(inner1).add(inner2).build()
    ids = batch.control_value(oid.BATCH_REQUESTS)
    assert len(ids) == 2 and ids == [c.body_part_id for c in batch.cms_sequence]
    assert len(set(batch.body_part_ids())) == len(batch.body_part_ids())
    assert cmc.BatchRequest.requests(cmc.PKIData.from_der(batch.to_der())) == [inner1, inner2]
    ref, rest = pdec.decode(batch.to_der(), asn1Spec=rfc6402.PKIData(), decodeOpenTypes=True)
    assert not rest
    assert [int(x) for x in [c for c in ref["controlSequence"]
                             if str(c["attrType"]) == oid.BATCH_REQUESTS][0]["attrValues"][0]] == ids
    signed = cmc.sign_pki_data(batch, ca_pair[0], certificate=ca_pair[1])
    assert cmc.BatchRequest.requests(cmc.parse_pki_data(signed)) == [inner1, inner2]


@pytest.mark.parametrize("path", _signed_vectors(), ids=lambda p: p.name)
def test_parse_pki_data_on_signed_vectors(path):
    data = path.read_bytes()
    pki = cmc.parse_pki_data(data)
    assert pki.to_der() == _econtent(data)
    if path.name.startswith("rfc6402"):
        # the Microsoft request is signed with the key being certified, named by subject key identifier,
        # without a certificate (RFC 5272 §3.2.1.3.1)
        from estcodec import cms
        assert pki.certificates == []
        assert cms.parse_signed_data(data).signer_infos[0].sid.name == "subject_key_identifier"
    else:
        assert pki.certificates  # the others carry their signer's certificate


@pytest.mark.parametrize("keytype", ["ec", "ed25519"])
def test_self_signed_request_verification(keytype, ec_key, rsa_key):
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key = ec_key if keytype == "ec" else ed25519.Ed25519PrivateKey.generate()
    pki = cmc.PkiDataBuilder().transaction_id(3).add_certification_request(_csr(key, "pop")).build()
    signed = cmc.sign_pki_data(pki, key)
    back = cmc.parse_pki_data(signed, verify_self_signed=True)
    assert back.self_signature_verified and not back.signature_verified
    assert not cmc.parse_pki_data(signed).self_signature_verified
    # signed by another key under the CSR's SKI: refused
    forged = cmc.sign_pki_data(pki, rsa_key)  # names rsa_key's SKI: no request has it
    with pytest.raises(Error):
        cmc.parse_pki_data(forged, verify_self_signed=True)
    from estcodec import cms
    forged2 = cms.sign_signed_data(oid.PKI_DATA, pki.to_der(), rsa_key,
                                   subject_key_identifier=cmc.subject_key_identifier(key.public_key()))
    with pytest.raises(Error):
        cmc.parse_pki_data(forged2, verify_self_signed=True)


def test_microsoft_request_self_signature_verifies():
    # the real Microsoft CMCReqGenerator request: signed with the key its PKCS#10 carries, named by SKI
    data = (CMC_DIR / "pyasn1-alt-modules" / "rfc6402__BackwardCompatibilityTestCase__pem_text.der").read_bytes()
    assert cmc.parse_pki_data(data, verify_self_signed=True).self_signature_verified


def test_request_signed_by_ra_verified_with_trust(ca_pair, ec_key):
    ca_key, ca = ca_pair
    ra_key = ec.generate_private_key(ec.SECP256R1())
    ra = _self_signed(ra_key, "RA", ca=False, issuer_key=ca_key, issuer_cert=ca)
    pki = cmc.PkiDataBuilder().transaction_id(8).add_certification_request(_csr(ec_key, "via ra")).build()
    signed = cmc.sign_pki_data(pki, ra_key, certificate=ra)
    back = cmc.parse_pki_data(signed, signer_trust=_pem_cert(ca))
    assert back.signature_verified and back == pki
    other = _self_signed(ec.generate_private_key(ec.SECP256R1()), "Other CA")
    with pytest.raises(Error):
        cmc.parse_pki_data(signed, signer_trust=[other])


def test_authenticated_data_wrapped_pki_data(ec_key):
    # an AuthenticatedData (RFC 5652 §9) written by pyasn1-modules around a PKIData: read (MAC not checked)
    pki = cmc.PkiDataBuilder().transaction_id(11).add_certification_request(_csr(ec_key, "mac")).build()
    ad = rfc5652.AuthenticatedData()
    ad["version"] = 0
    ri = rfc5652.RecipientInfo()
    kek = ri["kekri"]
    kek["version"] = 4
    kek["kekid"]["keyIdentifier"] = b"kek-1"
    kek["keyEncryptionAlgorithm"]["algorithm"] = univ.ObjectIdentifier("2.16.840.1.101.3.4.1.5")
    kek["encryptedKey"] = b"\x00" * 40
    ad["recipientInfos"].append(ri)
    ad["macAlgorithm"]["algorithm"] = univ.ObjectIdentifier("1.2.840.113549.2.9")
    ad["encapContentInfo"]["eContentType"] = univ.ObjectIdentifier(oid.PKI_DATA)
    ad["encapContentInfo"]["eContent"] = pki.to_der()
    ad["mac"] = b"\x11" * 32
    data = _p_content_info(oid.ID_CT_AUTH_DATA, penc.encode(ad))
    back = cmc.parse_pki_data(data)
    assert back == pki and not back.signature_verified
    with pytest.raises(cmc.CmcError):
        cmc.parse_pki_response(data)           # holds a PKIData, not a PKIResponse


@pytest.mark.parametrize("path", [CMC_DIR / "sunet-python_cmc" / "blob03_PKIData.der"], ids=lambda p: p.name)
def test_truncated_signed_request_raises_package_errors_only(path):
    data = path.read_bytes()
    for n in range(0, len(data), 7):
        with pytest.raises(Error):
            cmc.parse_pki_data(data[:n])
    with pytest.raises(Error):
        cmc.parse_pki_data(data + b"\x00")


@settings(max_examples=60, deadline=None)
@given(tid=st.integers(min_value=0, max_value=2 ** 80), nonce=st.binary(min_size=0, max_size=64),
       ident=st.text(max_size=40), rnonce=st.one_of(st.none(), st.binary(max_size=32)))
def test_property_builder_values_read_by_pyasn1(tid, nonce, ident, rnonce):
    b = cmc.PkiDataBuilder().transaction_id(tid).sender_nonce(nonce).identification(ident)
    if rnonce is not None:
        b = b.recipient_nonce(rnonce)
    data = b.build().to_der()
    ref, rest = pdec.decode(data, asn1Spec=rfc6402.PKIData(), decodeOpenTypes=True)
    assert not rest and penc.encode(ref) == data
    got = {str(c["attrType"]): c["attrValues"][0] for c in ref["controlSequence"]}
    assert int(got[oid.TRANSACTION_ID]) == tid
    assert bytes(got[oid.SENDER_NONCE]) == nonce
    assert str(got[oid.IDENTIFICATION]) == ident
    assert (bytes(got[oid.RECIPIENT_NONCE]) if oid.RECIPIENT_NONCE in got else None) == rnonce
    back = cmc.parse_pki_data(data)
    assert (back.transaction_id, back.sender_nonce, back.identification, back.recipient_nonce) == \
        (tid, nonce, ident, rnonce)


def test_batch_responses_round_trip(ca_pair):
    ca_key, ca = ca_pair
    r1 = cmc.PkiResponseBuilder().transaction_id(1).success([1]).sign(ca_key, ca)
    r2 = cmc.PkiResponseBuilder().transaction_id(2).failed(CmcFailInfo.BAD_REQUEST, [1]).sign(ca_key, ca)
    outer = cmc.PkiResponseBuilder().transaction_id(3).success([0]).add_batch_responses([r1, r2]).sign(ca_key, ca)
    resp = cmc.parse_pki_response(outer, signer_trust=[ca])
    nested = resp.batch_responses()
    assert nested == [r1, r2]
    assert [cmc.parse_pki_response(n, signer_trust=[ca]).status for n in nested] == \
        [CmcStatusValue.SUCCESS, CmcStatusValue.FAILED]
    assert len(set(resp.body_part_ids())) == len(resp.body_part_ids())
    ref, rest = pdec.decode(_econtent(outer), asn1Spec=rfc6402.PKIResponse())
    assert not rest and len(ref["cmsSequence"]) == 2
    with pytest.raises(cmc.CmcError):
        cmc.parse_pki_response(r1).batch_responses()


def test_mutated_messages_raise_package_errors_only(ca_pair, ec_key):
    """Invariant: every input either parses or raises an estcodec.Error (never IndexError, ValueError from
    cryptography, ...): byte flips, deletions and insertions over the vectors and over signed messages checked
    with trust / self-signature verification."""
    import random
    rng = random.Random(20261127)
    ca_key, ca = ca_pair
    plain = [p.read_bytes() for p in _signed_vectors()]
    plain.append(cmc.PkiResponseBuilder().pending(b"t", dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
                 .build().to_der())
    resp = cmc.PkiResponseBuilder().transaction_id(5).success().sign(ca_key, ca)
    req = cmc.sign_pki_data(cmc.PkiDataBuilder().add_certification_request(_csr(ec_key, "m")).build(), ec_key)
    jobs = [(d, cmc.parse_pki_data, {}) for d in plain] + [(d, cmc.parse_pki_response, {}) for d in plain]
    jobs += [(resp, cmc.parse_pki_response, {"signer_trust": [ca]}),
             (req, cmc.parse_pki_data, {"verify_self_signed": True})]
    for _ in range(1500):
        base, fn, kw = rng.choice(jobs)
        d = bytearray(base)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(d))
            op = rng.random()
            if op < 0.7:
                d[i] = rng.randrange(256)
            elif op < 0.85:
                del d[i:i + rng.randint(1, 6)]
            else:
                d[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 3)))
        try:
            r = fn(bytes(d), **kw)
        except Error:
            continue
        for c in r.control_sequence:
            assert isinstance(c.values, list)
        if isinstance(r, cmc.PKIResponse):
            r.status, r.fail_info(), r.pending_info()  # noqa: B018


def test_builder_accepts_models_and_cryptography_csrs(ec_key):
    from estcodec.pkcs10 import CertificationRequest
    der_csr = _csr(ec_key, "forms")
    crypto_csr = cx509.load_der_x509_csr(der_csr)
    model = CertificationRequest.from_der(der_csr)
    pki = (cmc.PkiDataBuilder().add_certification_request(der_csr).add_certification_request(crypto_csr)
           .add_certification_request(model).build())
    assert [c.to_der() for c in cmc.PKIData.from_der(pki.to_der()).certification_requests] == [der_csr] * 3
    with pytest.raises(Error):
        cmc.PkiDataBuilder().add_certification_request(der_csr[:-3])
    with pytest.raises(TypeError):
        cmc.PkiDataBuilder().add_certification_request(12345)


def test_revoke_get_cert_get_crl_controls_read_by_pyasn1():
    from estcodec.x509 import GeneralName, Name
    issuer = Name.build([("2.5.4.3", "Issuing CA")])
    when = dt.datetime(2030, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc)
    pki = (cmc.PkiDataBuilder()
           .add_control(oid.REVOKE_REQUEST, [cmc.RevokeRequest(issuer_name=issuer, serial_number=0x1234, reason=1,
                                                               invalidity_date=when, comment="key lost")])
           .add_control(oid.GET_CERT, [cmc.GetCert(issuer_name=GeneralName(directory_name=issuer),
                                                   serial_number=77)])
           .add_control(oid.GET_CRL, [cmc.GetCRL(issuer_name=issuer, time=when)])
           .build())
    ref, rest = pdec.decode(pki.to_der(), asn1Spec=rfc6402.PKIData(), decodeOpenTypes=True)
    assert not rest and penc.encode(ref) == pki.to_der()
    got = {str(c["attrType"]): c["attrValues"][0] for c in ref["controlSequence"]}
    rr = got[oid.REVOKE_REQUEST]
    assert int(rr["serialNumber"]) == 0x1234 and int(rr["reason"]) == 1 and str(rr["comment"]) == "key lost"
    assert rr["invalidityDate"].asDateTime == when
    assert penc.encode(rr["issuerName"]) == issuer.to_der()
    gc = got[oid.GET_CERT]
    assert int(gc["serialNumber"]) == 77
    assert penc.encode(gc["issuerName"]["directoryName"]).endswith(issuer.to_der())  # inside its [4] tag
    assert got[oid.GET_CRL]["time"].asDateTime == when
    back = cmc.parse_pki_data(pki.to_der())
    assert back.control_value(oid.REVOKE_REQUEST).comment == "key lost"
    assert back.control_value(oid.GET_CERT).issuer_name.value.to_der() == issuer.to_der()


def test_publish_trust_anchors_round_trip(ca_pair, ec_key):
    """RFC 7030 §4.1.1 /fullcmc bootstrap: the response names new anchors by hash (checked with hashlib and by
    pyasn1-modules' PublishTrustAnchors)."""
    import hashlib
    ca_key, ca = ca_pair
    new_root = _self_signed(ec.generate_private_key(ec.SECP384R1()), "New Root")
    leaf = _self_signed(ec_key, "leaf", ca=False, issuer_key=ca_key, issuer_cert=ca)
    signed = (cmc.PkiResponseBuilder().success().add_certificate(leaf)
              .publish_trust_anchors([new_root, ca], seq_number=4).sign(ca_key, ca))
    resp = cmc.parse_pki_response(signed, signer_trust=[ca])
    der = lambda c: c.public_bytes(serialization.Encoding.DER)  # noqa: E731
    assert [c.to_der() for c in resp.published_trust_anchors()] == [der(new_root), der(ca)]
    pta = resp.control_value(oid.TRUSTED_ANCHORS)
    assert pta.anchor_hashes == [hashlib.sha256(der(new_root)).digest(), hashlib.sha256(der(ca)).digest()]
    assert pta.hash_algorithm.algorithm == "2.16.840.1.101.3.4.2.1" and pta.seq_number == 4
    ref, rest = pdec.decode(pta.to_der(), asn1Spec=rfc6402.PublishTrustAnchors())
    assert not rest and int(ref["seqNumber"]) == 4 and bytes(ref["anchorHashes"][0]) == pta.anchor_hashes[0]
    # a response without the control publishes nothing
    assert cmc.parse_pki_response(cmc.PkiResponseBuilder().success().sign(ca_key, ca)).published_trust_anchors() == []
