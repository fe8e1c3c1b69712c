"""OCSP requests and responses (RFC 6960), with a request builder for clients.

Read::

    resp = OCSPResponse.from_der(data)
    resp.response_status                 # ResponseStatus.SUCCESSFUL, ...
    basic = resp.basic                   # BasicOCSPResponse, or None (no responseBytes / another type)
    basic.produced_at, basic.responder_id.name, basic.responses, basic.certs
    single = basic.response_for(cert_id) # SingleResponse for a CertID, or None
    single.cert_status                   # CertStatus.GOOD / REVOKED / UNKNOWN
    single.revocation_time, single.revocation_reason, single.this_update, single.next_update
    basic.verify(responder)              # None, or raises SignatureError (through estcodec._sigalgs)

Build a request (the builder is fluent)::

    der = (OCSPRequestBuilder()
           .add_certificate(cert, issuer)            # CertID with SHA-1 (the hash every responder knows)
           .nonce(os.urandom(16))
           .build()                                  # -> OCSPRequest
           .to_der())

Responses for a test responder: cryptography's ``ocsp.OCSPResponseBuilder`` writes them (the tests use it);
this module reads them. ``from_der`` decodes the whole structure as strict DER, the BasicOCSPResponse inside
responseBytes included; as for certificates, extension values are checked when read.
"""
import enum
from typing import Annotated, List, Optional, cast
from typing import Sequence as _Seq
from typing import Any as _TypingAny
import datetime as _dt

from . import oids as _oids
from ._der import BitStringValue
from . import _sigalgs
from .errors import EncodeError
from .schema import (
    BitString, Choice, Enumerated, GeneralizedTime, Integer, Null, ObjectIdentifier, OctetString, Sequence,
    SequenceOf, encode, field,
)
from .x509 import oid as _x509_oid
from .x509 import (
    extension_value,
    AlgorithmIdentifier, Certificate, Extension, Extensions, GeneralName, Name, SubjectPublicKeyInfo,
)

__all__ = [
    "OCSPRequest", "TBSRequest", "Request", "CertID", "Signature", "OCSPResponse", "ResponseBytes",
    "BasicOCSPResponse", "ResponseData", "ResponderID", "SingleResponse", "CertStatus", "RevokedInfo",
    "ResponseStatus", "OCSPRequestBuilder", "cert_id_for", "oid",
]


class oid:  # noqa: N801 - a namespace of constants
    """OCSP's OIDs (RFC 6960 §4.4 and Appendix B)."""
    OCSP_BASIC = _oids.ID_PKIX_OCSP_BASIC
    NONCE = _x509_oid.OCSP_NONCE  # an OCTET STRING inside extnValue (RFC 8954), registered in x509
    CRL_ID = _oids.ID_PKIX_OCSP_CRL
    ACCEPTABLE_RESPONSES = _oids.ID_PKIX_OCSP_RESPONSE
    NO_CHECK = _oids.ID_PKIX_OCSP_NOCHECK
    ARCHIVE_CUTOFF = _oids.ID_PKIX_OCSP_ARCHIVE_CUTOFF
    SERVICE_LOCATOR = _oids.ID_PKIX_OCSP_SERVICE_LOCATOR
    SHA1 = _oids.ID_SHA1


class ResponseStatus(enum.IntEnum):
    """OCSPResponseStatus (RFC 6960 §4.2.1)."""
    SUCCESSFUL = 0
    MALFORMED_REQUEST = 1
    INTERNAL_ERROR = 2
    TRY_LATER = 3
    SIG_REQUIRED = 5
    UNAUTHORIZED = 6


class CertStatus(enum.Enum):
    """The status of one certificate in a SingleResponse (RFC 6960 §4.2.1): good, revoked or unknown."""
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


# --- requests ---------------------------------------------------------------------------------------------------

class CertID(Sequence, gc=False):
    """CertID (RFC 6960 §4.1.1): hashes of the issuer's name and key and the certificate's serial number."""
    hash_algorithm: AlgorithmIdentifier
    issuer_name_hash: Annotated[bytes, OctetString]
    issuer_key_hash: Annotated[bytes, OctetString]
    serial_number: Annotated[int, Integer]

    def matches(self, other: "CertID") -> bool:
        """Same certificate: same hash algorithm OID, hashes and serial (NULL or absent hash parameters alike)."""
        return (self.hash_algorithm.algorithm == other.hash_algorithm.algorithm
                and self.issuer_name_hash == other.issuer_name_hash
                and self.issuer_key_hash == other.issuer_key_hash and self.serial_number == other.serial_number)


