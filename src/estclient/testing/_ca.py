"""A throwaway certification authority for the reference EST server (keys from ``cryptography``)."""
from __future__ import annotations

import datetime as _dt
import ipaddress
import threading
from typing import Any, Iterable, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes, CertificatePublicKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from estcodec import oids as _oids

__all__ = ["TestCa", "generate_key", "KEY_TYPES"]

KEY_TYPES = ("ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "ed25519")
CMC_RA_EKU = x509.ObjectIdentifier(_oids.ID_KP_CMC_RA)  # id-kp-cmcRA (RFC 6402)


_SAN = _oids.ID_CE_SUBJECT_ALT_NAME
_KEY_USAGE = _oids.ID_CE_KEY_USAGE
_EKU = _oids.ID_CE_EXT_KEY_USAGE


def _requested_extension(ext: object) -> tuple[str, bool, x509.ExtensionType]:
    """(dotted OID, critical, value for CertificateBuilder) of an estcodec or cryptography extension."""
    if isinstance(ext, x509.Extension):
        return ext.oid.dotted_string, ext.critical, ext.value
    model: Any = ext  # an estcodec.x509.Extension (or anything shaped like one)
    dotted: str = model.extn_id
    raw = x509.UnrecognizedExtension(x509.ObjectIdentifier(dotted), bytes(model.extn_value))
    return dotted, bool(model.critical), raw


GeneratedKey = Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey]


