"""CsrBuilder: PKCS#10 requests for EST (RFC 2986, RFC 7030 §4.2.1, §4.4.1; RFC 7894; RFC 8951 §4; RFC 9908).

A fluent builder. It holds its private key (generated on first use, or given with :meth:`CsrBuilder.with_key`)
so that the EST client can sign the request separately for each TLS connection it is posted on
(channel binding, RFC 7030 §3.5). ``challengePassword`` is set only by that channel-binding code
(:meth:`CsrBuilder.build_for_connection`); :meth:`CsrBuilder.build` never sets it.

The key is any :class:`estcodec.signer.Signer` (a ``cryptography`` private key is wrapped in one), so a key that
never leaves its token signs requests the same way as a key in memory. Signing goes through one internal
function, :func:`_sign_request`, which builds the CertificationRequestInfo with :mod:`estcodec.pkcs10`; every
attribute value is written and every server value read by the codec, never by hand.
"""
from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable
from typing import Any, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from estcodec._sigalgs import default_hash_for_key
from estcodec import oids as _oids
from estcodec.csrattrs import CsrAttribute
from estcodec.der import parse as der_parse
from estcodec.errors import Error as EstcodecError
from estcodec.pkcs10 import CertificationRequestBuilder
from estcodec.schema import AnyValue, ObjectIdentifier, OctetString, SequenceOf, UTF8String, decode, encode
from estcodec.signer import Signer, SoftwarePrivateKey, as_signer, is_signer
from estcodec.x509 import AlgorithmIdentifier, Extension

from .errors import ConfigError
from .keys import KEY_TYPES, generate_software_key

__all__ = ["CsrBuilder", "KEY_TYPES", "OID", "DEFAULT_KEYGEN_CAPABILITIES"]


class OID:
    """Dotted OIDs of the PKCS#9 attributes, key algorithms and curves a CSR built here uses or recognises.

    Plain strings, so they compare equal to the OIDs :mod:`estcodec` decodes (``/csrattrs`` items, template
    attributes).
    """
    CHALLENGE_PASSWORD = _oids.PKCS_9_AT_CHALLENGE_PASSWORD
    EXTENSION_REQUEST = _oids.PKCS_9_AT_EXTENSION_REQUEST
    SMIME_CAPABILITIES = _oids.PKCS_9_AT_SMIME_CAPABILITIES
    OTP_CHALLENGE = _oids.ID_AA_OTP_CHALLENGE  # RFC 7894
    DECRYPT_KEY_ID = _oids.ID_AA_DECRYPT_KEY_ID  # RFC 7030 §4.4.1.1
    ASYMM_DECRYPT_KEY_ID = _oids.ID_AA_ASYMM_DECRYPT_KEY_ID  # RFC 7030 §4.4.1.2
    EC_PUBLIC_KEY = _oids.ID_EC_PUBLIC_KEY
    RSA_ENCRYPTION = _oids.RSA_ENCRYPTION
    ED25519 = _oids.ID_ED25519
    ED448 = _oids.ID_ED448
    P256 = _oids.SECP256R1
    P384 = _oids.SECP384R1
    P521 = _oids.SECP521R1


