"""Certificate Management over CMS (RFC 5272 as updated by RFC 6402): PKIData, PKIResponse and their controls.

Models read like the RFCs' ASN.1 (field names are the snake_case of its identifiers)::

    pki = cmc.PkiDataBuilder().transaction_id(7).random_sender_nonce().add_certification_request(csr_der).build()
    request = cmc.sign_pki_data(pki, private_key)            # a Full PKI Request (CMS SignedData)
    response = cmc.parse_pki_response(body, signer_trust=ca_pem)
    response.is_success(), response.statuses, response.certificates, response.signature_verified

Controls are ``TaggedAttribute`` values; their values are typed through :data:`CONTROL_TYPES` (OID -> type), so
``attr.values`` of a transactionId is ``[int]``, of a statusInfoV2 ``[CMCStatusInfoV2]``; controls not in the
registry keep each value as raw DER bytes.

Status codes and failure codes become :class:`CmcStatusValue` / :class:`CmcFailInfo` members where the RFC names
them; other codes (e.g. the private failure codes 1000-1999 a CA may use) stay plain ``int``.

Signing without a certificate (RFC 5272 §3.2.1.3.1 / §3.2.2): the key being certified signs the Full PKI Request
and the SignerInfo names it by subject key identifier. The identifier is the one the certification request carries
in its subjectKeyIdentifier extension if it has one; otherwise it is computed by RFC 5280 §4.2.1.2 method (1), the
SHA-1 hash of the subjectPublicKey BIT STRING's value (what ``cryptography``'s
``SubjectKeyIdentifier.from_public_key`` gives). :func:`subject_key_identifier` computes it, so a CSR builder can put
the same value into the CSR.
"""
import datetime as _dt
import enum
import os
from dataclasses import dataclass
from typing import Iterable, List, Optional, Tuple, Union

from . import pkix as _pkix
from . import _cmc_asn1 as _a
from ._cmc_asn1 import (
    BODY_PART_ID_MAX, CONTROL_TYPES, AddExtensions, AuthenticatedData, BodyPartList, BodyPartPath, BodyPartReference,
    CertReqMsg, CertRequest, CertTemplate, ChangeSubjectName, CMCCertId, CMCPublicationInfo, CMCStatusInfo,
    CMCStatusInfoV2, ControlsProcessed, DecryptedPOP, EncryptedPOP, ExtendedFailInfo, GetCert, GetCRL,
    IdentifyProofV2, LraPopWitness, ModCertTemplate, OptionalValidity, OtherMsg, OtherReqMsg, PendInfo, PendingInfo,
    PopLinkWitnessV2, POPOSigningKey, ProofOfPossession, PublishTrustAnchors, RevokeRequest, SingleAttribute,
    TaggedAttribute, TaggedCertificationRequest, TaggedContentInfo, TaggedRequest, decode_other_status_info, oid,
)
from .errors import DecodeError, EncodeError, Error
from .schema import Sequence, SequenceOf, decode, encode

__all__ = [
    "PKIData", "PKIResponse", "TaggedAttribute", "TaggedRequest", "TaggedCertificationRequest", "TaggedContentInfo",
    "OtherMsg", "OtherReqMsg", "BodyPartId", "BodyPartID", "BodyPartPath", "BodyPartReference", "BodyPartList",
    "BatchRequest", "CmcStatusValue", "CmcFailInfo", "CmcStatusInfo", "PendingInfo", "PendInfo",
    "CMCStatusInfo", "CMCStatusInfoV2", "ExtendedFailInfo", "IdentifyProofV2", "PopLinkWitnessV2", "AddExtensions",
    "EncryptedPOP", "DecryptedPOP", "LraPopWitness", "GetCert", "GetCRL", "RevokeRequest", "CMCCertId",
    "PublishTrustAnchors", "CMCPublicationInfo", "ModCertTemplate", "ControlsProcessed", "ChangeSubjectName",
    "CertReqMsg", "CertRequest", "CertTemplate", "OptionalValidity", "ProofOfPossession", "POPOSigningKey",
    "SingleAttribute", "CONTROL_TYPES", "oid", "PkiDataBuilder", "PkiResponseBuilder", "sign_pki_data",
    "parse_pki_data", "parse_pki_response", "subject_key_identifier", "CmcError", "BODY_PART_ID_MAX",
    "describe_fail_info", "AuthenticatedData", "CmcContentError",
]


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
        return self.status == CmcStatusValue.SUCCESS

    def is_pending(self) -> bool:
        return self.status == CmcStatusValue.PENDING

    def description(self) -> str:
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
    fail = pend = ext = None
    other = decode_other_status_info(v.other_info)
    if other is not None:
        kind, val = other
        if kind == "fail_info":
            fail = _fail_code(val)
        elif kind == "pend_info":
            pend = val
        else:
            ext = val
    bodies = tuple(r.value if r.name == "body_part_id" else tuple(r.value) for r in v.body_list)
    return CmcStatusInfo(_status_code(v.cmc_status), bodies, v.status_string, fail, pend, ext, bpid, 2)


