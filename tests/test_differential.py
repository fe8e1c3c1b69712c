"""Differential properties per model against independent implementations (Hypothesis, CI-sized):

1. what estcodec encodes, pyasn1-modules (and cryptography where it reads the structure) decode to the same
   values;
2. what pyasn1-modules (or cryptography) encode, estcodec decodes to the same values;
3. whatever estcodec decodes re-encodes byte-identically.

Models: x509 Name, Extension and Certificate; pkcs10 CertificationRequest; pkcs8 OneAsymmetricKey; cms
certs-only; csrattrs CsrAttrs; cmc PKIData and PKIResponse; enveloped EnvelopedData. Keys are generated once
per module (EC P-256), values by Hypothesis.
"""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import char, univ
from pyasn1_modules import rfc2986, rfc5280, rfc5652, rfc5958, rfc6402, rfc7030

from estcodec import cmc, enveloped as env
from estcodec.cms import build_certs_only, parse_certs_only
from estcodec.csrattrs import CsrAttrs, CsrAttrsBuilder
from estcodec.pkcs8 import OneAsymmetricKey
from estcodec.pkcs10 import CertificationRequest, CertificationRequestBuilder
from estcodec.x509 import AlgorithmIdentifier, Certificate, Extension, Name

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEY = ec.derive_private_key(0x5EED_D1FF, ec.SECP256R1())
CN, O, C, SERIAL = "2.5.4.3", "2.5.4.10", "2.5.4.6", "2.5.4.5"  # noqa: E741 - X.520 short names

# ------------------------------------------------------------------ strategies

arc = st.one_of(st.integers(0, 200), st.integers(0, 2**64), st.integers(0, 2**128))
oids = st.builds(
    lambda first, second, rest: ".".join(map(str, [first, second, *rest])),
    st.integers(0, 2), st.integers(0, 39), st.lists(arc, min_size=0, max_size=6),
)
# strings cryptography and RFC 5280 accept as UTF8String values (no surrogates, no NUL)
utf8 = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)
printable = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"),
                    min_size=1, max_size=40)
blobs = st.binary(min_size=0, max_size=64)


def py_decode(data: bytes, spec):
    obj, rest = der_decoder.decode(data, asn1Spec=spec)
    assert rest == b""
    return obj


def py_string(value_der: bytes) -> str:
    obj, rest = der_decoder.decode(bytes(value_der))
    assert rest == b""
    return str(obj)


def py_name_pairs(name) -> list[tuple[str, str]]:
    out = []
    for rdn in name[0]:
        for atv in rdn:
            out.append((str(atv["type"]), py_string(bytes(atv["value"]))))
    return out


# ------------------------------------------------------------------ x509 Name


name_attrs = st.lists(
    st.one_of(st.tuples(st.just(CN), utf8), st.tuples(st.just(O), utf8), st.tuples(st.just(SERIAL), printable),
              st.tuples(oids, utf8)),
    min_size=0, max_size=6,
)


@SETTINGS
@given(name_attrs)
def test_name_we_encode_pyasn1_reads(attrs):
    der = Name.build(attrs).to_der()
    assert py_name_pairs(py_decode(der, rfc5280.Name())) == [(o, v) for o, v in attrs]
    assert Name.from_der(der).to_der() == der


@SETTINGS
@given(name_attrs, st.booleans())
def test_name_pyasn1_encodes_we_read(attrs, printable_strings):
    rdns = rfc5280.RDNSequence()
    for o, v in attrs:
        atv = rfc5280.AttributeTypeAndValue()
        atv["type"] = univ.ObjectIdentifier(o)
        use_printable = printable_strings and all(ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                  "0123456789 '()+,-./:=?" for ch in v)
        atv["value"] = der_encoder.encode(char.PrintableString(v) if use_printable else char.UTF8String(v))
        rdn = rfc5280.RelativeDistinguishedName()
        rdn.append(atv)
        rdns.append(rdn)
    name = rfc5280.Name()
    name["rdnSequence"] = rdns
    der = der_encoder.encode(name)
    ours = Name.from_der(der)
    assert [(o, v) for o, v in ours.attributes] == [(o, v) for o, v in attrs]
    assert ours.to_der() == der


