"""estcodec.asn1: ASN.1 modules compiled into estcodec models (issue 15 part 1).

The RFC modules are in tests/vectors/asn1-modules (provenance in its README). The compiled models are checked
against the hand-written ones (estcodec.x509, .pkcs10, .cms, .cmc) on real data, and against asn1tools' own DER
codec for the tagging rules.
"""
import glob
import os
import subprocess
import sys

import pytest

asn1tools = pytest.importorskip("asn1tools", reason="estcodec.asn1 needs the optional asn1tools parser")

from estcodec import DecodeError, EncodeError, asn1, pem, schema  # noqa: E402
from estcodec._der import ChoiceModel, Model  # noqa: E402
from estcodec.asn1 import CompileError  # noqa: E402

HERE = os.path.dirname(__file__)
MODS = os.path.join(HERE, "vectors", "asn1-modules")
VEC = os.path.join(HERE, "vectors")
RFC5280 = os.path.join(MODS, "rfc5280.asn")
CMS_MODULES = [RFC5280, os.path.join(MODS, "rfc3281.asn"), os.path.join(MODS, "rfc5652.asn")]
CMC_MODULES = CMS_MODULES + [os.path.join(MODS, "rfc4211.asn"), os.path.join(MODS, "rfc5272-6402-cmc.asn")]
PKCS10_MODULES = [RFC5280, os.path.join(MODS, "x500-stubs.asn"), os.path.join(MODS, "rfc2986.asn")]


def _certifi_ders():
    certifi = pytest.importorskip("certifi")
    with open(certifi.where(), encoding="ascii") as fh:
        ders = [der for label, der in pem.decode(fh.read()) if label == "CERTIFICATE"]
    assert len(ders) > 100
    return ders


@pytest.fixture(scope="module")
def pkix():
    return asn1.compile([RFC5280])


@pytest.fixture(scope="module")
def cms_ns():
    ns = asn1.compile(CMS_MODULES)
    ns.OPEN_TYPES["ContentInfo.content"].update({
        ns.id_signedData: ns.SignedData, ns.id_envelopedData: ns.EnvelopedData, ns.id_digestedData: ns.DigestedData,
        ns.id_encryptedData: ns.EncryptedData, ns.id_ct_authData: ns.AuthenticatedData,
    })
    return ns


def _rebuild(v):
    """A decoded value rebuilt from plain values all the way down (so encoding it exercises the encoder)."""
    if isinstance(v, Model):
        return type(v)(**{name: _rebuild(getattr(v, name)) for name in type(v)._field_names})
    if isinstance(v, ChoiceModel):
        return type(v)(v.name, _rebuild(v.value))
    if isinstance(v, list):
        return [_rebuild(x) for x in v]
    return v


# --- RFC 5280 -----------------------------------------------------------------------------------------------

def test_rfc5280_modules_compile(pkix):
    assert pkix.__warnings__ == []
    for name in ("Certificate", "TBSCertificate", "Name", "Extension", "GeneralName", "KeyUsage",
                 "BasicConstraints", "AuthorityKeyIdentifier", "CRLDistributionPoints", "CertificateList"):
        assert hasattr(pkix, name), name
    # values of the modules become constants; the tag defaults of both modules are honoured
    assert pkix.id_pe == "1.3.6.1.5.5.7.1" and pkix.id_ce_subjectAltName == "2.5.29.17"
    spec = pkix.TBSCertificate._asn1_spec
    version, issuer_uid = spec.fields[0], spec.fields[7]
    assert version.spec.kind == schema.spec_of(pkix.Version).kind or version.spec.tnum == 0
    assert (version.spec.tcls, version.spec.tnum) == (2, 0) and version.spec.inner is not None      # EXPLICIT
    assert (issuer_uid.spec.tcls, issuer_uid.spec.tnum, issuer_uid.spec.inner) == (2, 1, None)      # IMPLICIT
    # PKIX1Implicit88: [0] on a component is IMPLICIT by the module default...
    aki = pkix.AuthorityKeyIdentifier._asn1_spec.fields[0].spec
    assert (aki.tcls, aki.tnum, aki.kind) == (2, 0, 4)
    # ...but EXPLICIT on an untagged CHOICE (X.680 31.2.7): DistributionPoint.distributionPoint
    dp = pkix.DistributionPoint._asn1_spec.fields[0].spec
    assert dp.inner is not None and dp.inner.model is pkix.DistributionPointName