# precedence of an overall verdict: the first of these present among the statuses wins
_SEVERITY = (CmcStatusValue.FAILED, CmcStatusValue.NO_SUPPORT, CmcStatusValue.POP_REQUIRED,
             CmcStatusValue.CONFIRM_REQUIRED, CmcStatusValue.PARTIAL, CmcStatusValue.PENDING)


# --- the two messages --------------------------------------------------------------------------------------

class _ControlsMixin:
    @property
    def certificates(self) -> list:
        """The certificates of the SignedData that carried this message (no defined order, RFC 5272 §4.2);
        empty for a bare message."""
        return list(self.__dict__.get("_certificates", ()))

    def controls(self, control_oid: Optional[str] = None) -> List[TaggedAttribute]:
        """The controls, or those of one type."""
        if control_oid is None:
            return list(self.control_sequence)
        return [c for c in self.control_sequence if c.attr_type == control_oid]

    def control_value(self, control_oid: str, default=None):
        """The value of the first control of that type (controls carry one value), or ``default``."""
        for c in self.control_sequence:
            if c.attr_type == control_oid:
                return c.value
        return default

    @property
    def transaction_id(self) -> Optional[int]:
        return self.control_value(oid.TRANSACTION_ID)

    @property
    def sender_nonce(self) -> Optional[bytes]:
        return self.control_value(oid.SENDER_NONCE)

    @property
    def recipient_nonce(self) -> Optional[bytes]:
        return self.control_value(oid.RECIPIENT_NONCE)

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


class PKIData(_ControlsMixin, Sequence):
    """PKIData (RFC 5272 §3.2.1): controls, requests, nested CMS content and other messages."""

    control_sequence: SequenceOf[TaggedAttribute]
    req_sequence: SequenceOf[TaggedRequest]
    cms_sequence: SequenceOf[TaggedContentInfo]
    other_msg_sequence: SequenceOf[OtherMsg]

    @property
    def identification(self) -> Optional[str]:
        return self.control_value(oid.IDENTIFICATION)

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
    def certification_requests(self) -> list:
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

    control_sequence: SequenceOf[TaggedAttribute]
    cms_sequence: SequenceOf[TaggedContentInfo]
    other_msg_sequence: SequenceOf[OtherMsg]


    @property
    def signature_verified(self) -> bool:
        """True only if the SignedData signature was verified against the trust given to ``parse_pki_response``."""
        return bool(self.__dict__.get("_verified", False))

    @property
    def signer_certificate(self):
        """The certificate that signed the response, when the wrapper was verified."""
        return self.__dict__.get("_signer")

    @property
    def statuses(self) -> List[CmcStatusInfo]:
        """Every status control (statusInfoV2 and the older statusInfo), in order, each with its body list."""
        cached = self.__dict__.get("_statuses")
        if cached is None:
            out = []
            for c in self.control_sequence:
                if c.attr_type == oid.STATUS_INFO_V2:
                    out += [_status_from_v2(v, c.body_part_id) for v in c.attr_values]
                elif c.attr_type == oid.STATUS_INFO:
                    out += [_status_from_v1(v, c.body_part_id) for v in c.attr_values]
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
        return self.status == CmcStatusValue.SUCCESS

    def is_pending(self) -> bool:
        return self.status == CmcStatusValue.PENDING

    def is_failed(self) -> bool:
        return self.status == CmcStatusValue.FAILED

    def fail_info(self) -> Optional[Union[CmcFailInfo, int]]:
        """The failure code of the first status that has one: failInfo, or the INTEGER value of an
        extendedFailInfo. None if no status carries a failure code."""
        for s in self.statuses:
            if s.fail_info is not None:
                return s.fail_info
            if s.extended_fail_info is not None:
                try:
                    v = decode(_a.Integer, s.extended_fail_info.fail_info_value)
                except DecodeError:
                    continue
                return _fail_code(v)
        return None

    def extended_fail_info(self) -> Optional[ExtendedFailInfo]:
        for s in self.statuses:
            if s.extended_fail_info is not None:
                return s.extended_fail_info
        return None

    def pending_info(self) -> Optional[PendingInfo]:
        for s in self.statuses:
            if s.pending_info is not None:
                return s.pending_info
        return None

    def status_string(self) -> Optional[str]:
        for s in self.statuses:
            if s.status_string:
                return s.status_string
        return None

    def body_part_ids(self) -> List[int]:
        ids = [c.body_part_id for c in self.control_sequence]
        ids += [c.body_part_id for c in self.cms_sequence]
        ids += [m.body_part_id for m in self.other_msg_sequence]
        return ids

    def validate(self) -> "PKIResponse":
        self._check_body_part_ids(self.body_part_ids())
        self._validate_controls()
        return self

    def published_trust_anchors(self) -> list:
        """The certificates a trustedAnchors control (Publish Trust Anchors, RFC 5272 §6.15) names, taken from
        ``certificates`` by hash; empty without that control. Use them only once the response itself was
        verified (``signature_verified``) or its signer otherwise accepted (RFC 7030 §4.1.1)."""
        pta = self.control_value(oid.TRUSTED_ANCHORS)
        return [] if pta is None else pta.select(self.certificates)

    def batch_responses(self) -> List[bytes]:
        """The DER of the nested responses a batchResponses control lists (RFC 5272 §6.17), in its order."""
        return _listed_content(self, oid.BATCH_RESPONSES, "batchResponses")

    def chain_for(self, certificate) -> list:
        """``certificate`` followed by its issuers found among ``certificates``, matched by issuer name and key
        identifiers rather than by position (RFC 5272 §4.2 gives the SET no order)."""
        return _pkix.chain_from(certificate, self.certificates)

    def issued_certificates(self) -> list:
        """The certificates of the response that issue no other certificate in it (the end-entity ones)."""
        certs = self.certificates
        return [c for c in certs if not any(_pkix.names_issuer(o, c) and o is not c for o in certs)]


