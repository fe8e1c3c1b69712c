"""A short run of every model and protocol fuzz harness's invariant without atheris (fuzz/fuzz_<target>.py,
group "models" of fuzz/run_short.py): seeds from tests/vectors, cryptography_vectors and fuzz/seeds/,
truncated prefixes, seeded random mutations: a fixed number of inputs per harness, no clock (a loaded machine
runs the same inputs, only slower). ESTCODEC_FUZZ_MODELS_INPUTS and ESTCODEC_FUZZ_SEED change the count and the
mutation seed. The harnesses' "nothing slow" check (a per-input time limit, fuzz/_models.py) is for long fuzzing
runs on a quiet machine; here it is off, since CI machines are shared.

Also here: the regression tests of the fuzzing findings (fuzz/findings/), marked xfail(strict=True) while
open so that the fix flips them, and checks that each harness really reports what it must.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
FINDINGS = FUZZ / "findings"
sys.path.insert(0, str(FUZZ))

import _models  # noqa: E402
import run_short  # noqa: E402

from estcodec import DecodeError, der  # noqa: E402

MODEL_HARNESSES = {"x509", "pkcs10", "certs_only", "csrattrs", "pki_data", "pki_response", "enveloped", "pkcs8",
                   "protocol", "crl", "ocsp"}
INPUTS = int(os.environ.get("ESTCODEC_FUZZ_MODELS_INPUTS", "20000"))
SEED = int(os.environ.get("ESTCODEC_FUZZ_SEED", str(run_short.DEFAULT_SEED)))


@pytest.fixture(autouse=True)
def _no_per_input_clock(monkeypatch):
    monkeypatch.setattr(_models, "SLOW_SECONDS", float("inf"))


def harness(name: str):
    (mod,) = run_short.load_harnesses([name])
    return mod


def test_every_public_decoder_has_a_harness_with_a_stated_invariant():
    mods = run_short.load_harnesses(group="models")
    assert {m.NAME for m in mods} == MODEL_HARNESSES
    for m in mods:
        assert "INVARIANT" in (m.__doc__ or ""), m.NAME
        assert callable(m.check_one) and callable(m.TestOneInput) and callable(m.collect_seeds)
    # the core group stays what tests/test_fuzz_short.py budgets for
    assert {m.NAME for m in run_short.load_harnesses(group="core")} == {"der", "pem"}


def test_short_models_run_keeps_every_invariant():
    lines: list[str] = []
    report = run_short.run(seconds=None, executions=INPUTS, seed=SEED, save=False, log=lines.append,
                           group="models", use_corpus=False)
    print("\n".join(lines))
    print("known findings tolerated:", {k: v for k, v in _models.known_hits.items() if v})
    assert set(report.executions) == MODEL_HARNESSES
    for name, n in report.executions.items():
        assert n >= INPUTS, f"{name}: {n} inputs, fewer than {INPUTS}"
        assert report.seeds[name] >= 10, f"{name}: only {report.seeds[name]} seeds"
    assert report.ok, "\n".join(f"{f.harness}: {f.signature}\n  input: {f.data[:200].hex()}" for f in report.failures)


@pytest.mark.parametrize("name", sorted(MODEL_HARNESSES))
def test_seeds_include_inputs_the_target_accepts(name):
    # a corpus of rejects would only exercise the error paths
    mod = harness(name)
    seeds = mod.collect_seeds()
    for data in seeds.values():
        mod.check_one(data)
    accepts = getattr(mod, "_accepts", None)
    if accepts is None:  # the protocol harness: every seed is a recorded or built response
        assert len(seeds) >= 20
        return
    accepted = 0
    for data in seeds.values():
        try:
            accepted += bool(accepts(data))
        except Exception:  # noqa: BLE001 - the rejected seeds are there on purpose
            pass
    assert accepted >= 5, f"{name}: {accepted} of {len(seeds)} seeds accepted"


def test_enveloped_fixed_keys_open_the_generated_seeds():
    # the decrypt half of the EnvelopedData harness reaches the ciphers only if its keys open the seeds
    from estcodec import enveloped as env

    keys = _models.fixed_keys()
    opened = 0
    for name, data in _models.committed_seeds("enveloped").items():
        plain = env.decrypt(data, private_key=keys["private_key"], kek=keys["kek"], kek_id=keys["kek_id"],
                            password=keys["password"])
        assert plain, name
        opened += 1
    assert opened >= 10


def test_pki_response_seeds_verify_against_the_committed_signer():
    from estcodec.cmc import parse_pki_response

    signed = [d for n, d in _models.committed_seeds("pki_response").items() if "signed" in n]
    assert signed
    for data in signed:
        assert parse_pki_response(data, signer_trust=_models.signer_certificate_pem()).signature_verified


# ------------------------------------------------------------------ the harnesses report what they must


@pytest.mark.parametrize("name, target, attr", [
    ("x509", "Certificate", "from_der"),
    ("pkcs10", "CertificationRequest", "from_der"),
    ("csrattrs", "CsrAttrs", "from_der"),
    ("certs_only", None, "parse_certs_only"),
    ("pki_data", None, "parse_pki_data"),
    ("pki_response", None, "parse_pki_response"),
    ("pkcs8", None, "parse_private_key"),
    ("enveloped", "env", "parse_enveloped_data"),
    ("crl", "CertificateList", "from_der"),
    ("ocsp", "OCSPResponse", "from_der"),
])
def test_harness_lets_foreign_exceptions_through(monkeypatch, name, target, attr):
    mod = harness(name)

    def boom(*args, **kwargs):
        raise IndexError("boom")

    owner = getattr(mod, target) if target else mod
    if isinstance(owner, type):
        monkeypatch.setattr(owner, attr, classmethod(lambda cls, *a, **k: boom()))
    else:
        monkeypatch.setattr(owner, attr, boom)
    with pytest.raises(IndexError):
        mod.check_one(b"\x30\x03\x02\x01\x05")


def _committed(name: str, needle: str) -> bytes:
    (data,) = [d for n, d in _models.committed_seeds(name).items() if needle in n]
    return data


def test_crl_harness_checks_lookups_both_ways(monkeypatch):
    # a lookup that misses a listed serial, or finds an unlisted one, breaks the invariant
    mod = harness("crl")
    data = _committed("crl", "crl_all_reasons")
    mod.check_one(data)
    real = mod.CertificateList.get_revoked
    monkeypatch.setattr(mod.CertificateList, "get_revoked", lambda self, serial: None)
    with pytest.raises(AssertionError, match="misses a listed serial"):
        mod.check_one(data)
    monkeypatch.setattr(mod.CertificateList, "get_revoked", lambda self, serial: next(iter(self)))
    with pytest.raises(AssertionError):
        mod.check_one(data)
    monkeypatch.setattr(mod.CertificateList, "get_revoked", real)
    mod.check_one(data)


def test_crl_harness_reaches_the_sorted_search_and_every_entry():
    # crl_almost_10k (from the installed vectors): more than 64 entries, so the harness's lookups switch
    # get_revoked to the sorted search; the seed is read whole, its entries up to MAX_ENTRIES
    from estcodec.crl import CertificateList

    mod = harness("crl")
    big = [d for n, d in mod.collect_seeds().items() if "crl_almost_10k" in n]
    if not big:
        pytest.skip("cryptography_vectors without x509/custom/crl_almost_10k.pem")
    crl = CertificateList.from_der(big[0])
    assert len(crl) > mod.MAX_ENTRIES > 64
    mod.check_one(big[0])


def test_crl_harness_verifies_with_its_fixed_issuers():
    # the signature half reaches the crypto: a fixed issuer verifies the vectors it issued, and only those
    from estcodec.crl import CertificateList

    mod = harness("crl")
    assert len(mod.issuers()) == 3
    for needle in ("valid_signature_crl", "CarlDSSCRLForAll"):  # (the Carl RSA CRLs are md5WithRSA: unsupported)
        seeds = [d for n, d in mod.collect_seeds().items() if needle in n and "invalid" not in n]
        assert seeds, needle
        crl = CertificateList.from_der(seeds[0])
        assert sum(crl.is_signature_valid(i) for i in mod.issuers()) == 1, needle
    bad = CertificateList.from_der(_committed("crl", "invalid_signature_crl"))
    assert not any(bad.is_signature_valid(i) for i in mod.issuers())


def test_ocsp_harness_holds_verify_to_signature_error(monkeypatch):
    mod = harness("ocsp")
    data = _committed("ocsp", "resp-sha256")
    mod.check_one(data)
    assert mod.OCSPResponse.from_der(data).basic is not None

    def broken(self, responder):
        raise DecodeError("not a SignatureError", 0, "invalid-value")

    monkeypatch.setattr(mod.BasicOCSPResponse, "verify", broken)
    with pytest.raises(DecodeError):
        mod.check_one(data)


def test_ocsp_harness_runs_all_three_decoders_on_every_input():
    mod = harness("ocsp")
    kinds = {"request": 0, "response": 0, "basic": 0}
    for data in mod.collect_seeds().values():
        for kind, cls in (("request", mod.OCSPRequest), ("response", mod.OCSPResponse),
                          ("basic", mod.BasicOCSPResponse)):
            kinds[kind] += not _refused(cls.from_der, data, ber=True)
    assert kinds["request"] >= 5 and kinds["response"] >= 5, kinds


def test_certs_only_signed_data_parted_from_content_info_only_by_a_certificate_name_value():
    # Found by the certs_only mutation runner (1,000,000 inputs, this branch): parse_signed_data decodes the content
    # as SignedData in the same pass (7ba5941) and so reads a certificate whose subject holds a constructed value
    # with unparsable contents (kept raw, refused when read: the documented certificate-name gap), while
    # parse_content_info validates the content as an open type and refuses it. The harness counts it as a design
    # hit, as the x509 harness does for the certificate alone.
    from estcodec.cms import parse_content_info, parse_signed_data

    data = (FINDINGS / "certs-only-certificate-name-value.bin").read_bytes()
    (cert,) = parse_signed_data(data).certificate_list
    assert _refused(parse_content_info, data) and _refused(der.parse, data)
    assert _refused(cert.validate_names)
    before = _models.design_hits.get(_models.CERT_NAME_DESIGN, 0)
    harness("certs_only").check_one(data)
    assert _models.design_hits[_models.CERT_NAME_DESIGN] == before + 1
    # anything else parting them still breaks the invariant
    clean = data.replace(bytes.fromhex("fe03426f62"), bytes.fromhex("0c03426f62"))
    assert not _refused(parse_content_info, clean)


def test_protocol_harness_lets_foreign_exceptions_through(monkeypatch):
    mod = harness("protocol")
    monkeypatch.setattr(mod.P, "parse_cacerts_response", lambda resp: [][1])
    data = mod.join("cacerts", 200, [("Content-Type", "application/pkcs7-mime")], b"MAA=")
    with pytest.raises(IndexError):
        mod.check_one(data)


def test_harness_reports_slow_inputs(monkeypatch):
    # "nothing slow": the time limit is read at call time, so a zero limit turns every input into a finding
    mod = harness("x509")
    monkeypatch.setattr(_models, "SLOW_SECONDS", 0.0)
    with pytest.raises(AssertionError, match="slow input"):
        mod.check_one(b"\x30\x00")


def test_protocol_input_layout_round_trips():
    mod = harness("protocol")
    data = mod.join("serverkeygen", 202, [("Retry-After", "5"), ("Content-Type", "text/plain")], b"body\r\n\r\nx")
    assert mod.split(data) == ("serverkeygen", 202, [("Retry-After", "5"), ("Content-Type", "text/plain")],
                               b"body\r\n\r\nx")
    assert mod.split(b"") == ("cacerts", 200, [], b"")


# ------------------------------------------------------------------ findings (fuzz/findings/README.md): regressions

# F1 (fixed in b79170a): strict decoding took a constructed ANY value without parsing its contents; schema-less DER
# refused the same bytes and ber=True refused or rewrote them


def _refused(fn, *args, **kwargs) -> bool:
    try:
        fn(*args, **kwargs)
    except DecodeError:
        return True
    return False


@pytest.mark.parametrize("finding", ["F1-any-constructed-name.bin", "F1-any-sequence-null-name.bin"])
def test_f1_strict_name_refuses_malformed_constructed_attribute_value(finding):
    from estcodec.x509 import Name

    data = (FINDINGS / finding).read_bytes()
    assert _refused(der.parse, data)  # schema-less strict DER refuses it (this part holds today)
    assert _refused(Name.from_der, data), "the model accepts what schema-less DER refuses"


def test_f1_certs_only_certificates_re_decode():
    from estcodec.cms import parse_certs_only
    from estcodec.x509 import Certificate

    data = (FINDINGS / "F1-certs-only-message.bin").read_bytes()
    if _refused(parse_certs_only, data):
        return  # refusing the message is a fix
    for c in parse_certs_only(data):  # or every certificate it gives back decodes again, in both modes
        Certificate.from_der(c.to_der(), ber=True)


def test_f1_strict_acceptance_implies_ber_acceptance():
    from estcodec.x509 import Name

    data = (FINDINGS / "F1-any-constructed-name.bin").read_bytes()
    assert _refused(Name.from_der, data) or not _refused(Name.from_der, data, ber=True)


def test_unparsable_certificate_name_value_is_a_counted_design_hit_only_where_validate_names_raises():
    # custom/name_attribute_unsupported_tag.pem: strict from_der reads it (the [APPLICATION 9] value whose contents
    # are not TLVs is kept raw, refused when read); schema-less DER refuses it at that value (byte 40).
    x509 = harness("x509")
    data = x509._name_value_seeds().get("name_attribute_unsupported_tag")
    if data is None:
        pytest.skip("cryptography_vectors without custom/name_attribute_unsupported_tag.pem")
    before = _models.design_hits.get(_models.CERT_NAME_DESIGN, 0)
    x509.check_one(data)
    assert _models.design_hits[_models.CERT_NAME_DESIGN] == before + 1
    assert _models._in_certificate_name(data, 40)           # in the issuer, and validate_names() raises
    assert not _models._in_certificate_name(data, 100)      # in the subject public key info
    clean = data.replace(bytes.fromhex("690450794341"), bytes.fromhex("0c0450794341"))   # a UTF8String "PyCA"
    assert not _models._in_certificate_name(clean, 40)      # validate_names() passes: no excuse there
    assert not _models._in_certificate_name(data[:60], 40)  # no certificate from_der accepts


# F2 (fixed in b79170a): str.isdigit() is True for '²' and other non-ASCII digits, and int() refuses more than 4300
# digits: ValueError escaped the response parsers


@pytest.mark.parametrize("finding", ["F2-retry-after-superscript.bin", "F2-retry-after-5000-digits.bin"])
def test_f2_retry_after_never_raises_foreign_errors(finding):
    # (the protocol harness counts F2 instead of raising it; the parser is called directly here)
    from estclient import protocol as P
    from estclient.errors import EstError

    _, status, headers, body = harness("protocol").split((FINDINGS / finding).read_bytes())
    assert status == 202
    try:
        result = P.parse_enroll_response(P.EstResponse(status, headers, body))
    except EstError:
        return
    assert result.retry_after is None


# F4 (fixed in b79170a): Name.rfc4514_string put a non-string attribute value through bytes(value): INTEGER 5
# printed as '#0000000000', INTEGER 2**31-1 allocated 2 GiB, a larger one raised OverflowError, NULL TypeError


def test_f4_rfc4514_of_an_integer_value_is_its_der_in_hex():
    from estcodec.x509 import Name

    # RFC 4514 §2.4: a value that is not a string is '#' followed by the hex of its BER (here DER) encoding
    assert Name.from_der((FINDINGS / "F4-name-integer-value.bin").read_bytes()).rfc4514_string() == "CN=#020105"


def test_f4_rfc4514_of_a_null_value():
    from estcodec.x509 import Name

    assert Name.from_der((FINDINGS / "F4-name-null-value.bin").read_bytes()).rfc4514_string() == "CN=#0500"


def test_f4_rfc4514_of_the_atheris_certificate():
    from estcodec.x509 import Certificate

    try:  # (it also holds a tag-0 value: since the F1b fix it is refused, which is fine too)
        cert = Certificate.from_der((FINDINGS / "F4-certificate-from-atheris.bin").read_bytes())
    except DecodeError:
        return
    assert isinstance(cert.subject.rfc4514_string(), str) and isinstance(cert.issuer.rfc4514_string(), str)


def test_f4_rfc4514_does_not_allocate_by_the_value():
    import tracemalloc

    from estcodec.x509 import Name

    # INTEGER 0x00ffffff in a 14-byte Name: today bytes(16777215) allocates 16 MiB (2**31-1 would take 2 GiB,
    # fuzz/findings/F4-name-integer-2gib.bin; not run here)
    data = bytes.fromhex("300f310d300b0603550403020400ffffff")
    name = Name.from_der(data)
    tracemalloc.start()
    try:
        name.rfc4514_string()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes for a 17-byte input"


# F1b (fixed in b79170a): a primitive SEQUENCE/SET (tag 0x10/0x11) or a universal tag 0 (end-of-contents) element
# as an ANY value

@pytest.mark.parametrize("finding, model", [
    ("F1b-primitive-set-name.bin", "Name"), ("F1b-eoc-tag-name.bin", "Name"),
    ("F1b-certificate-eoc-tag.bin", "Certificate"), ("F1b-csr-primitive-set.bin", "CertificationRequest"),
])
def test_f1b_strict_any_refuses_what_schema_less_der_refuses(finding, model):
    from estcodec.pkcs10 import CertificationRequest
    from estcodec.x509 import Certificate, Name

    cls = {"Name": Name, "Certificate": Certificate, "CertificationRequest": CertificationRequest}[model]
    data = (FINDINGS / finding).read_bytes()
    assert _refused(der.parse, data)
    assert _refused(cls.from_der, data), f"{model} accepts what schema-less DER refuses"


def test_f4_repr_of_an_enveloped_data_whose_recipient_name_holds_an_integer():
    # F4 also broke repr() of any model holding such a Name (here a KeyTransRecipientInfo's issuer); from atheris
    from estcodec.enveloped import parse_enveloped_data

    env = parse_enveloped_data((FINDINGS / "F4-enveloped-repr-from-atheris.bin").read_bytes())
    assert isinstance(repr(env), str)


# F8 (found by fuzz_ocsp, fixed here): OCSPResponse.from_der(ber=True) decoded the BasicOCSPResponse inside
# responseBytes in place, BER forms and all (the schema-less normalisation does not look inside an OCTET STRING):
# the response and its `basic` re-encoded with a BOOLEAN TRUE of 0xFB, not DER, and `basic.to_der()` differed from
# what BasicOCSPResponse.from_der(..., ber=True) gives for the same bytes


def test_f8_ocsp_response_read_with_ber_re_encodes_its_contained_response_as_der():
    from estcodec.ocsp import BasicOCSPResponse, OCSPResponse

    data = (FINDINGS / "F8-ocsp-contained-ber-boolean.bin").read_bytes()
    assert _refused(OCSPResponse.from_der, data)  # a BOOLEAN TRUE of 0xFB inside responseBytes
    resp = OCSPResponse.from_der(data, ber=True)
    inner = resp.response_bytes.response
    assert b"\x01\x01\xfb" not in resp.to_der() and b"\x01\x01\xfb" not in inner
    strict = OCSPResponse.from_der(resp.to_der())  # the DER form reads strictly
    assert strict.basic.to_der() == resp.basic.to_der() == inner
    alone = BasicOCSPResponse.from_der(_contained_bytes(data), ber=True)
    assert alone.to_der() == resp.basic.to_der()
    assert resp.basic.tbs_der == strict.basic.tbs_der
    harness("ocsp").check_one(data)


def _contained_bytes(data: bytes) -> bytes:
    """The content octets of responseBytes.response (the OCTET STRING) of an OCSPResponse, as given."""
    tree = der.parse(data, ber=True)
    return tree[1][0][1].value


def test_f8_der_ocsp_response_keeps_its_bytes_with_ber():
    from estcodec.ocsp import OCSPResponse

    for data in _models.committed_seeds("ocsp").values():
        try:
            strict = OCSPResponse.from_der(data)
        except DecodeError:
            continue
        lenient = OCSPResponse.from_der(data, ber=True)
        assert lenient.to_der() == data
        if strict.basic is not None:
            assert lenient.basic.to_der() == strict.basic.to_der()


def test_f8_contained_value_the_schema_less_pass_refuses_keeps_its_in_place_reading():
    # (found by fuzz_ocsp against the first F8 fix) a DER response whose embedded certificate holds a raw value
    # with a malformed time: the schema decode takes it (value-level checks wait until the value is read as its
    # type), the schema-less normalisation refuses it; ber=True must still accept what strict DER accepts
    from estcodec.ocsp import OCSPResponse

    data = (FINDINGS / "F8-ocsp-contained-raw-time.bin").read_bytes()
    strict = OCSPResponse.from_der(data)
    assert _refused(der.parse, _contained_bytes(data))  # (der.parse of the whole does not look inside it)
    assert OCSPResponse.from_der(data, ber=True).to_der() == strict.to_der() == data
    harness("ocsp").check_one(data)
