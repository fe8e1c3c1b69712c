"""ASN.1 models of CMC (RFC 5272 Appendix A as updated by RFC 6402) and the CRMF pieces it carries (RFC 4211).

Field names are the snake_case of the RFCs' identifiers. The public names are re-exported by
:mod:`estcodec.cmc`; this module holds only declarations, OIDs and the control registry.

Two places where the RFC's ASN.1 cannot be decoded by tag alone are modelled as open types and resolved in
Python (by the first inner element), because the schema engine picks the first CHOICE alternative whose tag
matches:

- ``OtherStatusInfo`` (CMCStatusInfoV2.otherInfo): ``pendInfo`` and ``extendedFailInfo`` are both SEQUENCEs;
  a PendInfo starts with an OCTET STRING, an ExtendedFailInfo with an OBJECT IDENTIFIER.
- ``ChangeSubjectName`` (RFC 6402 §2.2): ``subject Name OPTIONAL, subjectAlt GeneralNames OPTIONAL``, both
  untagged SEQUENCEs; a Name holds SETs, GeneralNames hold context-tagged elements.

Both are checked when a message is parsed through :mod:`estcodec.cmc` (``parse_pki_data`` /
``parse_pki_response``), so malformed content still fails at parse time.
"""
import datetime as _dt
from typing import TYPE_CHECKING, Annotated, Iterable, cast

from . import oids as _oids
from ._der import BitStringValue
from . import _der
from .schema import (
    Any, BitString, Boolean, Choice, Enumerated, GeneralizedTime, Integer, NamedBitString, Null,
    ObjectIdentifier, OctetString, Sequence, SequenceOf, SetOf, Spec, UTF8String, field,
)
from .x509 import (
    REASON_FLAGS, AlgorithmIdentifier, Extension, GeneralName, GeneralNames, Name, SubjectPublicKeyInfo, Time,
)

try:  # the typed PKCS#10 / CMS models, when present
    from .pkcs10 import CertificationRequest as _CertificationRequest
except ImportError:  # pragma: no cover - only while the pkcs10 module is not in the tree
    _CertificationRequest = Any  # type: ignore[misc, assignment]  # the raw TLV stands in for the model
try:
    from .cms import ContentInfo as _ContentInfo
    from .cms import EncapsulatedContentInfo as _EncapsulatedContentInfo
except ImportError:  # pragma: no cover
    _ContentInfo = _EncapsulatedContentInfo = Any  # type: ignore[misc, assignment]  # as above


if TYPE_CHECKING:
    from cryptography.hazmat.primitives.hashes import HashAlgorithm

    from .cms import CertificateLike
    from .x509 import Certificate