# --- building ----------------------------------------------------------------------------------------------

def subject_key_identifier(public_key) -> bytes:
    """RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value. ``public_key`` is a
    ``cryptography`` public key, a SubjectPublicKeyInfo model, or its DER (see :func:`estcodec.pkix.key_identifier`)."""
    return _pkix.key_identifier(public_key)


def _as_certification_request(csr):
    t = _a._CertificationRequest
    if isinstance(csr, (bytes, bytearray, memoryview)):
        data = bytes(csr)
        if t is _a.Any:
            from .der import parse
            parse(data)  # at least one well-formed DER element
            return data
        return t.from_der(data)
    if t is not _a.Any and isinstance(csr, t):
        return csr
    if hasattr(csr, "public_bytes"):  # a cryptography CertificateSigningRequest
        from cryptography.hazmat.primitives import serialization
        return _as_certification_request(csr.public_bytes(serialization.Encoding.DER))
    raise TypeError(f"a certification request must be DER bytes or a CertificationRequest, not {type(csr).__name__}")


class PkiDataBuilder:
    """Builds a PKIData. Every control and request gets its own body part id (1, 2, 3, ... unless given).

    ``PkiDataBuilder().transaction_id(7).random_sender_nonce().identification("alice")
    .add_certification_request(csr_der).build()``
    """

    def __init__(self) -> None:
        self._controls: List[Tuple[str, list, Optional[int]]] = []
        self._requests: List[Tuple[str, object, Optional[int]]] = []
        self._cms: List[Tuple[object, Optional[int]]] = []
        self._other: List[Tuple[str, bytes, Optional[int]]] = []

    # controls
    def _set_control(self, control_oid: str, values: list) -> "PkiDataBuilder":
        self._controls = [c for c in self._controls if c[0] != control_oid]
        self._controls.append((control_oid, values, None))
        return self

    def transaction_id(self, n: int) -> "PkiDataBuilder":
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError("a transaction id is an int")
        return self._set_control(oid.TRANSACTION_ID, [n])

    def random_transaction_id(self) -> "PkiDataBuilder":
        return self.transaction_id(int.from_bytes(os.urandom(8), "big") >> 1)

    def sender_nonce(self, nonce: bytes) -> "PkiDataBuilder":
        return self._set_control(oid.SENDER_NONCE, [bytes(nonce)])

    def random_sender_nonce(self, size: int = 16) -> "PkiDataBuilder":
        return self.sender_nonce(os.urandom(size))

    def recipient_nonce(self, nonce: bytes) -> "PkiDataBuilder":
        return self._set_control(oid.RECIPIENT_NONCE, [bytes(nonce)])

    def identification(self, name: str) -> "PkiDataBuilder":
        return self._set_control(oid.IDENTIFICATION, [str(name)])

    def change_subject_name(self, subject=None, subject_alt=None) -> "PkiDataBuilder":
        """changeSubjectName (RFC 6402 §2.2; RFC 7030 §4.2.2 re-enrollment with a new subject)."""
        return self._set_control(oid.CHANGE_SUBJECT_NAME, [ChangeSubjectName.build(subject, subject_alt)])

    def query_pending(self, pend_token: bytes) -> "PkiDataBuilder":
        return self._set_control(oid.QUERY_PENDING, [bytes(pend_token)])

    def add_control(self, control_oid: str, values: list, *, body_part_id: Optional[int] = None
                    ) -> "PkiDataBuilder":
        """Any control: typed values for registered controls, DER bytes of each value for others."""
        self._controls.append((control_oid, list(values), body_part_id))
        return self

    # requests and content
    def add_certification_request(self, csr, *, body_part_id: Optional[int] = None) -> "PkiDataBuilder":
        """A PKCS#10 request (DER bytes, a CertificationRequest or a ``cryptography`` CSR) as ``tcr``."""
        self._requests.append(("tcr", _as_certification_request(csr), body_part_id))
        return self

    def add_crmf_request(self, cert_req_msg) -> "PkiDataBuilder":
        """A CRMF CertReqMsg (model or DER) as ``crm``; its certReqId serves as the body part id."""
        if isinstance(cert_req_msg, (bytes, bytearray)):
            cert_req_msg = CertReqMsg.from_der(bytes(cert_req_msg))
        self._requests.append(("crm", cert_req_msg, cert_req_msg.cert_req.cert_req_id))
        return self

    def add_other_request(self, request_message_type: str, value_der: bytes, *,
                          body_part_id: Optional[int] = None) -> "PkiDataBuilder":
        self._requests.append(("orm", (request_message_type, bytes(value_der)), body_part_id))
        return self

    def add_content_info(self, content_info, *, body_part_id: Optional[int] = None) -> "PkiDataBuilder":
        """A ContentInfo (model or DER), e.g. a nested Full PKI Request of an RA."""
        self._cms.append((content_info, body_part_id))
        return self

    def add_other_msg(self, other_msg_type: str, value_der: bytes, *, body_part_id: Optional[int] = None
                      ) -> "PkiDataBuilder":
        self._other.append((other_msg_type, bytes(value_der), body_part_id))
        return self

    def build(self) -> PKIData:
        given = [bp for _, _, bp in self._controls + self._requests if bp is not None]
        given += [bp for _, bp in self._cms if bp is not None]
        given += [bp for _, _, bp in self._other if bp is not None]
        for bp in given:
            if not 0 <= bp <= BODY_PART_ID_MAX:
                raise EncodeError(f"body part id {bp} outside 0..{BODY_PART_ID_MAX}")
        if len(set(given)) != len(given):
            raise EncodeError("a body part id is used twice")
        used = set(given)
        counter = [1]

        def take(bp: Optional[int]) -> int:
            if bp is not None:
                return bp
            while counter[0] in used:
                counter[0] += 1
            used.add(counter[0])
            return counter[0]

        controls = [TaggedAttribute.build(take(bp), o, v) for o, v, bp in self._controls]
        requests = []
        for kind, body, bp in self._requests:
            if kind == "tcr":
                requests.append(TaggedRequest(tcr=TaggedCertificationRequest(
                    body_part_id=take(bp), certification_request=body)))
            elif kind == "crm":
                requests.append(TaggedRequest(crm=body))
            else:
                mtype, der = body
                requests.append(TaggedRequest(orm=OtherReqMsg(body_part_id=take(bp), request_message_type=mtype,
                                                              request_message_value=der)))
        cms = [TaggedContentInfo(body_part_id=take(bp), content_info=_as_content_info(ci)) for ci, bp in self._cms]
        other = [OtherMsg(body_part_id=take(bp), other_msg_type=t, other_msg_value=v) for t, v, bp in self._other]
        return PKIData(control_sequence=controls, req_sequence=requests, cms_sequence=cms, other_msg_sequence=other)


