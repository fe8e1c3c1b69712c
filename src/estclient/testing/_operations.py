"""The reference server's EST operations but /fullcmc (``_fullcmc``): /cacerts, /csrattrs, /simpleenroll,
/simplereenroll and /serverkeygen, each a function from an :class:`~._http.Exchange` and its body to a reply,
and the steps they share (reading the CSR, the 202 pending mode, issuing)."""
from __future__ import annotations

import base64
import secrets
from contextlib import contextmanager
from typing import Iterator

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from estcodec import oids as _oids
from estcodec.enveloped import (
    EncryptionAlgorithm, KEKRecipient, KeyAgreeRecipient, KeyTransRecipient, Recipient, wrap_server_generated_key,
)

from ._auth import check_channel_binding
from ._ca import generate_key, key_type_of
from ._csr import CsrError, CsrInfo, certificate_san_der, parse_csr
from ._http import Exchange, HttpError, Reply, b64_reply, decode_b64_body
from ._keygen import apply_capabilities
from ._state import certs_only

CERTS_ONLY = "application/pkcs7-mime; smime-type=certs-only"
# SMIMECapabilities the server acts on (RFC 8551 §2.5.2), and the key-agreement algorithms it uses
_AES_CBC = {a.value for a in (EncryptionAlgorithm.AES128_CBC, EncryptionAlgorithm.AES192_CBC,
                              EncryptionAlgorithm.AES256_CBC)}
_OID_RSA_ENCRYPTION = _oids.RSA_ENCRYPTION  # PKCS#1 v1.5 key transport
_OID_RSAES_OAEP = _oids.ID_RSAES_OAEP
_OID_ECDH_STD_SHA256_KDF = _oids.DH_SINGLE_PASS_STD_DH_SHA256KDF_SCHEME  # RFC 5753
_OID_ECDH_STD_SHA384_KDF = _oids.DH_SINGLE_PASS_STD_DH_SHA384KDF_SCHEME
_OID_AES128_WRAP = _oids.ID_AES128_WRAP
_OID_AES256_WRAP = _oids.ID_AES256_WRAP


@contextmanager
def csr_errors_are_400() -> Iterator[None]:
    """Turn a :class:`CsrError` raised while reading a request's fields into a 400 that names it."""
    try:
        yield
    except CsrError as exc:
        raise HttpError(400, str(exc)) from None


def read_csr(x: Exchange, body: bytes, *, verify: bool = True) -> CsrInfo:
    """The PKCS#10 body of an enrollment (415 for another media type, 400 when unreadable or, with ``verify``,
    when its signature does not verify)."""
    x.check_media_type("application/pkcs10")
    try:
        return parse_csr(decode_b64_body(body), verify=verify)
    except CsrError as exc:
        raise HttpError(400, f"bad certification request: {exc}") from None


def check_pending(x: Exchange, op: str, info: CsrInfo) -> None:
    """202 with Retry-After for the first ``pending_repeats`` requests of ``op`` for this public key."""
    est = x.est
    if est.pending_retry_after is None:
        return
    key = (op, info.spki_der)
    with est._lock:
        seen = est._pending.get(key, 0)
        if seen >= est.pending_repeats:
            return
        est._pending[key] = seen + 1
    retry = est.pending_retry_after
    value = retry if isinstance(retry, str) else str(int(retry))
    raise HttpError(202, "", headers={"Retry-After": value}, body=b"")


def issue(x: Exchange, info: CsrInfo, public_key: CertificatePublicKeyTypes | None = None) -> x509.Certificate:
    """A certificate for ``info`` (for ``public_key`` instead of the CSR's when given); 400 when the CA
    cannot certify it."""
    try:
        return x.est.ca.issue(
            info.subject, public_key if public_key is not None else info.public_key, info.extensions,
            lifetime=x.est.cert_lifetime,
        )
    except (ValueError, TypeError) as exc:  # e.g. a key type or extension the CA cannot certify
        raise HttpError(400, f"cannot issue a certificate for this request: {exc}") from None


def cacerts(x: Exchange, body: bytes) -> Reply:  # noqa: ARG001
    """GET /cacerts: the CA certificates (and ``extra_ca_certificates``) as certs-only."""
    est = x.est
    return b64_reply("application/pkcs7-mime", certs_only([*est.ca.ca_certificates, *est.extra_ca_certificates]))