class oid:  # noqa: N801 - a namespace of constants
    """OIDs of CMC (RFC 5272, RFC 6402)."""

    ID_PKIX = _oids.ID_PKIX
    ID_CMC = _oids.ID_CMC
    ID_CCT = _oids.ID_CCT
    # content types
    PKI_DATA = _oids.ID_CCT_PKI_DATA            # id-cct-PKIData
    PKI_RESPONSE = _oids.ID_CCT_PKI_RESPONSE        # id-cct-PKIResponse
    ID_CCT_PKI_DATA = PKI_DATA
    ID_CCT_PKI_RESPONSE = PKI_RESPONSE
    # controls (id-cmc n)
    STATUS_INFO = _oids.ID_CMC_STATUS_INFO
    IDENTIFICATION = _oids.ID_CMC_IDENTIFICATION
    IDENTITY_PROOF = _oids.ID_CMC_IDENTITY_PROOF
    DATA_RETURN = _oids.ID_CMC_DATA_RETURN
    TRANSACTION_ID = _oids.ID_CMC_TRANSACTION_ID
    SENDER_NONCE = _oids.ID_CMC_SENDER_NONCE
    RECIPIENT_NONCE = _oids.ID_CMC_RECIPIENT_NONCE
    ADD_EXTENSIONS = _oids.ID_CMC_ADD_EXTENSIONS
    ENCRYPTED_POP = _oids.ID_CMC_ENCRYPTED_POP
    DECRYPTED_POP = _oids.ID_CMC_DECRYPTED_POP
    LRA_POP_WITNESS = _oids.ID_CMC_LRA_POP_WITNESS
    GET_CERT = _oids.ID_CMC_GET_CERT
    GET_CRL = _oids.ID_CMC_GET_CRL
    REVOKE_REQUEST = _oids.ID_CMC_REVOKE_REQUEST
    REG_INFO = _oids.ID_CMC_REG_INFO
    RESPONSE_INFO = _oids.ID_CMC_RESPONSE_INFO
    QUERY_PENDING = _oids.ID_CMC_QUERY_PENDING
    POP_LINK_RANDOM = _oids.ID_CMC_POP_LINK_RANDOM
    POP_LINK_WITNESS = _oids.ID_CMC_POP_LINK_WITNESS
    CONFIRM_CERT_ACCEPTANCE = _oids.ID_CMC_CONFIRM_CERT_ACCEPTANCE
    STATUS_INFO_V2 = _oids.ID_CMC_STATUS_INFO_V2
    TRUSTED_ANCHORS = _oids.ID_CMC_TRUSTED_ANCHORS     # Publish Trust Anchors
    AUTH_DATA = _oids.ID_CMC_AUTH_DATA
    BATCH_REQUESTS = _oids.ID_CMC_BATCH_REQUESTS
    BATCH_RESPONSES = _oids.ID_CMC_BATCH_RESPONSES
    PUBLISH_CERT = _oids.ID_CMC_PUBLISH_CERT
    MOD_CERT_TEMPLATE = _oids.ID_CMC_MOD_CERT_TEMPLATE
    CONTROL_PROCESSED = _oids.ID_CMC_CONTROL_PROCESSED
    POP_LINK_WITNESS_V2 = _oids.ID_CMC_POP_LINK_WITNESS_V2
    IDENTITY_PROOF_V2 = _oids.ID_CMC_IDENTITY_PROOF_V2
    RA_IDENTITY_WITNESS = _oids.ID_CMC_RA_IDENTITY_WITNESS
    CHANGE_SUBJECT_NAME = _oids.ID_CMC_CHANGE_SUBJECT_NAME
    RESPONSE_BODY = _oids.ID_CMC_RESPONSE_BODY
    # other
    EXTENSION_REQUEST = _oids.PKCS_9_AT_EXTENSION_REQUEST
    SUBJECT_KEY_IDENTIFIER = _oids.ID_CE_SUBJECT_KEY_IDENTIFIER
    ID_KP_CMC_CA = _oids.ID_KP_CMC_CA
    ID_KP_CMC_RA = _oids.ID_KP_CMC_RA
    ID_KP_CMC_ARCHIVE = _oids.ID_KP_CMC_ARCHIVE
    ID_AD_CMC = _oids.ID_AD_CMC
    ID_ALG_NO_SIGNATURE = _oids.ID_ALG_NO_SIGNATURE
    ID_AA_CMC_UNSIGNED_DATA = _oids.ID_AA_CMC_UNSIGNED_DATA
    ID_SIGNED_DATA = _oids.ID_SIGNED_DATA
    ID_CT_AUTH_DATA = _oids.ID_CT_AUTH_DATA


def _tagged_any(tag_number: int, label: str, *, tag_class: int = 2) -> type:
    """A raw-kept type under its own ``[n] IMPLICIT`` tag (its value is the raw TLV, tag included)."""
    return type(f"_TaggedAny{tag_number}", (), {"_asn1_spec": Spec(_der.KIND_ANY, tag_class, tag_number,
                                                                    type_name=f"[{tag_number}] IMPLICIT {label}")})


# --- body part identification ------------------------------------------------------------------------------

BodyPartID = Integer                                   # INTEGER (0..4294967295)
BODY_PART_ID_MAX = 4294967295
BodyPartPath = SequenceOf(Integer, min_size=1)
BodyPartList = SequenceOf(Integer, min_size=1)


