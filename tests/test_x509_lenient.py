"""Strict structure, values checked when read: a certificate with one malformed extension value is read by
``Certificate.from_der`` (as cryptography and OpenSSL read it); reading that value raises DecodeError with the
offset in the certificate's bytes and a path; ``validate_extensions()`` refuses the certificate as a whole."""
import os
import warnings
from pathlib import Path

import cryptography_vectors
import pytest
from cryptography import x509 as cx

from estcodec import DecodeError, pem
from estcodec._der import tlv_children
from estcodec.schema import (
    BitString, Boolean, Integer, ObjectIdentifier, OctetString, Sequence, SequenceOf, encode, field,
)
from estcodec.x509 import (
    EXTENSION_TYPES, AlgorithmIdentifier, Certificate, Extension, Name, SubjectPublicKeyInfo, Validity, oid,
)

from test_x509 import CERTS, MALFORMED_NAMES, STRICT_REFUSALS

VECTORS = Path(os.path.dirname(cryptography_vectors.__file__)) / "x509"

# The certificates issue 15 names: which extension is malformed, the reason slug, the path inside the value and
# the byte offset of the faulty element in the certificate.
MALFORMED = {
    "custom/alternate-rsa-sha1-oid.der": (oid.KEY_USAGE, 1, "invalid-bit-string", "", 305),
    "custom/empty-eku.pem": (oid.EXTENDED_KEY_USAGE, 3, "invalid-value", "", 314),
    "utf8-dnsname.pem": (oid.SUBJECT_ALT_NAME, 8, "invalid-string", "[3].dns_name", 1469),
    "custom/malformed-san.pem": (oid.SUBJECT_ALT_NAME, 0, "unexpected-tag", "[0].other_name.value", 259),
    "custom/malformed-ian.pem": (oid.ISSUER_ALT_NAME, 0, "unexpected-tag", "[0].other_name.value", 259),
}

# Extension values cryptography reads and strict DER refuses when read (cryptography tolerates these two).
VALUE_REFUSALS = {
    ("custom/alternate-rsa-sha1-oid.der", oid.KEY_USAGE),    # trailing zero bits (X.690 11.2.2)
    ("utf8-dnsname.pem#0", oid.SUBJECT_ALT_NAME),           # UTF-8 bytes in an IA5String dNSName
}