def test_certifi_roots_read_as_estcodec_x509_reads_them(pkix):
    from estcodec.x509 import Certificate, EXTENSION_TYPES, oid

    checked_exts = 0
    for der in _certifi_ders():
        c = pkix.Certificate.from_der(der)
        x = Certificate.from_der(der)
        assert c.to_der() == der
        t = c.tbs_certificate
        assert t.version == x.version and t.serial_number == x.serial_number
        assert t.signature.algorithm == x.tbs_certificate.signature.algorithm
        assert t.signature.parameters == x.tbs_certificate.signature.parameters
        assert t.issuer.to_der() == x.issuer.to_der() and t.subject.to_der() == x.subject.to_der()
        pairs = [(atv.type, atv.value) for rdn in t.subject.value for atv in rdn]
        assert [p[0] for p in pairs] == [p[0] for p in x.subject.attributes]
        # AttributeValue ::= ANY: the raw TLV, which estcodec.x509 reads as the string it holds
        assert [schema.decode(schema.AnyValue, p[1]) for p in pairs] == [v for _, v in x.subject.attributes]
        assert t.validity.not_before.value == x.not_before and t.validity.not_after.value == x.not_after
        spki = t.subject_public_key_info
        assert spki.algorithm.algorithm == x.public_key_info.algorithm_oid
        assert spki.subject_public_key == x.public_key_info.subject_public_key
        assert c.signature_algorithm.algorithm == x.signature_algorithm_oid
        assert c.signature.data == x.signature
        assert [(e.extn_id, e.critical, e.extn_value) for e in (t.extensions or [])] == \
            [(e.extn_id, e.critical, e.value) for e in x.extensions]
        # extension values through the compiled PKIX1Implicit88 types
        for e in t.extensions or []:
            if e.extn_id == oid.BASIC_CONSTRAINTS:
                bc, xbc = pkix.BasicConstraints.from_der(e.extn_value), x.basic_constraints
                assert (bc.ca, bc.path_len_constraint) == (xbc.ca, xbc.path_len_constraint)
            elif e.extn_id == oid.KEY_USAGE:
                ku = schema.decode(pkix.KeyUsage, e.extn_value)
                renamed = {"non_repudiation": "content_commitment"}
                assert {renamed.get(b, b) for b in ku} == set(x.key_usage)
            elif e.extn_id == oid.SUBJECT_KEY_IDENTIFIER:
                assert schema.decode(pkix.SubjectKeyIdentifier, e.extn_value) == x.subject_key_identifier
            elif e.extn_id == oid.AUTHORITY_KEY_IDENTIFIER:
                assert pkix.AuthorityKeyIdentifier.from_der(e.extn_value).key_identifier == \
                    x.authority_key_identifier
            elif e.extn_id in EXTENSION_TYPES and e.extn_id == oid.CERTIFICATE_POLICIES:
                pol = schema.decode(pkix.CertificatePolicies, e.extn_value)
                assert [p.policy_identifier for p in pol] == [p.policy_identifier for p in x.extension(e.extn_id).parsed]
            else:
                continue
            checked_exts += 1
        # rebuilt from plain values, the encoder gives the same bytes (certifi's roots are DER)
        assert schema.encode(pkix.Certificate, _rebuild(c)) == der
    assert checked_exts > 200


def test_compiled_models_refuse_what_the_module_forbids(pkix):
    der = _certifi_ders()[0]
    with pytest.raises(DecodeError) as ei:
        pkix.Certificate.from_der(der[:-1])
    assert ei.value.offset >= 0
    # Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension: the size constraint is enforced
    with pytest.raises(DecodeError):
        schema.decode(pkix.Extensions, bytes.fromhex("3000"))
    with pytest.raises(EncodeError):
        schema.encode(pkix.Extensions, [])
    # BasicConstraints.cA DEFAULT FALSE: an encoded FALSE is not DER
    with pytest.raises(DecodeError) as ei:
        pkix.BasicConstraints.from_der(bytes.fromhex("3003010100"))
    assert ei.value.path == "$.ca"


# --- the command line -------------------------------------------------------------------------------------