class BodyPartReference(Choice):
    """BodyPartReference (RFC 5272 §3.2.3): a body part by its id or by a path through nested messages."""
    body_part_id: Annotated[int, Integer]
    body_part_path: Annotated[list[int], BodyPartPath]


# --- CRMF (RFC 4211), as far as CMC carries it -------------------------------------------------------------

class SingleAttribute(Sequence):
    """AttributeTypeAndValue of RFC 4211 (controls and regInfo of a CertReqMsg)."""

    type: Annotated[str, ObjectIdentifier]
    value: Annotated[bytes, Any]


class OptionalValidity(Sequence):
    """OptionalValidity (RFC 4211 §5): the validity a request asks for, either end optional."""
    not_before: Annotated[_dt.datetime | None, Time] = field(explicit=0, optional=True)
    not_after: Annotated[_dt.datetime | None, Time] = field(explicit=1, optional=True)


class CertTemplate(Sequence):
    """CertTemplate (RFC 4211 §5): the certificate fields a CRMF request asks for, each optional."""
    version: Annotated[int | None, Integer] = field(implicit=0, optional=True)
    serial_number: Annotated[int | None, Integer] = field(implicit=1, optional=True)
    signing_alg: Annotated[AlgorithmIdentifier | None, AlgorithmIdentifier] = field(implicit=2, optional=True)
    issuer: Annotated[Name | None, Name] = field(explicit=3, optional=True)
    validity: Annotated[OptionalValidity | None, OptionalValidity] = field(implicit=4, optional=True)
    subject: Annotated[Name | None, Name] = field(explicit=5, optional=True)
    public_key: Annotated[SubjectPublicKeyInfo | None, SubjectPublicKeyInfo] = field(implicit=6, optional=True)
    issuer_uid: Annotated[BitStringValue | None, BitString] = field(implicit=7, optional=True)
    subject_uid: Annotated[BitStringValue | None, BitString] = field(implicit=8, optional=True)
    extensions: Annotated[list[Extension] | None, SequenceOf(Extension, min_size=1)] = field(implicit=9, optional=True)


class CertRequest(Sequence):
    """CertRequest (RFC 4211 §5): the request id, the certificate template and the CRMF controls."""
    cert_req_id: Annotated[int, Integer]
    cert_template: CertTemplate
    controls: Annotated[list[SingleAttribute] | None, SequenceOf(SingleAttribute, min_size=1)] = field(optional=True)


_POPOSigningKeyInput = _tagged_any(0, "POPOSigningKeyInput")


class POPOSigningKey(Sequence):
    """POPOSigningKey (RFC 4211 §4.1): proof of possession by a signature (the input is kept as raw DER)."""
    poposk_input: Annotated[bytes | None, _POPOSigningKeyInput] = field(optional=True)
    algorithm_identifier: AlgorithmIdentifier
    signature: Annotated[BitStringValue, BitString]


class ProofOfPossession(Choice):
    """ProofOfPossession (RFC 4211 §4): raVerified, a signature, or key encipherment / agreement (kept as raw DER).
    """
    ra_verified: Annotated[None, Null] = field(implicit=0)
    signature: POPOSigningKey = field(implicit=1)
    # POPOPrivKey (a CHOICE, so the tag is explicit), kept raw
    key_encipherment: Annotated[bytes,
                                Any] = field(explicit=2)
    key_agreement: Annotated[bytes, Any] = field(explicit=3)


class CertReqMsg(Sequence):
    """CertReqMsg (RFC 4211 §3): a CRMF request with its proof of possession and registration info."""
    cert_req: CertRequest
    popo: Annotated[ProofOfPossession | None, ProofOfPossession] = field(optional=True)
    reg_info: Annotated[list[SingleAttribute] | None, SequenceOf(SingleAttribute, min_size=1)] = field(optional=True)


# --- requests, content, other messages ---------------------------------------------------------------------

