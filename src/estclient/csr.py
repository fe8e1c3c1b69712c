"""CsrBuilder: PKCS#10 requests for EST (RFC 2986, RFC 7030 §4.2.1, §4.4.1; RFC 7894; RFC 8951 §4; RFC 9908).

A fluent builder. It holds its private key (generated on first use, or given with :meth:`CsrBuilder.with_key`)
so that the EST client can sign the request separately for each TLS connection it is posted on
(channel binding, RFC 7030 §3.5). ``challengePassword`` is set only by that channel-binding code
(:meth:`CsrBuilder.build_for_connection`); :meth:`CsrBuilder.build` never sets it.

Signing goes through one internal function, :func:`_sign_request`, which builds the subject and extensions with
``cryptography`` and adds the attributes ``cryptography`` cannot express (OCTET STRING and SEQUENCE values)
to the CertificationRequestInfo before signing it with the same key.
"""
from __future__ import annotations

import copy
import ipaddress
from typing import Any, Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import ConfigError

__all__ = ["CsrBuilder", "KEY_TYPES", "OID", "DEFAULT_KEYGEN_CAPABILITIES"]


class OID:
    CHALLENGE_PASSWORD = "1.2.840.113549.1.9.7"
    EXTENSION_REQUEST = "1.2.840.113549.1.9.14"
    SMIME_CAPABILITIES = "1.2.840.113549.1.9.15"
    OTP_CHALLENGE = "1.2.840.113549.1.9.16.2.56"  # RFC 7894
    DECRYPT_KEY_ID = "1.2.840.113549.1.9.16.2.37"  # RFC 7030 §4.4.1.1
    ASYMM_DECRYPT_KEY_ID = "1.2.840.113549.1.9.16.2.54"  # RFC 7030 §4.4.1.2
    EC_PUBLIC_KEY = "1.2.840.10045.2.1"
    RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
    ED25519 = "1.3.101.112"
    ED448 = "1.3.101.113"
    P256 = "1.2.840.10045.3.1.7"
    P384 = "1.3.132.0.34"
    P521 = "1.3.132.0.35"


KEY_TYPES = (
    "ec-p256", "ec-p384", "ec-p521", "ec-brainpoolp256r1", "ec-brainpoolp384r1", "ec-brainpoolp512r1",
    "rsa-2048", "rsa-3072", "rsa-4096", "ed25519", "ed448",
)

_CURVE_KEY_TYPE = {
    OID.P256: "ec-p256", OID.P384: "ec-p384", OID.P521: "ec-p521",
    "1.3.36.3.3.2.8.1.1.7": "ec-brainpoolp256r1", "1.3.36.3.3.2.8.1.1.11": "ec-brainpoolp384r1",
    "1.3.36.3.3.2.8.1.1.13": "ec-brainpoolp512r1",
}
_CURVES = {
    "ec-p256": ec.SECP256R1, "ec-p384": ec.SECP384R1, "ec-p521": ec.SECP521R1,
    "ec-brainpoolp256r1": ec.BrainpoolP256R1, "ec-brainpoolp384r1": ec.BrainpoolP384R1,
    "ec-brainpoolp512r1": ec.BrainpoolP512R1,
}
_HASH_BY_OID: dict[str, Any] = {
    # hash algorithms (RFC 7030 §4.5.2 lists them bare) and signature algorithms (RFC 9908)
    "2.16.840.1.101.3.4.2.1": hashes.SHA256, "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
    "1.2.840.10045.4.3.2": hashes.SHA256, "1.2.840.10045.4.3.3": hashes.SHA384, "1.2.840.10045.4.3.4": hashes.SHA512,
    "1.2.840.113549.1.1.11": hashes.SHA256, "1.2.840.113549.1.1.12": hashes.SHA384,
    "1.2.840.113549.1.1.13": hashes.SHA512,
}
_EC_SIG = {"sha256": "1.2.840.10045.4.3.2", "sha384": "1.2.840.10045.4.3.3", "sha512": "1.2.840.10045.4.3.4"}
_RSA_SIG = {"sha256": "1.2.840.113549.1.1.11", "sha384": "1.2.840.113549.1.1.12", "sha512": "1.2.840.113549.1.1.13"}

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
    "cmc_ra": "1.3.6.1.5.5.7.3.28",
}
#: SMIMECapabilities (RFC 8551 §2.5.2) sent with an encrypted server-keygen request when the caller named none
#: (RFC 7030 §4.4.1), in order of preference: content encryption, key wrap, key transport / key agreement.
#: Only algorithms ``estcodec.enveloped`` decrypts; RSA PKCS#1 v1.5 key transport is left out (RSAES-OAEP).
DEFAULT_KEYGEN_CAPABILITIES = (
    "2.16.840.1.101.3.4.1.42",  # aes256-CBC
    "2.16.840.1.101.3.4.1.2",  # aes128-CBC
    "2.16.840.1.101.3.4.1.45",  # id-aes256-wrap
    "2.16.840.1.101.3.4.1.5",  # id-aes128-wrap
    "1.2.840.113549.1.1.7",  # id-RSAES-OAEP
    "1.3.132.1.11.1",  # dhSinglePass-stdDH-sha256kdf-scheme (RFC 5753)
    "1.3.132.1.11.2",  # dhSinglePass-stdDH-sha384kdf-scheme
)