def test_compile_command_writes_models_that_need_only_estcodec(tmp_path):
    out = tmp_path / "pkix_models.py"
    proc = subprocess.run([sys.executable, "-m", "estcodec", "compile", RFC5280, "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    src = out.read_text()
    imports = [line for line in src.splitlines() if line.startswith(("import ", "from "))]
    assert imports and all(line.split()[1].split(".")[0] == "estcodec" for line in imports), imports
    # the written module loads in a process where asn1tools cannot be imported, and decodes a root
    der_file = tmp_path / "root.der"
    der_file.write_bytes(_certifi_ders()[0])
    code = ("import sys; sys.modules['asn1tools'] = None; sys.path.insert(0, sys.argv[1]); import pkix_models as m; "
            "c = m.Certificate.from_der(open(sys.argv[2], 'rb').read()); print(c.tbs_certificate.serial_number)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(der_file)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) != 0


def test_compile_command_reports_a_bad_module(tmp_path):
    bad = tmp_path / "bad.asn"
    bad.write_text("M DEFINITIONS ::= BEGIN R ::= REAL END")
    proc = subprocess.run([sys.executable, "-m", "estcodec", "compile", str(bad)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1
    assert "M.R" in proc.stderr and "REAL" in proc.stderr and "Traceback" not in proc.stderr


# --- CMS, PKCS#10, CMC --------------------------------------------------------------------------------------

def _cms_vectors():
    files = sorted(glob.glob(os.path.join(VEC, "asn1crypto", "cms-*.der")) +
                   glob.glob(os.path.join(VEC, "asn1crypto", "pkcs7-signed.der")) +
                   glob.glob(os.path.join(VEC, "rfc4134", "[3-7].*.bin")) +
                   glob.glob(os.path.join(VEC, "rustcrypto-formats", "**", "*.der"), recursive=True))
    return files


def test_rfc5652_module_reads_the_cms_vectors_as_estcodec_cms(cms_ns):
    from estcodec import cms

    read = 0
    for f in _cms_vectors():
        with open(f, "rb") as fh:
            data = fh.read()
        try:
            ref = cms.parse_content_info(data)
        except DecodeError:
            continue  # not a ContentInfo (keys, certificates among the rustcrypto samples)
        der = ref.to_der()  # DER, also for BER input
        ci = cms_ns.ContentInfo.from_der(der)
        assert ci.to_der() == der
        assert ci.content_type == ref.content_type
        if ci.content_type == cms_ns.id_signedData:
            sd, rsd = ci.content, cms.parse_signed_data(der)
            assert isinstance(sd, cms_ns.SignedData)
            assert sd.version == rsd.version
            assert sd.encap_content_info.e_content_type == rsd.encap_content_info.e_content_type
            raw = rsd.encap_content_info.e_content  # estcodec.cms keeps the TLV inside [0]
            assert sd.encap_content_info.e_content == (None if raw is None else schema.decode(schema.OctetString, raw))
            assert [c.to_der() for c in sd.certificates or []] == [c.to_der() for c in rsd.certificates or []]
            assert [s.signature for s in sd.signer_infos] == [s.signature for s in rsd.signer_infos]
        elif ci.content_type == cms_ns.id_envelopedData:
            assert len(ci.content.recipient_infos) >= 1
        read += 1
    assert read >= 20


def test_cms_module_is_the_rfc5652_text(cms_ns):
    """rfc5652.asn is RFC 5652's section 12.1/12.2 text (not RFC 3852's), and every type of it compiles."""
    with open(os.path.join(MODS, "rfc5652.asn"), encoding="ascii") as fh:
        text = fh.read()
    assert "-- Imports from RFC 5280 [PROFILE], Appendix A.1" in text and "RFC 3280" not in text
    assert "END -- of CryptographicMessageSyntax2004" in text and "END -- of AttributeCertificateVersion1" in text
    assert cms_ns.__warnings__ == []
    for name in ("PasswordRecipientInfo", "OtherRecipientInfo", "RevocationInfoChoice", "OtherCertificateFormat",
                 "AttributeCertificateV1", "ExtendedCertificateOrCertificate", "Countersignature"):
        assert hasattr(cms_ns, name), name
    # CMSVersion goes to v5 in RFC 5652; the [3] pwri alternative decodes
    pwri = cms_ns.RecipientInfo.from_der(bytes.fromhex("a312 020100 300b 0609608648016503040105 0400".replace(" ", "")))
    assert pwri.name == "pwri" and pwri.value.version == 0


def test_pre_1994_string_definitions_compile_as_the_builtin_type():
    """RFC 2797/5272 define UTF8String ::= [UNIVERSAL 12] IMPLICIT OCTET STRING for old compilers: it is UTF8String."""
    text = ("M DEFINITIONS IMPLICIT TAGS ::= BEGIN UTF8String ::= [UNIVERSAL 12] IMPLICIT OCTET STRING "
            "S ::= SEQUENCE { s UTF8String, t [1] UTF8String OPTIONAL } END")
    ns = asn1.compile(text)
    assert ns.__warnings__ == [] and ns.UTF8String is schema.UTF8String
    v = ns.S.from_der(bytes.fromhex("3008 0c026869 81026f6b".replace(" ", "")))
    assert (v.s, v.t) == ("hi", "ok")
    assert schema.encode(ns.S, ns.S(s="hi", t="ok")) == bytes.fromhex("3008 0c026869 81026f6b".replace(" ", ""))
    with pytest.raises(DecodeError):  # an OCTET STRING is not a UTF8String
        ns.S.from_der(bytes.fromhex("3004 04026869".replace(" ", "")))
    # any other UNIVERSAL tag is still refused by name
    with pytest.raises(CompileError, match="M.X: UNIVERSAL tags"):
        asn1.compile("M DEFINITIONS IMPLICIT TAGS ::= BEGIN X ::= [UNIVERSAL 4] IMPLICIT INTEGER END")
    with pytest.raises(CompileError, match="M.Y: UNIVERSAL tags"):
        asn1.compile("M DEFINITIONS IMPLICIT TAGS ::= BEGIN Y ::= [UNIVERSAL 12] OCTET STRING END")


def test_rfc2986_module_reads_the_csrs_as_estcodec_pkcs10():
    from estcodec.pkcs10 import CertificationRequest

    ns = asn1.compile(PKCS10_MODULES)
    assert ns.__warnings__ == []
    files = sorted(glob.glob(os.path.join(VEC, "asn1crypto", "*.csr")))
    index = os.path.join(VEC, "pyasn1-alt-modules", "index.tsv")
    with open(index, encoding="utf-8") as fh:
        for line in fh:
            name, _size, kind = line.rstrip("\n").split("\t")[:3]
            if kind == "CertificationRequest":
                files.append(os.path.join(VEC, "pyasn1-alt-modules", "der", name + ".der"))
    read = 0
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        if data.startswith(b"-----"):
            data = pem.decode(data.decode())[0][1]
        ref = CertificationRequest.from_der(data)
        r = ns.CertificationRequest.from_der(data)
        assert r.to_der() == data
        info, rinfo = r.certification_request_info, ref.certification_request_info
        assert info.version == rinfo.version and info.subject.to_der() == rinfo.subject.to_der()
        assert info.subject_pk_info.to_der() == rinfo.subject_pk_info.to_der()
        assert [(a.type, a.values) for a in info.attributes] == [(a.attr_type, a.attr_values) for a in rinfo.attributes]
        assert r.signature_algorithm.algorithm == ref.signature_algorithm.algorithm
        read += 1
    assert read >= 5


def test_rfc5272_6402_module_reads_the_cmc_vectors_as_estcodec_cmc(cms_ns):
    from estcodec import cmc

    ns = asn1.compile(CMC_MODULES)
    ns.OPEN_TYPES["ContentInfo.content"][ns.id_signedData] = ns.SignedData
    # the two places where RFC 6402's ASN.1 cannot be decoded by tag alone are reported, not hidden
    assert any("OtherStatusInfo" in w for w in ns.__warnings__)
    assert any("ChangeSubjectName.subjectAlt" in w for w in ns.__warnings__)
    # the module's pre-1997 "UTF8String ::= [UNIVERSAL 12] IMPLICIT OCTET STRING" is the built-in type
    assert ns.UTF8String is schema.UTF8String
    files = sorted(glob.glob(os.path.join(VEC, "cmc", "sunet-python_cmc", "*.der")))
    files += [os.path.join(VEC, "cmc", "pyasn1-alt-modules", n) for n in
              ("rfc5275__GLUseKEKTestCase__pem_text.der", "rfc6402__BackwardCompatibilityTestCase__pem_text.der")]
    read = 0
    for f in files:
        with open(f, "rb") as fh:
            data = fh.read()
        ci = ns.ContentInfo.from_der(data)
        assert ci.to_der() == data
        eci = ci.content.encap_content_info
        assert eci.e_content_type == ns.id_cct_PKIData
        body = ns.PKIData.from_der(eci.e_content)
        ref = cmc.parse_pki_data(data)
        assert [(a.body_part_id, a.attr_type) for a in body.control_sequence] == \
            [(a.body_part_id, a.attr_type) for a in ref.control_sequence]
        assert [r.name for r in body.req_sequence] == [r.name for r in ref.req_sequence]
        for r in body.req_sequence:
            if r.name == "tcr":
                req = r.value.certification_request
                assert req.certification_request_info.subject.to_der()
        read += 1
    assert read == 6


def test_cmc_status_info_v2_reads_a_built_response():
    ns = asn1.compile(CMC_MODULES)
    from estcodec import cmc

    status = ns.CMCStatusInfoV2(cmc_status=0, body_list=[ns.BodyPartReference("body_part_id", 1)],
                                status_string="ok")
    der = status.to_der()
    back = ns.CMCStatusInfoV2.from_der(der)
    assert back.cmc_status == 0 and back.body_list[0].value == 1 and back.status_string == "ok"
    assert cmc.CMCStatusInfoV2.from_der(der).status_string == "ok"


# --- tagging, extensibility, open types, refusals -----------------------------------------------------------

TAGGING = """
T DEFINITIONS AUTOMATIC TAGS ::= BEGIN
  S ::= SEQUENCE { a INTEGER, b BOOLEAN OPTIONAL, c CHOICE { x INTEGER, y NULL }, d SEQUENCE OF IA5String }
  E ::= SEQUENCE { a INTEGER, ..., b BOOLEAN }
  A ::= [APPLICATION 5] IMPLICIT SEQUENCE { n INTEGER }
  P ::= SEQUENCE { v [PRIVATE 3] EXPLICIT INTEGER, w [1] IMPLICIT OCTET STRING }
  St ::= SET { p [0] INTEGER, q [1] BOOLEAN DEFAULT TRUE }
END
U DEFINITIONS IMPLICIT TAGS ::= BEGIN
  IMPORTS S FROM T;
  W ::= SEQUENCE { s [0] S, c [1] CHOICE { i INTEGER, o OCTET STRING }, z [2] ANY OPTIONAL }
END
"""


def test_tagging_rules_match_asn1tools_der():
    ns = asn1.compile(TAGGING)
    ref = asn1tools.compile_string(TAGGING, "der")
    cases = [
        ("S", ns.S(a=5, b=True, c=ns.S_c("y", None), d=["x", "yz"]),
         {"a": 5, "b": True, "c": ("y", None), "d": ["x", "yz"]}),
        ("S", ns.S(a=-1, c=ns.S_c("x", 7), d=[]), {"a": -1, "c": ("x", 7), "d": []}),
        ("E", ns.E(a=1), {"a": 1}),
        ("E", ns.E(a=1, b=False), {"a": 1, "b": False}),
        ("P", ns.P(v=3, w=b"\x01"), {"v": 3, "w": b"\x01"}),
        ("St", ns.St(p=9), {"p": 9}),
        ("St", ns.St(p=9, q=False), {"p": 9, "q": False}),
        ("W", ns.W(s=ns.S(a=1, c=ns.S_c("x", 2), d=["a"]), c=ns.W_c("o", b"hi")),
         {"s": {"a": 1, "c": ("x", 2), "d": ["a"]}, "c": ("o", b"hi")}),
    ]
    for name, value, ref_value in cases:
        der = schema.encode(getattr(ns, name), value)
        assert der == ref.encode(name, ref_value), name
        back = getattr(ns, name).from_der(der)
        assert back.to_der() == der
    # a tag on ANY is EXPLICIT in an IMPLICIT TAGS module (X.680 31.2.7; asn1tools drops it, so not compared)
    w = ns.W(s=ns.S(a=1, c=ns.S_c("x", 2), d=["a"]), c=ns.W_c("o", b"hi"), z=bytes.fromhex("0500"))
    assert schema.encode(ns.W, w).endswith(bytes.fromhex("a2020500"))
    a_der = ref.encode("A", {"n": 4})
    assert a_der[0] == 0x65  # [APPLICATION 5] constructed
    assert ns.A.from_der(a_der).n == 4 and ns.A.to_der(ns.A.from_der(a_der)) == a_der
    # DEFAULT values of strings, OIDs and bit strings
    d = asn1.compile("M DEFINITIONS ::= BEGIN D ::= SEQUENCE { s UTF8String DEFAULT \"ab\", "
                     "o OBJECT IDENTIFIER DEFAULT {1 2 3}, b BIT STRING DEFAULT '101'B, "
                     "x OCTET STRING DEFAULT 'FF00'H, n BIT STRING {p(0), q(1)} DEFAULT '01'B, i INTEGER } END")
    v = d.D.from_der(bytes.fromhex("3003020101"))
    assert (v.s, v.o, v.b, v.x, v.n, v.i) == ("ab", "1.2.3", schema.BitStringValue(b"\xa0", 5), b"\xff\x00",
                                              frozenset({"q"}), 1)
    assert schema.encode(d.D, d.D(s="ab", o="1.2.3", x=b"\xff\x00", i=1)) == bytes.fromhex("3003020101")
    with pytest.raises(DecodeError):
        d.D.from_der(bytes.fromhex("3007 0c026162 020101".replace(" ", "")))
    # SET components in tag order (X.690 10.3) whatever the declaration order
    st = asn1.compile("M DEFINITIONS ::= BEGIN S ::= SET { z [2] INTEGER, y [1] INTEGER } END")
    assert schema.encode(st.S, st.S(z=1, y=2)) == bytes.fromhex("310a a103020102 a203020101".replace(" ", ""))
    # COMPONENTS OF: the included components, automatic tags numbered after inclusion
    co = asn1.compile("M DEFINITIONS AUTOMATIC TAGS ::= BEGIN A ::= SEQUENCE { a INTEGER, b BOOLEAN OPTIONAL } "
                      "B ::= SEQUENCE { COMPONENTS OF A, c INTEGER } END")
    assert schema.encode(co.B, co.B(a=1, c=2)) == bytes.fromhex("3006 800101 820102".replace(" ", ""))
    # extension additions are OPTIONAL; a DEFAULT value present in DER is refused
    assert ns.E.from_der(ref.encode("E", {"a": 1})).b is None
    with pytest.raises(DecodeError):
        ns.St.from_der(bytes.fromhex("3106 800109 8101ff".replace(" ", "")))


OPEN = """
O DEFINITIONS IMPLICIT TAGS ::= BEGIN
  ALG ::= CLASS { &id OBJECT IDENTIFIER UNIQUE, &Type OPTIONAL }
  Algs ALG ::= { { &id id-a, &Type INTEGER } | { &id id-b, &Type Inner } }
  id-a OBJECT IDENTIFIER ::= { 1 2 3 }
  id-b OBJECT IDENTIFIER ::= { 1 2 4 }
  Inner ::= SEQUENCE { t UTF8String }
  AlgId ::= SEQUENCE { algorithm ALG.&id({Algs}), parameters ALG.&Type({Algs}{@algorithm}) OPTIONAL }
  Old ::= SEQUENCE { kind OBJECT IDENTIFIER, value ANY DEFINED BY kind }
END
"""


def test_open_types_resolve_through_information_object_sets_and_registries():
    ns = asn1.compile(OPEN)
    der_a = bytes.fromhex("3007 06022a03 02012a".replace(" ", ""))
    der_b = bytes.fromhex("300a 06022a04 3004 0c026869".replace(" ", ""))
    der_c = bytes.fromhex("3006") + bytes.fromhex("06022a05") + bytes.fromhex("0500")  # OID 1.2.5 + NULL
    assert ns.AlgId.from_der(der_a).parameters == 42
    assert ns.AlgId.from_der(der_b).parameters.t == "hi"
    assert ns.AlgId.from_der(der_c).parameters == bytes.fromhex("0500")  # not in the set: raw TLV
    with pytest.raises(DecodeError) as ei:  # in the set, but not an INTEGER
        ns.AlgId.from_der(bytes.fromhex("3007") + bytes.fromhex("06022a03") + bytes.fromhex("010100"))
    assert ei.value.path == "$.parameters"
    # ANY DEFINED BY: an empty registry callers fill
    old = ns.Old.from_der(bytes.fromhex("3007 06022a03 020107".replace(" ", "")))
    assert old.value == bytes.fromhex("020107")
    ns.OPEN_TYPES["Old.value"]["1.2.3"] = schema.Integer
    assert ns.Old.from_der(bytes.fromhex("3007 06022a03 020107".replace(" ", ""))).value == 7


@pytest.mark.parametrize("text, names", [
    ("M DEFINITIONS ::= BEGIN R ::= SEQUENCE { x REAL } END", ["M.R.x", "REAL"]),
    ("M DEFINITIONS ::= BEGIN L ::= SEQUENCE { next L OPTIONAL } END", ["M.L", "recursive"]),
    ("M DEFINITIONS ::= BEGIN IMPORTS X FROM Missing; Y ::= SEQUENCE { x X } END", ["X", "Missing"]),
    ("M DEFINITIONS ::= BEGIN P {T} ::= SEQUENCE { x T } Q ::= SEQUENCE { p P {INTEGER} } END",
     ["M.P", "type parameter"]),
    ("M DEFINITIONS ::= BEGIN T ::= SEQUENCE { a INTEGER } S ::= SEQUENCE { x T DEFAULT { a 1 } } END",
     ["M.S.x", "DEFAULT"]),
    ("M DEFINITIONS ::= BEGIN S ::= SET { b [1] INTEGER, a [1] BOOLEAN } END", ["M.S", "same tag"]),
    ("M DEFINITIONS ::= BEGIN G ::= GeneralString END", ["M.G", "GeneralString"]),
    ("M DEFINITIONS ::= BEGIN this is not ASN.1", ["parse"]),
])
def test_what_cannot_be_mapped_is_refused_by_name(text, names):
    with pytest.raises(CompileError) as ei:
        asn1.compile(text)
    for n in names:
        assert n in str(ei.value), (n, str(ei.value))


def test_ambiguous_choice_is_an_open_type_or_refused_when_strict():
    text = "M DEFINITIONS ::= BEGIN C ::= CHOICE { a SEQUENCE { x INTEGER }, b SEQUENCE { y BOOLEAN } } END"
    ns = asn1.compile(text)
    assert ns.__warnings__ and "M.C" in ns.__warnings__[0] and ns.C is schema.Any
    with pytest.raises(CompileError, match="M.C"):
        asn1.compile(text, strict=True)


def test_mangled_modules_end_in_compile_error():
    """A fixed, seeded set of mangled module texts: each compiles or raises CompileError, nothing else."""
    import random

    rng = random.Random(15)
    pieces = [" OPTIONAL", " DEFAULT 5", " [3]", " IMPLICIT", " EXPLICIT", "...", ",", " SEQUENCE OF", " ANY",
              " CHOICE {a INTEGER}", " {", " }", " (SIZE (1..2))", " T", " S", "@a", " COMPONENTS OF S"]
    outcomes = {"compiled": 0, "refused": 0}
    for _ in range(80):
        text = rng.choice([TAGGING, OPEN])
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(text))
            if rng.random() < 0.5:
                text = text[:pos] + rng.choice(pieces) + text[pos:]
            else:
                text = text[:pos] + text[pos + rng.randint(1, 12):]
        try:
            asn1.compile(text)
            outcomes["compiled"] += 1
        except CompileError:
            outcomes["refused"] += 1
    assert outcomes["compiled"] and outcomes["refused"]


def test_a_missing_module_file_is_a_compile_error(tmp_path):
    with pytest.raises(CompileError, match="cannot read"):
        asn1.compile([str(tmp_path / "absent.asn")])


def test_omit_unsupported_leaves_out_what_cannot_be_mapped(tmp_path):
    text = ("M DEFINITIONS ::= BEGIN R ::= REAL  S ::= SEQUENCE { r R, i INTEGER }  "
            "T ::= SEQUENCE { i INTEGER }  U ::= SEQUENCE OF S END")
    with pytest.raises(CompileError, match="M.R"):
        asn1.compile(text)
    ns = asn1.compile(text, omit_unsupported=True)
    assert ns.T.from_der(bytes.fromhex("3003020101")).i == 1
    assert not hasattr(ns, "S") and not hasattr(ns, "U") and not hasattr(ns, "R")
    assert sorted(w.split(" left out")[0] for w in ns.__warnings__) == ["M.R", "M.S", "M.U"]
    mod = tmp_path / "m.asn"
    mod.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "estcodec", "compile", "--omit-unsupported", str(mod)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "class T(" in proc.stdout and "M.S left out" in proc.stderr