def _as_content_info(ci):
    t = _a._ContentInfo
    if isinstance(ci, (bytes, bytearray)):
        return bytes(ci) if t is _a.Any else t.from_der(bytes(ci))
    return ci


class BatchRequest:
    """An RA's batch (RFC 5272 §6.17): Full PKI Requests (ContentInfo DER, e.g. from :func:`sign_pki_data`)
    placed in cmsSequence and listed by a batchRequests control. ``build()`` gives the PKIData; sign it with the
    RA's key. ``BatchRequest.requests(pki_data)`` reads the nested requests back."""

    def __init__(self) -> None:
        self._builder = PkiDataBuilder()
        self._items: List[bytes] = []

    def transaction_id(self, n: int) -> "BatchRequest":
        self._builder.transaction_id(n)
        return self

    def random_sender_nonce(self) -> "BatchRequest":
        self._builder.random_sender_nonce()
        return self

    def add(self, full_pki_request: bytes) -> "BatchRequest":
        self._items.append(bytes(full_pki_request))
        return self

    def __len__(self) -> int:
        return len(self._items)

    def build(self) -> PKIData:
        if not self._items:
            raise EncodeError("a batch needs at least one request")
        # body part ids: controls take 1.., nested requests follow
        first = 1000
        ids = list(range(first, first + len(self._items)))
        b = self._builder
        for i, item in zip(ids, self._items):
            b.add_content_info(item, body_part_id=i)
        b.add_control(oid.BATCH_REQUESTS, [ids])
        try:
            return b.build()
        finally:
            b._cms = []
            b._controls = [c for c in b._controls if c[0] != oid.BATCH_REQUESTS]

    @staticmethod
    def requests(pki_data: PKIData) -> List[bytes]:
        """The DER of the nested requests a batchRequests control lists, in its order."""
        return _listed_content(pki_data, oid.BATCH_REQUESTS, "batchRequests")