_PRINTABLE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?")


# ----------------------------------------------------------------------------- minimal DER plumbing


def _len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _len(len(content)) + content


def _oid(dotted: str) -> bytes:
    try:
        arcs = [int(a) for a in dotted.split(".")]
    except ValueError:
        raise ConfigError(f"not an OID: {dotted!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] > 39) or any(a < 0 for a in arcs):
        raise ConfigError(f"not an OID: {dotted!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1]] + arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _header(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag byte, content start, content length) of the TLV at ``pos`` (single-byte tags, definite lengths)."""
    if pos + 2 > len(data):
        raise ValueError("truncated")
    tag, first = data[pos], data[pos + 1]
    if first < 0x80:
        return tag, pos + 2, first
    n = first & 0x7F
    if n == 0 or n > 4 or pos + 2 + n > len(data):
        raise ValueError("bad length")
    return tag, pos + 2 + n, int.from_bytes(data[pos + 2 : pos + 2 + n], "big")


def _children(data: bytes) -> list[bytes]:
    """The TLVs inside the content ``data``."""
    out, pos = [], 0
    while pos < len(data):
        _tag, start, length = _header(data, pos)
        end = start + length
        if end > len(data):
            raise ValueError("truncated")
        out.append(data[pos:end])
        pos = end
    return out


def _content(tlv: bytes) -> bytes:
    _tag, start, length = _header(tlv, 0)
    return tlv[start : start + length]


def _decode_oid(tlv: bytes) -> str:
    if not tlv or tlv[0] != 0x06:
        raise ValueError("not an OID")
    body = _content(tlv)
    arcs, cur = [], 0
    for b in body:
        cur = (cur << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(cur)
            cur = 0
    if not arcs:
        raise ValueError("empty OID")
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def _attribute(oid: str, values: Iterable[bytes]) -> bytes:
    return _tlv(0x30, _oid(oid) + _tlv(0x31, b"".join(sorted(values))))


def _directory_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _tlv(0x13 if set(text) <= _PRINTABLE else 0x0C, raw)


def _decode_string(value_der: bytes) -> str:
    """A DirectoryString-like value (UTF8String, PrintableString, IA5String, BMPString, ...) as text."""
    try:
        tag, start, length = _header(value_der, 0)
        body = value_der[start : start + length]
    except ValueError:
        raise ConfigError("unreadable subject value in the server's template") from None
    if tag == 0x1E:
        return body.decode("utf-16-be", "replace")
    if tag == 0x1C:
        return body.decode("utf-32-be", "replace")
    return body.decode("utf-8", "replace")


def _rsa_key_type(size: int | None, current: str) -> str:
    if not size:
        return current if current.startswith("rsa-") else "rsa-2048"
    for kt in ("rsa-2048", "rsa-3072", "rsa-4096"):
        if size <= int(kt[4:]):
            return kt
    return "rsa-4096"


# ----------------------------------------------------------------------------- signing (swappable)


def _hash_name(h: Any) -> str:
    return h.name if isinstance(h, hashes.HashAlgorithm) else h().name


def _sign_request(
    key: Any,
    subject: x509.Name,
    extensions: list[x509.Extension[Any]],
    attributes: list[tuple[str, list[bytes]]],
    challenge_password: str | None,
    hash_alg: Any,
    memo: dict[bytes, bytes] | None = None,
) -> bytes:
    """The one place requests are signed: PKCS#10 DER built by :mod:`estcodec.pkcs10` (or, where that module is
    missing, by ``cryptography`` with the attributes spliced in). With ``memo``, an identical
    CertificationRequestInfo gets the identical request back, so a repeated request is byte-identical as
    RFC 7030 §4.2.3 wants for 202 polling, although ECDSA signatures are randomized."""
    is_ed = isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
    h = None if is_ed else (hash_alg() if isinstance(hash_alg, type) else hash_alg)
    try:
        from estcodec.pkcs10 import CertificationRequestBuilder
    except ImportError:  # pragma: no cover - the codec ships with this package
        return _sign_with_cryptography(key, subject, extensions, attributes, challenge_password, h, memo)
    builder = CertificationRequestBuilder(subject=subject.public_bytes(), extensions=extensions,
                                          attributes=attributes, challenge_password=challenge_password)
    memo_key = builder.build_info(key.public_key()).to_der() + (h.name.encode() if h is not None else b"")
    if memo is not None and memo_key in memo:
        return memo[memo_key]
    der = builder.sign(key, h).to_der()
    if memo is not None:
        if len(memo) > 16:
            memo.clear()
        memo[memo_key] = der
    return der


def _sign_with_cryptography(
    key: Any,
    subject: x509.Name,
    extensions: list[x509.Extension[Any]],
    attributes: list[tuple[str, list[bytes]]],
    challenge_password: str | None,
    h: Any,
    memo: dict[bytes, bytes] | None,
) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    for ext in extensions:
        builder = builder.add_extension(ext.value, critical=ext.critical)
    base = builder.sign(key, h)
    cri = base.tbs_certrequest_bytes
    parts = _children(_content(cri))  # version, subject, spki, [0] attributes (if any)
    existing = _children(_content(parts[3])) if len(parts) > 3 else []
    extra = [_attribute(o, v) for o, v in attributes]
    if challenge_password is not None:
        extra.append(_attribute(OID.CHALLENGE_PASSWORD, [_directory_string(challenge_password)]))
    new_cri = _tlv(0x30, b"".join(parts[:3]) + _tlv(0xA0, b"".join(sorted(existing + extra))))
    memo_key = new_cri + (h.name.encode() if h is not None else b"")
    if memo is not None and memo_key in memo:
        return memo[memo_key]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        sig, alg = key.sign(new_cri), _tlv(0x30, _oid(OID.ED25519))
    elif isinstance(key, ed448.Ed448PrivateKey):
        sig, alg = key.sign(new_cri), _tlv(0x30, _oid(OID.ED448))
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        sig, alg = key.sign(new_cri, ec.ECDSA(h)), _tlv(0x30, _oid(_EC_SIG[h.name]))
    elif isinstance(key, rsa.RSAPrivateKey):
        sig = key.sign(new_cri, padding.PKCS1v15(), h)
        alg = _tlv(0x30, _oid(_RSA_SIG[h.name]) + b"\x05\x00")
    else:  # pragma: no cover - rejected by with_key
        raise ConfigError("unsupported key type")
    der = _tlv(0x30, new_cri + alg + _tlv(0x03, b"\x00" + sig))
    if memo is not None:
        if len(memo) > 16:
            memo.clear()
        memo[memo_key] = der
    return der


# ----------------------------------------------------------------------------- builder


def _generate(key_type: str) -> Any:
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(65537, int(key_type[4:]))
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    raise ConfigError(f"unknown key type {key_type!r}")  # pragma: no cover


def _default_hash(key: Any) -> Any:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {384: hashes.SHA384, 512: hashes.SHA512, 521: hashes.SHA512}.get(key.curve.key_size, hashes.SHA256)
    return hashes.SHA256


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
        self._key: Any = None
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
    def _rdn(self, oid: Any, value: str) -> "CsrBuilder":
        if not isinstance(value, str) or not value:
            raise ConfigError("subject attribute values must be non-empty strings")
        self._subject.append((oid, value))
        return self

    def common_name(self, value: str) -> "CsrBuilder":
        return self._rdn(NameOID.COMMON_NAME, value)

    def organization(self, value: str) -> "CsrBuilder":
        return self._rdn(NameOID.ORGANIZATION_NAME, value)

    def organizational_unit(self, value: str) -> "CsrBuilder":
        return self._rdn(NameOID.ORGANIZATIONAL_UNIT_NAME, value)

    def country(self, value: str) -> "CsrBuilder":
        if not isinstance(value, str) or len(value) != 2 or not value.isalpha():
            raise ConfigError("country must be a two-letter code")
        return self._rdn(NameOID.COUNTRY_NAME, value.upper())

    def state(self, value: str) -> "CsrBuilder":
        return self._rdn(NameOID.STATE_OR_PROVINCE_NAME, value)

    def locality(self, value: str) -> "CsrBuilder":
        return self._rdn(NameOID.LOCALITY_NAME, value)

    def serial_number(self, value: str) -> "CsrBuilder":
        return self._rdn(NameOID.SERIAL_NUMBER, value)

    # -- subjectAltName
    def san_dns(self, *names: str) -> "CsrBuilder":
        for n in names:
            self._sans.append(x509.DNSName(n))
        return self

    def san_ip(self, *addresses: Any) -> "CsrBuilder":
        for a in addresses:
            try:
                self._sans.append(x509.IPAddress(ipaddress.ip_address(a)))
            except ValueError:
                raise ConfigError(f"not an IP address: {a!r}") from None
        return self

    def san_email(self, *addresses: str) -> "CsrBuilder":
        for a in addresses:
            self._sans.append(x509.RFC822Name(a))
        return self

    def san_uri(self, *uris: str) -> "CsrBuilder":
        for u in uris:
            self._sans.append(x509.UniformResourceIdentifier(u))
        return self

    # -- usages
    def key_usage(self, *usages: str) -> "CsrBuilder":
        """Key usage names: digital_signature, content_commitment, key_encipherment, data_encipherment,
        key_agreement, key_cert_sign, crl_sign, encipher_only, decipher_only."""
        bad = [u for u in usages if u not in _KEY_USAGE_FLAGS]
        if bad:
            raise ConfigError(f"unknown key usage {bad[0]!r}")
        self._key_usage = (self._key_usage or set()) | set(usages)
        return self

    def extended_key_usage(self, *usages: str) -> "CsrBuilder":
        """Names (server_auth, client_auth, code_signing, email_protection, time_stamping, ocsp_signing, cmc_ra)
        or dotted OIDs."""
        for u in usages:
            oid = _EKU_NAMES.get(u, u)
            _oid(oid)  # validates
            if oid not in self._eku:
                self._eku.append(oid)
        return self

    # -- key
    def key_type(self, key_type: str) -> "CsrBuilder":
        if key_type not in KEY_TYPES:
            raise ConfigError(f"key type must be one of {', '.join(KEY_TYPES)}")
        if self._key is not None and key_type != self._key_type:
            raise ConfigError("the key already exists; choose its type before the first build")
        self._key_type = key_type
        return self

    def with_key(self, private_key: Any) -> "CsrBuilder":
        if not isinstance(
            private_key,
            (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey),
        ):
            raise ConfigError("with_key needs a cryptography EC, RSA, Ed25519 or Ed448 private key")
        self._key = private_key
        self._generated = False
        return self

    def signature_hash(self, algorithm: str) -> "CsrBuilder":
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
    def private_key(self) -> Any:
        """The builder's private key (generated now if needed)."""
        if self._key is None:
            self._key = _generate(self._key_type)
            self._generated = True
        return self._key

    def public_key_spki(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    # -- attributes
    def otp_challenge(self, value: str) -> "CsrBuilder":
        """RFC 7894 otpChallenge (a one-time password for this enrollment)."""
        if not isinstance(value, str) or not value:
            raise ConfigError("otp challenge must be a non-empty string")
        self._otp = value
        return self

    def decrypt_key_identifier(self, kek_id: bytes) -> "CsrBuilder":
        """RFC 7030 §4.4.1.1 DecryptKeyIdentifier: encrypt the server-generated key to this KEK."""
        if not isinstance(kek_id, (bytes, bytearray)) or not kek_id:
            raise ConfigError("kek_id must be non-empty bytes")
        self._decrypt_kid = bytes(kek_id)
        return self

    def asymmetric_decrypt_key_identifier(self, ski: bytes) -> "CsrBuilder":
        """RFC 7030 §4.4.1.2 AsymmetricDecryptKeyIdentifier: encrypt the server-generated key to the key of the
        certificate with this subject key identifier."""
        if not isinstance(ski, (bytes, bytearray)) or not ski:
            raise ConfigError("subject key identifier must be non-empty bytes")
        self._asymm_kid = bytes(ski)
        return self

    def has_decrypt_key_request(self) -> bool:
        return self._decrypt_kid is not None or self._asymm_kid is not None

    def smime_capabilities(self, *capabilities: str | tuple[str, bytes | None]) -> "CsrBuilder":
        """SMIMECapabilities (RFC 8551 §2.5.2): the algorithms the client accepts for a server-generated key, in
        order of preference (content encryption such as ``"2.16.840.1.101.3.4.1.42"`` for AES-256-CBC, key wrap,
        key transport or agreement), each an OID or ``(oid, parameters_der)``. Without this call a request
        carrying a decryption-key identifier gets :data:`DEFAULT_KEYGEN_CAPABILITIES` (RFC 7030 §4.4.1)."""
        caps = []
        for c in capabilities:
            oid, params = (c, None) if isinstance(c, str) else c
            _oid(oid)
            caps.append((oid, params))
        self._smime_caps = caps
        return self

    def add_extension(self, oid: str, value_der: bytes, *, critical: bool = False) -> "CsrBuilder":
        """Any extension, as DER of its extnValue contents."""
        self._extra_extensions = [e for e in self._extra_extensions if e.oid.dotted_string != oid]
        self._extra_extensions.append(
            x509.Extension(x509.ObjectIdentifier(oid), critical, x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value_der))
        )
        return self

    @property
    def channel_binding_required(self) -> bool:
        """True when the server's CSR attributes list challengePassword (RFC 7030 §3.5)."""
        return self._binding_required

    def with_attributes(self, csr_attrs: Any) -> "CsrBuilder":
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
        if oid == OID.EC_PUBLIC_KEY:
            curves = []
            for v in values:
                try:
                    curves.append(_decode_oid(v))
                except ValueError:
                    continue
            known = [_CURVE_KEY_TYPE[c] for c in curves if c in _CURVE_KEY_TYPE]
            if known:
                self._set_key_type(known[0])
            else:
                self._apply_oid(oid)
            return
        if oid == OID.RSA_ENCRYPTION:
            size = None
            for v in values:
                if v[:1] == b"\x02":
                    try:
                        size = int.from_bytes(_content(v), "big", signed=True)
                    except ValueError:
                        continue
                    break
            self._set_key_type(_rsa_key_type(size, self._key_type))
            return
        if oid == OID.EXTENSION_REQUEST:
            for v in values:
                self._copy_extensions(v)
        # other attributes: nothing the client can fill in on its own

    def _copy_extensions(self, extensions_der: bytes) -> None:
        """Copy each Extension of an Extensions SEQUENCE, criticality included. Older servers put bare OIDs in
        extensionRequest (RFC 7030's macAddress example): those cannot be filled and are skipped."""
        if extensions_der[:1] != b"\x30":
            return
        try:
            exts = _children(_content(extensions_der))
        except ValueError:
            return
        for ext in exts:
            try:
                parts = _children(_content(ext))
                oid = _decode_oid(parts[0])
                critical = len(parts) == 3 and parts[1] == b"\x01\x01\xff"
                value = _content(parts[-1]) if parts[-1][:1] == b"\x04" else None
            except (ValueError, IndexError):
                continue
            if value:
                self.add_extension(oid, value, critical=critical)

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
                    names.append((oid, None if value is None else _decode_string(value)))
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
    def copy(self) -> "CsrBuilder":
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
        if self._sans and "2.5.29.17" not in copied:
            add(x509.SubjectAlternativeName(self._sans), not self._subject)
        if self._key_usage and "2.5.29.15" not in copied:
            ku = {f: (f in self._key_usage) for f in _KEY_USAGE_FLAGS}
            add(x509.KeyUsage(**ku), True)
        if self._eku and "2.5.29.37" not in copied:
            add(x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in self._eku]), False)
        exts.extend(self._extra_extensions)
        if self._template_extensions is not None:  # the template decides which extensions appear
            exts = [e for e in exts if e.oid.dotted_string in self._template_extensions]
        return exts

    def _attributes(self) -> list[tuple[str, list[bytes]]]:
        attrs: list[tuple[str, list[bytes]]] = []
        if self._otp is not None:
            attrs.append((OID.OTP_CHALLENGE, [_tlv(0x0C, self._otp.encode("utf-8"))]))
        if self._decrypt_kid is not None:
            attrs.append((OID.DECRYPT_KEY_ID, [_tlv(0x04, self._decrypt_kid)]))
        if self._asymm_kid is not None:
            attrs.append((OID.ASYMM_DECRYPT_KEY_ID, [_tlv(0x04, self._asymm_kid)]))
        caps_list = self._smime_caps
        if caps_list is None and self.has_decrypt_key_request():
            # RFC 7030 §4.4.1: an encrypted server-keygen request says which algorithms the client accepts
            caps_list = [(o, None) for o in DEFAULT_KEYGEN_CAPABILITIES]
        if caps_list is not None:
            caps = b"".join(_tlv(0x30, _oid(o) + (p or b"")) for o, p in caps_list)
            attrs.append((OID.SMIME_CAPABILITIES, [_tlv(0x30, caps)]))
        return attrs

    def build_for_connection(self, challenge_password: str | None) -> bytes:
        """Sign the request. ``challenge_password`` is for the channel-binding code only: base64 of the
        tls-unique value of the connection the request is posted on (RFC 7030 §3.5)."""
        key = self.private_key
        h = self._hash or _default_hash(key)
        return _sign_request(
            key, self._subject_name(), self._extensions(), self._attributes(), challenge_password, h, self._memo
        )

    def build(self) -> tuple[bytes, Any]:
        """``(csr_der, private_key)`` — without challengePassword (use the EST client for channel binding)."""
        return self.build_for_connection(None), self.private_key

    def __repr__(self) -> str:
        return f"CsrBuilder(subject={self._subject_name().rfc4514_string()!r}, key_type={self._key_type!r})"


from estcodec._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