_CURVE_KEY_TYPE = {
    OID.P256: "ec-p256", OID.P384: "ec-p384", OID.P521: "ec-p521",
    _oids.BRAINPOOL_P256R1: "ec-brainpoolp256r1", _oids.BRAINPOOL_P384R1: "ec-brainpoolp384r1",
    _oids.BRAINPOOL_P512R1: "ec-brainpoolp512r1",
}
_HASH_BY_OID: dict[str, Any] = {
    # hash algorithms (RFC 7030 §4.5.2 lists them bare) and signature algorithms (RFC 9908)
    _oids.ID_SHA256: hashes.SHA256, _oids.ID_SHA384: hashes.SHA384,
    _oids.ID_SHA512: hashes.SHA512,
    _oids.ECDSA_WITH_SHA256: hashes.SHA256, _oids.ECDSA_WITH_SHA384: hashes.SHA384,
    _oids.ECDSA_WITH_SHA512: hashes.SHA512,
    _oids.SHA256_WITH_RSA_ENCRYPTION: hashes.SHA256, _oids.SHA384_WITH_RSA_ENCRYPTION: hashes.SHA384,
    _oids.SHA512_WITH_RSA_ENCRYPTION: hashes.SHA512,
}
_KEY_USAGE_FLAGS = (
    "digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
    "key_cert_sign", "crl_sign", "encipher_only", "decipher_only",
)
_EKU_NAMES = {
    "server_auth": ExtendedKeyUsageOID.SERVER_AUTH.dotted_string,
    "client_auth": ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string,
    "code_signing": ExtendedKeyUsageOID.CODE_SIGNING.dotted_string,
    "email_protection": ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string,
    "time_stamping": ExtendedKeyUsageOID.TIME_STAMPING.dotted_string,
    "ocsp_signing": ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string,
    "cmc_ra": _oids.ID_KP_CMC_RA,
}
#: SMIMECapabilities (RFC 8551 §2.5.2) sent with an encrypted server-keygen request when the caller named none
#: (RFC 7030 §4.4.1), in order of preference: content encryption, key wrap, key transport / key agreement.
#: Only algorithms ``estcodec.enveloped`` decrypts; RSA PKCS#1 v1.5 key transport is left out (RSAES-OAEP).
DEFAULT_KEYGEN_CAPABILITIES = (
    _oids.ID_AES256_CBC,  # aes256-CBC
    _oids.ID_AES128_CBC,  # aes128-CBC
    _oids.ID_AES256_WRAP,  # id-aes256-wrap
    _oids.ID_AES128_WRAP,  # id-aes128-wrap
    _oids.ID_RSAES_OAEP,  # id-RSAES-OAEP
    _oids.DH_SINGLE_PASS_STD_DH_SHA256KDF_SCHEME,  # dhSinglePass-stdDH-sha256kdf-scheme (RFC 5753)
    _oids.DH_SINGLE_PASS_STD_DH_SHA384KDF_SCHEME,  # dhSinglePass-stdDH-sha384kdf-scheme
)

# ----------------------------------------------------------------------------- DER through estcodec


def _check_oid(dotted: str) -> str:
    """``dotted`` if it is a well-formed OID (checked by the codec's writer), else :class:`ConfigError`."""
    try:
        encode(ObjectIdentifier, dotted)
    except (EstcodecError, ValueError, TypeError):
        raise ConfigError(f"not an OID: {dotted!r}") from None
    return dotted


def _template_string(value_der: bytes) -> str:
    """A DirectoryString-like value of the server's subject template (UTF8String, PrintableString, IA5String,
    BMPString, UniversalString, ...) as text, read by the codec."""
    try:
        text = decode(AnyValue, value_der)
    except EstcodecError:
        raise ConfigError("unreadable subject value in the server's template") from None
    if not isinstance(text, str):
        raise ConfigError("unreadable subject value in the server's template")
    return text


def _extensions_in(value: object) -> list[Extension]:
    """The Extensions of one extensionRequest value: the typed view's list, or, for a value that is not a clean
    Extensions SEQUENCE (older servers put bare OIDs there), each element that is an Extension."""
    if isinstance(value, list):
        return value
    if not isinstance(value, (bytes, bytearray)):
        return []
    try:
        outer = der_parse(bytes(value))
    except EstcodecError:
        return []
    if outer.tag_class != "universal" or outer.tag != 16 or not outer.constructed:  # a SEQUENCE
        return []
    found = []
    for child in outer.children:
        try:
            found.append(decode(Extension, child.to_der()))
        except EstcodecError:
            continue
    return found


def _rsa_key_type(size: int | None, current: str) -> str:
    if not size:
        return current if current.startswith("rsa-") else "rsa-2048"
    for kt in ("rsa-2048", "rsa-3072", "rsa-4096"):
        if size <= int(kt[4:]):
            return kt
    return "rsa-4096"


# ----------------------------------------------------------------------------- signing


