"""CMC messages (RFC 5272 §3.2 PKIData, §4.2 PKIResponse), their status and failure codes, and CMC's errors.

Part of :mod:`estcodec.cmc`, which re-exports every public name; import them from there. The builders are in
``_cmc_build``, the ASN.1 declarations in ``_cmc_asn1``.
"""
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Iterable, List, Optional, Tuple, Union, cast
from typing import Any as _TypingAny

from . import pkix as _pkix
from . import _cmc_asn1 as _a
from ._cmc_asn1 import (
    BODY_PART_ID_MAX, ChangeSubjectName, CMCStatusInfo, CMCStatusInfoV2, ExtendedFailInfo, OtherMsg, PendingInfo,
    PublishTrustAnchors, TaggedAttribute, TaggedContentInfo, TaggedRequest, decode_other_status_info, oid,
)
from .errors import DecodeError, Error
from .schema import Integer as _Integer
from .schema import Sequence, SequenceOf, decode

if TYPE_CHECKING:
    from .pkcs10 import CertificationRequest
    from .x509 import Certificate


class CmcError(Error):
    """A semantic check on a CMC message already parsed failed: a trust anchor given for an unsigned message, a
    request that is not signed, a missing control, a batch control naming a missing body part. A signature that
    does not verify raises ``estcodec.pkcs10.SignatureError`` (also an ``estcodec.Error``). Input the parsers
    cannot accept raises :class:`~estcodec.DecodeError` (see :class:`CmcContentError`)."""


class CmcContentError(CmcError, DecodeError):
    """Well-formed CMS that does not hold what was asked for (a SignedData or AuthenticatedData around another
    content type, a ContentInfo of another type): a :class:`~estcodec.DecodeError` like every input a parser
    cannot accept, and a :class:`CmcError` so that ``except CmcError`` written for earlier versions still
    catches it."""


# --- status and failure codes ------------------------------------------------------------------------------

class CmcStatusValue(enum.IntEnum):
    """CMCStatus (RFC 5272 §6.1.1)."""

    SUCCESS = 0
    FAILED = 2
    PENDING = 3
    NO_SUPPORT = 4
    CONFIRM_REQUIRED = 5
    POP_REQUIRED = 6
    PARTIAL = 7

    def description(self) -> str:
        """The RFC 5272 §6.1.1 meaning of the status, in words."""
        return _STATUS_TEXT[self]


_STATUS_TEXT = {
    CmcStatusValue.SUCCESS: "request granted",
    CmcStatusValue.FAILED: "request failed (see failInfo)",
    CmcStatusValue.PENDING: "request not yet processed; ask again with queryPending",
    CmcStatusValue.NO_SUPPORT: "requested operation not supported",
    CmcStatusValue.CONFIRM_REQUIRED: "confirmation of the issued certificate required (confirmCertAcceptance)",
    CmcStatusValue.POP_REQUIRED: "proof of possession required (encryptedPOP/decryptedPOP exchange)",
    CmcStatusValue.PARTIAL: "partial success: some of the request was granted",
}


class CmcFailInfo(enum.IntEnum):
    """CMCFailInfo (RFC 5272 §6.1.4; tryLater and authDataFail added by RFC 6402)."""

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

    def description(self) -> str:
        """The RFC 5272 §6.1.4 meaning of the failure code, in words."""
        return _FAIL_TEXT[self]


