"""Builders of CMC messages: :class:`PkiDataBuilder` (a client's PKIData, RFC 5272 §3.2.1), :class:`BatchRequest`
(an RA's batch, §6.17) and :class:`PkiResponseBuilder` (a server's PKIResponse, §3.2.2).

Part of :mod:`estcodec.cmc`, which re-exports every public name; import them from there.
"""
import datetime as _dt
import os
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple, Union, cast
from typing import Any as _TypingAny

from . import pkix as _pkix
from . import _cmc_asn1 as _a
from ._cmc_asn1 import (
    BODY_PART_ID_MAX, BodyPartReference, CertReqMsg, ChangeSubjectName, CMCStatusInfoV2, ExtendedFailInfo, OtherMsg,
    OtherReqMsg, PendingInfo, PublishTrustAnchors, TaggedAttribute, TaggedCertificationRequest, TaggedContentInfo,
    TaggedRequest, oid,
)
from .errors import EncodeError
from .schema import Any as _RawTLV
from .schema import Integer as _Integer
from .schema import encode

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.hashes import HashAlgorithm

    from .cms import CertificateLike
    from .pkcs10 import CertificationRequest
    from .signer import Signer, SoftwarePrivateKey
    from .x509 import Certificate, GeneralName, Name

from ._cmc_model import CmcStatusValue, PKIData, PKIResponse, _listed_content


def subject_key_identifier(public_key: object) -> bytes:
    """RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value. ``public_key`` is a
    ``cryptography`` public key, a SubjectPublicKeyInfo model, or its DER (see
    :func:`estcodec.pkix.key_identifier`)."""
    return _pkix.key_identifier(public_key)


def _as_certification_request(csr: object) -> "CertificationRequest | bytes":
    t: _TypingAny = _a._CertificationRequest  # type: ignore[attr-defined]  # the sibling module's own import
    if isinstance(csr, (bytes, bytearray, memoryview)):
        data = bytes(csr)
        if t is _RawTLV:
            from .der import parse
            parse(data)  # at least one well-formed DER element
            return data
        model: CertificationRequest = t.from_der(data)
        return model
    if t is not _RawTLV and isinstance(csr, t):
        same: CertificationRequest = csr
        return same
    if hasattr(csr, "public_bytes"):  # a cryptography CertificateSigningRequest
        from cryptography.hazmat.primitives import serialization
        crypto_csr: _TypingAny = csr
        return _as_certification_request(crypto_csr.public_bytes(serialization.Encoding.DER))
    raise TypeError(f"a certification request must be DER bytes or a CertificationRequest, not {type(csr).__name__}")