class TaggedCertificationRequest(Sequence):
    """TaggedCertificationRequest (RFC 5272 §3.2.1.3.1): a PKCS#10 request with its body part id."""
    body_part_id: Annotated[int, Integer]
    certification_request: _CertificationRequest


OTHER_REQUEST_TYPES: "dict[str, object]" = {}
OTHER_MSG_TYPES: "dict[str, object]" = {}


class OtherReqMsg(Sequence):
    """The ``orm`` alternative of TaggedRequest."""

    body_part_id: Annotated[int, Integer]
    request_message_type: Annotated[str, ObjectIdentifier]
    request_message_value: Annotated[object,
                                     Any] = field(defined_by="request_message_type", registry=OTHER_REQUEST_TYPES)


class TaggedRequest(Choice):
    """TaggedRequest (RFC 5272 §3.2.1.3): a PKCS#10 request (``tcr``), a CRMF request (``crm``) or another request
    (``orm``)."""
    tcr: TaggedCertificationRequest = field(implicit=0)
    crm: CertReqMsg = field(implicit=1)
    orm: OtherReqMsg = field(implicit=2)

    @property
    def body_part_id(self) -> int:
        """The body part id of the request (for ``crm``, the certReqId, which RFC 5272 §3.2.1.3.2 uses)."""
        v = self.value
        if self.name == "crm":
            out: int = v.cert_req.cert_req_id
            return out
        out = v.body_part_id
        return out


class TaggedContentInfo(Sequence):
    """TaggedContentInfo (RFC 5272 §3.2.1.4): a CMS ContentInfo with its body part id."""
    body_part_id: Annotated[int, Integer]
    content_info: _ContentInfo


class OtherMsg(Sequence):
    """OtherMsg (RFC 5272 §3.2.1.5): a message of a type named by OID, its value typed through ``OTHER_MSG_TYPES``.
    """
    body_part_id: Annotated[int, Integer]
    other_msg_type: Annotated[str, ObjectIdentifier]
    other_msg_value: Annotated[object, Any] = field(defined_by="other_msg_type", registry=OTHER_MSG_TYPES)


# --- control values ----------------------------------------------------------------------------------------

class PendingInfo(Sequence):
    """PendInfo: the token to quote in a later queryPending, and when to ask again."""

    pend_token: Annotated[bytes, OctetString]
    pend_time: Annotated[_dt.datetime, GeneralizedTime]


PendInfo = PendingInfo


class ExtendedFailInfo(Sequence):
    """ExtendedFailInfo (RFC 6402 §2.5): a failure described by an OID and a value (kept as raw DER)."""
    fail_info_oid: Annotated[str, ObjectIdentifier]
    fail_info_value: Annotated[bytes, Any]


class CMCStatusInfoV1OtherInfo(Choice):
    fail_info: Annotated[int, Integer]
    pend_info: PendingInfo


class CMCStatusInfo(Sequence):
    """statusInfo (RFC 5272 §6.1.2, deprecated by statusInfoV2 but still met)."""

    cmc_status: Annotated[int, Integer]
    body_list: Annotated[list[int], SequenceOf(Integer, min_size=1)]
    status_string: Annotated[str | None, UTF8String] = field(optional=True)
    other_info: Annotated[CMCStatusInfoV1OtherInfo | None, CMCStatusInfoV1OtherInfo] = field(optional=True)


class CMCStatusInfoV2(Sequence):
    """statusInfoV2 (RFC 5272 §6.1.1). ``other_info`` is kept raw (see the module docstring); read it through
    :func:`estcodec.cmc.status_infos` / ``PKIResponse.statuses``, or ``other_info_value()``."""

    cmc_status: Annotated[int, Integer]
    body_list: Annotated[list[BodyPartReference], SequenceOf(BodyPartReference, min_size=1)]
    status_string: Annotated[str | None, UTF8String] = field(optional=True)
    # OtherStatusInfo ::= CHOICE { failInfo, pendInfo, extendedFailInfo }
    other_info: Annotated[bytes | None,
                          Any] = field(optional=True)

    def other_info_value(self) -> "tuple[str, object] | None":
        """``("fail_info", int)``, ``("pend_info", PendingInfo)``, ``("extended_fail_info", ExtendedFailInfo)``
        or None."""
        return decode_other_status_info(self.other_info)