_FAIL_TEXT = {
    CmcFailInfo.BAD_ALG: "unrecognized or unsupported algorithm",
    CmcFailInfo.BAD_MESSAGE_CHECK: "integrity check failed (signature did not verify)",
    CmcFailInfo.BAD_REQUEST: "transaction not permitted or supported",
    CmcFailInfo.BAD_TIME: "message time not within the allowed window",
    CmcFailInfo.BAD_CERT_ID: "no certificate matches the given criteria",
    CmcFailInfo.UNSUPPORTED_EXT: "a requested extension is not supported",
    CmcFailInfo.MUST_ARCHIVE_KEYS: "the private key must be supplied for archival",
    CmcFailInfo.BAD_IDENTITY: "identification control failed to verify",
    CmcFailInfo.POP_REQUIRED: "server requires a proof-of-possession challenge-response",
    CmcFailInfo.POP_FAILED: "proof of possession failed",
    CmcFailInfo.NO_KEY_REUSE: "server policy does not allow key reuse",
    CmcFailInfo.INTERNAL_CA_ERROR: "internal CA error",
    CmcFailInfo.TRY_LATER: "server busy: try again later",
    CmcFailInfo.AUTH_DATA_FAIL: "failure in an authenticated-data (MAC) exchange",
}


def _status_code(v: int) -> Union[CmcStatusValue, int]:
    try:
        return CmcStatusValue(v)
    except ValueError:
        return v


def _fail_code(v: int) -> Union[CmcFailInfo, int]:
    try:
        return CmcFailInfo(v)
    except ValueError:
        return v


def describe_fail_info(code: int) -> str:
    """A description of a failInfo code; codes outside RFC 5272/6402 are named as such."""
    if isinstance(code, CmcFailInfo) or code in CmcFailInfo._value2member_map_:
        return CmcFailInfo(code).description()
    if 1000 <= code <= 1999:
        return f"private failure code {code}"
    return f"unknown failure code {code}"


BodyPartID = _a.BodyPartID
BodyPartId = BodyPartID


# --- status views ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CmcStatusInfo:
    """One status control (statusInfo or statusInfoV2) of a PKIResponse, normalised.

    ``status`` and ``fail_info`` are enum members where RFC 5272/6402 name the code, else plain ints.
    ``body_list`` holds body part ids (int) and, for statusInfoV2 paths, tuples of ids.
    """

    status: Union[CmcStatusValue, int]
    body_list: Tuple[Union[int, Tuple[int, ...]], ...]
    status_string: Optional[str] = None
    fail_info: Optional[Union[CmcFailInfo, int]] = None
    pending_info: Optional[PendingInfo] = None
    extended_fail_info: Optional[ExtendedFailInfo] = None
    control_body_part_id: Optional[int] = None
    version: int = 2

    def is_success(self) -> bool:
        """True when the status is success (RFC 5272 §6.1.1)."""
        return self.status == CmcStatusValue.SUCCESS

    def is_pending(self) -> bool:
        """True when the status is pending (RFC 5272 §6.1.1): ask again with the pendToken."""
        return self.status == CmcStatusValue.PENDING

    def description(self) -> str:
        """The status, failure and status string in words, for messages."""
        s = self.status.description() if isinstance(self.status, CmcStatusValue) else f"status code {self.status}"
        if self.fail_info is not None:
            s += f": {describe_fail_info(self.fail_info)}"
        if self.status_string:
            s += f" ({self.status_string})"
        return s


def _status_from_v1(v: CMCStatusInfo, bpid: int) -> CmcStatusInfo:
    fail = pend = None
    if v.other_info is not None:
        if v.other_info.name == "fail_info":
            fail = _fail_code(v.other_info.value)
        else:
            pend = v.other_info.value
    return CmcStatusInfo(_status_code(v.cmc_status), tuple(v.body_list), v.status_string, fail, pend, None, bpid, 1)


def _status_from_v2(v: CMCStatusInfoV2, bpid: int) -> CmcStatusInfo:
    fail: Optional[Union[CmcFailInfo, int]] = None
    pend: Optional[PendingInfo] = None
    ext: Optional[ExtendedFailInfo] = None
    other = decode_other_status_info(v.other_info)
    if other is not None:
        kind, val = other
        if kind == "fail_info":
            fail = _fail_code(cast(int, val))
        elif kind == "pend_info":
            pend = cast(PendingInfo, val)
        else:
            ext = cast(ExtendedFailInfo, val)
    bodies = tuple(r.value if r.name == "body_part_id" else tuple(r.value) for r in v.body_list)
    return CmcStatusInfo(_status_code(v.cmc_status), bodies, v.status_string, fail, pend, ext, bpid, 2)