def _listed_content(msg, control_oid: str, label: str) -> List[bytes]:
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


class PkiResponseBuilder:
    """Builds a PKIResponse (for the reference server and for tests): statusInfoV2 controls, nonces, the
    transaction id, and the certificates that go into the SignedData wrapper."""

    def __init__(self) -> None:
        self._controls: List[Tuple[str, list]] = []
        self._certificates: list = []
        self._batch: List[bytes] = []
        self._next = 1

    def _bp(self) -> int:
        n = self._next
        self._next += 1
        return n

    def transaction_id(self, n: int) -> "PkiResponseBuilder":
        self._controls.append((oid.TRANSACTION_ID, [n]))
        return self

    def recipient_nonce(self, nonce: bytes) -> "PkiResponseBuilder":
        self._controls.append((oid.RECIPIENT_NONCE, [bytes(nonce)]))
        return self

    def sender_nonce(self, nonce: bytes) -> "PkiResponseBuilder":
        self._controls.append((oid.SENDER_NONCE, [bytes(nonce)]))
        return self

    def random_sender_nonce(self, size: int = 16) -> "PkiResponseBuilder":
        return self.sender_nonce(os.urandom(size))

    def reply_to(self, request: PKIData) -> "PkiResponseBuilder":
        """Copy the request's transactionId and echo its senderNonce as recipientNonce (RFC 5272 §6.6)."""
        if request.transaction_id is not None:
            self.transaction_id(request.transaction_id)
        if request.sender_nonce is not None:
            self.recipient_nonce(request.sender_nonce)
        return self

    def status(self, status: int, body_list: Iterable, *, status_string: Optional[str] = None,
               fail_info: Optional[int] = None, pend_info: Optional[PendingInfo] = None,
               extended_fail_info: Optional[Tuple[str, Union[bytes, int]]] = None) -> "PkiResponseBuilder":
        """A statusInfoV2 control. ``body_list``: body part ids (int) or paths (sequences of ints)."""
        others = [x for x in (fail_info, pend_info, extended_fail_info) if x is not None]
        if len(others) > 1:
            raise EncodeError("otherInfo is one of failInfo, pendInfo, extendedFailInfo")
        other = None
        if fail_info is not None:
            other = encode(_a.Integer, int(fail_info))
        elif pend_info is not None:
            other = pend_info.to_der()
        elif extended_fail_info is not None:
            ext_oid, ext_value = extended_fail_info
            if isinstance(ext_value, int):
                ext_value = encode(_a.Integer, ext_value)
            other = ExtendedFailInfo(fail_info_oid=ext_oid, fail_info_value=bytes(ext_value)).to_der()
        refs = [BodyPartReference(body_part_id=b) if isinstance(b, int)
                else BodyPartReference(body_part_path=list(b)) for b in body_list]
        if not refs:
            raise EncodeError("a status names at least one body part (use 0 for the whole request)")
        value = CMCStatusInfoV2(cmc_status=int(status), body_list=refs, status_string=status_string,
                                other_info=other)
        self._controls.append((oid.STATUS_INFO_V2, [value]))
        return self

    def success(self, body_list: Iterable = (0,), *, status_string: Optional[str] = None) -> "PkiResponseBuilder":
        return self.status(CmcStatusValue.SUCCESS, body_list, status_string=status_string)

    def failed(self, fail_info: int, body_list: Iterable = (0,), *, status_string: Optional[str] = None,
               extended_oid: Optional[str] = None) -> "PkiResponseBuilder":
        """A failed status with a failInfo code; with ``extended_oid`` the code goes into extendedFailInfo
        (failInfoValue an INTEGER) instead."""
        if extended_oid is not None:
            return self.status(CmcStatusValue.FAILED, body_list, status_string=status_string,
                               extended_fail_info=(extended_oid, int(fail_info)))
        return self.status(CmcStatusValue.FAILED, body_list, status_string=status_string, fail_info=fail_info)

    def pending(self, pend_token: bytes, pend_time: _dt.datetime, body_list: Iterable = (0,), *,
                status_string: Optional[str] = None) -> "PkiResponseBuilder":
        return self.status(CmcStatusValue.PENDING, body_list, status_string=status_string,
                           pend_info=PendingInfo(pend_token=bytes(pend_token), pend_time=pend_time))

    def add_control(self, control_oid: str, values: list) -> "PkiResponseBuilder":
        self._controls.append((control_oid, list(values)))
        return self

    def publish_trust_anchors(self, certificates, *, seq_number: int = 1, hash_algorithm="sha256"
                              ) -> "PkiResponseBuilder":
        """A trustedAnchors control naming ``certificates`` by hash; the certificates are added too."""
        certs = [_as_certificate(c) for c in certificates]
        self._controls.append((oid.TRUSTED_ANCHORS, [PublishTrustAnchors.build(certs, seq_number, hash_algorithm)]))
        for c in certs:
            if all(c.to_der() != o.to_der() for o in self._certificates):
                self._certificates.append(c)
        return self

    def add_batch_responses(self, responses: Iterable[bytes]) -> "PkiResponseBuilder":
        """Nested Full PKI Responses (ContentInfo DER) in cmsSequence, listed by a batchResponses control."""
        self._batch.extend(bytes(r) for r in responses)
        return self

    def add_certificate(self, certificate) -> "PkiResponseBuilder":
        """A certificate for the SignedData wrapper (model, ``cryptography`` certificate or DER)."""
        self._certificates.append(_as_certificate(certificate))
        return self

    @property
    def certificates(self) -> list:
        return list(self._certificates)

    def build(self) -> PKIResponse:
        self._next = 1
        controls = [TaggedAttribute.build(self._bp(), o, v) for o, v in self._controls]
        cms = []
        if self._batch:
            ids = [self._bp() for _ in self._batch]
            cms = [TaggedContentInfo(body_part_id=i, content_info=_as_content_info(r))
                   for i, r in zip(ids, self._batch)]
            controls.append(TaggedAttribute.build(self._bp(), oid.BATCH_RESPONSES, [ids]))
        return PKIResponse(control_sequence=controls, cms_sequence=cms, other_msg_sequence=[])

    def sign(self, private_key, certificate, **kwargs) -> bytes:
        """The Full PKI Response: SignedData (eContentType id-cct-PKIResponse) signed by ``private_key`` as
        ``certificate``, carrying the certificates added here (and the signer's)."""
        from . import cms as _cms
        certs = list(self._certificates)
        signer = _as_certificate(certificate)
        extra = [c for c in certs if c.to_der() != signer.to_der()]
        return _cms.sign_signed_data(oid.PKI_RESPONSE, self.build().to_der(), private_key, certificate=signer,
                                     extra_certs=extra, **kwargs)