def decode_other_status_info(raw: "bytes | None") -> "tuple[str, object] | None":
    """Resolve the raw OtherStatusInfo CHOICE of statusInfoV2 by its first element."""
    if raw is None:
        return None
    from .der import parse
    el = parse(raw)
    if el.tag_class == "universal" and el.tag == 2 and not el.constructed:
        return ("fail_info", el.value)
    if el.tag_class == "universal" and el.tag == 16 and el.constructed and len(el.children) >= 1:
        first = el.children[0]
        if first.tag_class == "universal" and first.tag == 4:
            return ("pend_info", PendingInfo.from_der(raw))
        if first.tag_class == "universal" and first.tag == 6:
            return ("extended_fail_info", ExtendedFailInfo.from_der(raw))
    from .errors import DecodeError
    err = DecodeError("otherInfo is neither failInfo, pendInfo nor extendedFailInfo", el.offset, "unexpected-tag")
    err._push(".other_info")
    raise err


class IdentifyProofV2(Sequence):
    """IdentifyProofV2 (RFC 6402 §2.3): the identity proof control, a MAC over the request with named algorithms."""
    proof_alg_id: AlgorithmIdentifier
    mac_alg_id: AlgorithmIdentifier
    witness: Annotated[bytes, OctetString]


class PopLinkWitnessV2(Sequence):
    """PopLinkWitnessV2 (RFC 6402 §2.4): the witness linking proof of possession to the identity proof."""
    key_gen_algorithm: AlgorithmIdentifier
    mac_algorithm: AlgorithmIdentifier
    witness: Annotated[bytes, OctetString]


class AddExtensions(Sequence):
    """AddExtensions (RFC 5272 §6.5.2): extensions to add to the certificates of the referenced requests."""
    pki_data_reference: Annotated[int, Integer]
    cert_references: Annotated[list[int], SequenceOf[Integer]]
    extensions: Annotated[list[Extension], SequenceOf[Extension]]


class EncryptedPOP(Sequence):
    """EncryptedPOP (RFC 5272 §6.7): the server's challenge for indirect proof of possession."""
    request: TaggedRequest
    cms: _ContentInfo
    the_pop_alg_id: AlgorithmIdentifier
    witness_alg_id: AlgorithmIdentifier
    witness: Annotated[bytes, OctetString]


class DecryptedPOP(Sequence):
    """DecryptedPOP (RFC 5272 §6.7): the client's answer to an EncryptedPOP challenge."""
    body_part_id: Annotated[int, Integer]
    the_pop_alg_id: AlgorithmIdentifier
    the_pop: Annotated[bytes, OctetString]


class LraPopWitness(Sequence):
    """LraPopWitness (RFC 5272 §6.8): an LRA's statement that it checked proof of possession for the listed
    requests."""
    pki_data_bodyid: Annotated[int, Integer]
    body_ids: Annotated[list[int], SequenceOf[Integer]]


class GetCert(Sequence):
    """GetCert (RFC 5272 §6.9): ask for a certificate by issuer and serial number."""
    issuer_name: GeneralName
    serial_number: Annotated[int, Integer]


class GetCRL(Sequence):
    """GetCRL (RFC 5272 §6.10): ask for a CRL by issuer, with optional name, time and reasons."""
    issuer_name: Name
    crl_name: Annotated[GeneralName | None, GeneralName] = field(optional=True)
    time: Annotated[_dt.datetime | None, GeneralizedTime] = field(optional=True)
    reasons: Annotated[frozenset[str] | None, NamedBitString(*REASON_FLAGS)] = field(optional=True)


