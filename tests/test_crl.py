"""estcodec.crl against cryptography: every CRL of cryptography_vectors (x509/custom, PKITS) that cryptography
reads is read here with equal values; lookups, iteration, signatures, the builder, and bad input."""
import datetime as dt
import os
import tracemalloc
import warnings
from pathlib import Path

import cryptography_vectors
import pytest
from cryptography import x509 as cx
from cryptography.hazmat.primitives.asymmetric import ec

from estcodec import DecodeError, pem
from estcodec._sigalgs import SignatureError
from estcodec.crl import CertificateList, CertificateListBuilder, CRLReason, RevokedCertificate, _CertificateListModel, oid
from estcodec.x509 import Name

VECTORS = Path(os.path.dirname(cryptography_vectors.__file__)) / "x509"
UTC = dt.timezone.utc


def _crl_files():
    out = []
    for path in sorted(VECTORS.rglob("*")):
        if not path.is_file() or "crl" not in path.name.lower() or path.suffix in (".p12", ".crt"):
            continue
        data = path.read_bytes()
        rel = str(path.relative_to(VECTORS))
        if b"-----BEGIN" in data:
            out += [(f"{rel}#{i}", der) for i, (label, der) in enumerate(pem.decode(data)) if "CRL" in label]
        else:
            out.append((rel, data))
    return out


CRLS = _crl_files()

# Read by cryptography, refused here: none. (Read here, refused by cryptography: crl_inner_outer_mismatch.der,
# whose two signature algorithm fields differ; verify() refuses it.)
_REASONS = {f.name: getattr(CRLReason, f.name.upper(), None) for f in cx.ReasonFlags}


def _their_reason(entry):
    try:
        ext = entry.extensions.get_extension_for_class(cx.CRLReason)
    except cx.ExtensionNotFound:
        return None
    return _REASONS[ext.value.reason.name]


def test_corpus_is_large():
    assert len(CRLS) > 190


def test_every_crl_cryptography_reads_is_read_with_equal_values():
    matched = entries = 0
    refused = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, der in CRLS:
            try:
                theirs = cx.load_der_x509_crl(der)
            except Exception:  # noqa: BLE001 - ValueError, InvalidVersion: out of the comparison
                continue
            try:
                ours = CertificateList.from_der(der)
            except DecodeError as err:
                refused[name] = err.reason
                continue
            assert ours.to_der() == der
            assert ours.tbs_der == theirs.tbs_certlist_bytes, name
            assert ours.signature == theirs.signature, name
            assert ours.signature_algorithm_oid == theirs.signature_algorithm_oid.dotted_string, name
            assert ours.issuer.to_der() == theirs.issuer.public_bytes(), name
            assert ours.this_update == theirs.last_update_utc, name
            assert ours.next_update == theirs.next_update_utc, name
            try:
                their_exts = [(e.oid.dotted_string, e.critical) for e in theirs.extensions]
            except Exception:  # noqa: BLE001 - cryptography refuses them when read
                their_exts = None
            if their_exts is not None:
                assert [(e.oid, e.critical) for e in ours.extensions] == their_exts, name
                number = [e.value.crl_number for e in theirs.extensions if isinstance(e.value, cx.CRLNumber)]
                assert ours.crl_number == (number[0] if number else None), name
            assert len(ours) == len(theirs), name
            for mine, their in zip(ours, theirs):
                assert isinstance(mine, RevokedCertificate)
                assert mine.serial_number == their.serial_number, name
                assert mine.revocation_date == their.revocation_date_utc, name
                try:
                    their_entry_exts = [(e.oid.dotted_string, e.critical) for e in their.extensions]
                    reason = _their_reason(their)
                except Exception:  # noqa: BLE001 - ValueError, DuplicateExtension: cryptography refuses it
                    continue
                assert [(e.oid, e.critical) for e in mine.extensions] == their_entry_exts, name
                assert mine.reason == reason, name
                entries += 1
            # Lookups agree with cryptography's for every serial (the first entry where one is listed twice).
            for their in list(theirs)[:50]:
                if their.serial_number < 0:  # cryptography's lookup refuses negative serials
                    continue
                found = ours.get_revoked(their.serial_number)
                assert found is not None and found.serial_number == their.serial_number
                first = theirs.get_revoked_certificate_by_serial_number(their.serial_number)
                assert found.revocation_date == first.revocation_date_utc
            assert ours.get_revoked(-123456789) is None
            matched += 1
    assert refused == {}
    assert matched > 190 and entries > 9000, (matched, entries)