def _as_certificate(cert):
    """An ``x509.Certificate`` from one, from a ``cryptography`` certificate, or from DER/PEM bytes."""
    from .cms import as_certificate
    return as_certificate(cert)


# --- signing and parsing -----------------------------------------------------------------------------------

def _csr_ski_for_key(pki_data: PKIData, public_key) -> Optional[bytes]:
    """The subjectKeyIdentifier extension of the request in ``pki_data`` whose key is ``public_key``."""
    from cryptography.hazmat.primitives import serialization
    spki_der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    for csr in pki_data.certification_requests:
        if isinstance(csr, bytes):
            continue
        if csr.public_key_info.to_der() != spki_der:
            continue
        for ext in csr.extensions or ():
            if ext.extn_id == oid.SUBJECT_KEY_IDENTIFIER:
                return decode(_a.OctetString, ext.extn_value)
    return None


def sign_pki_data(pki_data: PKIData, private_key, certificate=None, **kwargs) -> bytes:
    """Wrap ``pki_data`` into a Full PKI Request: a ContentInfo holding SignedData with eContentType
    id-cct-PKIData and one SignerInfo.

    With ``certificate`` the signer is that certificate (issuerAndSerialNumber) and the certificate travels in
    the SignedData. Without one, the key being certified signs (RFC 5272 §3.2.1.3.1) and the signer is named by
    subject key identifier: the value of the matching request's subjectKeyIdentifier extension if it has one,
    else RFC 5280 method (1) (see :func:`subject_key_identifier`). Other keyword arguments go to
    ``estcodec.cms.sign_signed_data`` (e.g. the hash algorithm).
    """
    from . import cms as _cms
    if not isinstance(pki_data, PKIData):
        raise TypeError("sign_pki_data takes a PKIData (parse bytes with PKIData.from_der)")
    content = pki_data.to_der()
    if certificate is not None:
        return _cms.sign_signed_data(oid.PKI_DATA, content, private_key, certificate=_as_certificate(certificate),
                                     **kwargs)
    public_key = private_key.public_key()
    ski = _csr_ski_for_key(pki_data, public_key)
    if ski is None:
        ski = subject_key_identifier(public_key)
    return _cms.sign_signed_data(oid.PKI_DATA, content, private_key, subject_key_identifier=ski, **kwargs)