class Request(Sequence, gc=False):
    """Request (RFC 6960 §4.1.1): one certificate to report on, with its extensions."""
    req_cert: CertID
    single_request_extensions: Annotated[_Seq[Extension] | None, Extensions] = field(explicit=0, optional=True)


class TBSRequest(Sequence, gc=False):
    """TBSRequest (RFC 6960 §4.1.1): the requests and the request extensions."""
    version: Annotated[int, Integer] = field(explicit=0, default=0)
    requestor_name: Annotated[GeneralName | None, GeneralName] = field(explicit=1, optional=True)
    request_list: Annotated[list[Request], SequenceOf(Request)]
    request_extensions: Annotated[_Seq[Extension] | None, Extensions] = field(explicit=2, optional=True)


class Signature(Sequence, gc=False):
    """Signature (RFC 6960 §4.1.1): the optional signature of an OCSP request."""
    signature_algorithm: AlgorithmIdentifier
    signature: Annotated[BitStringValue, BitString]
    certs: Annotated[list[Certificate] | None, SequenceOf(Certificate)] = field(explicit=0, optional=True)


_ext_value = extension_value  # one walk for certificates, CRLs and OCSP (estcodec.x509)


class OCSPRequest(Sequence, gc=False):
    """OCSPRequest (RFC 6960 §4.1.1)."""
    tbs_request: TBSRequest
    optional_signature: Annotated[Signature | None, Signature] = field(explicit=0, optional=True)

    @property
    def cert_ids(self) -> "List[CertID]":
        """The CertIDs of the requests, in order."""
        return [r.req_cert for r in self.tbs_request.request_list]

    @property
    def extensions(self) -> "_Seq[Extension]":
        """The requestExtensions (e.g. the nonce); an empty list when absent."""
        return self.tbs_request.request_extensions or []

    @property
    def nonce(self) -> "Optional[bytes]":
        """The nonce extension's value (RFC 8954: an OCTET STRING inside extnValue), or None."""
        nonce: Optional[bytes] = _ext_value(self.extensions, oid.NONCE, (".request_extensions", ".tbs_request"))
        return nonce


def _issuer_key_bits(issuer: "Certificate | bytes") -> bytes:
    holder: _TypingAny = issuer  # a Certificate (or anything with public_key_info), else SPKI DER
    spki = holder.public_key_info if hasattr(holder, "public_key_info") else SubjectPublicKeyInfo.from_der(holder)
    bits: bytes = spki.subject_public_key.data
    return bits


def cert_id_for(cert: Certificate, issuer: "Certificate | bytes", *, hash_name: str = "sha1") -> CertID:
    """The CertID of ``cert`` (issued by ``issuer``): hashes of the issuer's name (as it stands in ``cert``) and of
    the issuer's subjectPublicKey bits, and the serial number (RFC 6960 §4.1.1). ``issuer`` may also be an SPKI
    (its DER) when only the issuer's key is at hand."""
    h = _sigalgs.hash_from_name(hash_name)
    name_hash = _sigalgs.compute_digest(h, cert.issuer.to_der())
    key_hash = _sigalgs.compute_digest(h, _issuer_key_bits(issuer))
    # NULL parameters, as OpenSSL and cryptography write them: responders that match CertIDs byte for byte
    # expect this form.
    alg = AlgorithmIdentifier(algorithm=_sigalgs.digest_oid(h), parameters=b"\x05\x00")
    return CertID(hash_algorithm=alg, issuer_name_hash=name_hash,
                  issuer_key_hash=key_hash, serial_number=cert.serial_number)


