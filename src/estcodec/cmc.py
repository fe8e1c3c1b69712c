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
from typing import TYPE_CHECKING, Optional, Tuple
from typing import Any as _TypingAny

from . import _cmc_asn1 as _a
from ._cmc_asn1 import (
    BODY_PART_ID_MAX, CONTROL_TYPES, AddExtensions, AuthenticatedData, BodyPartList, BodyPartPath, BodyPartReference,
    CertReqMsg, CertRequest, CertTemplate, ChangeSubjectName, CMCCertId, CMCPublicationInfo, CMCStatusInfo,
    CMCStatusInfoV2, ControlsProcessed, DecryptedPOP, EncryptedPOP, ExtendedFailInfo, GetCert, GetCRL,
    IdentifyProofV2, LraPopWitness, ModCertTemplate, OptionalValidity, OtherMsg, OtherReqMsg, PendInfo, PendingInfo,
    PopLinkWitnessV2, POPOSigningKey, ProofOfPossession, PublishTrustAnchors, RevokeRequest, SingleAttribute,
    TaggedAttribute, TaggedCertificationRequest, TaggedContentInfo, TaggedRequest, oid,
)
from .errors import DecodeError
from .schema import OctetString as _OctetString
from .schema import decode

if TYPE_CHECKING:
    from .cms import CertificateLike
    from .signer import Signer, SoftwarePrivateKey
    from .x509 import Certificate, SubjectPublicKeyInfo
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ._cmc_model import (
    CmcError, CmcContentError, CmcStatusValue, CmcFailInfo, describe_fail_info, BodyPartID, BodyPartId,
    CmcStatusInfo, PKIData, PKIResponse,
)
from ._cmc_build import subject_key_identifier, PkiDataBuilder, BatchRequest, PkiResponseBuilder, _as_certificate

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


def _csr_ski_for_key(pki_data: PKIData, public_key: "PublicKeyTypes") -> Optional[bytes]:
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
                out: Optional[bytes] = decode(_OctetString, ext.extn_value)
                return out
    return None


def sign_pki_data(pki_data: PKIData, private_key: "SoftwarePrivateKey | Signer",
                  certificate: "CertificateLike | None" = None, **kwargs: _TypingAny) -> bytes:
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


def _trust_list(signer_trust: _TypingAny) -> "list[Certificate]":
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


def _unwrap(data: bytes, expected_type: str, signer_trust: object
            ) -> "Tuple[bytes, list[Certificate], bool, Optional[Certificate]]":
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


def parse_pki_data(data: bytes, *, signer_trust: object = None, verify_self_signed: bool = False) -> PKIData:
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


def _request_keys(pki: PKIData) -> "list[tuple[bytes, SubjectPublicKeyInfo]]":
    """(ski, SubjectPublicKeyInfo) of every request in ``pki`` (PKCS#10 and CRMF with a public key)."""
    out = []
    for r in pki.req_sequence:
        spki, ski = None, None
        if r.name == "tcr" and not isinstance(r.value.certification_request, bytes):
            csr = r.value.certification_request
            spki = csr.public_key_info
            for ext in csr.extensions or ():
                if ext.extn_id == oid.SUBJECT_KEY_IDENTIFIER:
                    ski = decode(_OctetString, ext.extn_value)
        elif r.name == "crm" and r.value.cert_req.cert_template.public_key is not None:
            tmpl = r.value.cert_req.cert_template
            spki = tmpl.public_key
            for ext in tmpl.extensions or ():
                if ext.extn_id == oid.SUBJECT_KEY_IDENTIFIER:
                    ski = decode(_OctetString, ext.extn_value)
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


def parse_pki_response(data: bytes, *, signer_trust: object = None) -> PKIResponse:
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