class PkiDataBuilder:
    """Builds a PKIData. Every control and request gets its own body part id (1, 2, 3, ... unless given).

    ``PkiDataBuilder().transaction_id(7).random_sender_nonce().identification("alice")
    .add_certification_request(csr_der).build()``
    """

    def __init__(self) -> None:
        self._controls: List[Tuple[str, List[object], Optional[int]]] = []
        self._requests: List[Tuple[str, object, Optional[int]]] = []
        self._cms: List[Tuple[object, Optional[int]]] = []
        self._other: List[Tuple[str, bytes, Optional[int]]] = []

    # controls
    def _set_control(self, control_oid: str, values: List[object]) -> "PkiDataBuilder":
        self._controls = [c for c in self._controls if c[0] != control_oid]
        self._controls.append((control_oid, values, None))
        return self

    def transaction_id(self, n: int) -> "PkiDataBuilder":
        """Set the transactionId control (RFC 5272 §6.6); ``TypeError`` if ``n`` is not an int. Returns the builder.
        """
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError("a transaction id is an int")
        return self._set_control(oid.TRANSACTION_ID, [n])

    def random_transaction_id(self) -> "PkiDataBuilder":
        """Set a random 63-bit transactionId (RFC 5272 §6.6); returns the builder."""
        return self.transaction_id(int.from_bytes(os.urandom(8), "big") >> 1)

    def sender_nonce(self, nonce: bytes) -> "PkiDataBuilder":
        """Set the senderNonce control (RFC 5272 §6.6); returns the builder."""
        return self._set_control(oid.SENDER_NONCE, [bytes(nonce)])

    def random_sender_nonce(self, size: int = 16) -> "PkiDataBuilder":
        """Set a senderNonce of ``size`` random bytes (RFC 5272 §6.6); returns the builder."""
        return self.sender_nonce(os.urandom(size))

    def recipient_nonce(self, nonce: bytes) -> "PkiDataBuilder":
        """Set the recipientNonce control, the server's senderNonce echoed (RFC 5272 §6.6); returns the builder."""
        return self._set_control(oid.RECIPIENT_NONCE, [bytes(nonce)])

    def identification(self, name: str) -> "PkiDataBuilder":
        """Set the identification control (RFC 5272 §6.2.3); returns the builder."""
        return self._set_control(oid.IDENTIFICATION, [str(name)])

    def change_subject_name(self, subject: "Name | None" = None, subject_alt: "Iterable[GeneralName] | None" = None
                            ) -> "PkiDataBuilder":
        """changeSubjectName (RFC 6402 §2.2; RFC 7030 §4.2.2 re-enrollment with a new subject)."""
        return self._set_control(oid.CHANGE_SUBJECT_NAME, [ChangeSubjectName.build(subject, subject_alt)])

    def query_pending(self, pend_token: bytes) -> "PkiDataBuilder":
        """Set the queryPending control with the server's pendToken (RFC 5272 §6.13); returns the builder."""
        return self._set_control(oid.QUERY_PENDING, [bytes(pend_token)])

    def add_control(self, control_oid: str, values: Iterable[object], *, body_part_id: Optional[int] = None
                    ) -> "PkiDataBuilder":
        """Any control: typed values for registered controls, DER bytes of each value for others."""
        self._controls.append((control_oid, list(values), body_part_id))
        return self

    # requests and content
    def add_certification_request(self, csr: object, *, body_part_id: Optional[int] = None) -> "PkiDataBuilder":
        """A PKCS#10 request (DER bytes, a CertificationRequest or a ``cryptography`` CSR) as ``tcr``."""
        self._requests.append(("tcr", _as_certification_request(csr), body_part_id))
        return self

    def add_crmf_request(self, cert_req_msg: "CertReqMsg | bytes | bytearray") -> "PkiDataBuilder":
        """A CRMF CertReqMsg (model or DER) as ``crm``; its certReqId serves as the body part id."""
        if isinstance(cert_req_msg, (bytes, bytearray)):
            cert_req_msg = CertReqMsg.from_der(bytes(cert_req_msg))
        self._requests.append(("crm", cert_req_msg, cert_req_msg.cert_req.cert_req_id))
        return self

    def add_other_request(self, request_message_type: str, value_der: bytes, *,
                          body_part_id: Optional[int] = None) -> "PkiDataBuilder":
        """Add a request of another type (``orm``, RFC 5272 §3.2.1.3.3) whose value is ``value_der``; returns the
        builder."""
        self._requests.append(("orm", (request_message_type, bytes(value_der)), body_part_id))
        return self

    def add_content_info(self, content_info: object, *, body_part_id: Optional[int] = None) -> "PkiDataBuilder":
        """A ContentInfo (model or DER), e.g. a nested Full PKI Request of an RA."""
        self._cms.append((content_info, body_part_id))
        return self

    def add_other_msg(self, other_msg_type: str, value_der: bytes, *, body_part_id: Optional[int] = None
                      ) -> "PkiDataBuilder":
        """Add an OtherMsg (RFC 5272 §3.2.1.5) whose value is ``value_der``; returns the builder."""
        self._other.append((other_msg_type, bytes(value_der), body_part_id))
        return self

    def build(self) -> PKIData:
        """The PKIData. Body part ids not given are numbered from 1, skipping those given. Raises
        :class:`~estcodec.EncodeError` for an id outside 0..``BODY_PART_ID_MAX`` or used twice."""
        given = [bp for _, _, bp in self._controls + self._requests if bp is not None]
        given += [bp for _, bp in self._cms if bp is not None]
        given += [bp for _, _, bp in self._other if bp is not None]
        for given_bp in given:
            if not 0 <= given_bp <= BODY_PART_ID_MAX:
                raise EncodeError(f"body part id {given_bp} outside 0..{BODY_PART_ID_MAX}")
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
                mtype, der = cast(Tuple[str, bytes], body)
                requests.append(TaggedRequest(orm=OtherReqMsg(body_part_id=take(bp), request_message_type=mtype,
                                                              request_message_value=der)))
        cms = [TaggedContentInfo(body_part_id=take(bp), content_info=_as_content_info(ci)) for ci, bp in self._cms]
        other = [OtherMsg(body_part_id=take(bp), other_msg_type=t, other_msg_value=v) for t, v, bp in self._other]
        return PKIData(control_sequence=controls, req_sequence=requests, cms_sequence=cms, other_msg_sequence=other)