class RevokeRequest(Sequence):
    """RevokeRequest (RFC 5272 §6.11): ask for a certificate to be revoked, with the reason and optional passphrase.
    """
    issuer_name: Name
    serial_number: Annotated[int, Integer]
    reason: Annotated[int, Enumerated]                 # CRLReason
    invalidity_date: Annotated[_dt.datetime | None, GeneralizedTime] = field(optional=True)
    passphrase: Annotated[bytes | None, OctetString] = field(optional=True)
    comment: Annotated[str | None, UTF8String] = field(optional=True)


class CMCCertId(Sequence):
    """IssuerAndSerialNumber (confirmCertAcceptance)."""

    issuer: Name
    serial_number: Annotated[int, Integer]


class PublishTrustAnchors(Sequence):
    """trustedAnchors (RFC 5272 §6.15; the /fullcmc bootstrap of RFC 7030 §4.1.1): hashes of the certificates
    (their whole DER) that become the new trust anchors; the certificates travel in the SignedData."""

    seq_number: Annotated[int, Integer]
    hash_algorithm: AlgorithmIdentifier
    anchor_hashes: Annotated[list[bytes], SequenceOf[OctetString]]

    def select(self, certificates: "Iterable[CertificateLike]") -> "list[Certificate]":
        """The certificates (estcodec or ``cryptography`` ones, or DER) whose hash is listed, in the order of
        ``anchor_hashes``. Raises ``UnsupportedSignatureAlgorithm`` for an unknown hash algorithm."""
        from . import _sigalgs
        from .cms import as_certificate
        h = _sigalgs.hash_from_oid(self.hash_algorithm.algorithm, self.hash_algorithm.parameters)
        by_hash: dict[bytes, Certificate] = {}
        for c in certificates:
            cert = as_certificate(c)
            by_hash.setdefault(_sigalgs.compute_digest(h, cert.to_der()), cert)
        return [by_hash[x] for x in self.anchor_hashes if x in by_hash]

    @classmethod
    def build(cls, certificates: "Iterable[CertificateLike]", seq_number: int = 1,
              hash_algorithm: "str | HashAlgorithm" = "sha256") -> "PublishTrustAnchors":
        """From the anchor certificates, hashing each one's DER with ``hash_algorithm`` (a name or a
        ``cryptography`` hash)."""
        from . import _sigalgs
        from .cms import as_certificate
        h = _sigalgs.hash_from_name(hash_algorithm) if isinstance(hash_algorithm, str) else hash_algorithm
        hashes_ = [_sigalgs.compute_digest(h, as_certificate(c).to_der()) for c in certificates]
        return cls(seq_number=seq_number, hash_algorithm=_sigalgs.digest_algorithm(h), anchor_hashes=hashes_)


class CMCPublicationInfo(Sequence):
    """CMCPublicationInfo (RFC 5272 §6.18): hashes of certificates to publish and how (PKIPublicationInfo kept as
    raw DER)."""
    hash_alg: AlgorithmIdentifier
    cert_hashes: Annotated[list[bytes], SequenceOf[OctetString]]
    pub_info: Annotated[bytes, Any]                      # PKIPublicationInfo of RFC 4211, kept raw


class ModCertTemplate(Sequence):
    """ModCertTemplate (RFC 5272 §6.5.1): changes to the certificate templates of the referenced requests."""
    pki_data_reference: Annotated[list[int], BodyPartPath]
    cert_references: Annotated[list[int], BodyPartList]
    # RFC 6402's name for the field: on this model ``replace`` is the field, not ``Model.replace``
    replace: Annotated[bool, Boolean] = field(default=True)  # type: ignore[assignment]
    cert_template: CertTemplate


class ControlsProcessed(Sequence):
    """ControlsProcessed (RFC 5272 §6.19): the body parts of controls an RA processed."""
    body_list: Annotated[list[BodyPartReference], SequenceOf(BodyPartReference, min_size=1)]