def _sign_request(
    signer: Signer,
    subject: x509.Name,
    extensions: list[x509.Extension[Any]],
    attributes: list[tuple[str, list[bytes]]],
    challenge_password: str | None,
    hash_alg: hashes.HashAlgorithm | None,
    memo: dict[bytes, bytes] | None = None,
) -> bytes:
    """The one place requests are signed: PKCS#10 DER built by :mod:`estcodec.pkcs10`, signed by ``signer`` (a
    key in memory or on a token). With ``memo``, an identical CertificationRequestInfo gets the identical request
    back, so a repeated request is byte-identical as RFC 7030 §4.2.3 wants for 202 polling, although ECDSA
    signatures are randomized."""
    builder = CertificationRequestBuilder(subject=subject.public_bytes(), extensions=extensions,
                                          attributes=attributes, challenge_password=challenge_password)
    memo_key = builder.build_info(signer.public_key()).to_der() + (
        hash_alg.name.encode() if hash_alg is not None else b"")
    if memo is not None and memo_key in memo:
        return memo[memo_key]
    der: bytes = builder.sign(signer, hash_alg).to_der()
    if memo is not None:
        if len(memo) > 16:
            memo.clear()
        memo[memo_key] = der
    return der


# ----------------------------------------------------------------------------- builder


def _default_hash(public: Any) -> hashes.HashAlgorithm | None:
    """SHA-256, or the curve's strength for ECDSA (P-384 -> SHA-384, P-521 -> SHA-512); None for EdDSA."""
    return default_hash_for_key(public)


def _is_eddsa(public: Any) -> bool:
    return isinstance(public, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey))