def _trust_list(signer_trust) -> list:
    """Trust anchors as a list of certificates: from PEM bytes/str (every CERTIFICATE block), one certificate
    (model, ``cryptography`` or DER), or an iterable of those."""
    from . import pem as _pem
    if isinstance(signer_trust, str):
        signer_trust = signer_trust.encode("ascii", "replace")
    if isinstance(signer_trust, (bytes, bytearray, memoryview)):
        data = bytes(signer_trust)
        if data.lstrip()[:11] == b"-----BEGIN ":
            certs = [_as_certificate(der) for label, der in _pem.decode(data) if label == "CERTIFICATE"]
            if not certs:
                raise CmcError("signer_trust holds no CERTIFICATE block")
            return certs
        return [_as_certificate(data)]
    if hasattr(signer_trust, "to_der") or hasattr(signer_trust, "public_bytes"):
        return [_as_certificate(signer_trust)]
    return [_as_certificate(c) for c in signer_trust]


def _unwrap(data: bytes, expected_type: str, signer_trust) -> Tuple[bytes, list, bool, object]:
    """(content DER, certificates, verified, signer) of a SignedData/AuthenticatedData-wrapped or bare message."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    from . import cms as _cms
    content_type = _cms.content_type_of(data)
    if content_type is None:
        if signer_trust is not None:
            raise CmcError("a signer trust anchor was given but the message is not signed")
        return data, [], False, None
    if content_type == expected_type:   # a ContentInfo holding the bare message
        if signer_trust is not None:
            raise CmcError("a signer trust anchor was given but the message is not signed")
        return _cms.parse_content_info(data).content, [], False, None
    if content_type == oid.ID_SIGNED_DATA:
        sd = _cms.parse_signed_data(data)
        if sd.econtent_type != expected_type:
            raise CmcContentError(f"the SignedData holds {sd.econtent_type}, not {expected_type}", 0,
                                  "unexpected-content-type", "$.content.encap_content_info.e_content_type")
        econtent = sd.econtent
        if econtent is None:
            raise DecodeError("the SignedData has no encapsulated content", 0, "missing-field")
        verified, signer = False, None
        if signer_trust is not None:
            # raises estcodec.pkcs10.SignatureError (an estcodec.Error) when a signature or the chain fails
            _t, _c, signer, verified = _cms.verify_signed_data(data, _trust_list(signer_trust))
        return econtent, sd.certificate_list, bool(verified), signer
    if content_type == oid.ID_CT_AUTH_DATA:
        if signer_trust is not None:
            raise CmcError("AuthenticatedData is MAC-protected, not signed; its MAC is not checked here")
        econtent_type, econtent = _auth_data_content(data)
        if econtent_type != expected_type:
            raise CmcContentError(f"the AuthenticatedData holds {econtent_type}, not {expected_type}", 0,
                                  "unexpected-content-type", "$.content.encap_content_info.e_content_type")
        return econtent, [], False, None
    raise CmcContentError(f"unexpected content type {content_type}", 0, "unexpected-content-type", "$.content_type")


def _auth_data_content(data: bytes) -> Tuple[str, bytes]:
    """eContentType and eContent of an AuthenticatedData (RFC 5652 §9), read without checking its MAC."""
    from . import cms as _cms
    ci = _cms.parse_content_info(data)
    ad = _a.AuthenticatedData.from_der(ci.content)
    content = ad.encap_content_info.content
    if content is None:
        raise DecodeError("AuthenticatedData without encapsulated content", 0, "missing-field",
                          "$.content.encap_content_info")
    return ad.encap_content_info.e_content_type, content


def parse_pki_data(data: bytes, *, signer_trust=None, verify_self_signed: bool = False) -> PKIData:
    """A PKIData from a Full PKI Request (ContentInfo/SignedData, or AuthenticatedData read without checking
    its MAC), a ContentInfo holding a bare PKIData, or a bare PKIData. Input it cannot accept raises
    DecodeError (CmcContentError, also a CmcError, for well-formed CMS holding another content type).

    ``signer_trust``: as for :func:`parse_pki_response` (the signer, e.g. an RA, must be or chain to one of
    these; ``signature_verified`` is then True). ``verify_self_signed=True``: a request signed with the key
    being certified (signer named by subject key identifier, RFC 5272 §3.2.1.3.1) is checked with the public
    key of the enclosed request whose subject key identifier (its extension, else RFC 5280 method (1)) matches;
    ``self_signature_verified`` is then True. Failures raise ``estcodec.pkcs10.SignatureError``. With neither,
    nothing is verified.
    """
    content, certs, verified, signer = _unwrap(data, oid.PKI_DATA, signer_trust)
    pki = PKIData.from_der(content)
    pki.validate()
    pki.__dict__["_certificates"] = certs
    pki.__dict__["_verified"] = verified
    pki.__dict__["_signer"] = signer
    if verify_self_signed:
        _verify_self_signed(bytes(data), pki)
        pki.__dict__["_self_verified"] = True
    return pki


def _request_keys(pki: PKIData) -> list:
    """(ski, SubjectPublicKeyInfo) of every request in ``pki`` (PKCS#10 and CRMF with a public key)."""
    out = []
    for r in pki.req_sequence:
        spki, ski = None, None
        if r.name == "tcr" and not isinstance(r.value.certification_request, bytes):
            csr = r.value.certification_request
            spki = csr.public_key_info
            for ext in csr.extensions or ():
                if ext.extn_id == oid.SUBJECT_KEY_IDENTIFIER:
                    ski = decode(_a.OctetString, ext.extn_value)
        elif r.name == "crm" and r.value.cert_req.cert_template.public_key is not None:
            tmpl = r.value.cert_req.cert_template
            spki = tmpl.public_key
            for ext in tmpl.extensions or ():
                if ext.extn_id == oid.SUBJECT_KEY_IDENTIFIER:
                    ski = decode(_a.OctetString, ext.extn_value)
        if spki is not None:
            out.append((ski if ski is not None else subject_key_identifier(spki), spki))
    return out


def _verify_self_signed(data: bytes, pki: PKIData) -> None:
    from . import _sigalgs
    from . import cms as _cms
    from ._sigalgs import SignatureError
    if _cms.content_type_of(data) != oid.ID_SIGNED_DATA:
        raise CmcError("the request is not signed")
    sd = _cms.parse_signed_data(data)
    if len(sd.signer_infos) != 1:
        raise SignatureError("a request signed with the key being certified has exactly one signer")
    sid = sd.signer_infos[0].sid
    if sid.name != "subject_key_identifier":
        raise SignatureError("the signer is not named by subject key identifier")
    keys = [spki for ski, spki in _request_keys(pki) if ski == sid.value]
    if not keys:
        raise SignatureError("no request in the PKIData has the signer's subject key identifier")
    # replace(): re-encode from values, so that a key read from a CRMF template ([6] IMPLICIT) becomes a plain
    # SubjectPublicKeyInfo again
    public_key = _sigalgs.load_public_key(keys[0].replace().to_der())
    _cms.verify_signed_data(data, None, signer_public_key=public_key)


def parse_pki_response(data: bytes, *, signer_trust=None) -> PKIResponse:
    """A PKIResponse from a Full PKI Response (ContentInfo/SignedData), a ContentInfo holding a bare
    PKIResponse, or a bare PKIResponse.

    With ``signer_trust`` (PEM bytes with one or more CERTIFICATE blocks, a certificate, or a list of
    certificates) every SignerInfo is verified and its certificate must be a trust anchor or chain to one
    through the message's certificates (``estcodec.cms.verify_signed_data``); a failure raises
    ``estcodec.pkcs10.SignatureError`` (an ``estcodec.Error``), so ``signature_verified`` is then True.
    Without it nothing is verified and ``signature_verified`` is False: the caller decides whether an
    unverified response is acceptable. A trust anchor given for an unsigned message raises :class:`CmcError`.
    """
    content, certs, verified, signer = _unwrap(data, oid.PKI_RESPONSE, signer_trust)
    resp = PKIResponse.from_der(content)
    resp.validate()
    resp.__dict__["_certificates"] = certs
    resp.__dict__["_verified"] = verified
    resp.__dict__["_signer"] = signer
    resp.statuses  # noqa: B018 - resolve the statuses now, so a malformed one fails here
    return resp


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