def csrattrs(x: Exchange, body: bytes) -> Reply:  # noqa: ARG001
    """GET /csrattrs: the configured CSR attributes; 204 when empty, 404 when not offered."""
    der = x.est.csr_attrs_der()
    if der is None:
        raise HttpError(404, "CSR attributes are not offered by this server")
    if not der:
        return 204, {}, b""
    return b64_reply("application/csrattrs", der)


def _enrolled(x: Exchange, op: str, info: CsrInfo) -> Reply:
    """The end every enrollment shares: the pending check, then the issued certificate as certs-only."""
    check_pending(x, op, info)
    return b64_reply(CERTS_ONLY, x.est._issued_certs_only(issue(x, info)))


def simpleenroll(x: Exchange, body: bytes) -> Reply:
    """POST /simpleenroll: a verified CSR, its channel binding checked, answered with the new certificate."""
    info = read_csr(x, body)
    check_channel_binding(x, info)
    return _enrolled(x, "simpleenroll", info)


def simplereenroll(x: Exchange, body: bytes) -> Reply:
    """POST /simplereenroll: as /simpleenroll, over a TLS connection authenticated by the certificate being
    renewed (issued by this CA), whose subject and subjectAltName the CSR repeats unless it carries
    changeSubjectName (RFC 7030 §4.2.2)."""
    info = read_csr(x, body)
    current = x.peer_cert
    if current is None and x.est.reenroll_with_credentials and x.est.auth in ("basic", "digest"):
        # the client proved HTTP credentials (authentication ran first); the certificate being renewed is the
        # newest one issued to the CSR's subject (a key that cannot present itself over TLS: a token key)
        current = x.est.ca.latest_issued_to(info.subject)
    if current is None or not x.est.ca.issued_this(current):
        raise HttpError(403, "Forbidden: re-enrollment needs the TLS client certificate being "
                             "renewed, issued by this CA")
    check_channel_binding(x, info)
    if not info.has_change_subject_name:
        if info.subject != current.subject:
            raise HttpError(400, "the CSR subject differs from the certificate being renewed "
                                 "(RFC 7030 section 4.2.2) and no changeSubjectName is present")
        with csr_errors_are_400():
            same_san = info.subject_alt_name_der == certificate_san_der(current)
        if not same_san:
            raise HttpError(400, "the CSR subjectAltName differs from the certificate being renewed "
                                 "(RFC 7030 section 4.2.2) and no changeSubjectName is present")
    return _enrolled(x, "simplereenroll", info)


def serverkeygen(x: Exchange, body: bytes) -> Reply:
    """POST /serverkeygen: a new key of the CSR key's family (or ``server_keygen_key_type``) and its
    certificate, as ``multipart/mixed``; the key part is PKCS#8, or encrypted to the key the CSR names
    (RFC 7030 §4.4.2)."""
    est = x.est
    if not est.server_keygen:
        raise HttpError(501, "server-side key generation is not offered by this server")
    # RFC 7030 §4.4.1: the server MUST ignore the CSR's public key and signature
    info = read_csr(x, body, verify=est.verify_serverkeygen_signature)
    check_channel_binding(x, info)
    # find the decryption key first: an unknown one ends the request (RFC 7030 §4.4.1.1/2)
    recipient, content_alg = _key_recipient(x, info)
    check_pending(x, "serverkeygen", info)
    key = generate_key(est.server_keygen_key_type or key_type_of(info.public_key))
    cert = issue(x, info, key.public_key())
    if recipient is not None:
        # RFC 7030 §4.4.2: EnvelopedData(SignedData(AsymmetricKeyPackage)), signed by the issuing CA
        enveloped = wrap_server_generated_key(
            key, [recipient], signer_key=est.ca.issuer_key, signer_certificate=est.ca.issuer_certificate,
            algorithm=content_alg,
        )
        key_part = ("application/pkcs7-mime; smime-type=server-generated-key", enveloped)
    else:
        pkcs8 = key.private_bytes(serialization.Encoding.DER, est._key_format(key), serialization.NoEncryption())
        key_part = ("application/pkcs8", pkcs8)
    return _multipart([key_part, (CERTS_ONLY, est._issued_certs_only(cert))], est.multipart_line_ending)