def test_crl_that_cryptography_refuses_for_its_two_algorithm_fields_is_refused_by_verify():
    der = (VECTORS / "custom/crl_inner_outer_mismatch.der").read_bytes()
    with pytest.raises(ValueError):
        cx.load_der_x509_crl(der)
    crl = CertificateList.from_der(der)
    assert crl.tbs_signature_algorithm != crl.signature_algorithm
    with pytest.raises(SignatureError):
        crl.verify(ec.generate_private_key(ec.SECP256R1()).public_key())


def test_signatures_agree_with_cryptography():
    """custom/valid|invalid_signature_crl.pem and every PKITS CRL checked with the key of the CA certificate of
    the same name: our verify() agrees with cryptography's is_signature_valid()."""
    pairs = [(VECTORS / "custom/valid_signature_crl.pem", VECTORS / "custom/valid_signature_cert.pem"),
             (VECTORS / "custom/invalid_signature_crl.pem", VECTORS / "custom/invalid_signature_cert.pem")]
    for crl_path in sorted((VECTORS / "PKITS_data/crls").glob("*CRL.crl")):
        cert_path = VECTORS / "PKITS_data/certs" / crl_path.name.replace("CRL.crl", "Cert.crt")
        if cert_path.exists():
            pairs.append((crl_path, cert_path))
    seen = {True: 0, False: 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for crl_path, cert_path in pairs:
            data, cert_data = crl_path.read_bytes(), cert_path.read_bytes()
            der = pem.load_any(data) if data.startswith(b"-----") else data
            cert_der = pem.load_any(cert_data) if cert_data.startswith(b"-----") else cert_data
            theirs = cx.load_der_x509_crl(der)
            try:
                key = cx.load_der_x509_certificate(cert_der).public_key()
            except ValueError:  # a DSA key whose parameters are inherited from its issuer
                continue
            want = theirs.is_signature_valid(key)
            if "DSA" in crl_path.name and not want:
                # cryptography does not check DSA signatures on CRLs (always False); PKITS says these are good.
                assert CertificateList.from_der(der).is_signature_valid(key) == ("Invalid" not in crl_path.name)
                continue
            assert CertificateList.from_der(der).is_signature_valid(key) == want, crl_path.name
            seen[want] += 1
    assert seen[True] > 20 and seen[False] >= 2, seen


def _key_and_name():
    key = ec.generate_private_key(ec.SECP256R1())
    return key, Name.build([("2.5.4.3", "Test CRL CA")])


def test_builder_output_reads_in_cryptography_with_equal_values():
    key, name = _key_and_name()
    now = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    b = (CertificateListBuilder().issuer(name).this_update(now).next_update(now + dt.timedelta(days=7))
         .crl_number(77).authority_key_identifier(b"\x01" * 20))
    serials = [1, 127, 128, 255, 256, 2**64, 2**159 - 1, 10**30]
    for i, s in enumerate(serials):
        b.add_revoked(s, now - dt.timedelta(days=i), reason=CRLReason.KEY_COMPROMISE if i % 2 else None,
                      invalidity_date=now - dt.timedelta(days=30) if i == 3 else None)
    # UTCTime of the last century, GeneralizedTime from 2050 (RFC 5280 §5.1.2.4)
    b.add_revoked(3, dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC))
    b.add_revoked(4, dt.datetime(2050, 1, 1, 0, 0, 1, tzinfo=UTC))
    serials += [3, 4]
    crl = b.sign(key)
    assert [r.revocation_date.year for r in crl][-2:] == [1999, 2050]
    theirs = cx.load_der_x509_crl(crl.to_der())
    assert theirs.is_signature_valid(key.public_key())
    crl.verify(key.public_key())
    assert theirs.extensions.get_extension_for_class(cx.CRLNumber).value.crl_number == 77 == crl.crl_number
    assert crl.authority_key_identifier == b"\x01" * 20
    assert [r.serial_number for r in theirs] == serials == [r.serial_number for r in crl]
    for s in serials:
        assert crl.get_revoked(s).revocation_date == theirs.get_revoked_certificate_by_serial_number(s) \
            .revocation_date_utc
    assert crl.get_revoked(127).reason == CRLReason.KEY_COMPROMISE
    assert crl.get_revoked(1).reason is None
    assert crl.get_revoked(255).invalidity_date == now - dt.timedelta(days=30)
    assert crl.to_model().tbs_cert_list.revoked_certificates[2].user_certificate == 128
    # a different key does not verify
    other, _ = _key_and_name()
    assert not crl.is_signature_valid(other.public_key())


