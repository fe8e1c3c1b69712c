"""``/fullcmc`` responses (RFC 7030 §4.3.2, RFC 5272): a Full PKI Response verified against the EST trust,
or a certs-only Simple PKI Response.

Part of :mod:`estclient.protocol`, which re-exports the public names; import them from there.
"""
from __future__ import annotations

from typing import Any

from ._protocol_checks import _parse_certs, _pending, _raise_for_status
from ._protocol_media import CT_PKCS7, decode_body, parse_media_type
from ._protocol_types import CmcResponse, EstResponse, Pending
from .errors import ProtocolError, ServerError


def _is_certs_only(der: bytes) -> bool:
    """True when ``der`` is a certs-only Simple PKI Response (RFC 5272 §4.1): a SignedData with no signer and
    no encapsulated content. A signed PKIResponse (or anything else) is not one, whatever its label says."""
    from estcodec import Error as CodecError
    from estcodec.cms import OID_DATA, parse_signed_data

    try:
        sd = parse_signed_data(der)
    except CodecError:
        return False
    return sd.econtent_type == OID_DATA and sd.econtent is None and not list(sd.signer_infos or ())


def _request_echo(request: Any) -> tuple[int | None, bytes | None]:
    """(transactionId, senderNonce) of the Full PKI Request that was sent: a ``PKIData``, a ``CmcRequest`` or its
    DER. ``(None, None)`` when the request carries neither (or its DER cannot be read: the caller's own bytes)."""
    if request is None:
        return None, None
    pki = getattr(request, "pki_data", request)
    if isinstance(pki, (bytes, bytearray, memoryview)):
        from estcodec import Error as CodecError
        from estcodec.cmc import parse_pki_data

        try:
            pki = parse_pki_data(bytes(pki))
        except CodecError:
            return None, None
    return getattr(pki, "transaction_id", None), getattr(pki, "sender_nonce", None)


def _check_echo(pr: Any, request: Any) -> None:
    """RFC 5272 §6.6/§6.7: the response repeats the request's transactionId and returns its senderNonce as
    recipientNonce. Any difference (or an omission) is a ProtocolError: a replayed or misdirected response."""
    transaction_id, sender_nonce = _request_echo(request)
    if transaction_id is not None and pr.transaction_id != transaction_id:
        got = "none" if pr.transaction_id is None else "another one"
        raise ProtocolError(f"fullcmc response transactionId does not match the request's ({got} in the response)")
    if sender_nonce is not None:
        if pr.recipient_nonce is None:
            raise ProtocolError("fullcmc response carries no recipientNonce (the request sent a senderNonce)")
        if bytes(pr.recipient_nonce) != bytes(sender_nonce):
            raise ProtocolError("fullcmc response recipientNonce is not the senderNonce of the request")


def parse_fullcmc_response(
    resp: EstResponse, *, signer_trust: Any = None, now: float | None = None, request: Any = None
) -> CmcResponse | Pending:
    """``/fullcmc`` (RFC 7030 §4.3.2): 200 with a Full PKI Response or a certs-only Simple PKI Response.

    A Full PKI Response is a success only when its SignedData verifies to a signer that is, or chains to, one of
    ``signer_trust`` (RFC 5272 §3.2.1.3.4: the EST trust anchors or the CA certificates), it carries a status
    and every status says success. Without ``signer_trust`` a Full PKI Response is refused (ProtocolError):
    verification is never skipped. With ``request`` (the ``CmcRequest``, ``PKIData`` or DER that was sent) the
    response must echo its transactionId and return its senderNonce as recipientNonce (RFC 5272 §6.6, §6.7).
    What the label calls certs-only must be one (no signer, no content); an unlabelled body is read by its
    structure, never "certs-only because the signature failed". A CMC failure status raises ServerError
    carrying the PKIResponse and its failInfo."""
    if resp.status == 202:
        return _pending(resp, now)
    _raise_for_status(resp, "fullcmc")
    if resp.status != 200:
        raise ProtocolError(f"fullcmc: unexpected status {resp.status}")
    mtype, params = parse_media_type(resp.headers.get("content-type"))
    if mtype and mtype != CT_PKCS7:
        raise ProtocolError(f"fullcmc: expected {CT_PKCS7}, got {mtype[:80]!r}")
    der = decode_body(resp.body, "fullcmc response")
    smime = params.get("smime-type", "").lower()
    if smime not in ("", "certs-only", "cmc-response"):
        raise ProtocolError(f"fullcmc: unexpected smime-type {smime!r}")
    if smime in ("certs-only", ""):
        if _is_certs_only(der):
            return CmcResponse(None, tuple(_parse_certs(der, "fullcmc response")))
        if smime == "certs-only":
            raise ProtocolError("fullcmc response labelled certs-only is a signed or non-empty SignedData")
    if signer_trust is None:
        raise ProtocolError(
            "fullcmc response is a Full PKI Response but there is nothing to verify its signer against "
            "(give signer_trust, or use trust anchors or the /cacerts set)"
        )
    from estcodec import Error as CodecError
    from estcodec.cmc import parse_pki_response

    try:
        pr = parse_pki_response(der, signer_trust=signer_trust)
    except CodecError as exc:
        raise ProtocolError(f"fullcmc response is not a verifiable Full PKI Response: {exc}") from exc
    except (TypeError, ValueError) as exc:  # unreadable trust given by the caller
        raise ProtocolError(f"fullcmc: the signer trust is unusable: {type(exc).__name__}") from exc
    if not getattr(pr, "signature_verified", False):
        raise ProtocolError("fullcmc response signature was not verified against the EST trust anchors")
    _check_echo(pr, request)
    if not pr.statuses:
        raise ProtocolError("fullcmc response carries no CMCStatusInfo: it does not say the request succeeded")
    if not pr.is_success() and not pr.is_pending():
        fi = pr.fail_info()
        try:
            desc = fi.description() if fi is not None and hasattr(fi, "description") else str(fi)
        except Exception:
            desc = str(fi)
        raise ServerError(200, f"CMC failure: {desc}", pki_response=pr, fail_info=fi)
    return CmcResponse(pr, tuple(pr.certificates or ()))