def generate_key(key_type: str) -> GeneratedKey:
    """A new private key of ``key_type`` (one of ``KEY_TYPES``)."""
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if key_type == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def key_type_of(public_key: object) -> str:
    """The key type to generate for a server-side keygen request with this CSR key (same family)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return "rsa-3072" if public_key.key_size >= 3072 else "rsa-2048"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ec-p384" if public_key.curve.key_size > 256 else "ec-p256"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return "ec-p256"


def _sign_hash(key: object) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0)


def _ca_certificate(
    subject: x509.Name, public_key: CertificateIssuerPublicKeyTypes, issuer: x509.Name, signer: GeneratedKey,
    now: _dt.datetime,
    *, days: int = 3650, path_length: int | None = None, name_constraints: x509.NameConstraints | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if name_constraints is not None:
        builder = builder.add_extension(name_constraints, critical=True)
    signer_pub = signer.public_key()
    if signer_pub != public_key:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_pub), critical=False)
    return builder.sign(signer, _sign_hash(signer))


class TestCa:
    """Root CA, TLS server certificate for 127.0.0.1/localhost, and a register of what it issued."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        *,
        key_type: str = "ec-p256",
        common_name: str = "estclient EstTestServer CA",
        tls_hostnames: tuple[str, ...] = ("localhost",),
        tls_ip_addresses: tuple[str, ...] = ("127.0.0.1", "::1"),
        tls_cmc_ra: bool = False,
        tls_include_hostname: bool = True,
        intermediate: bool = False,
        rollover: bool = False,
        name_constraints: x509.NameConstraints | None = None,
    ) -> None:
        self._lock = threading.Lock()
        now = _now()
        self.key = generate_key(key_type)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        pub = self.key.public_key()
        self.certificate = _ca_certificate(
            name, pub, name, self.key, now, name_constraints=None if intermediate else name_constraints
        )
        # the CA that issues (the root, or an intermediate below it) and the chain a client needs
        self.issuer_key = self.key
        self.issuer_certificate = self.certificate
        self.intermediates: list[x509.Certificate] = []
        if intermediate:
            self.issuer_key = generate_key(key_type)
            sub = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name + " Issuing CA")])
            self.issuer_certificate = _ca_certificate(
                sub, self.issuer_key.public_key(), name, self.key, now, path_length=0,
                name_constraints=name_constraints,
            )
            self.intermediates = [self.issuer_certificate]
        # RFC 4210 §4.4 root CA key update: NewWithNew, OldWithNew, NewWithOld (RFC 7030 §4.1.3)
        self.rollover_certificates: list[x509.Certificate] = []
        if rollover:
            new_key = generate_key(key_type)
            new_pub = new_key.public_key()
            new_with_new = _ca_certificate(name, new_pub, name, new_key, now, days=7300)
            old_with_new = _ca_certificate(name, pub, name, new_key, now, days=3650)
            new_with_old = _ca_certificate(name, new_pub, name, self.key, now, days=3650)
            self.rollover_certificates = [new_with_new, old_with_new, new_with_old]
        self.issued: dict[int, x509.Certificate] = {}
        # revocation: serial -> (revocation time, reason); the URLs put into issued certificates (None: left out)
        self.revoked: dict[int, tuple[_dt.datetime, x509.ReasonFlags | None]] = {}
        self.crl_url: str | None = None
        self.ocsp_url: str | None = None
        self._by_ski: dict[bytes, x509.Certificate] = {}
        # the TLS server identity
        self.tls_key = generate_key("ec-p256")
        sans: list[x509.GeneralName] = []
        if tls_include_hostname:
            sans += [x509.DNSName(h) for h in tls_hostnames]
            sans += [x509.IPAddress(ipaddress.ip_address(a)) for a in tls_ip_addresses]
        ekus = [ExtendedKeyUsageOID.SERVER_AUTH] + ([CMC_RA_EKU] if tls_cmc_ra else [])
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EstTestServer")]))
            .issuer_name(self.issuer_certificate.subject)
            .public_key(self.tls_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5))
            .not_valid_after(now + _dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.issuer_key.public_key()
                ),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        self.tls_certificate = builder.sign(self.issuer_key, _sign_hash(self.issuer_key))

    @property
    def ca_certificates(self) -> list[x509.Certificate]:
        """What /cacerts returns: the root, any intermediate, any root key-update certificates."""
        return [self.certificate, *self.intermediates, *self.rollover_certificates]

    # ------------------------------------------------------------------------------------------ PEM

    @property
    def certificate_pem(self) -> bytes:
        """The root CA certificate as PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def tls_chain_pem(self) -> bytes:
        """The server's TLS certificate and the intermediates above it, as PEM."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [self.tls_certificate, *self.intermediates])

    def tls_key_pem(self) -> bytes:
        """The server's TLS private key as unencrypted PKCS#8 PEM."""
        return self.tls_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    # ------------------------------------------------------------------------------------------ issue

    def issue(
        self,
        subject: x509.Name,
        public_key: CertificatePublicKeyTypes,
        requested: Iterable[object] = (),
        *,
        lifetime: float,
        extended_key_usage: list[x509.ObjectIdentifier] | None = None,
    ) -> x509.Certificate:
        """Issue an end-entity certificate; SAN, keyUsage and EKU are copied from ``requested``.

        ``requested``: the extensions a request asked for, as ``estcodec.x509.Extension`` (copied with
        their exact value bytes) or ``cryptography`` ``x509.Extension`` objects.
        A negative ``lifetime`` gives a certificate that expired that many seconds ago (for tests).
        """
        # one second back: a certificate used the moment it is issued (a TLS client identity) is then not "not yet
        # valid" for a verifier whose clock reads a little behind (a virtual machine's clock can step back)
        now = _now() - _dt.timedelta(seconds=1)
        start = now if lifetime > 0 else now + _dt.timedelta(seconds=lifetime) - _dt.timedelta(hours=1)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.issuer_certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(now + _dt.timedelta(seconds=lifetime))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuer_key.public_key()),
                critical=False,
            )
        )
        if self.crl_url is not None:
            point = x509.DistributionPoint([x509.UniformResourceIdentifier(self.crl_url)], None, None, None)
            builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
        if self.ocsp_url is not None:
            access = x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                            x509.UniformResourceIdentifier(self.ocsp_url))
            builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
        have_eku = False
        for ext in requested:
            dotted, critical, value = _requested_extension(ext)
            if dotted in (_SAN, _KEY_USAGE):
                builder = builder.add_extension(value, critical=critical)
            elif dotted == _EKU and extended_key_usage is None:
                builder = builder.add_extension(value, critical=critical)
                have_eku = True
        if extended_key_usage is not None and not have_eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(extended_key_usage), critical=False)
        cert = builder.sign(self.issuer_key, _sign_hash(self.issuer_key))
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        with self._lock:
            self.issued[cert.serial_number] = cert
            self._by_ski[ski] = cert
        return cert

    def find_by_ski(self, ski: bytes) -> x509.Certificate | None:
        """The certificate this CA issued with subject key identifier ``ski``, or None."""
        with self._lock:
            return self._by_ski.get(ski)

    def issued_this(self, cert: x509.Certificate) -> bool:
        """True if ``cert`` is one this CA issued (same serial and identical bytes)."""
        with self._lock:
            mine = self.issued.get(cert.serial_number)
        return mine is not None and mine == cert

    def latest_issued_to(self, subject: x509.Name) -> x509.Certificate | None:
        """The unrevoked certificate this CA issued to ``subject`` that expires last, or None."""
        with self._lock:
            mine = [c for c in self.issued.values() if c.subject == subject and c.serial_number not in self.revoked]
        return max(mine, key=lambda c: c.not_valid_after_utc, default=None)

    # ------------------------------------------------------------------------------------------ revoke

    def revoke(
        self,
        certificate: x509.Certificate | int,
        *,
        reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise,
        when: _dt.datetime | None = None,
    ) -> None:
        """Revoke a certificate this CA issued (or a serial number): the next CRL lists it and the OCSP responder
        answers "revoked". ``reason`` None leaves the reason out; ``when`` defaults to now."""
        serial = certificate if isinstance(certificate, int) else certificate.serial_number
        with self._lock:
            self.revoked[serial] = (when or _now(), reason)

    def revocation_of(self, serial: int) -> tuple[_dt.datetime, x509.ReasonFlags | None] | None:
        """(time, reason) when ``serial`` is revoked, else None."""
        with self._lock:
            return self.revoked.get(serial)