def _load(name: str) -> bytes:
    data = (VECTORS / name).read_bytes()
    return pem.load_any(data) if data.startswith(b"-----") else data


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_extension_value_reads_and_raises_on_access(name):
    der = _load(name)
    ext_oid, index, reason, inner, offset = MALFORMED[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = cx.load_der_x509_certificate(der)
    cert = Certificate.from_der(der)
    assert cert.serial_number == theirs.serial_number
    assert cert.tbs_der == theirs.tbs_certificate_bytes
    assert cert.subject.to_der() == theirs.subject.public_bytes()
    ext = cert.extensions[index]
    assert ext.oid == ext_oid
    assert ext.value in theirs.tbs_certificate_bytes  # the raw bytes stay readable
    # Direct read: offset in the certificate, path relative to the value.
    with pytest.raises(DecodeError) as info:
        ext.parsed
    assert (info.value.reason, info.value.offset, info.value.path) == (reason, offset, "$" + inner)
    assert der.find(ext.value) <= info.value.offset < der.find(ext.value) + len(ext.value)
    # Every read raises again (nothing half-built is kept).
    with pytest.raises(DecodeError):
        ext.parsed
    # validate_extensions() and the accessors give the full path.
    full = f"$.tbs_certificate.extensions[{index}].extn_value{inner}"
    with pytest.raises(DecodeError) as info:
        cert.validate_extensions()
    assert (info.value.reason, info.value.offset, info.value.path) == (reason, offset, full)
    assert str(info.value).endswith(f"at {full} (byte {offset})")
    # The other extensions of the same certificate read normally.
    others = [e.parsed for i, e in enumerate(cert.extensions) if i != index]
    assert len(others) == len(cert.extensions) - 1


def test_accessors_raise_with_the_full_path():
    cert = Certificate.from_der(_load("custom/alternate-rsa-sha1-oid.der"))
    with pytest.raises(DecodeError) as info:
        cert.key_usage
    assert info.value.path == "$.tbs_certificate.extensions[1].extn_value"
    cert = Certificate.from_der(_load("custom/empty-eku.pem"))
    with pytest.raises(DecodeError) as info:
        cert.extended_key_usage
    assert info.value.path == "$.tbs_certificate.extensions[3].extn_value"
    cert = Certificate.from_der(_load("utf8-dnsname.pem"))
    with pytest.raises(DecodeError) as info:
        cert.subject_alt_names
    assert info.value.path == "$.tbs_certificate.extensions[8].extn_value[3].dns_name"
    assert cert.basic_constraints is None or cert.basic_constraints.ca in (True, False)


def _crypto_value(ext):
    """The values both libraries expose, from a cryptography extension value (None: not compared)."""
    v = ext.value
    if isinstance(v, cx.KeyUsage):
        names = {"digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                 "key_agreement", "key_cert_sign", "crl_sign"}
        out = {n for n in names if getattr(v, n)}
        if v.key_agreement:
            out |= {n for n in ("encipher_only", "decipher_only") if getattr(v, n)}
        return frozenset(out)
    if isinstance(v, cx.BasicConstraints):
        return (v.ca, v.path_length)
    if isinstance(v, cx.SubjectKeyIdentifier):
        return v.digest
    if isinstance(v, cx.AuthorityKeyIdentifier):
        return (v.key_identifier, v.authority_cert_serial_number)
    if isinstance(v, cx.ExtendedKeyUsage):
        return [u.dotted_string for u in v]
    if isinstance(v, (cx.SubjectAlternativeName, cx.IssuerAlternativeName)):
        return [n.value for n in v if isinstance(n, cx.DNSName)]
    return None


def _our_value(ext_oid, v):
    if ext_oid == oid.KEY_USAGE:
        return v
    if ext_oid == oid.BASIC_CONSTRAINTS:
        return (v.ca, v.path_len_constraint)
    if ext_oid == oid.SUBJECT_KEY_IDENTIFIER:
        return v
    if ext_oid == oid.AUTHORITY_KEY_IDENTIFIER:
        return (v.key_identifier, v.authority_cert_serial_number)
    if ext_oid == oid.EXTENDED_KEY_USAGE:
        return list(v)
    return [g.value for g in v if g.name == "dns_name"]


def test_every_certificate_cryptography_loads_is_read_with_equal_extension_values():
    """cryptography_vectors x509/ (custom/, PKITS) and certifi: whatever cryptography loads, from_der reads
    (apart from the malformed name of test_x509.STRICT_REFUSALS; those of MALFORMED_NAMES with validate_names()); every extension value cryptography reads
    is read here with equal values, apart from VALUE_REFUSALS; validate_extensions() passes exactly where
    every value reads."""
    read = compared = 0
    refused_values = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, der in CERTS:
            try:
                theirs = cx.load_der_x509_certificate(der)
            except Exception:  # noqa: BLE001 - what cryptography refuses is out of this comparison
                continue
            if name.split("#")[0] in STRICT_REFUSALS:
                with pytest.raises(DecodeError):
                    Certificate.from_der(der)
                continue
            if name.split("#")[0] in MALFORMED_NAMES:
                with pytest.raises(DecodeError):
                    Certificate.from_der(der).validate_names()
                continue
            ours = Certificate.from_der(der)
            read += 1
            try:
                their_exts = list(theirs.extensions)
            except Exception:  # noqa: BLE001 - cryptography refuses one of them when read
                their_exts = None
            all_ok = True
            for i, ext in enumerate(ours.extensions):
                try:
                    value = ext.parsed
                except DecodeError as err:
                    all_ok = False
                    assert err.offset > 0 and err.path.startswith("$"), name
                    if their_exts is not None:
                        refused_values.add((name, ext.oid))
                    continue
                if their_exts is None or ext.oid not in EXTENSION_TYPES:
                    continue
                want = _crypto_value(their_exts[i])
                if want is not None:
                    assert _our_value(ext.oid, value) == want, (name, ext.oid)
                    compared += 1
            if all_ok:
                assert ours.validate_extensions() is ours
            else:
                with pytest.raises(DecodeError):
                    ours.validate_extensions()
    assert refused_values == VALUE_REFUSALS
    assert read > 600 and compared > 1500, (read, compared)


def test_parsed_value_is_kept_after_the_first_read():
    cert = Certificate.from_der(_load("utf8-dnsname.pem"))
    bc = cert.extension(oid.BASIC_CONSTRAINTS)
    assert bc is not None
    assert bc.parsed is bc.parsed
    assert bc.extn_value == bc.value  # reading the raw value before or after does not disturb the parsed one
    assert bc.parsed.ca is False


def test_built_extension_parses_its_own_bytes():
    ext = Extension.build(oid.BASIC_CONSTRAINTS, b"\x30\x03\x01\x01\xff")
    assert ext.parsed.ca is True
    bad = Extension(extn_id=oid.KEY_USAGE, extn_value=b"\x03\x02\x00\x00")  # named bits with a trailing zero
    with pytest.raises(DecodeError) as info:
        bad.parsed
    assert info.value.reason == "invalid-bit-string"
    unknown = Extension(extn_id="1.2.3.4", extn_value=b"\x05\x00")
    assert unknown.parsed == b"\x05\x00"


def _tlv(identifier: int, content: bytes) -> bytes:
    n = len(content)
    length = bytes([n]) if n < 128 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([identifier]) + length + content


def _with_first_extension(der: bytes, new_ext: bytes) -> bytes:
    """The certificate with its first extension's TLV replaced by ``new_ext`` (test-only re-assembly)."""
    cert = tlv_children(der, 0, len(der))[0]
    tbs, alg, sig = tlv_children(der, cert[4], cert[5])
    parts = tlv_children(der, tbs[4], tbs[5])
    exts_wrapper = parts[-1]
    assert (exts_wrapper[0], exts_wrapper[2]) == (2, 3)
    exts = tlv_children(der, exts_wrapper[4], exts_wrapper[5])[0]
    items = [der[c[3]:c[5]] for c in tlv_children(der, exts[4], exts[5])]
    items[0] = new_ext
    new_tbs = b"".join(der[c[3]:c[5]] for c in parts[:-1]) + _tlv(0xA3, _tlv(0x30, b"".join(items)))
    return _tlv(0x30, _tlv(0x30, new_tbs) + der[alg[3]:alg[5]] + der[sig[3]:sig[5]])


def test_the_extension_structure_stays_strict():
    der = _load("custom/empty-eku.pem")
    cert = Certificate.from_der(der)
    ext = cert.extensions[0]
    assert not ext.critical
    # critical encoded although it equals its DEFAULT (FALSE): a structural fault, refused by from_der.
    inner = encode(ObjectIdentifier, ext.oid) + b"\x01\x01\x00" + encode(OctetString, ext.value)
    bad = bytes([0x30, len(inner)]) + inner
    with pytest.raises(DecodeError) as info:
        Certificate.from_der(_with_first_extension(der, bad))
    assert info.value.reason == "default-encoded"
    assert info.value.path == "$.tbs_certificate.extensions[0].critical"
    # extnValue as a constructed element: refused by from_der too.
    inner = encode(ObjectIdentifier, ext.oid) + b"\x24\x00"
    bad = bytes([0x30, len(inner)]) + inner
    with pytest.raises(DecodeError) as info:
        Certificate.from_der(_with_first_extension(der, bad))
    assert info.value.path.startswith("$.tbs_certificate.extensions[0].extn_value")


class _EagerExtension(Sequence):
    """Extension as estcodec declared it before values were checked lazily: the value decoded with the
    certificate ("OCTET STRING CONTAINING")."""

    extn_id: ObjectIdentifier
    critical: Boolean = field(default=False)
    extn_value: OctetString = field(defined_by="extn_id", registry=EXTENSION_TYPES, contains=True)


class _EagerTBS(Sequence):
    version: Integer = field(explicit=0, default=0)
    serial_number: Integer
    signature: AlgorithmIdentifier
    issuer: Name
    validity: Validity
    subject: Name
    subject_public_key_info: SubjectPublicKeyInfo
    issuer_unique_id: BitString = field(implicit=1, optional=True)
    subject_unique_id: BitString = field(implicit=2, optional=True)
    extensions: SequenceOf(_EagerExtension, min_size=1) = field(explicit=3, optional=True)


class _EagerCertificate(Sequence):
    tbs_certificate: _EagerTBS
    signature_algorithm: AlgorithmIdentifier
    signature_value: BitString


def test_validate_extensions_accepts_exactly_what_eager_decoding_accepted():
    """Seeded byte changes inside the extensions of the certifi roots: from_der(...).validate_extensions() succeeds
    exactly where the former eager declaration decodes, and fails (nearly always) with the same reason, offset and
    path."""
    import random

    import certifi

    roots = [der for _, der in pem.decode(Path(certifi.where()).read_text())]
    rng = random.Random(15)
    agree_ok = agree_bad = same = 0
    for _ in range(4000):
        der = rng.choice(roots)
        cert = Certificate.from_der(der)
        if not cert.extensions:
            continue
        ext = rng.choice(cert.extensions)
        raw = ext.to_der()
        start = der.index(raw)
        data = bytearray(der)
        data[start + rng.randrange(len(raw))] = rng.randrange(256)
        data = bytes(data)
        try:
            _EagerCertificate.from_der(data)
            eager = None
        except DecodeError as e:
            eager = (e.reason, e.offset, e.path)
        try:
            Certificate.from_der(data).validate_extensions()
            lazy = None
        except DecodeError as e:
            lazy = (e.reason, e.offset, e.path)
        assert (lazy is None) == (eager is None), data.hex()
        if eager is None:
            agree_ok += 1
        else:
            agree_bad += 1
            # The same first error, unless the eager walk met a faulty value before a structural fault that
            # from_der (which leaves values for later) meets first.
            same += lazy == eager
    assert agree_ok > 100 and agree_bad > 1000, (agree_ok, agree_bad)
    assert same > 0.95 * agree_bad, (same, agree_bad)
