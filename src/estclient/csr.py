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

__all__ = ["CsrBuilder", "KEY_TYPES", "OID"]


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


KEY_TYPES = ("ec-p256", "ec-p384", "ec-p521", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519", "ed448")

_CURVE_KEY_TYPE = {OID.P256: "ec-p256", OID.P384: "ec-p384", OID.P521: "ec-p521"}
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


# ----------------------------------------------------------------------------- signing (swappable)


def _hash_name(h: Any) -> str:
    return h.name if isinstance(h, hashes.HashAlgorithm) else h().name


def _sign_request(
    key: Any,
    subject: x509.Name,
    extensions: list[x509.Extension[Any]],
    attributes: list[bytes],
    hash_alg: Any,
    memo: dict[bytes, bytes] | None = None,
) -> bytes:
    """PKCS#10 DER: subject and extensions encoded by ``cryptography``; ``attributes`` (DER Attribute TLVs) are
    added to the CertificationRequestInfo, which is then signed with ``key``. With ``memo``, an identical
    CertificationRequestInfo gets the identical request back (a repeated request is byte-identical, as
    RFC 7030 §4.2.3 wants for 202 polling, although ECDSA signatures are randomized)."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    for ext in extensions:
        builder = builder.add_extension(ext.value, critical=ext.critical)
    is_ed = isinstance(key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
    h = None if is_ed else (hash_alg() if isinstance(hash_alg, type) else hash_alg)
    base = builder.sign(key, h)
    cri = base.tbs_certrequest_bytes
    parts = _children(_content(cri))  # version, subject, spki, [0] attributes (if any)
    existing = _children(_content(parts[3])) if len(parts) > 3 else []
    attrs = _tlv(0xA0, b"".join(sorted(existing + list(attributes))))
    new_cri = _tlv(0x30, b"".join(parts[:3]) + attrs)
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
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type == "ec-p521":
        return ec.generate_private_key(ec.SECP521R1())
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(65537, int(key_type[4:]))
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    raise ConfigError(f"unknown key type {key_type!r}")  # pragma: no cover


def _default_hash(key: Any) -> Any:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {384: hashes.SHA384, 521: hashes.SHA512}.get(key.curve.key_size, hashes.SHA256)
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
        self._hash: Any = None
        self._otp: str | None = None
        self._decrypt_kid: bytes | None = None
        self._asymm_kid: bytes | None = None
        self._smime_caps: list[tuple[str, bytes | None]] | None = None
        self._extra_extensions: list[x509.Extension[Any]] = []
        self._extra_attributes: list[tuple[str, list[bytes]]] = []
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
        return self

    def signature_hash(self, algorithm: str) -> "CsrBuilder":
        """``"sha256"``, ``"sha384"`` or ``"sha512"`` (ignored for Ed25519/Ed448)."""
        table = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
        if algorithm not in table:
            raise ConfigError("signature hash must be sha256, sha384 or sha512")
        self._hash = table[algorithm]
        return self

    @property
    def private_key(self) -> Any:
        """The builder's private key (generated now if needed)."""
        if self._key is None:
            self._key = _generate(self._key_type)
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
        """SMIMECapabilities (RFC 8551 §2.5.2): the content-encryption algorithms the client accepts for a
        server-generated key (e.g. ``"2.16.840.1.101.3.4.1.42"`` for AES-256-CBC), each an OID or
        ``(oid, parameters_der)``."""
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
        """Apply the server's ``/csrattrs`` (RFC 7030 §4.5.2 as clarified by RFC 8951 §4 and RFC 9908):

        - challengePassword -> channel binding is required (the client adds it per connection);
        - a key algorithm (id-ecPublicKey with a curve, rsaEncryption with a size, Ed25519/Ed448; bare or
          with empty values: any) -> the key type; a bare curve OID (older servers) -> that curve;
        - a signature or hash algorithm OID -> the signature hash;
        - extensionRequest values -> extensions copied with their criticality;
        - a template (RFC 9908) -> its subject and extensions only, value-less parts filled from this builder.
        Other attributes with values are copied into the request; bare OIDs the client cannot fill are ignored.
        """
        template = getattr(csr_attrs, "template", None)
        oids = list(getattr(csr_attrs, "oids", []) or [])
        attributes = list(getattr(csr_attrs, "attributes", []) or [])
        for oid in oids:
            self._apply_oid(oid)
        for attr in attributes:
            self._apply_attribute(attr.oid, list(attr.values or []), from_template=template is not None)
        if template is not None:
            self._apply_template(template)
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

    def _apply_attribute(self, oid: str, values: list[bytes], *, from_template: bool) -> None:
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
            self._set_key_type(f"rsa-{size}" if size and f"rsa-{size}" in KEY_TYPES else "rsa-2048" if not size else
                               ("rsa-4096" if size > 3072 else "rsa-3072" if size > 2048 else "rsa-2048"))
            return
        if oid == OID.EXTENSION_REQUEST:
            if not from_template:
                for v in values:
                    self._copy_extensions(v, fill_empty=False)
            return
        # any other attribute with values: include it as given (RFC 9908 §3.3)
        self._extra_attributes = [a for a in self._extra_attributes if a[0] != oid]
        self._extra_attributes.append((oid, list(values)))

    def _copy_extensions(self, extensions_der: bytes, *, fill_empty: bool) -> None:
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
            if value is None:
                continue
            if not value:
                if fill_empty:
                    self._mark_critical(oid, critical)
                continue  # value-less: filled from the builder's own values
            self._extra_extensions = [e for e in self._extra_extensions if e.oid.dotted_string != oid]
            o = x509.ObjectIdentifier(oid)
            self._extra_extensions.append(x509.Extension(o, critical, x509.UnrecognizedExtension(o, value)))

    def _mark_critical(self, oid: str, critical: bool) -> None:
        self._critical_overrides = getattr(self, "_critical_overrides", {})
        self._critical_overrides[oid] = critical

    def _apply_template(self, template: Any) -> None:
        """RFC 9908 template: the server's CertificationRequestInfo shape. Subject RDNs with values are used
        as given, value-less ones are filled from this builder; extensions likewise."""
        subject = getattr(template, "subject", None)
        names: list[tuple[str, str | None]] = []
        if subject is not None:
            try:
                for rdn in _children(_content(subject.to_der())):
                    for atv in _children(_content(rdn)):
                        parts = _children(_content(atv))
                        oid = _decode_oid(parts[0])
                        value = None
                        if len(parts) > 1 and _content(parts[1]):
                            value = _content(parts[1]).decode("utf-8", "replace")
                        names.append((oid, value))
            except (ValueError, IndexError, AttributeError):
                names = []
        self._template_subject = names or None
        for attr in getattr(template, "attributes", None) or []:
            oid = getattr(attr, "oid", None) or getattr(attr, "type", None)
            values = getattr(attr, "values", None) or []
            if oid == OID.EXTENSION_REQUEST:
                for v in values:
                    raw = v if isinstance(v, (bytes, bytearray)) else getattr(v, "to_der", lambda: b"")()
                    self._copy_extensions(bytes(raw), fill_empty=True)
        exts = getattr(template, "extensions", None)
        if exts:
            for e in exts:
                oid, critical, value = e.oid, bool(getattr(e, "critical", False)), getattr(e, "value", b"") or b""
                if value:
                    self.add_extension(oid, value, critical=critical)
                else:
                    self._mark_critical(oid, critical)

    # -- building
    def copy(self) -> "CsrBuilder":
        """A copy sharing the same key."""
        other = copy.copy(self)
        for name in ("_subject", "_sans", "_eku", "_extra_extensions", "_extra_attributes"):
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
        crit = getattr(self, "_critical_overrides", {})
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
        return exts

    def _attributes(self, challenge_password: str | None) -> list[bytes]:
        attrs = []
        if challenge_password is not None:
            attrs.append(_attribute(OID.CHALLENGE_PASSWORD, [_directory_string(challenge_password)]))
        if self._otp is not None:
            attrs.append(_attribute(OID.OTP_CHALLENGE, [_tlv(0x0C, self._otp.encode("utf-8"))]))
        if self._decrypt_kid is not None:
            attrs.append(_attribute(OID.DECRYPT_KEY_ID, [_tlv(0x04, self._decrypt_kid)]))
        if self._asymm_kid is not None:
            attrs.append(_attribute(OID.ASYMM_DECRYPT_KEY_ID, [_tlv(0x04, self._asymm_kid)]))
        if self._smime_caps is not None:
            caps = b"".join(_tlv(0x30, _oid(o) + (p or b"")) for o, p in self._smime_caps)
            attrs.append(_attribute(OID.SMIME_CAPABILITIES, [_tlv(0x30, caps)]))
        for oid, values in self._extra_attributes:
            if oid not in (OID.CHALLENGE_PASSWORD, OID.EXTENSION_REQUEST):
                attrs.append(_attribute(oid, values))
        return attrs

    def build_for_connection(self, challenge_password: str | None) -> bytes:
        """Sign the request. ``challenge_password`` is for the channel-binding code only: base64 of the
        tls-unique value of the connection the request is posted on (RFC 7030 §3.5)."""
        key = self.private_key
        h = self._hash or _default_hash(key)
        return _sign_request(
            key, self._subject_name(), self._extensions(), self._attributes(challenge_password), h, self._memo
        )

    def build(self) -> tuple[bytes, Any]:
        """``(csr_der, private_key)`` — without challengePassword (use the EST client for channel binding)."""
        return self.build_for_connection(None), self.private_key

    def __repr__(self) -> str:
        return f"CsrBuilder(subject={self._subject_name().rfc4514_string()!r}, key_type={self._key_type!r})"