# precedence of an overall verdict: the first of these present among the statuses wins
_SEVERITY = (CmcStatusValue.FAILED, CmcStatusValue.NO_SUPPORT, CmcStatusValue.POP_REQUIRED,
             CmcStatusValue.CONFIRM_REQUIRED, CmcStatusValue.PARTIAL, CmcStatusValue.PENDING)


# --- the two messages --------------------------------------------------------------------------------------

class _ControlsMixin:
    control_sequence: "list[TaggedAttribute]"  # a field of each model that mixes this in

    @property
    def certificates(self) -> "list[Certificate]":
        """The certificates of the SignedData that carried this message (no defined order, RFC 5272 §4.2);
        empty for a bare message."""
        return list(self.__dict__.get("_certificates", ()))

    def controls(self, control_oid: Optional[str] = None) -> List[TaggedAttribute]:
        """The controls, or those of one type."""
        if control_oid is None:
            return list(self.control_sequence)
        return [c for c in self.control_sequence if c.attr_type == control_oid]

    def control_value(self, control_oid: str, default: object = None) -> _TypingAny:
        """The value of the first control of that type (controls carry one value), or ``default``."""
        for c in self.control_sequence:
            if c.attr_type == control_oid:
                return c.value
        return default

    @property
    def transaction_id(self) -> Optional[int]:
        out: Optional[int] = self.control_value(oid.TRANSACTION_ID)
        return out

    @property
    def sender_nonce(self) -> Optional[bytes]:
        out: Optional[bytes] = self.control_value(oid.SENDER_NONCE)
        return out

    @property
    def recipient_nonce(self) -> Optional[bytes]:
        out: Optional[bytes] = self.control_value(oid.RECIPIENT_NONCE)
        return out

    def _check_body_part_ids(self, ids: Iterable[int]) -> None:
        seen = set()
        for i in ids:
            if not 0 <= i <= BODY_PART_ID_MAX:
                raise DecodeError(f"body part id {i} outside 0..{BODY_PART_ID_MAX}", 0, "invalid-value")
            # RFC 5272 §3.2.3: ids are unique within a PKIData, 0 excepted (it means "no id").
            if i and i in seen:
                raise DecodeError(f"body part id {i} is used twice", 0, "invalid-value")
            seen.add(i)

    def _validate_controls(self) -> None:
        for i, c in enumerate(self.control_sequence):
            for j, v in enumerate(c.attr_values):
                try:
                    if isinstance(v, CMCStatusInfoV2):
                        decode_other_status_info(v.other_info)
                    elif isinstance(v, ChangeSubjectName):
                        v.subject  # noqa: B018 - resolves (and so checks) the two untagged components
                except DecodeError as e:
                    for seg in (f"[{j}]", ".attr_values", f"[{i}]", ".control_sequence"):
                        e._push(seg)
                    raise


def _listed_content(msg: "PKIData | PKIResponse", control_oid: str, label: str) -> List[bytes]:
    listed = msg.control_value(control_oid)
    if listed is None:
        raise CmcError(f"no {label} control")
    by_id = {c.body_part_id: c for c in msg.cms_sequence}
    out = []
    for i in listed:
        if i not in by_id:
            raise CmcError(f"{label} names body part {i}, which is not in cmsSequence")
        ci = by_id[i].content_info
        out.append(ci if isinstance(ci, bytes) else ci.to_der())
    return out