class OCSPRequestBuilder:
    """Builds an unsigned OCSP request (signed requests are rare and not offered). Fluent."""

    def __init__(self) -> None:
        self._requests: List[Request] = []
        self._extensions: List[Extension] = []

    def add_certificate(self, cert: Certificate, issuer: Certificate, *, hash_name: str = "sha1"
                        ) -> "OCSPRequestBuilder":
        """Ask for ``cert`` issued by ``issuer`` (its CertID hashed with ``hash_name``); returns the builder."""
        self._requests.append(Request(req_cert=cert_id_for(cert, issuer, hash_name=hash_name)))
        return self

    def add_cert_id(self, cert_id: CertID) -> "OCSPRequestBuilder":
        """Ask for the certificate ``cert_id`` names; returns the builder."""
        self._requests.append(Request(req_cert=cert_id))
        return self

    def nonce(self, value: bytes) -> "OCSPRequestBuilder":
        """Add the nonce extension (RFC 8954: 1 to 32 octets, else :class:`~estcodec.EncodeError`); returns the
        builder."""
        if not 1 <= len(value) <= 32:
            raise EncodeError("an OCSP nonce has 1 to 32 octets (RFC 8954)")
        self._extensions.append(Extension(extn_id=oid.NONCE, extn_value=encode(OctetString, bytes(value))))
        return self

    def add_extension(self, extn_id: str, value: bytes, critical: bool = False) -> "OCSPRequestBuilder":
        """Add a request extension whose extnValue is ``value``; returns the builder."""
        self._extensions.append(Extension.build(extn_id, value, critical))
        return self

    def build(self) -> OCSPRequest:
        """The OCSPRequest. Raises :class:`~estcodec.EncodeError` when it names no certificate."""
        if not self._requests:
            raise EncodeError("an OCSP request names at least one certificate")
        tbs = TBSRequest(request_list=self._requests, request_extensions=self._extensions or None)
        return OCSPRequest.from_der(encode(OCSPRequest, OCSPRequest(tbs_request=tbs)))


# --- responses --------------------------------------------------------------------------------------------------

class ResponderID(Choice, gc=False):
    """ResponderID (RFC 6960 §4.2.1): the responder by name or by the SHA-1 hash of its key."""
    by_name: Name = field(explicit=1)
    by_key: Annotated[bytes, OctetString] = field(explicit=2)


class RevokedInfo(Sequence, gc=False):
    """RevokedInfo (RFC 6960 §4.2.1): when a certificate was revoked and why."""
    revocation_time: Annotated[_dt.datetime, GeneralizedTime]
    revocation_reason: Annotated[int | None, Enumerated] = field(explicit=0, optional=True)


class _CertStatus(Choice, gc=False):
    good: Annotated[None, Null] = field(implicit=0)
    revoked: RevokedInfo = field(implicit=1)
    unknown: Annotated[None, Null] = field(implicit=2)


class SingleResponse(Sequence, gc=False):
    """SingleResponse (RFC 6960 §4.2.1): the status of one certificate and the period it holds for."""
    cert_id: CertID
    cert_status: _CertStatus
    this_update: Annotated[_dt.datetime, GeneralizedTime]
    next_update: Annotated[_dt.datetime | None, GeneralizedTime] = field(explicit=0, optional=True)
    single_extensions: Annotated[_Seq[Extension] | None, Extensions] = field(explicit=1, optional=True)

    @property
    def status(self) -> CertStatus:
        """The certificate's status as a :class:`CertStatus`."""
        return CertStatus(self.cert_status.name)

    @property
    def revocation_time(self) -> "Optional[_dt.datetime]":
        """The revocationTime when the status is revoked, else None."""
        if self.cert_status.name != "revoked":
            return None
        when: _dt.datetime = self.cert_status.value.revocation_time
        return when

    @property
    def revocation_reason(self) -> "Optional[int]":
        """A ``crl.CRLReason`` (a plain int outside it), or None."""
        if self.cert_status.name != "revoked" or self.cert_status.value.revocation_reason is None:
            return None
        from .crl import CRLReason

        reason: int = self.cert_status.value.revocation_reason
        try:
            return CRLReason(reason)
        except ValueError:
            return reason

    @property
    def extensions(self) -> "_Seq[Extension]":
        """The singleExtensions; an empty list when absent."""
        return self.single_extensions or []


class ResponseData(Sequence, gc=False):
    """ResponseData (RFC 6960 §4.2.1): the signed part of a basic response."""
    version: Annotated[int, Integer] = field(explicit=0, default=0)
    responder_id: ResponderID
    produced_at: Annotated[_dt.datetime, GeneralizedTime]
    responses: Annotated[list[SingleResponse], SequenceOf(SingleResponse)]
    response_extensions: Annotated[_Seq[Extension] | None, Extensions] = field(explicit=1, optional=True)


