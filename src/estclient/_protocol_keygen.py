"""``/serverkeygen`` responses (RFC 7030 §4.4.2): the multipart/mixed body, the key part in clear or
encrypted, and the certificate part.

Part of :mod:`estclient.protocol`, which re-exports the public names; import them from there.
"""
from __future__ import annotations

import email.parser
import email.policy
from typing import Any

from ._protocol_checks import _parse_certs, _pending, _raise_for_status, select_issued_certificate, spki_of
from ._protocol_media import CT_MULTIPART, CT_PKCS7, CT_PKCS8, decode_body, parse_media_type
from ._protocol_types import EstResponse, Pending, ServerKeygenResponse, _key_object
from .errors import ConfigError, ProtocolError


def _multipart_parts(resp: EstResponse) -> list[tuple[str, dict[str, str], bytes]]:
    """The parts of a ``multipart/mixed`` body (RFC 2046 §5.1) as ``(media type, parameters, raw bytes)``,
    each payload exactly as received (Content-Transfer-Encoding ignored, RFC 8951). ProtocolError otherwise.
    """
    ct = resp.headers.get("content-type", "")
    mtype, params = parse_media_type(ct)
    boundary = params.get("boundary")
    if mtype != CT_MULTIPART or not boundary:
        got = repr(mtype[:80]) if mtype else "no type"  # server text, shown escaped
        raise ProtocolError(f"serverkeygen: expected multipart/mixed with a boundary, got {got}")
    if not boundary.isascii() or any(ch in boundary for ch in '"\r\n\\') or len(boundary) > 70:
        # RFC 2046 §5.1.1: 1-70 characters from a small ASCII set
        raise ProtocolError("serverkeygen: the multipart boundary is not a valid RFC 2046 boundary")
    head = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\nMIME-Version: 1.0\r\n\r\n'.encode("ascii")
    try:
        msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + resp.body)
    except Exception as exc:  # the email package should not raise, but never let it leak
        raise ProtocolError("serverkeygen: unreadable multipart body") from exc
    if not msg.is_multipart():
        raise ProtocolError("serverkeygen: multipart body has no parts")
    parts = []
    for part in msg.get_payload():
        if isinstance(part, str):  # pragma: no cover - is_multipart() guarantees Message parts
            raise ProtocolError("serverkeygen: unreadable multipart body")
        part_ct = part.get("Content-Type")
        if part_ct is not None and not isinstance(part_ct, str):
            # the email package hands back an email.header.Header for a header with non-ASCII bytes
            raise ProtocolError("serverkeygen: a multipart part has an unreadable Content-Type")
        ptype, pparams = parse_media_type(part_ct)
        # Message.get_payload() would replace non-ASCII bytes (decode=False) or apply the
        # Content-Transfer-Encoding (decode=True), which RFC 8951 says to ignore: read the stored payload
        payload = getattr(part, "_payload", None)
        if payload is None:  # pragma: no cover - other email implementations
            payload = part.get_payload(decode=False)
        if isinstance(payload, list):
            raise ProtocolError("serverkeygen: nested multipart is not expected")
        # the email package reads bytes as ASCII with surrogateescape: undo it to get the exact bytes back
        # (a part may be raw DER, RFC 8951 §3.2); Content-Transfer-Encoding is ignored (RFC 8951)
        raw = payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else bytes(payload or b"")
        parts.append((ptype, pparams, raw))
    return parts


