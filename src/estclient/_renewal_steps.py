"""Steps of a renewal kept apart from the schedulers (estclient.renewal): the new pair made from an issued
certificate, and the re-enrollment request saved for a later check (RenewalConfig.pending_dir)."""
from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives import serialization

from .config import ClientIdentity
from .errors import ConfigError, ProtocolError, ServerError
from .keys import private_key_pem


def _public_der(key: Any) -> bytes:
    return bytes(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def _chain_pem(cert_pem: bytes) -> bytes:
    """The PEM blocks after the first (the chain a certificate file carries after its leaf)."""
    marker = b"-----BEGIN CERTIFICATE-----"
    first = cert_pem.find(marker)
    second = cert_pem.find(marker, first + len(marker)) if first >= 0 else -1
    return cert_pem[second:] if second >= 0 else b""


def _issue_pair(issued: Any, key: Any, old: ClientIdentity, password: bytes | None) -> ClientIdentity:
    if not key.exportable:  # a file store keeps the key in a file: a token key renews on its token
        raise ConfigError("the renewal file store needs a key that can be written to a file; renew a token key "
                          "with estclient.pkcs11.renew_on_token")
    cert = issued.certificate
    if cert.public_key_info.to_der() != _public_der(key.public_key()):
        raise ProtocolError("the re-enrollment response holds no certificate for the requested key")
    cert_pem = issued.to_pem().encode("ascii")
    if not issued.chain:  # the server sent the certificate alone: keep the chain the old file carried
        chain = _chain_pem(old.cert_pem)
        if chain:
            cert_pem += chain if chain.endswith(b"\n") else chain + b"\n"
    return ClientIdentity(cert_pem, private_key_pem(key, password), password)


def resumable(pending_dir: str | None, client: Any) -> str | None:
    """Where a renewal's request is saved: ``pending_dir``, unless the client signs each request for its
    connection (channel binding required), so that it could not be sent again on another one; else None."""
    if getattr(client.config, "channel_binding", "auto") == "require":
        return None
    return pending_dir


def saved_request(directory: str, key_password: bytes | None) -> Any:
    """The re-enrollment request an earlier check saved in ``directory`` (a PendingEnrollment), or None."""
    from .resume import PendingEnrollment

    if not PendingEnrollment.exists(directory):
        return None
    pending = PendingEnrollment.load(directory, key_password=key_password)
    if pending.operation != "reenroll":
        raise ConfigError(f"{directory} holds a pending enrollment, not a re-enrollment: complete or remove it")
    return pending


def save_request(directory: str, builder: Any, key_password: bytes | None) -> Any:
    """Build ``builder``'s request and save it with its key in ``directory`` before it is first sent."""
    from .resume import PendingEnrollment

    return PendingEnrollment.start(builder, directory, operation="reenroll", key_password=key_password)


def _refuses_request(error: BaseException) -> bool:
    """A 4xx answer about the request itself (not credentials, a proxy, a timeout or a rate limit)."""
    return isinstance(error, ServerError) and 400 <= error.status < 500 and error.status not in (401, 407, 408, 429)