def _large_crl(n: int) -> bytes:
    key, name = _key_and_name()
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    b = CertificateListBuilder().issuer(name).this_update(now)
    for i in range(n):
        b.add_revoked(1000 + 7 * i, now, reason=CRLReason.SUPERSEDED if i % 3 == 0 else None)
    b.add_revoked(1000, now + dt.timedelta(seconds=1))  # a duplicate serial: lookups give the first entry
    return b.sign(key).to_der()


def test_lookups_scan_then_bisect_and_agree():
    der = _large_crl(3000)
    crl = CertificateList.from_der(der)
    assert len(crl) == 3001
    # The first lookups scan, later ones bisect a sorted index: both must give the same answers.
    probes = [1000, 1007, 1000 + 7 * 2999, 999, 1001, 0, -1, 2**70, 1000 + 7 * 1500]
    first = [crl.get_revoked(s) for s in probes]
    again = [crl.get_revoked(s) for s in probes]
    assert [None if r is None else r.serial_number for r in first] == \
        [1000, 1007, 1000 + 7 * 2999, None, None, None, None, None, 1000 + 7 * 1500]
    assert [None if r is None else r.to_der() for r in first] == [None if r is None else r.to_der() for r in again]
    assert crl.get_revoked(1000).revocation_date == dt.datetime(2026, 1, 1, tzinfo=UTC)
    # Entries made by the iterator are the instances the schema engine makes from the same bytes.
    model = crl.to_model().tbs_cert_list.revoked_certificates
    mine = list(crl)
    assert len(mine) == len(model) == 3001
    for a, b in zip(mine, model):
        assert (a.to_der(), a.serial_number, a.revocation_date, a.extensions, a.reason) == \
            (b.to_der(), b.serial_number, b.revocation_date, b.extensions, b.reason)
    assert all(crl.is_revoked(1000 + 7 * i) for i in range(0, 3000, 13))


def test_parsing_builds_no_object_per_entry():
    der = _large_crl(20000)
    tracemalloc.start()
    try:
        crl = CertificateList.from_der(der)
        _, peak = tracemalloc.get_traced_memory()
        assert len(crl) == 20001
        assert peak < len(der) // 4, (peak, len(der))   # no per-entry objects (the input itself is not copied)
        tracemalloc.reset_peak()
        n = sum(1 for _ in crl)
        assert n == 20001
        _, peak = tracemalloc.get_traced_memory()
        assert peak < len(der) // 4, (peak, len(der))   # one entry at a time
    finally:
        tracemalloc.stop()


def _corrupt(der: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new) and old in der
    return der.replace(old, new, 1)


def test_bad_entries_name_offset_and_path():
    key, name = _key_and_name()
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    der = (CertificateListBuilder().issuer(name).this_update(now).add_revoked(0x1234, now).add_revoked(0x5678, now)
           .sign(key).to_der())
    # a non-minimal INTEGER serial in the second entry
    bad = _corrupt(der, b"\x02\x02\x56\x78", b"\x02\x02\x00\x78")
    with pytest.raises(DecodeError) as info:
        CertificateList.from_der(bad)
    assert info.value.reason == "non-minimal-integer"
    assert info.value.path == "$.tbs_cert_list.revoked_certificates[1].user_certificate"
    assert info.value.offset == bad.index(b"\x02\x02\x00\x78")
    # an invalid revocation date (month 13)
    stamp = b"\x17\x0d260101000000Z"
    i = der.index(stamp, der.index(b"\x02\x02\x56\x78"))
    bad = der[:i] + b"\x17\x0d261301000000Z" + der[i + len(stamp):]
    with pytest.raises(DecodeError) as info:
        CertificateList.from_der(bad)
    assert info.value.path == "$.tbs_cert_list.revoked_certificates[1].revocation_date"
    assert info.value.offset == i