# ------------------------------------------------------------------ x509 Extension and Certificate


@SETTINGS
@given(oids, st.booleans(), blobs)
def test_extension_both_ways(ext_oid, critical, value):
    ours = Extension.build(ext_oid, value, critical=critical)
    der = ours.to_der()
    py = py_decode(der, rfc5280.Extension())
    assert str(py["extnID"]) == ext_oid and bool(py["critical"]) == critical
    assert bytes(py["extnValue"]) == value
    # and back: pyasn1's encoding of the same extension is ours, byte for byte
    assert der_encoder.encode(py) == der
    back = Extension.from_der(der_encoder.encode(py))
    assert (back.oid, back.critical, back.value) == (ext_oid, critical, value)


def _cert(serial: int, cn: str, org: str, days: int, sans: list[str], ca: bool) -> bytes:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn), cx509.NameAttribute(NameOID.ORGANIZATION_NAME, org)])
    b = (cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(KEY.public_key())
         .serial_number(serial).not_valid_before(now).not_valid_after(now + dt.timedelta(days=days))
         .add_extension(cx509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        b = b.add_extension(cx509.SubjectAlternativeName([cx509.DNSName(s) for s in sans]), critical=False)
    return b.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


dns = st.from_regex(r"\A[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){0,3}\Z")
cert_inputs = st.tuples(st.integers(1, 2**159 - 1), st.text(st.characters(blacklist_categories=("Cs",),
                                                                        blacklist_characters="\x00"),
                                                          min_size=1, max_size=16), printable, st.integers(1, 20000), st.lists(dns, max_size=3),
                        st.booleans())


@SLOW
@given(cert_inputs)
def test_certificate_cryptography_encodes_we_and_pyasn1_agree(args):
    der = _cert(*args)
    ours = Certificate.from_der(der)
    py = py_decode(der, rfc5280.Certificate())
    tbs = py["tbsCertificate"]
    assert ours.to_der() == der
    assert ours.serial_number == int(tbs["serialNumber"]) == args[0]
    assert [(o, v) for o, v in ours.subject.attributes] == py_name_pairs(tbs["subject"])
    assert ours.not_after == cx509.load_der_x509_certificate(der).not_valid_after_utc
    assert [(e.oid, e.critical, e.value) for e in ours.extensions] == [
        (str(e["extnID"]), bool(e["critical"]), bytes(e["extnValue"])) for e in tbs["extensions"]]
    assert ours.tbs_der == der_encoder.encode(tbs)
    assert ours.signature == py["signature"].asOctets()
    assert ours.is_ca == args[5]
    assert sorted(g.value for g in ours.subject_alt_names) == sorted(args[4]) if args[4] else True


# ------------------------------------------------------------------ pkcs10


@SLOW
@given(utf8, st.lists(dns, max_size=3), st.one_of(st.none(), printable))
def test_csr_we_encode_pyasn1_and_cryptography_read(cn, sans, password):
    exts = [cx509.SubjectAlternativeName([cx509.DNSName(s) for s in sans])] if sans else []
    csr = CertificationRequestBuilder(subject=[(CN, cn)], extensions=exts, challenge_password=password).sign(KEY)
    der = csr.to_der()
    py = py_decode(der, rfc2986.CertificationRequest())
    info = py["certificationRequestInfo"]
    assert py_name_pairs(info["subject"]) == [(CN, cn)]
    attrs = {str(a["type"]): [bytes(v) for v in a["values"]] for a in info["attributes"]}
    if password is None:
        assert "1.2.840.113549.1.9.7" not in attrs
    else:
        assert [py_string(v) for v in attrs["1.2.840.113549.1.9.7"]] == [password]
    theirs = cx509.load_der_x509_csr(der)
    assert theirs.is_signature_valid
    if sans:
        assert theirs.extensions.get_extension_for_class(cx509.SubjectAlternativeName).value.get_values_for_type(
            cx509.DNSName) == sans
    assert CertificationRequest.from_der(der).to_der() == der


short_utf8 = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=16)


@SLOW
@given(short_utf8, st.lists(dns, max_size=3))
def test_csr_cryptography_encodes_we_read(cn, sans):
    b = cx509.CertificateSigningRequestBuilder().subject_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn)]))
    if sans:
        b = b.add_extension(cx509.SubjectAlternativeName([cx509.DNSName(s) for s in sans]), critical=False)
    der = b.sign(KEY, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    ours = CertificationRequest.from_der(der)
    assert ours.to_der() == der
    assert ours.subject.get(CN) == [cn]
    assert [e.oid for e in ours.extensions] == (["2.5.29.17"] if sans else [])
    ours.verify()
    assert ours.tbs_der == der_encoder.encode(py_decode(der, rfc2986.CertificationRequest())["certificationRequestInfo"])


# ------------------------------------------------------------------ pkcs8 / OneAsymmetricKey


@SETTINGS
@given(st.sampled_from([0, 1]), oids, st.binary(min_size=1, max_size=80), st.one_of(st.none(), blobs))
def test_one_asymmetric_key_both_ways(version, alg, secret, public):
    if public is not None:
        version = 1  # a public key needs v2 (RFC 5958)
    ours = OneAsymmetricKey(version=version, private_key_algorithm=AlgorithmIdentifier(algorithm=alg),
                            private_key=secret, public_key=public)
    der = ours.to_der()
    py = py_decode(der, rfc5958.OneAsymmetricKey())
    assert int(py["version"]) == version and str(py["privateKeyAlgorithm"]["algorithm"]) == alg
    assert bytes(py["privateKey"]) == secret
    assert (py["publicKey"].asOctets() if py["publicKey"].isValue else None) == public
    again = der_encoder.encode(py)
    assert again == der
    back = OneAsymmetricKey.from_der(again)
    assert (back.version, back.algorithm_oid, bytes(back.private_key)) == (version, alg, secret)
    assert back.public_key_bytes == public
    assert back.to_der() == der


# ------------------------------------------------------------------ cms certs-only


@SLOW
@given(st.lists(st.tuples(st.integers(1, 2**64), printable), min_size=1, max_size=4))
def test_certs_only_both_ways(items):
    ders = [_cert(serial, cn, "o", 30, [], False) for serial, cn in items]
    ours = build_certs_only([Certificate.from_der(d) for d in ders])
    ci = py_decode(ours, rfc5652.ContentInfo())
    assert str(ci["contentType"]) == "1.2.840.113549.1.7.2"
    sd = py_decode(bytes(ci["content"]), rfc5652.SignedData())
    assert sorted(der_encoder.encode(c["certificate"]) for c in sd["certificates"]) == sorted(ders)
    assert len(sd["signerInfos"]) == 0
    # they encode (cryptography's certs-only PKCS#7), we read the same certificates in the order they wrote
    theirs = pkcs7.serialize_certificates([cx509.load_der_x509_certificate(d) for d in ders],
                                          serialization.Encoding.DER)
    order = [der_encoder.encode(c["certificate"])
             for c in py_decode(bytes(py_decode(theirs, rfc5652.ContentInfo())["content"]),
                                rfc5652.SignedData())["certificates"]]
    assert [c.to_der() for c in parse_certs_only(theirs)] == order
    assert [c.to_der() for c in parse_certs_only(ours)] == [der_encoder.encode(c["certificate"])
                                                            for c in sd["certificates"]]


# ------------------------------------------------------------------ csrattrs


csr_items = st.lists(st.one_of(st.tuples(st.just("oid"), oids),
                               st.tuples(st.just("attr"), oids, st.lists(st.sampled_from(
                                   [b"\x05\x00", b"\x02\x01\x05", b"\x0c\x02hi", b"\x06\x03\x2a\x03\x04"]),
                                   min_size=1, max_size=3))),
                     max_size=6)


def _py_csrattrs(items) -> bytes:
    seq = rfc7030.CsrAttrs()
    seq.clear()  # an empty SEQUENCE OF is a value too
    for item in items:
        choice = rfc7030.AttrOrOID()
        if item[0] == "oid":
            choice["oid"] = univ.ObjectIdentifier(item[1])
        else:
            attr = choice["attribute"]
            attr["attrType"] = univ.ObjectIdentifier(item[1])
            for v in item[2]:
                attr["attrValues"].append(univ.Any(v))
        seq.append(choice)
    return der_encoder.encode(seq)


@SETTINGS
@given(csr_items)
def test_csrattrs_both_ways(items):
    b = CsrAttrsBuilder()
    for item in items:
        if item[0] == "oid":
            b.oid(item[1])
        else:
            b.attribute(item[1], *item[2])
    ours = b.build().to_der() if hasattr(b, "build") else b.to_der()
    py = py_decode(ours, rfc7030.CsrAttrs())
    got = []
    for choice in py:
        if choice.getName() == "oid":
            got.append(("oid", str(choice["oid"])))
        else:
            a = choice["attribute"]
            got.append(("attr", str(a["attrType"]), [bytes(v) for v in a["attrValues"]]))
    # SET OF values are DER-sorted by both sides; compare as sorted lists
    norm = [(i[0], i[1], sorted(i[2])) if i[0] == "attr" else i for i in items]
    assert [(g[0], g[1], sorted(g[2])) if g[0] == "attr" else g for g in got] == norm
    theirs = _py_csrattrs(items)
    assert theirs == ours
    parsed = CsrAttrs.from_der(theirs)
    assert parsed.to_der() == theirs
    assert parsed.oids == [i[1] for i in items if i[0] == "oid"]
    assert [(a.oid, sorted(a.values)) for a in parsed.attributes] == [(i[1], sorted(i[2])) for i in items
                                                                       if i[0] == "attr"]


# ------------------------------------------------------------------ cmc PKIData / PKIResponse


CSR_DER = CertificationRequestBuilder(subject=[(CN, "cmc differential")]).sign(KEY).to_der()


def _py_control(bpid: int, attr_oid: str, value) -> rfc6402.TaggedAttribute:
    ta = rfc6402.TaggedAttribute()
    ta["bodyPartID"] = bpid
    ta["attrType"] = univ.ObjectIdentifier(attr_oid)
    ta["attrValues"].append(univ.Any(der_encoder.encode(value)))
    return ta


@SETTINGS
@given(st.integers(0, 2**64), st.binary(min_size=1, max_size=32), utf8)
def test_pki_data_both_ways(tid, nonce, ident):
    ours = (cmc.PkiDataBuilder().transaction_id(tid).sender_nonce(nonce).identification(ident)
            .add_certification_request(CSR_DER).build().to_der())
    py = py_decode(ours, rfc6402.PKIData())
    controls = {str(c["attrType"]): bytes(c["attrValues"][0]) for c in py["controlSequence"]}
    assert int(der_decoder.decode(controls[cmc.oid.TRANSACTION_ID], asn1Spec=univ.Integer())[0]) == tid
    assert bytes(der_decoder.decode(controls[cmc.oid.SENDER_NONCE], asn1Spec=univ.OctetString())[0]) == nonce
    assert str(der_decoder.decode(controls[cmc.oid.IDENTIFICATION], asn1Spec=char.UTF8String())[0]) == ident
    (req,) = py["reqSequence"]
    assert der_encoder.encode(req["tcr"]["certificationRequest"]) == CSR_DER
    # they encode
    p = rfc6402.PKIData()
    p["controlSequence"].append(_py_control(1, cmc.oid.TRANSACTION_ID, univ.Integer(tid)))
    p["controlSequence"].append(_py_control(2, cmc.oid.SENDER_NONCE, univ.OctetString(nonce)))
    p["controlSequence"].append(_py_control(3, cmc.oid.IDENTIFICATION, char.UTF8String(ident)))
    tr = rfc6402.TaggedRequest()
    tr["tcr"]["bodyPartID"] = 4
    tr["tcr"]["certificationRequest"] = py_decode(CSR_DER, rfc6402.CertificationRequest())
    p["reqSequence"].append(tr)
    p["cmsSequence"] = p["cmsSequence"].clone()
    p["otherMsgSequence"] = p["otherMsgSequence"].clone()
    theirs = der_encoder.encode(p)
    parsed = cmc.parse_pki_data(theirs)
    assert (parsed.transaction_id, parsed.sender_nonce, parsed.identification) == (tid, nonce, ident)
    assert [c.to_der() for c in parsed.certification_requests] == [CSR_DER]
    assert parsed.to_der() == theirs


@SETTINGS
@given(st.integers(0, 2**64), st.sampled_from(list(cmc.CmcFailInfo)), st.one_of(st.none(), utf8))
def test_pki_response_both_ways(tid, fail, text):
    ours = cmc.PkiResponseBuilder().transaction_id(tid).failed(fail, status_string=text).build().to_der()
    py = py_decode(ours, rfc6402.PKIResponse())
    controls = {str(c["attrType"]): bytes(c["attrValues"][0]) for c in py["controlSequence"]}
    # (pyasn1-modules' CMCStatusInfoV2 spec trips over its own OtherStatusInfo CHOICE: read it untyped)
    st2 = der_decoder.decode(controls[cmc.oid.STATUS_INFO_V2])[0]
    parts = [st2[i] for i in range(len(st2))]
    assert int(parts[0]) == int(cmc.CmcStatusValue.FAILED)
    strings = [str(x) for x in parts[2:] if isinstance(x, char.UTF8String)]
    assert strings == ([] if text is None else [text])
    assert int(parts[-1]) == int(fail)  # otherInfo: failInfo INTEGER (untagged CHOICE arm)
    assert int(der_decoder.decode(controls[cmc.oid.TRANSACTION_ID], asn1Spec=univ.Integer())[0]) == tid
    # they encode: pyasn1's re-encoding of what it read is the same bytes, and we read it back
    theirs = der_encoder.encode(py)
    assert theirs == ours
    parsed = cmc.parse_pki_response(theirs)
    assert parsed.is_failed() and parsed.fail_info() == fail and parsed.status_string() == text
    assert parsed.to_der() == theirs


# ------------------------------------------------------------------ enveloped


@SLOW
@given(st.binary(min_size=0, max_size=200), st.sampled_from([16, 24, 32]), st.binary(min_size=1, max_size=16),
       st.sampled_from([env.EncryptionAlgorithm.AES128_CBC, env.EncryptionAlgorithm.AES256_CBC,
                        env.EncryptionAlgorithm.DES_EDE3_CBC]))
def test_enveloped_data_both_ways(content, kek_len, kek_id, alg):
    kek = bytes(range(kek_len))
    ours = env.build_enveloped_data(content, [env.KEKRecipient(kek, kek_id)], algorithm=alg)
    ci = py_decode(ours, rfc5652.ContentInfo())
    assert str(ci["contentType"]) == "1.2.840.113549.1.7.3"
    ed = py_decode(bytes(ci["content"]), rfc5652.EnvelopedData())
    (ri,) = ed["recipientInfos"]
    assert ri.getName() == "kekri" and bytes(ri["kekri"]["kekid"]["keyIdentifier"]) == kek_id
    eci = ed["encryptedContentInfo"]
    assert str(eci["contentEncryptionAlgorithm"]["algorithm"]) == alg.value
    parsed = env.parse_enveloped_data(ours)
    assert parsed.encrypted_content == bytes(eci["encryptedContent"])
    assert parsed.content_encryption_algorithm == alg
    # they encode: pyasn1 re-encodes the EnvelopedData it read; we parse and decrypt that
    theirs = der_encoder.encode(ed)
    assert theirs == parsed.to_der()
    assert env.decrypt(theirs, kek=kek, kek_id=kek_id) == content


def test_properties_have_an_independent_reader():
    # guard against the differential degenerating into estcodec reading estcodec
    assert der_decoder.__name__.startswith("pyasn1") and rfc6402.PKIData.__module__.startswith("pyasn1_modules")


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