class ChangeSubjectName(Sequence):
    """changeSubjectName (RFC 6402 §2.2, RFC 7030 §4.2.2). Both components are untagged SEQUENCEs, so they are
    kept raw here and told apart by content: use ``subject`` / ``subject_alt``; build with
    ``ChangeSubjectName.build``."""

    first: Annotated[bytes | None, Any] = field(optional=True)
    second: Annotated[bytes | None, Any] = field(optional=True)

    @classmethod
    def build(cls, subject: "Name | None" = None, subject_alt: "Iterable[GeneralName] | None" = None
              ) -> "ChangeSubjectName":
        """From a ``Name`` and/or a list of ``GeneralName`` (at least one of them)."""
        if subject is None and subject_alt is None:
            from .errors import EncodeError
            raise EncodeError("ChangeSubjectName needs a subject, a subjectAlt or both")
        parts = []
        if subject is not None:
            parts.append(subject.to_der())
        if subject_alt is not None:
            from .schema import encode
            parts.append(encode(GeneralNames, list(subject_alt)))
        return cls(first=parts[0], second=parts[1] if len(parts) > 1 else None)

    def _split(self) -> "tuple[Name | None, list[GeneralName] | None]":
        cached: tuple[Name | None, list[GeneralName] | None] | None = self.__dict__.get("_parts")
        if cached is None:
            cached = _split_change_subject_name(self.first, self.second)
            self.__dict__["_parts"] = cached
        return cached

    @property
    def subject(self) -> "Name | None":
        """The requested subject Name, or None."""
        return self._split()[0]

    @property
    def subject_alt(self) -> "list[GeneralName] | None":
        """The requested subjectAltName as a list of GeneralName, or None."""
        return self._split()[1]


def _is_name(raw: bytes) -> bool:
    from .der import parse
    el = parse(raw)
    # An RDNSequence holds SETs; GeneralNames hold context-tagged alternatives. An empty SEQUENCE is an empty
    # Name (GeneralNames has SIZE (1..MAX)).
    return all(c.tag_class == "universal" and c.tag == 17 for c in el.children)


def _split_change_subject_name(first: "bytes | None", second: "bytes | None"
                               ) -> "tuple[Name | None, list[GeneralName] | None]":
    from .errors import DecodeError
    from .schema import decode
    subject: Name | None = None
    subject_alt: list[GeneralName] | None = None
    if first is None:
        return (None, None)
    if _is_name(first):
        subject = Name.from_der(first)
        if second is not None:
            subject_alt = decode(GeneralNames, second)
    else:
        if second is not None:
            err = DecodeError("ChangeSubjectName: subjectAlt is followed by more data", 0, "unexpected-tag")
            err._push(".second")
            raise err
        subject_alt = decode(GeneralNames, first)
    return (subject, subject_alt)


# --- the registry of control values --------------------------------------------------------------------------

#: Control OID -> the type of each of its values (TaggedAttribute.attrValues is a SET OF them).
CONTROL_TYPES: "dict[str, object]" = {
    oid.STATUS_INFO: CMCStatusInfo,
    oid.IDENTIFICATION: UTF8String,
    oid.IDENTITY_PROOF: OctetString,
    oid.DATA_RETURN: OctetString,
    oid.TRANSACTION_ID: Integer,
    oid.SENDER_NONCE: OctetString,
    oid.RECIPIENT_NONCE: OctetString,
    oid.ADD_EXTENSIONS: AddExtensions,
    oid.ENCRYPTED_POP: EncryptedPOP,
    oid.DECRYPTED_POP: DecryptedPOP,
    oid.LRA_POP_WITNESS: LraPopWitness,
    oid.GET_CERT: GetCert,
    oid.GET_CRL: GetCRL,
    oid.REVOKE_REQUEST: RevokeRequest,
    oid.REG_INFO: OctetString,
    oid.RESPONSE_INFO: OctetString,
    oid.QUERY_PENDING: OctetString,
    oid.POP_LINK_RANDOM: OctetString,
    oid.POP_LINK_WITNESS: OctetString,
    oid.CONFIRM_CERT_ACCEPTANCE: CMCCertId,
    oid.STATUS_INFO_V2: CMCStatusInfoV2,
    oid.TRUSTED_ANCHORS: PublishTrustAnchors,
    oid.AUTH_DATA: Integer,                       # AuthPublish ::= BodyPartID
    oid.BATCH_REQUESTS: BodyPartList,
    oid.BATCH_RESPONSES: BodyPartList,
    oid.PUBLISH_CERT: CMCPublicationInfo,
    oid.MOD_CERT_TEMPLATE: ModCertTemplate,
    oid.CONTROL_PROCESSED: ControlsProcessed,
    oid.POP_LINK_WITNESS_V2: PopLinkWitnessV2,
    oid.IDENTITY_PROOF_V2: IdentifyProofV2,
    oid.RA_IDENTITY_WITNESS: BodyPartPath,        # RFC 6402 §2.7
    oid.CHANGE_SUBJECT_NAME: ChangeSubjectName,
    oid.RESPONSE_BODY: BodyPartPath,              # RFC 6402 §2.8
}