class PKIData(_ControlsMixin, Sequence):
    """PKIData (RFC 5272 §3.2.1): controls, requests, nested CMS content and other messages."""

    control_sequence: Annotated[list[TaggedAttribute], SequenceOf[TaggedAttribute]]
    req_sequence: Annotated[list[TaggedRequest], SequenceOf[TaggedRequest]]
    cms_sequence: Annotated[list[TaggedContentInfo], SequenceOf[TaggedContentInfo]]
    other_msg_sequence: Annotated[list[OtherMsg], SequenceOf[OtherMsg]]

    @property
    def identification(self) -> Optional[str]:
        """The identification control's value (RFC 5272 §6.2.3), or None."""
        out: Optional[str] = self.control_value(oid.IDENTIFICATION)
        return out

    @property
    def signature_verified(self) -> bool:
        """True only if ``parse_pki_data`` verified the signature against the ``signer_trust`` it was given."""
        return bool(self.__dict__.get("_verified", False))

    @property
    def self_signature_verified(self) -> bool:
        """True only if ``parse_pki_data(verify_self_signed=True)`` checked the signature made with the key being
        certified (proof of possession for that request)."""
        return bool(self.__dict__.get("_self_verified", False))

    @property
    def certification_requests(self) -> "list[CertificationRequest | bytes]":
        """The PKCS#10 requests (``tcr``) in request order."""
        return [r.value.certification_request for r in self.req_sequence if r.name == "tcr"]

    def body_part_ids(self) -> List[int]:
        """Every body part id at the top level of this PKIData (controls, requests, content, other messages)."""
        ids = [c.body_part_id for c in self.control_sequence]
        ids += [r.body_part_id for r in self.req_sequence]
        ids += [c.body_part_id for c in self.cms_sequence]
        ids += [m.body_part_id for m in self.other_msg_sequence]
        return ids

    def validate(self) -> "PKIData":
        """Check what the schema cannot: body part ids in range and unique (RFC 5272 §3.2.3), and the
        controls whose values are resolved by content. Returns self."""
        self._check_body_part_ids(self.body_part_ids())
        self._validate_controls()
        return self