def _as_content_info(ci: object) -> object:
    t: _TypingAny = _a._ContentInfo  # type: ignore[attr-defined]  # the sibling module's own import
    if isinstance(ci, (bytes, bytearray)):
        return bytes(ci) if t is _RawTLV else t.from_der(bytes(ci))
    return ci


class BatchRequest:
    """An RA's batch (RFC 5272 §6.17): Full PKI Requests (ContentInfo DER, e.g. from :func:`sign_pki_data`)
    placed in cmsSequence and listed by a batchRequests control. ``build()`` gives the PKIData; sign it with the
    RA's key. ``BatchRequest.requests(pki_data)`` reads the nested requests back."""

    def __init__(self) -> None:
        self._builder = PkiDataBuilder()
        self._items: List[bytes] = []

    def transaction_id(self, n: int) -> "BatchRequest":
        """Set the batch's transactionId (RFC 5272 §6.6); returns the batch."""
        self._builder.transaction_id(n)
        return self

    def random_sender_nonce(self) -> "BatchRequest":
        """Set a random senderNonce on the batch (RFC 5272 §6.6); returns the batch."""
        self._builder.random_sender_nonce()
        return self

    def add(self, full_pki_request: bytes) -> "BatchRequest":
        """Add a Full PKI Request (the DER of its ContentInfo) to the batch; returns the batch."""
        self._items.append(bytes(full_pki_request))
        return self

    def __len__(self) -> int:
        return len(self._items)

    def build(self) -> PKIData:
        """The PKIData carrying the requests and the batchRequests control naming them (RFC 5272 §6.17). Raises
        :class:`~estcodec.EncodeError` for an empty batch."""
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