def test_every_truncation_and_byte_flip_ends_in_decode_error():
    der = (VECTORS / "custom/crl_all_reasons.pem").read_bytes()
    der = pem.load_any(der)
    for n in range(len(der)):
        with pytest.raises(DecodeError):
            CertificateList.from_der(der[:n])
    for i in range(0, len(der), 3):
        flipped = der[:i] + bytes([der[i] ^ 0xFF]) + der[i + 1:]
        try:
            crl = CertificateList.from_der(flipped)
        except DecodeError:
            continue
        for entry in crl:  # what decodes reads through without foreign errors
            try:
                entry.reason, entry.invalidity_date
            except DecodeError:
                pass
        crl.get_revoked(1)


def test_pem_round_trip_and_entry_extension_values():
    data = (VECTORS / "custom/crl_all_reasons.pem").read_bytes()
    crl = CertificateList.from_pem(data)
    assert CertificateList.from_pem(crl.to_pem()).to_der() == crl.to_der()
    reasons = [r.reason for r in crl]
    assert CRLReason.KEY_COMPROMISE in reasons and CRLReason.REMOVE_FROM_CRL in reasons
    with pytest.raises(DecodeError):
        CertificateList.from_pem("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")


def test_malformed_entry_extension_value_raises_on_read():
    """crl_inval_cert_issuer_entry_ext.pem: cryptography refuses the entry's certificateIssuer when read; so do we,
    with a path, while the CRL and the other fields read."""
    crl = CertificateList.from_pem((VECTORS / "custom/crl_inval_cert_issuer_entry_ext.pem").read_bytes())
    entry = next(iter(crl))
    assert entry.serial_number >= 0
    with pytest.raises(DecodeError) as info:
        entry.certificate_issuer
    assert info.value.path.startswith(".crl_entry_extensions[") or info.value.path.startswith("$.crl_entry_extensions[")
    assert oid.CERTIFICATE_ISSUER in [e.oid for e in entry.extensions]


def test_public_names_exist():
    import estcodec.crl
    import estcodec.ocsp

    for mod in (estcodec.crl, estcodec.ocsp):
        for name in mod.__all__:
            assert hasattr(mod, name), (mod.__name__, name)


def test_mutations_agree_with_the_schema_engine():
    """Random byte changes to a small CRL (seeded, 3000 of them): CertificateList.from_der accepts exactly what the
    schema engine's plain model accepts, and what it accepts reads (entries, lookups) as the engine reads it."""
    import random

    key, name = _key_and_name()
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    b = CertificateListBuilder().issuer(name).this_update(now).next_update(now + dt.timedelta(days=1)).crl_number(5)
    for i in range(6):
        b.add_revoked(0x7F00 + i * 0x41, now - dt.timedelta(days=i), reason=CRLReason(i % 3))
    der = b.sign(key).to_der()
    rng = random.Random(1515)
    accepted = 0
    for _ in range(3000):
        data = bytearray(der)
        for _ in range(rng.choice((1, 1, 2))):
            data[rng.randrange(len(data))] = rng.randrange(256)
        data = bytes(data)
        try:
            ref = _CertificateListModel.from_der(data)
        except DecodeError:
            ref = None
        try:
            crl = CertificateList.from_der(data)
        except DecodeError:
            assert ref is None or ref.tbs_cert_list.version not in (None, 1)
            continue
        assert ref is not None, data.hex()
        accepted += 1
        entries = ref.tbs_cert_list.revoked_certificates or []
        mine = list(crl)
        assert [e.to_der() for e in mine] == [e.to_der() for e in entries]
        assert [(e.serial_number, e.revocation_date) for e in mine] == \
            [(e.serial_number, e.revocation_date) for e in entries]
        for e in entries:
            assert crl.get_revoked(e.serial_number) is not None
    assert accepted > 100