class PKIResponse(_ControlsMixin, Sequence):
    """PKIResponse (RFC 5272 §4.2). Read through :func:`parse_pki_response` it also knows the certificates of its
    SignedData wrapper (``certificates``) and whether that signature was verified (``signature_verified``)."""

    control_sequence: Annotated[list[TaggedAttribute], SequenceOf[TaggedAttribute]]
    cms_sequence: Annotated[list[TaggedContentInfo], SequenceOf[TaggedContentInfo]]
    other_msg_sequence: Annotated[list[OtherMsg], SequenceOf[OtherMsg]]


    @property
    def signature_verified(self) -> bool:
        """True only if the SignedData signature was verified against the trust given to ``parse_pki_response``."""
        return bool(self.__dict__.get("_verified", False))

    @property
    def signer_certificate(self) -> "Optional[Certificate]":
        """The certificate that signed the response, when the wrapper was verified."""
        signer: Optional[Certificate] = self.__dict__.get("_signer")
        return signer

    @property
    def statuses(self) -> List[CmcStatusInfo]:
        """Every status control (statusInfoV2 and the older statusInfo), in order, each with its body list."""
        cached = self.__dict__.get("_statuses")
        if cached is None:
            out = []
            for c in self.control_sequence:
                if c.attr_type == oid.STATUS_INFO_V2:
                    out += [_status_from_v2(cast(CMCStatusInfoV2, v), c.body_part_id) for v in c.attr_values]
                elif c.attr_type == oid.STATUS_INFO:
                    out += [_status_from_v1(cast(CMCStatusInfo, v), c.body_part_id) for v in c.attr_values]
            cached = out
            self.__dict__["_statuses"] = cached
        return list(cached)

    @property
    def status(self) -> Union[CmcStatusValue, int]:
        """The overall verdict: SUCCESS if every status is success (or there is none, as in the Simple PKI
        Response); otherwise the most severe status present, in the order failed, noSupport, popRequired,
        confirmRequired, partial, pending. A code outside the RFC is returned as is, after failed."""
        statuses = [s.status for s in self.statuses]
        non_success = [s for s in statuses if s != CmcStatusValue.SUCCESS]
        if not non_success:
            return CmcStatusValue.SUCCESS
        if CmcStatusValue.FAILED in non_success:
            return CmcStatusValue.FAILED
        unknown = [s for s in non_success if not isinstance(s, CmcStatusValue)]
        if unknown:
            return unknown[0]
        for s in _SEVERITY:
            if s in non_success:
                return s
        return non_success[0]  # pragma: no cover - every enum member is in _SEVERITY

    def is_success(self) -> bool:
        """True when the overall :attr:`status` is success."""
        return self.status == CmcStatusValue.SUCCESS

    def is_pending(self) -> bool:
        """True when the overall :attr:`status` is pending (RFC 5272 §6.1.1)."""
        return self.status == CmcStatusValue.PENDING

    def is_failed(self) -> bool:
        """True when the overall :attr:`status` is failed."""
        return self.status == CmcStatusValue.FAILED

    def fail_info(self) -> Optional[Union[CmcFailInfo, int]]:
        """The failure code of the first status that has one: failInfo, or the INTEGER value of an
        extendedFailInfo. None if no status carries a failure code."""
        for s in self.statuses:
            if s.fail_info is not None:
                return s.fail_info
            if s.extended_fail_info is not None:
                try:
                    v = decode(_Integer, s.extended_fail_info.fail_info_value)
                except DecodeError:
                    continue
                return _fail_code(v)
        return None

    def extended_fail_info(self) -> Optional[ExtendedFailInfo]:
        """The first extendedFailInfo among the statuses (RFC 6402 §2.5), or None."""
        for s in self.statuses:
            if s.extended_fail_info is not None:
                return s.extended_fail_info
        return None

    def pending_info(self) -> Optional[PendingInfo]:
        """The first PendInfo among the statuses (RFC 5272 §6.1.1: pendToken and pendTime), or None."""
        for s in self.statuses:
            if s.pending_info is not None:
                return s.pending_info
        return None

    def status_string(self) -> Optional[str]:
        """The first non-empty statusString among the statuses, or None."""
        for s in self.statuses:
            if s.status_string:
                return s.status_string
        return None

    def body_part_ids(self) -> List[int]:
        """The body part ids of the controls, the CMS contents and the other messages, in that order."""
        ids = [c.body_part_id for c in self.control_sequence]
        ids += [c.body_part_id for c in self.cms_sequence]
        ids += [m.body_part_id for m in self.other_msg_sequence]
        return ids

    def validate(self) -> "PKIResponse":
        """Check what the schema cannot: body part ids in range and unique (RFC 5272 §3.2.3), and the
        controls whose values are resolved by content. Returns self; raises :class:`~estcodec.DecodeError`."""
        self._check_body_part_ids(self.body_part_ids())
        self._validate_controls()
        return self

    def published_trust_anchors(self) -> "list[Certificate]":
        """The certificates a trustedAnchors control (Publish Trust Anchors, RFC 5272 §6.15) names, taken from
        ``certificates`` by hash; empty without that control. Use them only once the response itself was
        verified (``signature_verified``) or its signer otherwise accepted (RFC 7030 §4.1.1)."""
        pta = self.control_value(oid.TRUSTED_ANCHORS)
        return [] if pta is None else cast(PublishTrustAnchors, pta).select(self.certificates)

    def batch_responses(self) -> List[bytes]:
        """The DER of the nested responses a batchResponses control lists (RFC 5272 §6.17), in its order."""
        return _listed_content(self, oid.BATCH_RESPONSES, "batchResponses")

    def chain_for(self, certificate: "Certificate") -> "list[Certificate]":
        """``certificate`` followed by its issuers found among ``certificates``, matched by issuer name and key
        identifiers rather than by position (RFC 5272 §4.2 gives the SET no order)."""
        return _pkix.chain_from(certificate, self.certificates)

    def issued_certificates(self) -> "list[Certificate]":
        """The certificates of the response that issue no other certificate in it (the end-entity ones)."""
        certs = self.certificates
        return [c for c in certs if not any(_pkix.names_issuer(o, c) and o is not c for o in certs)]