class PkiResponseBuilder:
    """Builds a PKIResponse (for the reference server and for tests): statusInfoV2 controls, nonces, the
    transaction id, and the certificates that go into the SignedData wrapper."""

    def __init__(self) -> None:
        self._controls: List[Tuple[str, List[object]]] = []
        self._certificates: List[Certificate] = []
        self._batch: List[bytes] = []
        self._next = 1

    def _bp(self) -> int:
        n = self._next
        self._next += 1
        return n

    def transaction_id(self, n: int) -> "PkiResponseBuilder":
        """Set the transactionId control (RFC 5272 §6.6); returns the builder."""
        self._controls.append((oid.TRANSACTION_ID, [n]))
        return self

    def recipient_nonce(self, nonce: bytes) -> "PkiResponseBuilder":
        """Set the recipientNonce control, the request's senderNonce echoed (RFC 5272 §6.6); returns the builder."""
        self._controls.append((oid.RECIPIENT_NONCE, [bytes(nonce)]))
        return self

    def sender_nonce(self, nonce: bytes) -> "PkiResponseBuilder":
        """Set the senderNonce control (RFC 5272 §6.6); returns the builder."""
        self._controls.append((oid.SENDER_NONCE, [bytes(nonce)]))
        return self

    def random_sender_nonce(self, size: int = 16) -> "PkiResponseBuilder":
        """Set a senderNonce of ``size`` random bytes (RFC 5272 §6.6); returns the builder."""
        return self.sender_nonce(os.urandom(size))

    def reply_to(self, request: PKIData) -> "PkiResponseBuilder":
        """Copy the request's transactionId and echo its senderNonce as recipientNonce (RFC 5272 §6.6)."""
        if request.transaction_id is not None:
            self.transaction_id(request.transaction_id)
        if request.sender_nonce is not None:
            self.recipient_nonce(request.sender_nonce)
        return self

    def status(self, status: int, body_list: "Iterable[int | Iterable[int]]", *, status_string: Optional[str] = None,
               fail_info: Optional[int] = None, pend_info: Optional[PendingInfo] = None,
               extended_fail_info: Optional[Tuple[str, Union[bytes, int]]] = None) -> "PkiResponseBuilder":
        """A statusInfoV2 control. ``body_list``: body part ids (int) or paths (sequences of ints)."""
        others = [x for x in (fail_info, pend_info, extended_fail_info) if x is not None]
        if len(others) > 1:
            raise EncodeError("otherInfo is one of failInfo, pendInfo, extendedFailInfo")
        other: Optional[bytes] = None
        if fail_info is not None:
            other = encode(_Integer, int(fail_info))
        elif pend_info is not None:
            other = pend_info.to_der()
        elif extended_fail_info is not None:
            ext_oid, ext_value = extended_fail_info
            if isinstance(ext_value, int):
                ext_value = encode(_Integer, ext_value)
            other = ExtendedFailInfo(fail_info_oid=ext_oid, fail_info_value=bytes(ext_value)).to_der()
        refs = [BodyPartReference(body_part_id=b) if isinstance(b, int)
                else BodyPartReference(body_part_path=list(b)) for b in body_list]
        if not refs:
            raise EncodeError("a status names at least one body part (use 0 for the whole request)")
        value = CMCStatusInfoV2(cmc_status=int(status), body_list=refs, status_string=status_string,
                                other_info=other)
        self._controls.append((oid.STATUS_INFO_V2, [value]))
        return self

    def success(self, body_list: "Iterable[int | Iterable[int]]" = (0,), *, status_string: Optional[str] = None
                ) -> "PkiResponseBuilder":
        """A success statusInfoV2 control for ``body_list`` (default: the whole request); returns the builder."""
        return self.status(CmcStatusValue.SUCCESS, body_list, status_string=status_string)

    def failed(self, fail_info: int, body_list: "Iterable[int | Iterable[int]]" = (0,), *,
               status_string: Optional[str] = None, extended_oid: Optional[str] = None) -> "PkiResponseBuilder":
        """A failed status with a failInfo code; with ``extended_oid`` the code goes into extendedFailInfo
        (failInfoValue an INTEGER) instead."""
        if extended_oid is not None:
            return self.status(CmcStatusValue.FAILED, body_list, status_string=status_string,
                               extended_fail_info=(extended_oid, int(fail_info)))
        return self.status(CmcStatusValue.FAILED, body_list, status_string=status_string, fail_info=fail_info)

    def pending(self, pend_token: bytes, pend_time: _dt.datetime, body_list: "Iterable[int | Iterable[int]]" = (0,), *,
                status_string: Optional[str] = None) -> "PkiResponseBuilder":
        """A pending statusInfoV2 control carrying ``pend_token`` and ``pend_time`` (RFC 5272 §6.1.1); returns the
        builder."""
        return self.status(CmcStatusValue.PENDING, body_list, status_string=status_string,
                           pend_info=PendingInfo(pend_token=bytes(pend_token), pend_time=pend_time))

    def add_control(self, control_oid: str, values: Iterable[object]) -> "PkiResponseBuilder":
        """Add any control (typed values for registered controls, DER bytes of each value for others); returns the
        builder."""
        self._controls.append((control_oid, list(values)))
        return self

    def publish_trust_anchors(self, certificates: "Iterable[CertificateLike]", *, seq_number: int = 1,
                              hash_algorithm: "str | HashAlgorithm" = "sha256"
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

    def add_certificate(self, certificate: "CertificateLike") -> "PkiResponseBuilder":
        """A certificate for the SignedData wrapper (model, ``cryptography`` certificate or DER)."""
        self._certificates.append(_as_certificate(certificate))
        return self

    @property
    def certificates(self) -> "list[Certificate]":
        """The certificates to put into the SignedData around the response."""
        return list(self._certificates)

    def build(self) -> PKIResponse:
        """The PKIResponse: the controls added, numbered from body part id 1, and the batch responses if any."""
        self._next = 1
        controls = [TaggedAttribute.build(self._bp(), o, v) for o, v in self._controls]
        cms = []
        if self._batch:
            ids = [self._bp() for _ in self._batch]
            cms = [TaggedContentInfo(body_part_id=i, content_info=_as_content_info(r))
                   for i, r in zip(ids, self._batch)]
            controls.append(TaggedAttribute.build(self._bp(), oid.BATCH_RESPONSES, [ids]))
        return PKIResponse(control_sequence=controls, cms_sequence=cms, other_msg_sequence=[])

    def sign(self, private_key: "SoftwarePrivateKey | Signer", certificate: "CertificateLike",
             **kwargs: _TypingAny) -> bytes:
        """The Full PKI Response: SignedData (eContentType id-cct-PKIResponse) signed by ``private_key`` as
        ``certificate``, carrying the certificates added here (and the signer's)."""
        from . import cms as _cms
        certs = list(self._certificates)
        signer = _as_certificate(certificate)
        extra = [c for c in certs if c.to_der() != signer.to_der()]
        return _cms.sign_signed_data(oid.PKI_RESPONSE, self.build().to_der(), private_key, certificate=signer,
                                     extra_certs=extra, **kwargs)


def _as_certificate(cert: "CertificateLike") -> "Certificate":
    """An ``x509.Certificate`` from one, from a ``cryptography`` certificate, or from DER/PEM bytes."""
    from .cms import as_certificate
    return as_certificate(cert)


# --- signing and parsing -----------------------------------------------------------------------------------