def _key_recipient(x: Exchange, info: CsrInfo) -> tuple[Recipient | None, EncryptionAlgorithm]:
    """Whom the generated key is encrypted to (None: sent as plain PKCS#8) and with which content cipher:
    the KEK a DecryptKeyIdentifier names, or the certificate an AsymmetricDecryptKeyIdentifier names, shaped
    by the CSR's SMIMECapabilities (RFC 8551 §2.5.2: in order of preference)."""
    est = x.est
    with csr_errors_are_400():
        kek_id = info.decrypt_key_identifier
        ski = info.asymmetric_decrypt_key_identifier
        caps = info.smime_capabilities
    content_alg = EncryptionAlgorithm.AES256_CBC
    recipient: Recipient
    if kek_id is not None:
        kek = est.server_keygen_keks.get(kek_id)
        if kek is None:
            raise HttpError(400, "DecryptKeyIdentifier names a key this server does not hold")
        recipient = KEKRecipient(kek=kek, kek_id=kek_id)
    elif ski is not None:
        recipient_cert = est.ca.find_by_ski(ski)
        if recipient_cert is None:
            raise HttpError(400, "AsymmetricDecryptKeyIdentifier names no certificate this CA issued")
        _check_encryption_usage(recipient_cert)
        padding = est.rsa_key_transport
        if _OID_RSAES_OAEP in caps:
            padding = "oaep"
        elif _OID_RSA_ENCRYPTION in caps:
            padding = "pkcs1v15"
        recipient = _certificate_recipient(recipient_cert, padding)
        recipient = apply_capabilities(recipient, caps)  # key wrap / ECDH scheme from SMIMECapabilities
    else:
        return None, content_alg
    # the client's first AES-CBC capability
    return recipient, next((EncryptionAlgorithm(c) for c in caps if c in _AES_CBC), content_alg)


def _multipart(parts: list[tuple[str, bytes]], nl: str) -> Reply:
    """A ``multipart/mixed`` reply whose parts are base64 bodies of the given content types."""
    boundary = "est-" + secrets.token_hex(12)
    out = []
    for ctype, der in parts:
        text = base64.b64encode(der).decode("ascii")
        out.append(f"--{boundary}{nl}Content-Type: {ctype}{nl}Content-Transfer-Encoding: base64{nl}{nl}{text}{nl}")
    payload = ("".join(out) + f"--{boundary}--{nl}").encode("ascii")
    return 200, {"Content-Type": f"multipart/mixed; boundary={boundary}"}, payload


def _certificate_recipient(cert: x509.Certificate, rsa_padding: str) -> Recipient:
    """The recipient for a certificate this CA issued, named by subject key identifier: RSA key transport
    (RSAES-OAEP with SHA-256, or PKCS#1 v1.5), or EC key agreement (ephemeral-static ECDH, RFC 5753: X9.63
    KDF with SHA-256 and AES-128 key wrap up to 256-bit curves, SHA-384 and AES-256 wrap above)."""
    public_key = cert.public_key()
    if isinstance(public_key, rsa.RSAPublicKey):
        return KeyTransRecipient(certificate=cert, oaep=rsa_padding == "oaep", identify_by_ski=True)
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        big = public_key.curve.key_size > 256
        return KeyAgreeRecipient(
            certificate=cert, identify_by_ski=True,
            scheme=_OID_ECDH_STD_SHA384_KDF if big else _OID_ECDH_STD_SHA256_KDF,
            wrap=_OID_AES256_WRAP if big else _OID_AES128_WRAP,
        )
    raise HttpError(400, "the certificate named by AsymmetricDecryptKeyIdentifier has a key that can neither "
                         "transport nor agree keys")


def _check_encryption_usage(cert: x509.Certificate) -> None:
    """RFC 7030 §4.4.1.2: the key must allow keyTransport / keyAgreement, or be unrestricted."""
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey) and ku.key_encipherment:
        return
    if isinstance(key, ec.EllipticCurvePublicKey) and ku.key_agreement:
        return
    raise HttpError(400, "the certificate named by AsymmetricDecryptKeyIdentifier may not be used for "
                         "key transport or key agreement")