_CONTROL_VALUE_SETS = {k: SetOf(v) for k, v in CONTROL_TYPES.items()}


class TaggedAttribute(Sequence):
    """A control: ``values`` are typed through ``CONTROL_TYPES``; unknown controls keep raw DER values."""

    body_part_id: Annotated[int, Integer]
    attr_type: Annotated[str, ObjectIdentifier]
    # a list in every case: of the registered type's values, or of raw DER for controls not registered
    attr_values: Annotated[list[object], SetOf(Any)] = field(defined_by="attr_type", registry=_CONTROL_VALUE_SETS)

    @property
    def oid(self) -> str:
        """The control's type OID (``attr_type``)."""
        return self.attr_type

    @property
    def values(self) -> "list[object]":
        """The control's values, typed through ``CONTROL_TYPES`` for registered controls, raw DER otherwise."""
        return self.attr_values

    @property
    def value(self) -> object:
        """The single value (controls carry exactly one; raises if not)."""
        vals = self.attr_values
        if len(vals) != 1:
            from .errors import DecodeError
            raise DecodeError(f"control {self.attr_type} has {len(vals)} values, expected one", 0,
                              "invalid-value", "$.attr_values")
        return vals[0]

    @classmethod
    def build(cls, body_part_id: int, attr_type: str, values: "Iterable[object]") -> "TaggedAttribute":
        """A control from typed values (controls in ``CONTROL_TYPES``) or from the DER of each value (others)."""
        from .schema import encode
        items = list(values)
        if attr_type in CONTROL_TYPES:
            return cls(body_part_id=body_part_id, attr_type=attr_type, attr_values=items)
        der = encode(_TaggedAttributeRaw, _TaggedAttributeRaw(body_part_id=body_part_id, attr_type=attr_type,
                                                               attr_values=[bytes(cast(bytes, v)) for v in items]))
        return cls.from_der(der)


class _TaggedAttributeRaw(Sequence):
    body_part_id: Annotated[int, Integer]
    attr_type: Annotated[str, ObjectIdentifier]
    attr_values: Annotated[list[bytes], SetOf(Any)]


# --- AuthenticatedData (RFC 5652 §9), the MAC-protected wrapper RFC 6402 §2.10 allows for PKIData ------------

class AuthenticatedData(Sequence):
    """Only what CMC needs to reach the PKIData: recipient infos, attributes and the MAC are kept raw (the MAC
    is not checked by this package)."""

    version: Annotated[int, Integer]
    originator_info: Annotated[bytes | None, _tagged_any(0, "OriginatorInfo")] = field(optional=True)
    recipient_infos: Annotated[list[bytes], SetOf(Any, min_size=1)]
    mac_algorithm: AlgorithmIdentifier
    digest_algorithm: Annotated[AlgorithmIdentifier | None, AlgorithmIdentifier] = field(implicit=1, optional=True)
    encap_content_info: _EncapsulatedContentInfo
    auth_attrs: Annotated[bytes | None, _tagged_any(2, "AuthAttributes")] = field(optional=True)
    mac: Annotated[bytes, OctetString]
    unauth_attrs: Annotated[bytes | None, _tagged_any(3, "UnauthAttributes")] = field(optional=True)
