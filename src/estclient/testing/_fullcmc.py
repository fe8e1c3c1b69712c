"""/fullcmc on the reference server: a Full PKI Request (RFC 5272; SignedData(PKIData), DER or BER) read and
its signature checked, each PKCS#10 verified, and a CA-signed PKIResponse (or certs-only) answered."""
from __future__ import annotations

from typing import Any

from cryptography import x509

from estcodec import Error as CodecError
from estcodec.cmc import CmcFailInfo, PKIData, PkiResponseBuilder, parse_pki_data
from estcodec.cmc import oid as cmc_oid
from estcodec.cms import ContentInfo, SignedData, verify_signer_info
from estcodec.x509 import Certificate

from ._csr import CsrError, CsrInfo, from_request
from ._http import Exchange, HttpError, Reply, b64_reply, decode_b64_body
from ._operations import CERTS_ONLY, issue
from ._state import certs_only

CMC_RESPONSE = "application/pkcs7-mime; smime-type=CMC-response"


def fullcmc(x: Exchange, body: bytes) -> Reply:
    """POST /fullcmc: 200 with a PKIResponse (or certs-only) when a certificate was issued; 400 with a CMC
    error response when none was."""
    est = x.est
    if not est.fullcmc:
        raise HttpError(501, "Full CMC is not offered by this server")
    x.check_media_type("application/pkcs7-mime")
    try:
        raw = decode_b64_body(body)
    except HttpError:
        raise _cmc_error(x, None, "the body is neither base64 nor DER", CmcFailInfo.BAD_REQUEST) from None
    try:
        req, signed = _parse_full_pki_request(raw)
    except _CmcRequestError as exc:
        raise _cmc_error(x, None, str(exc), exc.fail_info) from None
    # verify every PKCS#10 before looking at the outer signature, whose key may be one of them
    results: list[tuple[int, CsrInfo | None, str, CmcFailInfo]] = []
    requests: list[Any] = list(req.req_sequence)
    for tr in requests:
        if tr.name != "tcr":
            results.append((tr.body_part_id, None, "only PKCS#10 requests (tcr) are supported",
                            CmcFailInfo.BAD_REQUEST))
            continue
        try:
            results.append((tr.body_part_id, from_request(tr.value.certification_request), "",
                            CmcFailInfo.BAD_REQUEST))
        except CsrError as exc:
            results.append((tr.body_part_id, None, str(exc), CmcFailInfo.POP_FAILED))
    if not requests:
        raise _cmc_error(x, req, "the PKIData holds no certification request", CmcFailInfo.BAD_REQUEST)
    if not _verify_full_pki_signature(signed, [i for _, i, _, _ in results if i is not None]):
        raise _cmc_error(x, req, "the Full PKI Request signature does not verify", CmcFailInfo.BAD_MESSAGE_CHECK)
    issued: list[x509.Certificate] = []
    ok_ids: list[int] = []
    failed: list[tuple[int, str, CmcFailInfo]] = []
    for bpid, info, problem, fail in results:
        if info is None:
            failed.append((bpid, problem, fail))
            continue
        issued.append(issue(x, info))
        ok_ids.append(bpid)
    if issued and est.fullcmc_response == "certs-only" and not failed:
        return b64_reply(CERTS_ONLY, certs_only(issued))
    response = PkiResponseBuilder()
    if ok_ids:
        response.success(ok_ids)
    for bpid, problem, fail in failed:
        response.failed(fail, [bpid], status_string=problem)
    der = est._sign_pki_response(response, req, issued)
    if not issued:
        raise _cmc_response_error(der)
    return b64_reply(CMC_RESPONSE, der)


def _cmc_response_error(der: bytes) -> HttpError:
    """400 carrying a signed CMC response (``der``) as its body."""
    status, headers, payload = b64_reply(CMC_RESPONSE, der, status=400)
    return HttpError(status, body=payload, headers=headers)


def _cmc_error(x: Exchange, req: PKIData | None, message: str, fail: CmcFailInfo) -> HttpError:
    """400 with a signed PKIResponse failing body part 0 with ``fail`` and ``message``."""
    der = x.est._sign_pki_response(PkiResponseBuilder().failed(fail, [0], status_string=message), req, [])
    return _cmc_response_error(der)

class _CmcRequestError(Exception):
    """A body that cannot be read as a Full PKI Request, with the failInfo to answer with."""

    def __init__(self, message: str, fail_info: CmcFailInfo) -> None:
        super().__init__(message)
        self.fail_info = fail_info


def _parse_full_pki_request(raw: bytes) -> tuple[PKIData, SignedData]:
    """ContentInfo(SignedData(PKIData)), strict DER; the signature is checked by the caller."""
    try:
        ci = ContentInfo.from_der(raw)
    except CodecError:
        # CMS is BER (RFC 5652 §1.1.1): Bouncy Castle, for one, sends indefinite lengths. BER is normalised to
        # DER structure; the eContent octets and the signed attributes, which the signature covers, are the
        # octets as sent, so the signature is checked over what the client signed.
        try:
            ci = ContentInfo.from_der(raw, ber=True)
        except CodecError as exc:
            raise _CmcRequestError(f"not a Full PKI Request: {exc}", CmcFailInfo.BAD_MESSAGE_CHECK) from None
        raw = ci.to_der()
    try:
        signed = ci.signed_data()
    except CodecError as exc:
        raise _CmcRequestError(f"not a Full PKI Request: {exc}", CmcFailInfo.BAD_MESSAGE_CHECK) from None
    if signed.econtent_type != cmc_oid.PKI_DATA:
        raise _CmcRequestError("the SignedData does not carry id-cct-PKIData", CmcFailInfo.BAD_REQUEST)
    try:
        return parse_pki_data(raw), signed
    except CodecError as exc:
        raise _CmcRequestError(f"malformed PKIData: {exc}", CmcFailInfo.BAD_REQUEST) from None


def _names_signer(cert: Certificate, sid: Any) -> bool:
    if sid.name == "issuer_and_serial_number":
        ias = sid.value
        return bool(cert.serial_number == ias.serial_number and cert.issuer.to_der() == ias.issuer.to_der())
    return bool(cert.subject_key_identifier == sid.value)


def _signer_verifies(signed: SignedData, signer: Any, key: Any) -> bool:
    try:
        verify_signer_info(signed, signer, key)
    except CodecError:
        return False
    return True


def _verify_full_pki_signature(signed: SignedData, csrs: list[CsrInfo]) -> bool:
    """Every signer must verify, with a certificate it names or, by SKI, with a requested key.

    The certificate need not chain to anything: a Full PKI Request signed with an existing
    certificate (RFC 5272 §3.2.1.3.1) only proves possession here; who may enroll is HTTP/TLS auth.
    """
    if not signed.signer_infos:
        return False
    certs = signed.certificate_list
    for signer in signed.signer_infos:
        cert = next((c for c in certs if _names_signer(c, signer.sid)), None)
        if cert is not None:
            keys = [cert.public_key_info]
        elif signer.sid.name == "subject_key_identifier":
            keys = [i.request.public_key_info for i in csrs]
        else:
            keys = []
        if not any(_signer_verifies(signed, signer, key) for key in keys):
            return False
    return True