def parse_serverkeygen_response(
    resp: EstResponse,
    *,
    private_key: Any = None,
    certificate: Any = None,
    kek: bytes | None = None,
    kek_id: bytes | None = None,
    signer_trust: Any = None,
    verify_signer: bool = True,
    now: float | None = None,
) -> ServerKeygenResponse | Pending:
    """``/serverkeygen`` (RFC 7030 §4.4.2): multipart/mixed holding the key (``application/pkcs8``, PKCS#1
    accepted leniently, or ``application/pkcs7-mime; smime-type=server-generated-key``) and a certs-only part.

    An encrypted key is decrypted with ``private_key``/``certificate`` or ``kek``/``kek_id`` and its
    SignedData signature verified against ``signer_trust`` (both via :mod:`estcodec.enveloped`). Without any
    decryption key the result carries ``encrypted_key`` and ``private_key=None``.
    """
    if resp.status == 202:
        return _pending(resp, now)
    _raise_for_status(resp, "serverkeygen")
    if resp.status != 200:
        raise ProtocolError(f"serverkeygen: unexpected status {resp.status}")
    key_der: bytes | None = None
    encrypted: bytes | None = None
    certs: list[Any] | None = None
    for ptype, pparams, raw in _multipart_parts(resp):
        smime = pparams.get("smime-type", "").lower()
        if ptype == CT_PKCS8:
            if key_der is not None or encrypted is not None:
                raise ProtocolError("serverkeygen: more than one key part")
            key_der = _read_private_key(decode_body(raw, "serverkeygen key part"))
        elif ptype == CT_PKCS7 and smime == "server-generated-key":
            if key_der is not None or encrypted is not None:
                raise ProtocolError("serverkeygen: more than one key part")
            encrypted = decode_body(raw, "serverkeygen encrypted key part")
        elif ptype == CT_PKCS7 and smime in ("certs-only", ""):
            if certs is not None:
                raise ProtocolError("serverkeygen: more than one certificate part")
            certs = _parse_certs(decode_body(raw, "serverkeygen certificate part"), "serverkeygen certificate part")
        else:
            raise ProtocolError(f"serverkeygen: unexpected part {repr(ptype[:80]) if ptype else 'without type'}")
    if certs is None:
        raise ProtocolError("serverkeygen: no certificate part")
    if key_der is None and encrypted is None:
        raise ProtocolError("serverkeygen: no key part")
    if key_der is not None and any(x is not None for x in (private_key, kek)):
        # the caller asked for an encrypted, signed key (RFC 7030 §4.4.1.2): no silent downgrade to a clear one
        raise ProtocolError("serverkeygen: the key came unencrypted although a decryption key was given (the "
                            "request must carry DecryptKeyIdentifier or AsymmetricDecryptKeyIdentifier)")
    if encrypted is not None and any(x is not None for x in (private_key, kek)):
        key_der = _unwrap_key(
            encrypted,
            private_key=private_key,
            certificate=certificate,
            kek=kek,
            kek_id=kek_id,
            signer_trust=signer_trust,
            verify_signer=verify_signer,
        )
    issued_spki = spki_of(_key_object(key_der)) if key_der is not None else None
    cert, others = select_issued_certificate(certs, issued_spki)
    return ServerKeygenResponse(
        certificate=cert,
        private_key=key_der,
        encrypted_key=encrypted,
        key_encrypted=encrypted is not None,
        chain=others,
    )


def _read_private_key(der: bytes) -> bytes:
    """PKCS#8 DER (or PKCS#1 / SEC1, leniently) -> PKCS#8 DER."""
    from estcodec import Error as CodecError
    from estcodec.pkcs8 import parse_private_key

    try:
        info = parse_private_key(der)
    except CodecError:
        raise ProtocolError("serverkeygen: the key part is neither PKCS#8 nor PKCS#1/SEC1") from None
    return info.to_der()


def _unwrap_key(encrypted: bytes, *, signer_trust: Any, verify_signer: bool, **keys: Any) -> bytes:
    from estcodec import Error as CodecError
    from estcodec.enveloped import unwrap_server_generated_key

    kw = {k: v for k, v in keys.items() if v is not None}
    if verify_signer and signer_trust is None:  # estcodec says so with a bare ValueError
        raise ConfigError("serverkeygen: give signer_trust (the EST CA certificates) to verify the encrypted key's "
                          "signer, or verify_signer=False")
    try:
        info = unwrap_server_generated_key(encrypted, signer_trust=signer_trust, verify_signer=verify_signer, **kw)
    except CodecError as exc:
        hint = "" if signer_trust is not None else " (no signer_trust: give the EST CA certificates to verify it)"
        raise ProtocolError(
            f"serverkeygen: the encrypted key could not be unwrapped: {type(exc).__name__}: {str(exc)[:200]}{hint}"
        ) from exc
    return bytes(info.to_der())