class CsrBuilder:
    """Fluent PKCS#10 builder for EST. Every setter returns the builder.

    >>> csr_der, key = CsrBuilder().common_name("device-1").san_dns("device-1.example").build()
    """

    def __init__(self) -> None:
        self._subject: list[tuple[Any, str]] = []
        self._sans: list[x509.GeneralName] = []
        self._key_usage: set[str] | None = None
        self._eku: list[str] = []
        self._key_type = "ec-p256"
        self._key: Signer | None = None
        self._generated = False
        self._hash: Any = None
        self._otp: str | None = None
        self._decrypt_kid: bytes | None = None
        self._asymm_kid: bytes | None = None
        self._smime_caps: list[tuple[str, bytes | None]] | None = None
        self._extra_extensions: list[x509.Extension[Any]] = []
        self._critical_overrides: dict[str, bool] = {}
        self._template_extensions: list[str] | None = None
        self._binding_required = False
        self._template_subject: list[tuple[str, str | None]] | None = None
        self._memo: dict[bytes, bytes] = {}

    # -- subject
    def _rdn(self, oid: Any, value: str) -> CsrBuilder:
        if not isinstance(value, str) or not value:
            raise ConfigError("subject attribute values must be non-empty strings")
        self._subject.append((oid, value))
        return self

    def common_name(self, value: str) -> CsrBuilder:
        """Add a commonName (CN) to the subject. Subject attributes keep the order in which they are added.

        Raises :class:`~estclient.errors.ConfigError` when ``value`` is not a non-empty string (as do the other
        subject setters).
        """
        return self._rdn(NameOID.COMMON_NAME, value)

    def organization(self, value: str) -> CsrBuilder:
        """Add an organizationName (O) to the subject."""
        return self._rdn(NameOID.ORGANIZATION_NAME, value)

    def organizational_unit(self, value: str) -> CsrBuilder:
        """Add an organizationalUnitName (OU) to the subject."""
        return self._rdn(NameOID.ORGANIZATIONAL_UNIT_NAME, value)

    def country(self, value: str) -> CsrBuilder:
        """Add a countryName (C) to the subject: a two-letter code, upper-cased.

        Raises :class:`~estclient.errors.ConfigError` when ``value`` is not two letters.
        """
        if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
            raise ConfigError("country must be a two-letter code")
        return self._rdn(NameOID.COUNTRY_NAME, value.upper())

    def state(self, value: str) -> CsrBuilder:
        """Add a stateOrProvinceName (ST) to the subject."""
        return self._rdn(NameOID.STATE_OR_PROVINCE_NAME, value)

    def locality(self, value: str) -> CsrBuilder:
        """Add a localityName (L) to the subject."""
        return self._rdn(NameOID.LOCALITY_NAME, value)

    def serial_number(self, value: str) -> CsrBuilder:
        """Add a serialNumber attribute (the device's serial, not the certificate's) to the subject."""
        return self._rdn(NameOID.SERIAL_NUMBER, value)

    # -- subjectAltName
    def san_dns(self, *names: str) -> CsrBuilder:
        """Add DNS names to the subjectAltName extension request."""
        for n in names:
            self._sans.append(x509.DNSName(n))
        return self

    def san_ip(self, *addresses: Any) -> CsrBuilder:
        """Add IP addresses (strings or :mod:`ipaddress` objects, v4 or v6) to the subjectAltName.

        Raises :class:`~estclient.errors.ConfigError` when one is not an IP address.
        """
        for a in addresses:
            try:
                self._sans.append(x509.IPAddress(ipaddress.ip_address(a)))
            except ValueError:
                raise ConfigError(f"not an IP address: {a!r}") from None
        return self

    def san_email(self, *addresses: str) -> CsrBuilder:
        """Add e-mail addresses (rfc822Name) to the subjectAltName."""
        for a in addresses:
            self._sans.append(x509.RFC822Name(a))
        return self

    def san_uri(self, *uris: str) -> CsrBuilder:
        """Add URIs (uniformResourceIdentifier) to the subjectAltName."""
        for u in uris:
            self._sans.append(x509.UniformResourceIdentifier(u))
        return self

    # -- usages
    def key_usage(self, *usages: str) -> CsrBuilder:
        """Key usage names: digital_signature, content_commitment, key_encipherment, data_encipherment,
        key_agreement, key_cert_sign, crl_sign, encipher_only, decipher_only."""
        bad = [u for u in usages if u not in _KEY_USAGE_FLAGS]
        if bad:
            raise ConfigError(f"unknown key usage {bad[0]!r}")
        self._key_usage = (self._key_usage or set()) | set(usages)
        return self

    def extended_key_usage(self, *usages: str) -> CsrBuilder:
        """Names (server_auth, client_auth, code_signing, email_protection, time_stamping, ocsp_signing, cmc_ra)
        or dotted OIDs."""
        for u in usages:
            oid = _EKU_NAMES.get(u, u)
            _check_oid(oid)
            if oid not in self._eku:
                self._eku.append(oid)
        return self

    # -- key
    def key_type(self, key_type: str) -> CsrBuilder:
        """Choose the type of the key generated at the first build: one of :data:`KEY_TYPES` (default
        ``"ec-p256"``).

        Raises :class:`~estclient.errors.ConfigError` for an unknown type, or when the key already exists with
        another type.
        """
        if key_type not in KEY_TYPES:
            raise ConfigError(f"key type must be one of {', '.join(KEY_TYPES)}")
        if self._key is not None and key_type != self._key_type:
            raise ConfigError("the key already exists; choose its type before the first build")
        self._key_type = key_type
        return self

    def with_key(self, private_key: Union[Signer, SoftwarePrivateKey]) -> CsrBuilder:
        """Sign with this key: a ``cryptography`` EC, RSA, Ed25519 or Ed448 private key, or any
        :class:`estcodec.signer.Signer` (a token key from :func:`estclient.keys.load_key`)."""
        if not is_signer(private_key):
            raise ConfigError("with_key needs a cryptography EC, RSA, Ed25519 or Ed448 private key or a Signer")
        self._key = as_signer(private_key)
        self._generated = False
        return self

    def signature_hash(self, algorithm: str) -> CsrBuilder:
        """``"sha256"``, ``"sha384"`` or ``"sha512"`` (ignored for Ed25519/Ed448)."""
        table = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
        if algorithm not in table:
            raise ConfigError("signature hash must be sha256, sha384 or sha512")
        self._hash = table[algorithm]
        return self

    @property
    def selected_key_type(self) -> str:
        """The key type the builder will generate (or ``"given"`` after :meth:`with_key`)."""
        return "given" if self._key is not None and not self._generated else self._key_type

    @property
    def signer(self) -> Signer:
        """The builder's key as a :class:`estcodec.signer.Signer` (a software key is generated now if needed)."""
        if self._key is None:
            self._key = as_signer(generate_software_key(self._key_type))
            self._generated = True
        return self._key

    @property
    def private_key(self) -> Any:
        """The builder's private key (generated now if needed): the ``cryptography`` key when it can be exported,
        else the :class:`~estcodec.signer.Signer` itself (a token key)."""
        signer = self.signer
        return signer.private_key() if signer.exportable else signer

    def public_key_spki(self) -> bytes:
        """The DER SubjectPublicKeyInfo of the builder's key."""
        return self.signer.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    # -- attributes
    def otp_challenge(self, value: str) -> CsrBuilder:
        """RFC 7894 otpChallenge (a one-time password for this enrollment)."""
        if not isinstance(value, str) or not value:
            raise ConfigError("otp challenge must be a non-empty string")
        self._otp = value
        return self

    def decrypt_key_identifier(self, kek_id: bytes) -> CsrBuilder:
        """RFC 7030 §4.4.1.1 DecryptKeyIdentifier: encrypt the server-generated key to this KEK."""
        if not isinstance(kek_id, (bytes, bytearray)) or not kek_id:
            raise ConfigError("kek_id must be non-empty bytes")
        self._decrypt_kid = bytes(kek_id)
        return self

    def asymmetric_decrypt_key_identifier(self, ski: bytes) -> CsrBuilder:
        """RFC 7030 §4.4.1.2 AsymmetricDecryptKeyIdentifier: encrypt the server-generated key to the key of the
        certificate with this subject key identifier."""
        if not isinstance(ski, (bytes, bytearray)) or not ski:
            raise ConfigError("subject key identifier must be non-empty bytes")
        self._asymm_kid = bytes(ski)
        return self

    def has_decrypt_key_request(self) -> bool:
        """True when the CSR asks for the server-generated key to be encrypted: a DecryptKeyIdentifier or
        an AsymmetricDecryptKeyIdentifier was set (RFC 7030 §4.4.1.1, §4.4.1.2).
        """
        return self._decrypt_kid is not None or self._asymm_kid is not None

    def smime_capabilities(self, *capabilities: str | tuple[str, bytes | None]) -> CsrBuilder:
        """SMIMECapabilities (RFC 8551 §2.5.2): the algorithms the client accepts for a server-generated key, in
        order of preference (content encryption such as ``"2.16.840.1.101.3.4.1.42"`` for AES-256-CBC, key wrap,
        key transport or agreement), each an OID or ``(oid, parameters_der)``. Without this call a request
        carrying a decryption-key identifier gets :data:`DEFAULT_KEYGEN_CAPABILITIES` (RFC 7030 §4.4.1)."""
        caps = []
        for c in capabilities:
            oid, params = (c, None) if isinstance(c, str) else c
            _check_oid(oid)
            caps.append((oid, params))
        self._smime_caps = caps
        return self

    def add_extension(self, oid: str, value_der: bytes, *, critical: bool = False) -> CsrBuilder:
        """Any extension, as DER of its extnValue contents."""
        self._extra_extensions = [e for e in self._extra_extensions if e.oid.dotted_string != oid]
        self._extra_extensions.append(
            x509.Extension(x509.ObjectIdentifier(oid), critical,
                           x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value_der))
        )
        return self

    @property
    def channel_binding_required(self) -> bool:
        """True when the server's CSR attributes list challengePassword (RFC 7030 §3.5)."""
        return self._binding_required

    def with_attributes(self, csr_attrs: Any) -> CsrBuilder:
        """Apply the server's ``/csrattrs`` (an :class:`estcodec.csrattrs.CsrAttrs`; RFC 7030 §4.5.2 as clarified
        by RFC 8951 §4 and RFC 9908):

        - challengePassword -> channel binding is required (the EST client adds it for each connection);
        - a key algorithm attribute (id-ecPublicKey with a curve OID, rsaEncryption with a size; empty values:
          any parameters), a bare key algorithm OID, or a bare curve OID (older servers) -> the key type;
        - a signature or hash algorithm OID -> the signature hash;
        - extensionRequest values -> those extensions, copied with their criticality;
        - a CertificationRequestInfo template (RFC 9908) -> the template only: its subject and extensions, the
          value-less RDNs and extensions filled from this builder's values, its key algorithm.

        Bare OIDs the client has no value for (e.g. macAddress) are ignored. A key set with :meth:`with_key`
        is kept.
        """
        template = getattr(csr_attrs, "template", None)
        if template is not None:
            self._apply_template(template)
            if csr_attrs.contains_oid(OID.CHALLENGE_PASSWORD):
                self._binding_required = True
            return self
        for oid in list(getattr(csr_attrs, "oids", []) or []):
            self._apply_oid(oid)
        for attr in list(getattr(csr_attrs, "attributes", []) or []):
            self._apply_attribute(attr.oid, list(attr.values or []))
        return self

    def _set_key_type(self, key_type: str) -> None:
        if self._key is None:
            self._key_type = key_type

    def _apply_oid(self, oid: str) -> None:
        if oid == OID.CHALLENGE_PASSWORD:
            self._binding_required = True
        elif oid in _CURVE_KEY_TYPE:
            self._set_key_type(_CURVE_KEY_TYPE[oid])
        elif oid == OID.EC_PUBLIC_KEY:
            if not self._key_type.startswith("ec-"):
                self._set_key_type("ec-p256")
        elif oid == OID.RSA_ENCRYPTION:
            if not self._key_type.startswith("rsa-"):
                self._set_key_type("rsa-2048")
        elif oid == OID.ED25519:
            self._set_key_type("ed25519")
        elif oid == OID.ED448:
            self._set_key_type("ed448")
        elif oid in _HASH_BY_OID:
            self._hash = _HASH_BY_OID[oid]

    def _apply_attribute(self, oid: str, values: list[bytes]) -> None:
        if not values or oid in (OID.CHALLENGE_PASSWORD, OID.ED25519, OID.ED448) or oid in _HASH_BY_OID:
            self._apply_oid(oid)
            return
        typed = CsrAttribute(oid, [bytes(v) for v in values]).typed_values
        if oid == OID.EC_PUBLIC_KEY:
            curves = [v for v in typed if isinstance(v, str)]
            known = [_CURVE_KEY_TYPE[c] for c in curves if c in _CURVE_KEY_TYPE]
            if known:
                self._set_key_type(known[0])
            else:
                self._apply_oid(oid)
            return
        if oid == OID.RSA_ENCRYPTION:
            size = next((v for v in typed if isinstance(v, int)), None)
            self._set_key_type(_rsa_key_type(size, self._key_type))
            return
        if oid == OID.EXTENSION_REQUEST:
            for v in typed:
                self._copy_extensions(v)
        # other attributes: nothing the client can fill in on its own

    def _copy_extensions(self, value: object) -> None:
        """Copy each Extension of an extensionRequest value, criticality included. Older servers put bare OIDs in
        extensionRequest (RFC 7030's macAddress example): those cannot be filled and are skipped."""
        for ext in _extensions_in(value):
            if ext.value:
                self.add_extension(ext.oid, bytes(ext.value), critical=bool(ext.critical))

    def _apply_template(self, template: Any) -> None:
        """RFC 9908 §4: the server's CertificationRequestInfo shape, used alone."""
        alg = getattr(template, "key_algorithm_oid", None)
        if alg == OID.EC_PUBLIC_KEY:
            curve = getattr(template, "curve", None)
            self._set_key_type(_CURVE_KEY_TYPE.get(curve or "", "ec-p256") if curve else
                               (self._key_type if self._key_type.startswith("ec-") else "ec-p256"))
        elif alg == OID.RSA_ENCRYPTION:
            size = getattr(template, "rsa_key_size", None)
            self._set_key_type(_rsa_key_type(size, self._key_type))
        elif alg in (OID.ED25519, OID.ED448):
            self._apply_oid(alg)
        subject = getattr(template, "subject_template", None)
        if subject is not None:
            names: list[tuple[str, str | None]] = []
            for rdn in subject:
                for oid, value in rdn:
                    names.append((oid, None if value is None else _template_string(value)))
            self._template_subject = names
        wanted: list[str] = []
        overrides: dict[str, bool] = {}
        for ext in getattr(template, "extension_templates", None) or []:
            oid, critical, value = ext.oid, bool(ext.critical), ext.value
            wanted.append(oid)
            if value:
                self.add_extension(oid, value, critical=critical)
            else:
                overrides[oid] = critical
        self._critical_overrides = overrides
        self._template_extensions = wanted
        if template.attribute(OID.CHALLENGE_PASSWORD) is not None:
            self._binding_required = True

    # -- building
    @classmethod
    def from_fields(
        cls,
        *,
        common_name: str | None = None,
        organization: str | None = None,
        organizational_units: Iterable[str] = (),
        country: str | None = None,
        state: str | None = None,
        locality: str | None = None,
        serial_number: str | None = None,
        san_dns: Iterable[str] = (),
        san_ip: Iterable[Any] = (),
        san_email: Iterable[str] = (),
        san_uri: Iterable[str] = (),
        key_usage: Iterable[str] = (),
        extended_key_usage: Iterable[str] = (),
        key_type: str | None = None,
        signature_hash: str | None = None,
    ) -> CsrBuilder:
        """A builder filled from named fields, each checked now as its setter checks it (empty ones skipped);
        the one place the command line's flags and the config file's ``[certificate]`` section become a
        request."""
        b = cls()
        for value, setter in ((common_name, b.common_name), (organization, b.organization)):
            if value:
                setter(value)
        for ou in organizational_units:
            b.organizational_unit(ou)
        for value, setter in ((country, b.country), (state, b.state), (locality, b.locality),
                              (serial_number, b.serial_number)):
            if value:
                setter(value)
        for values, adder in ((san_dns, b.san_dns), (san_ip, b.san_ip), (san_email, b.san_email),
                              (san_uri, b.san_uri), (key_usage, b.key_usage),
                              (extended_key_usage, b.extended_key_usage)):
            items = list(values)
            if items:
                adder(*items)
        if key_type:
            b.key_type(key_type)
        if signature_hash:
            b.signature_hash(signature_hash)
        return b

    def copy(self) -> CsrBuilder:
        """A copy sharing the same key."""
        other = copy.copy(self)
        other._critical_overrides = dict(self._critical_overrides)
        for name in ("_subject", "_sans", "_eku", "_extra_extensions"):
            setattr(other, name, list(getattr(self, name)))
        if self._key_usage is not None:
            other._key_usage = set(self._key_usage)
        return other

    def _subject_name(self) -> x509.Name:
        if self._template_subject is None:
            return x509.Name([x509.NameAttribute(oid, v) for oid, v in self._subject])
        mine: dict[str, list[str]] = {}
        for oid, v in self._subject:
            mine.setdefault(oid.dotted_string, []).append(v)
        out = []
        for oid, value in self._template_subject:
            if value is None:
                values = mine.get(oid)
                if not values:
                    raise ConfigError(f"the server's template asks for subject attribute {oid}, which was not set")
                value = values.pop(0)
            out.append(x509.NameAttribute(x509.ObjectIdentifier(oid), value))
        return x509.Name(out)

    def _extensions(self) -> list[x509.Extension[Any]]:
        crit = self._critical_overrides
        exts: list[x509.Extension[Any]] = []

        def add(value: Any, default_critical: bool) -> None:
            oid = value.oid.dotted_string
            exts.append(x509.Extension(value.oid, crit.get(oid, default_critical), value))

        copied = {e.oid.dotted_string for e in self._extra_extensions}
        if self._sans and _oids.ID_CE_SUBJECT_ALT_NAME not in copied:
            add(x509.SubjectAlternativeName(self._sans), not self._subject)
        if self._key_usage and _oids.ID_CE_KEY_USAGE not in copied:
            ku = {f: (f in self._key_usage) for f in _KEY_USAGE_FLAGS}
            add(x509.KeyUsage(**ku), True)
        if self._eku and _oids.ID_CE_EXT_KEY_USAGE not in copied:
            add(x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in self._eku]), False)
        exts.extend(self._extra_extensions)
        if self._template_extensions is not None:  # the template decides which extensions appear
            exts = [e for e in exts if e.oid.dotted_string in self._template_extensions]
        return exts

    def _attributes(self) -> list[tuple[str, list[bytes]]]:
        attrs: list[tuple[str, list[bytes]]] = []
        if self._otp is not None:
            attrs.append((OID.OTP_CHALLENGE, [encode(UTF8String, self._otp)]))
        if self._decrypt_kid is not None:
            attrs.append((OID.DECRYPT_KEY_ID, [encode(OctetString, self._decrypt_kid)]))
        if self._asymm_kid is not None:
            attrs.append((OID.ASYMM_DECRYPT_KEY_ID, [encode(OctetString, self._asymm_kid)]))
        caps_list = self._smime_caps
        if caps_list is None and self.has_decrypt_key_request():
            # RFC 7030 §4.4.1: an encrypted server-keygen request says which algorithms the client accepts
            caps_list = [(o, None) for o in DEFAULT_KEYGEN_CAPABILITIES]
        if caps_list is not None:
            caps = [AlgorithmIdentifier(algorithm=o, parameters=p) if p else AlgorithmIdentifier(algorithm=o)
                    for o, p in caps_list]
            attrs.append((OID.SMIME_CAPABILITIES, [encode(SequenceOf(AlgorithmIdentifier), caps)]))
        return attrs

    def build_for_connection(self, challenge_password: str | None) -> bytes:
        """Sign the request. ``challenge_password`` is for the channel-binding code only: base64 of the
        tls-unique value of the connection the request is posted on (RFC 7030 §3.5)."""
        signer = self.signer
        public = signer.public_key()
        h: hashes.HashAlgorithm | None = None
        if not _is_eddsa(public):  # Ed25519/Ed448 hash internally: a chosen hash is ignored
            h = self._hash() if self._hash is not None else _default_hash(public)
        return _sign_request(
            signer, self._subject_name(), self._extensions(), self._attributes(), challenge_password, h, self._memo
        )

    @property
    def subject(self) -> x509.Name:
        """The Subject the request will carry (the server template's shape filled with this builder's values)."""
        return self._subject_name()

    @property
    def subject_alt_name_der(self) -> bytes | None:
        """The DER of the subjectAltName extension value the request will carry, or None without one."""
        for ext in self._extensions():
            if ext.oid.dotted_string == _oids.ID_CE_SUBJECT_ALT_NAME:
                value = ext.value
                if isinstance(value, x509.UnrecognizedExtension):
                    return bytes(value.value)
                return bytes(value.public_bytes())
        return None

    def attribute_oids(self) -> list[str]:
        """The dotted OIDs of the attributes the request will carry besides extensionRequest and the
        per-connection challengePassword."""
        return [oid for oid, _values in self._attributes()]

    def extension_oids(self) -> list[str]:
        """The dotted OIDs of the extensions the request will carry, in order."""
        return [e.oid.dotted_string for e in self._extensions()]

    def build(self) -> tuple[bytes, Any]:
        """``(csr_der, private_key)`` — without challengePassword (use the EST client for channel binding)."""
        return self.build_for_connection(None), self.private_key

    def __repr__(self) -> str:
        return f"CsrBuilder(subject={self._subject_name().rfc4514_string()!r}, key_type={self._key_type!r})"


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
