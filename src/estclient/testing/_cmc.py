"""CMC (RFC 5272 / RFC 6402) for the reference EST server: read a Full PKI Request, write a PKIResponse."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import IntEnum

from cryptography import x509

from . import _asn1 as A
from . import _cms
from . import _oids as O

__all__ = [
    "CmcError",
    "CmcStatus",
    "CmcFailInfo",
    "FullPkiRequest",
    "parse_full_pki_request",
    "build_pki_response",
    "StatusEntry",
]


class CmcStatus(IntEnum):
    SUCCESS = 0
    FAILED = 2
    PENDING = 3
    NO_SUPPORT = 4
    CONFIRM_REQUIRED = 5
    POP_REQUIRED = 6
    PARTIAL = 7


class CmcFailInfo(IntEnum):
    BAD_ALG = 0
    BAD_MESSAGE_CHECK = 1
    BAD_REQUEST = 2
    BAD_TIME = 3
    BAD_CERT_ID = 4
    UNSUPPORTED_EXT = 5
    MUST_ARCHIVE_KEYS = 6
    BAD_IDENTITY = 7
    POP_REQUIRED = 8
    POP_FAILED = 9
    NO_KEY_REUSE = 10
    INTERNAL_CA_ERROR = 11
    TRY_LATER = 12
    AUTH_DATA_FAIL = 13


class CmcError(ValueError):
    """A request that cannot be read as a Full PKI Request; carries the failInfo to answer with."""

    def __init__(self, message: str, fail_info: CmcFailInfo = CmcFailInfo.BAD_REQUEST) -> None:
        super().__init__(message)
        self.fail_info = fail_info


@dataclass
class TaggedRequest:
    body_part_id: int
    kind: str  # "tcr" (PKCS#10), "crm" (CRMF) or "orm"
    der: bytes  # the CertificationRequest DER for "tcr", the raw element otherwise


@dataclass
class FullPkiRequest:
    controls: list[tuple[int, str, list[A.Tlv]]] = field(default_factory=list)
    requests: list[TaggedRequest] = field(default_factory=list)
    signed: _cms.SignedContent | None = None

    def control(self, oid: str) -> list[A.Tlv] | None:
        for _bpid, attr_type, values in self.controls:
            if attr_type == oid:
                return values
        return None


def parse_full_pki_request(data: bytes) -> FullPkiRequest:
    """Parse ContentInfo(SignedData(PKIData)); the signature is checked by the caller."""
    try:
        signed = _cms.parse_signed_data(data)
    except _cms.CmsError as exc:
        raise CmcError(f"not a Full PKI Request: {exc}", CmcFailInfo.BAD_MESSAGE_CHECK) from None
    if signed.content_type != O.PKI_DATA:
        raise CmcError("the SignedData does not carry id-cct-PKIData")
    try:
        parts = A.expect(A.parse(signed.content), 0x30, "PKIData").children()
        if len(parts) != 4 or any(p.identifier != 0x30 for p in parts):
            raise CmcError("PKIData must have four SEQUENCE OF fields")
        req = FullPkiRequest(signed=signed)
        for ta in parts[0].children():
            f = ta.children()
            req.controls.append((A.decode_integer(f[0]), A.decode_oid(f[1]), f[2].children()))
        for tr in parts[1].children():
            if tr.identifier == 0xA0:  # tcr [0] TaggedCertificationRequest
                f = tr.children()
                req.requests.append(TaggedRequest(A.decode_integer(f[0]), "tcr", f[1].encoded))
            elif tr.identifier == 0xA1:  # crm [1] CertReqMsg
                f = tr.children()
                bpid = A.decode_integer(f[0].children()[0]) if f and f[0].identifier == 0x30 else 0
                req.requests.append(TaggedRequest(bpid, "crm", tr.encoded))
            else:
                req.requests.append(TaggedRequest(0, "orm", tr.encoded))
    except (A.Asn1Error, IndexError) as exc:
        raise CmcError(f"malformed PKIData: {exc}") from None
    return req


@dataclass
class StatusEntry:
    status: CmcStatus
    body_parts: list[int]
    message: str | None = None
    fail_info: CmcFailInfo | None = None


def _status_info_v2(entry: StatusEntry) -> bytes:
    parts = [A.integer(int(entry.status)), A.seq(*(A.integer(b) for b in entry.body_parts or [0]))]
    if entry.message is not None:
        parts.append(A.utf8(entry.message))
    if entry.fail_info is not None:
        parts.append(A.integer(int(entry.fail_info)))  # OtherStatusInfo: failInfo CMCFailInfo
    return A.seq(*parts)


def build_pki_response(
    statuses: list[StatusEntry],
    *,
    certificates: list[x509.Certificate],
    signer_key: object,
    signer_cert: x509.Certificate,
    request: FullPkiRequest | None = None,
) -> bytes:
    """ContentInfo(SignedData(PKIResponse)) signed by the CA, with statusInfoV2 controls.

    The transactionId is echoed and the client's senderNonce returned as recipientNonce
    (RFC 5272 §6.6), and the issued certificates ride in the SignedData certificates field.
    """
    controls: list[bytes] = []
    next_id = 1

    def add(attr_type: str, *values: bytes) -> None:
        nonlocal next_id
        controls.append(A.seq(A.integer(next_id), A.oid(attr_type), A.set_of(*values)))
        next_id += 1

    for entry in statuses:
        add(O.CMC_STATUS_INFO_V2, _status_info_v2(entry))
    if request is not None:
        tid = request.control(O.CMC_TRANSACTION_ID)
        if tid:
            add(O.CMC_TRANSACTION_ID, tid[0].encoded)
        nonce = request.control(O.CMC_SENDER_NONCE)
        if nonce:
            add(O.CMC_RECIPIENT_NONCE, nonce[0].encoded)
    add(O.CMC_SENDER_NONCE, A.octet_string(os.urandom(16)))
    response = A.seq(A.seq(*controls), A.seq(), A.seq())
    return _cms.sign_content(
        O.PKI_RESPONSE, response, signer_key, signer_cert, certificates=[*certificates, signer_cert]
    )