class BasicOCSPResponse(Sequence, gc=False):
    """BasicOCSPResponse (RFC 6960 §4.2.1): the response data, its signature and the certificates to verify it."""
    tbs_response_data: ResponseData
    signature_algorithm: AlgorithmIdentifier
    signature: Annotated[BitStringValue, BitString]
    certs: Annotated[list[Certificate] | None, SequenceOf(Certificate)] = field(explicit=0, optional=True)

    @property
    def produced_at(self) -> _dt.datetime:
        """producedAt of the response data."""
        return self.tbs_response_data.produced_at

    @property
    def responder_id(self) -> ResponderID:
        """The responderID of the response data."""
        return self.tbs_response_data.responder_id

    @property
    def responses(self) -> "List[SingleResponse]":
        """The SingleResponses, in order."""
        return self.tbs_response_data.responses

    @property
    def extensions(self) -> "_Seq[Extension]":
        """The responseExtensions; an empty list when absent."""
        return self.tbs_response_data.response_extensions or []

    @property
    def nonce(self) -> "Optional[bytes]":
        """The nonce extension's value (RFC 8954), or None."""
        nonce: Optional[bytes] = _ext_value(self.extensions, oid.NONCE,
                                            (".response_extensions", ".tbs_response_data"))
        return nonce

    @property
    def tbs_der(self) -> bytes:
        """The DER of the response data, the bytes the signature covers."""
        return self.tbs_response_data.to_der()

    @property
    def signature_algorithm_oid(self) -> str:
        """The OID of the signature algorithm."""
        return self.signature_algorithm.algorithm

    def response_for(self, cert_id: CertID) -> "Optional[SingleResponse]":
        """The SingleResponse about the certificate ``cert_id`` names (see :meth:`CertID.matches`), or None."""
        for r in self.responses:
            if r.cert_id.matches(cert_id):
                return r
        return None

    def verify(self, responder: object) -> None:
        """Check the signature with ``responder`` (the responder's certificate, a public key or SPKI DER): None,
        or ``SignatureError``. Whether that responder may answer for the issuer (RFC 6960 §4.2.2.2) is the
        caller's path validation, not this method's."""
        _sigalgs.verify(self.signature_algorithm, responder, self.tbs_der, self.signature.data)

    def is_signature_valid(self, responder: object) -> bool:
        """:meth:`verify` as a bool: False for a bad signature; unsupported algorithms still raise."""
        return _sigalgs.is_valid_signature(self.signature_algorithm, responder, self.tbs_der, self.signature.data)


RESPONSE_TYPES: "dict[str, object]" = {oid.OCSP_BASIC: BasicOCSPResponse}


class ResponseBytes(Sequence, gc=False):
    """ResponseBytes (RFC 6960 §4.2.1): the response type OID and the response, decoded for id-pkix-ocsp-basic."""
    response_type: Annotated[str, ObjectIdentifier]
    response: Annotated[bytes, OctetString] = field(defined_by="response_type", registry=RESPONSE_TYPES,
                                                    contains=True)
    # the value decoded from ``response`` (a BasicOCSPResponse for id-pkix-ocsp-basic, else the bytes)
    _response_contained: "BasicOCSPResponse | bytes"


class OCSPResponse(Sequence, gc=False):
    """OCSPResponse (RFC 6960 §4.2.1): the response status and, when successful, the response bytes."""
    response_status: Annotated[int, Enumerated]
    response_bytes: Annotated[ResponseBytes | None, ResponseBytes] = field(explicit=0, optional=True)

    @property
    def status(self) -> "ResponseStatus | int":
        """The responseStatus as a :class:`ResponseStatus`, or the plain int for a value RFC 6960 does not define.
        """
        try:
            return ResponseStatus(self.response_status)
        except ValueError:
            return self.response_status

    @property
    def basic(self) -> "Optional[BasicOCSPResponse]":
        """The BasicOCSPResponse inside responseBytes (decoded and checked with the response), or None."""
        rb = self.response_bytes
        if rb is None or rb.response_type != oid.OCSP_BASIC:
            return None
        return cast(BasicOCSPResponse, rb._response_contained)  # decoded through RESPONSE_TYPES


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
