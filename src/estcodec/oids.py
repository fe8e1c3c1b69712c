"""Every object identifier estcodec uses, defined once, and the one table of their names.

Each constant is the UPPER_SNAKE form of the identifier the defining RFC gives it (``id-ce-subjectAltName`` is
``ID_CE_SUBJECT_ALT_NAME``, ``sha256WithRSAEncryption`` is ``SHA256_WITH_RSA_ENCRYPTION``). :data:`OID_NAMES`
maps each dotted OID to its short name, the one ``python -m estcodec dump``, ``show`` and the models print
(OpenSSL's spelling where it and the RFCs differ, so output reads like ``openssl asn1parse``). The modules that
had their own constants (``x509.oid``, ``cms.OID_*``, ``_sigalgs.OID_*`` ...) keep those names, assigned from
here.

Adding an OID: one line below, in its group; nothing else.
"""
from __future__ import annotations

import re
from typing import Final

__all__ = ["OID_NAMES", "oid_name", "oid_label", "is_dotted_oid"]

OID_NAMES: Final[dict[str, str]] = {}
_DOTTED: Final = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+\Z")


def _oid(dotted: str, name: str) -> str:
    """Register ``dotted`` under ``name`` in :data:`OID_NAMES` and return it (each OID is named once)."""
    if not _DOTTED.match(dotted):
        raise ValueError(f"not a dotted OID: {dotted!r}")
    if OID_NAMES.setdefault(dotted, name) != name:
        raise ValueError(f"{dotted} is named twice: {OID_NAMES[dotted]!r} and {name!r}")
    return dotted


def is_dotted_oid(text: str) -> bool:
    """Whether ``text`` is an OID in dotted-decimal form (first arc 0-2, no leading zeros)."""
    return bool(_DOTTED.match(text))


def oid_name(oid: str) -> str:
    """The short name of ``oid`` (``"aes256-CBC"``), or the dotted form when it has none."""
    return OID_NAMES.get(oid, oid)


def oid_label(oid: str) -> str:
    """``"commonName (2.5.4.3)"`` for a named OID, the dotted form otherwise."""
    name = OID_NAMES.get(oid)
    return f"{name} ({oid})" if name else oid


# --- X.520 attribute types (RFC 5280 §4.1.2.4, Appendix A; RFC 4519) ------------------------------------------
ID_AT_COMMON_NAME = _oid("2.5.4.3", "commonName")
ID_AT_SURNAME = _oid("2.5.4.4", "surname")
ID_AT_SERIAL_NUMBER = _oid("2.5.4.5", "serialNumber")
ID_AT_COUNTRY_NAME = _oid("2.5.4.6", "countryName")
ID_AT_LOCALITY_NAME = _oid("2.5.4.7", "localityName")
ID_AT_STATE_OR_PROVINCE_NAME = _oid("2.5.4.8", "stateOrProvinceName")
ID_AT_STREET_ADDRESS = _oid("2.5.4.9", "streetAddress")
ID_AT_ORGANIZATION_NAME = _oid("2.5.4.10", "organizationName")
ID_AT_ORGANIZATIONAL_UNIT_NAME = _oid("2.5.4.11", "organizationalUnitName")
ID_AT_TITLE = _oid("2.5.4.12", "title")
ID_AT_GIVEN_NAME = _oid("2.5.4.42", "givenName")
ID_AT_INITIALS = _oid("2.5.4.43", "initials")
ID_AT_GENERATION_QUALIFIER = _oid("2.5.4.44", "generationQualifier")
ID_AT_DN_QUALIFIER = _oid("2.5.4.46", "dnQualifier")
ID_AT_PSEUDONYM = _oid("2.5.4.65", "pseudonym")
ID_AT_ORGANIZATION_IDENTIFIER = _oid("2.5.4.97", "organizationIdentifier")
UID = _oid("0.9.2342.19200300.100.1.1", "userId")
ID_DOMAIN_COMPONENT = _oid("0.9.2342.19200300.100.1.25", "domainComponent")
ID_EMAIL_ADDRESS = _oid("1.2.840.113549.1.9.1", "emailAddress")
MAC_ADDRESS = _oid("1.3.6.1.1.1.1.22", "macAddress")  # RFC 2307

# --- certificate and CRL extensions (RFC 5280 §4.2, §5.2, §5.3) -----------------------------------------------
ID_CE_SUBJECT_KEY_IDENTIFIER = _oid("2.5.29.14", "subjectKeyIdentifier")
ID_CE_KEY_USAGE = _oid("2.5.29.15", "keyUsage")
ID_CE_PRIVATE_KEY_USAGE_PERIOD = _oid("2.5.29.16", "privateKeyUsagePeriod")
ID_CE_SUBJECT_ALT_NAME = _oid("2.5.29.17", "subjectAltName")
ID_CE_ISSUER_ALT_NAME = _oid("2.5.29.18", "issuerAltName")
ID_CE_BASIC_CONSTRAINTS = _oid("2.5.29.19", "basicConstraints")
ID_CE_CRL_NUMBER = _oid("2.5.29.20", "cRLNumber")
ID_CE_CRL_REASONS = _oid("2.5.29.21", "cRLReason")
ID_CE_INVALIDITY_DATE = _oid("2.5.29.24", "invalidityDate")
ID_CE_DELTA_CRL_INDICATOR = _oid("2.5.29.27", "deltaCRLIndicator")
ID_CE_ISSUING_DISTRIBUTION_POINT = _oid("2.5.29.28", "issuingDistributionPoint")
ID_CE_CERTIFICATE_ISSUER = _oid("2.5.29.29", "certificateIssuer")
ID_CE_NAME_CONSTRAINTS = _oid("2.5.29.30", "nameConstraints")
ID_CE_CRL_DISTRIBUTION_POINTS = _oid("2.5.29.31", "cRLDistributionPoints")
ID_CE_CERTIFICATE_POLICIES = _oid("2.5.29.32", "certificatePolicies")
ANY_POLICY = _oid("2.5.29.32.0", "anyPolicy")
ID_CE_POLICY_MAPPINGS = _oid("2.5.29.33", "policyMappings")
ID_CE_AUTHORITY_KEY_IDENTIFIER = _oid("2.5.29.35", "authorityKeyIdentifier")
ID_CE_POLICY_CONSTRAINTS = _oid("2.5.29.36", "policyConstraints")
ID_CE_EXT_KEY_USAGE = _oid("2.5.29.37", "extKeyUsage")
ANY_EXTENDED_KEY_USAGE = _oid("2.5.29.37.0", "anyExtendedKeyUsage")
ID_CE_FRESHEST_CRL = _oid("2.5.29.46", "freshestCRL")
ID_CE_INHIBIT_ANY_POLICY = _oid("2.5.29.54", "inhibitAnyPolicy")

# --- PKIX (RFC 5280, RFC 6960, RFC 7633) ------------------------------------------------------------------------
ID_PKIX = _oid("1.3.6.1.5.5.7", "id-pkix")
ID_PE = _oid("1.3.6.1.5.5.7.1", "id-pe")
ID_PE_AUTHORITY_INFO_ACCESS = _oid("1.3.6.1.5.5.7.1.1", "authorityInfoAccess")
ID_PE_SUBJECT_INFO_ACCESS = _oid("1.3.6.1.5.5.7.1.11", "subjectInfoAccess")
ID_PE_TLSFEATURE = _oid("1.3.6.1.5.5.7.1.24", "tlsFeature")
ID_QT_CPS = _oid("1.3.6.1.5.5.7.2.1", "cps")
ID_QT_UNOTICE = _oid("1.3.6.1.5.5.7.2.2", "unotice")
ID_KP_SERVER_AUTH = _oid("1.3.6.1.5.5.7.3.1", "serverAuth")
ID_KP_CLIENT_AUTH = _oid("1.3.6.1.5.5.7.3.2", "clientAuth")
ID_KP_CODE_SIGNING = _oid("1.3.6.1.5.5.7.3.3", "codeSigning")
ID_KP_EMAIL_PROTECTION = _oid("1.3.6.1.5.5.7.3.4", "emailProtection")
ID_KP_TIME_STAMPING = _oid("1.3.6.1.5.5.7.3.8", "timeStamping")
ID_KP_OCSP_SIGNING = _oid("1.3.6.1.5.5.7.3.9", "OCSPSigning")
ID_KP_CMC_CA = _oid("1.3.6.1.5.5.7.3.27", "cmcCA")
ID_KP_CMC_RA = _oid("1.3.6.1.5.5.7.3.28", "cmcRA")
ID_KP_CMC_ARCHIVE = _oid("1.3.6.1.5.5.7.3.29", "cmcArchive")
ID_KP_CM_KGA = _oid("1.3.6.1.5.5.7.3.32", "cmKGA")
ID_ALG_NO_SIGNATURE = _oid("1.3.6.1.5.5.7.6.2", "id-alg-noSignature")
ID_AD_OCSP = _oid("1.3.6.1.5.5.7.48.1", "OCSP")
ID_PKIX_OCSP_BASIC = _oid("1.3.6.1.5.5.7.48.1.1", "id-pkix-ocsp-basic")
ID_PKIX_OCSP_NONCE = _oid("1.3.6.1.5.5.7.48.1.2", "id-pkix-ocsp-nonce")
ID_PKIX_OCSP_CRL = _oid("1.3.6.1.5.5.7.48.1.3", "id-pkix-ocsp-crl")
ID_PKIX_OCSP_RESPONSE = _oid("1.3.6.1.5.5.7.48.1.4", "id-pkix-ocsp-response")
ID_PKIX_OCSP_NOCHECK = _oid("1.3.6.1.5.5.7.48.1.5", "id-pkix-ocsp-nocheck")
ID_PKIX_OCSP_ARCHIVE_CUTOFF = _oid("1.3.6.1.5.5.7.48.1.6", "id-pkix-ocsp-archive-cutoff")
ID_PKIX_OCSP_SERVICE_LOCATOR = _oid("1.3.6.1.5.5.7.48.1.7", "id-pkix-ocsp-service-locator")
ID_AD_CA_ISSUERS = _oid("1.3.6.1.5.5.7.48.2", "caIssuers")
ID_AD_CA_REPOSITORY = _oid("1.3.6.1.5.5.7.48.5", "caRepository")
ID_AD_CMC = _oid("1.3.6.1.5.5.7.48.12", "id-ad-cmc")

# --- CMC (RFC 5272, RFC 6402): controls and content types -------------------------------------------------------
ID_CMC = _oid("1.3.6.1.5.5.7.7", "id-cmc")
ID_CMC_STATUS_INFO = _oid("1.3.6.1.5.5.7.7.1", "id-cmc-statusInfo")
ID_CMC_IDENTIFICATION = _oid("1.3.6.1.5.5.7.7.2", "id-cmc-identification")
ID_CMC_IDENTITY_PROOF = _oid("1.3.6.1.5.5.7.7.3", "id-cmc-identityProof")
ID_CMC_DATA_RETURN = _oid("1.3.6.1.5.5.7.7.4", "id-cmc-dataReturn")
ID_CMC_TRANSACTION_ID = _oid("1.3.6.1.5.5.7.7.5", "id-cmc-transactionId")
ID_CMC_SENDER_NONCE = _oid("1.3.6.1.5.5.7.7.6", "id-cmc-senderNonce")
ID_CMC_RECIPIENT_NONCE = _oid("1.3.6.1.5.5.7.7.7", "id-cmc-recipientNonce")
ID_CMC_ADD_EXTENSIONS = _oid("1.3.6.1.5.5.7.7.8", "id-cmc-addExtensions")
ID_CMC_ENCRYPTED_POP = _oid("1.3.6.1.5.5.7.7.9", "id-cmc-encryptedPOP")
ID_CMC_DECRYPTED_POP = _oid("1.3.6.1.5.5.7.7.10", "id-cmc-decryptedPOP")
ID_CMC_LRA_POP_WITNESS = _oid("1.3.6.1.5.5.7.7.11", "id-cmc-lraPOPWitness")
ID_CMC_GET_CERT = _oid("1.3.6.1.5.5.7.7.15", "id-cmc-getCert")
ID_CMC_GET_CRL = _oid("1.3.6.1.5.5.7.7.16", "id-cmc-getCRL")
ID_CMC_REVOKE_REQUEST = _oid("1.3.6.1.5.5.7.7.17", "id-cmc-revokeRequest")
ID_CMC_REG_INFO = _oid("1.3.6.1.5.5.7.7.18", "id-cmc-regInfo")
ID_CMC_RESPONSE_INFO = _oid("1.3.6.1.5.5.7.7.19", "id-cmc-responseInfo")
ID_CMC_QUERY_PENDING = _oid("1.3.6.1.5.5.7.7.21", "id-cmc-queryPending")
ID_CMC_POP_LINK_RANDOM = _oid("1.3.6.1.5.5.7.7.22", "id-cmc-popLinkRandom")
ID_CMC_POP_LINK_WITNESS = _oid("1.3.6.1.5.5.7.7.23", "id-cmc-popLinkWitness")
ID_CMC_CONFIRM_CERT_ACCEPTANCE = _oid("1.3.6.1.5.5.7.7.24", "id-cmc-confirmCertAcceptance")
ID_CMC_STATUS_INFO_V2 = _oid("1.3.6.1.5.5.7.7.25", "id-cmc-statusInfoV2")
ID_CMC_TRUSTED_ANCHORS = _oid("1.3.6.1.5.5.7.7.26", "id-cmc-trustedAnchors")
ID_CMC_AUTH_DATA = _oid("1.3.6.1.5.5.7.7.27", "id-cmc-authData")
ID_CMC_BATCH_REQUESTS = _oid("1.3.6.1.5.5.7.7.28", "id-cmc-batchRequests")
ID_CMC_BATCH_RESPONSES = _oid("1.3.6.1.5.5.7.7.29", "id-cmc-batchResponses")
ID_CMC_PUBLISH_CERT = _oid("1.3.6.1.5.5.7.7.30", "id-cmc-publishCert")
ID_CMC_MOD_CERT_TEMPLATE = _oid("1.3.6.1.5.5.7.7.31", "id-cmc-modCertTemplate")
ID_CMC_CONTROL_PROCESSED = _oid("1.3.6.1.5.5.7.7.32", "id-cmc-controlProcessed")
ID_CMC_POP_LINK_WITNESS_V2 = _oid("1.3.6.1.5.5.7.7.33", "id-cmc-popLinkWitnessV2")
ID_CMC_IDENTITY_PROOF_V2 = _oid("1.3.6.1.5.5.7.7.34", "id-cmc-identityProofV2")
ID_CMC_RA_IDENTITY_WITNESS = _oid("1.3.6.1.5.5.7.7.35", "id-cmc-raIdentityWitness")
ID_CMC_CHANGE_SUBJECT_NAME = _oid("1.3.6.1.5.5.7.7.36", "id-cmc-changeSubjectName")
ID_CMC_RESPONSE_BODY = _oid("1.3.6.1.5.5.7.7.37", "id-cmc-responseBody")
ID_CCT = _oid("1.3.6.1.5.5.7.12", "id-cct")
ID_CCT_PKI_DATA = _oid("1.3.6.1.5.5.7.12.2", "id-cct-PKIData")
ID_CCT_PKI_RESPONSE = _oid("1.3.6.1.5.5.7.12.3", "id-cct-PKIResponse")

# --- CMS content types (RFC 5652, RFC 5083, RFC 3274, RFC 4073, RFC 5958) ---------------------------------------
ID_DATA = _oid("1.2.840.113549.1.7.1", "data")
ID_SIGNED_DATA = _oid("1.2.840.113549.1.7.2", "signedData")
ID_ENVELOPED_DATA = _oid("1.2.840.113549.1.7.3", "envelopedData")
ID_DIGESTED_DATA = _oid("1.2.840.113549.1.7.5", "digestedData")
ID_ENCRYPTED_DATA = _oid("1.2.840.113549.1.7.6", "encryptedData")
ID_CT_AUTH_DATA = _oid("1.2.840.113549.1.9.16.1.2", "id-ct-authData")
ID_CT_COMPRESSED_DATA = _oid("1.2.840.113549.1.9.16.1.9", "id-ct-compressedData")
ID_CT_CONTENT_COLLECTION = _oid("1.2.840.113549.1.9.16.1.19", "id-ct-contentCollection")
ID_CT_AUTH_ENVELOPED_DATA = _oid("1.2.840.113549.1.9.16.1.23", "id-ct-authEnvelopedData")
ID_CT_KP_A_KEY_PACKAGE = _oid("2.16.840.1.101.2.1.2.78.5", "id-ct-KP-aKeyPackage")

# --- PKCS #9 and S/MIME attributes (RFC 2985, RFC 5652, RFC 5035, RFC 7894, RFC 9908) ---------------------------
PKCS_9_AT_UNSTRUCTURED_NAME = _oid("1.2.840.113549.1.9.2", "unstructuredName")
ID_CONTENT_TYPE = _oid("1.2.840.113549.1.9.3", "contentType")
ID_MESSAGE_DIGEST = _oid("1.2.840.113549.1.9.4", "messageDigest")
ID_SIGNING_TIME = _oid("1.2.840.113549.1.9.5", "signingTime")
PKCS_9_AT_CHALLENGE_PASSWORD = _oid("1.2.840.113549.1.9.7", "challengePassword")
PKCS_9_AT_EXTENSION_REQUEST = _oid("1.2.840.113549.1.9.14", "extensionRequest")
PKCS_9_AT_SMIME_CAPABILITIES = _oid("1.2.840.113549.1.9.15", "smimeCapabilities")
ID_AA_SIGNING_CERTIFICATE = _oid("1.2.840.113549.1.9.16.2.12", "signingCertificate")
ID_AA_CMC_UNSIGNED_DATA = _oid("1.2.840.113549.1.9.16.2.34", "id-aa-cmc-unsignedData")
ID_AA_DECRYPT_KEY_ID = _oid("1.2.840.113549.1.9.16.2.37", "id-aa-decryptKeyID")
ID_AA_SIGNING_CERTIFICATE_V2 = _oid("1.2.840.113549.1.9.16.2.47", "signingCertificateV2")
ID_AA_ASYMM_DECRYPT_KEY_ID = _oid("1.2.840.113549.1.9.16.2.54", "id-aa-asymmDecryptKeyID")
ID_AA_OTP_CHALLENGE = _oid("1.2.840.113549.1.9.16.2.56", "otpChallenge")
ID_AA_REVOCATION_CHALLENGE = _oid("1.2.840.113549.1.9.16.2.57", "revocationChallenge")
ID_AA_EST_IDENTITY_LINKING = _oid("1.2.840.113549.1.9.16.2.58", "estIdentityLinking")
# RFC 9908 (IANA "SMI Security for S/MIME Attributes"): the published values, not the drafts' TBD2/TBD3
ID_AA_CERTIFICATION_REQUEST_INFO_TEMPLATE = _oid("1.2.840.113549.1.9.16.2.61", "certificationRequestInfoTemplate")
ID_AA_EXTENSION_REQ_TEMPLATE = _oid("1.2.840.113549.1.9.16.2.62", "extensionReqTemplate")
MS_EXT_REQ = _oid("1.3.6.1.4.1.311.2.1.14", "msExtReq")  # Microsoft's extensionRequest
MS_CERTIFICATE_TEMPLATE_NAME = _oid("1.3.6.1.4.1.311.20.2", "certificateTemplateName")
MS_CERTIFICATE_TEMPLATE = _oid("1.3.6.1.4.1.311.21.7", "certificateTemplate")

# --- public keys and curves (RFC 8017, RFC 5480, RFC 3279, RFC 8410, RFC 5639, FIPS 203/204) --------------------
RSA_ENCRYPTION = _oid("1.2.840.113549.1.1.1", "rsaEncryption")
ID_RSAES_OAEP = _oid("1.2.840.113549.1.1.7", "rsaesOaep")
ID_MGF1 = _oid("1.2.840.113549.1.1.8", "mgf1")
ID_P_SPECIFIED = _oid("1.2.840.113549.1.1.9", "id-pSpecified")
ID_RSASSA_PSS = _oid("1.2.840.113549.1.1.10", "rsassaPss")
ID_EC_PUBLIC_KEY = _oid("1.2.840.10045.2.1", "ecPublicKey")
ID_EC_DH = _oid("1.3.132.1.12", "id-ecDH")
ID_EC_MQV = _oid("1.3.132.1.13", "id-ecMQV")
ID_DSA = _oid("1.2.840.10040.4.1", "dsa")
ID_X25519 = _oid("1.3.101.110", "X25519")
ID_X448 = _oid("1.3.101.111", "X448")
ID_ED25519 = _oid("1.3.101.112", "Ed25519")
ID_ED448 = _oid("1.3.101.113", "Ed448")
ID_ML_DSA_44 = _oid("2.16.840.1.101.3.4.3.17", "id-ml-dsa-44")
ID_ML_DSA_65 = _oid("2.16.840.1.101.3.4.3.18", "id-ml-dsa-65")
ID_ML_DSA_87 = _oid("2.16.840.1.101.3.4.3.19", "id-ml-dsa-87")
ID_ALG_ML_KEM_512 = _oid("2.16.840.1.101.3.4.4.1", "id-alg-ml-kem-512")
ID_ALG_ML_KEM_768 = _oid("2.16.840.1.101.3.4.4.2", "id-alg-ml-kem-768")
ID_ALG_ML_KEM_1024 = _oid("2.16.840.1.101.3.4.4.3", "id-alg-ml-kem-1024")
SECP192R1 = _oid("1.2.840.10045.3.1.1", "prime192v1")
SECP224R1 = _oid("1.3.132.0.33", "secp224r1")
SECP256R1 = _oid("1.2.840.10045.3.1.7", "prime256v1")
SECP384R1 = _oid("1.3.132.0.34", "secp384r1")
SECP521R1 = _oid("1.3.132.0.35", "secp521r1")
SECP256K1 = _oid("1.3.132.0.10", "secp256k1")
BRAINPOOL_P256R1 = _oid("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1")
BRAINPOOL_P384R1 = _oid("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1")
BRAINPOOL_P512R1 = _oid("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1")

# --- digests (RFC 3279, RFC 5754, RFC 8702, RFC 8419) -----------------------------------------------------------
ID_SHA1 = _oid("1.3.14.3.2.26", "sha1")
ID_SHA224 = _oid("2.16.840.1.101.3.4.2.4", "sha224")
ID_SHA256 = _oid("2.16.840.1.101.3.4.2.1", "sha256")
ID_SHA384 = _oid("2.16.840.1.101.3.4.2.2", "sha384")
ID_SHA512 = _oid("2.16.840.1.101.3.4.2.3", "sha512")
ID_SHA512_224 = _oid("2.16.840.1.101.3.4.2.5", "sha512-224")
ID_SHA512_256 = _oid("2.16.840.1.101.3.4.2.6", "sha512-256")
ID_SHA3_224 = _oid("2.16.840.1.101.3.4.2.7", "sha3-224")
ID_SHA3_256 = _oid("2.16.840.1.101.3.4.2.8", "sha3-256")
ID_SHA3_384 = _oid("2.16.840.1.101.3.4.2.9", "sha3-384")
ID_SHA3_512 = _oid("2.16.840.1.101.3.4.2.10", "sha3-512")
ID_SHAKE128 = _oid("2.16.840.1.101.3.4.2.11", "shake128")
ID_SHAKE256 = _oid("2.16.840.1.101.3.4.2.12", "shake256")
ID_SHAKE256_LEN = _oid("2.16.840.1.101.3.4.2.18", "id-shake256-len")  # RFC 8419: Ed448's CMS digest

# --- signature algorithms (RFC 8017, RFC 3279, RFC 5758, RFC 8692 / NIST CSOR) -----------------------------------
MD5_WITH_RSA_ENCRYPTION = _oid("1.2.840.113549.1.1.4", "md5WithRSAEncryption")
SHA1_WITH_RSA_ENCRYPTION = _oid("1.2.840.113549.1.1.5", "sha1WithRSAEncryption")
SHA1_WITH_RSA_SIGNATURE = _oid("1.3.14.3.2.29", "sha1WithRSASignature")  # OIW, still met in old CSRs
SHA224_WITH_RSA_ENCRYPTION = _oid("1.2.840.113549.1.1.14", "sha224WithRSAEncryption")
SHA256_WITH_RSA_ENCRYPTION = _oid("1.2.840.113549.1.1.11", "sha256WithRSAEncryption")
SHA384_WITH_RSA_ENCRYPTION = _oid("1.2.840.113549.1.1.12", "sha384WithRSAEncryption")
SHA512_WITH_RSA_ENCRYPTION = _oid("1.2.840.113549.1.1.13", "sha512WithRSAEncryption")
SHA512_224_WITH_RSA_ENCRYPTION = _oid("1.2.840.113549.1.1.15", "sha512-224WithRSAEncryption")
SHA512_256_WITH_RSA_ENCRYPTION = _oid("1.2.840.113549.1.1.16", "sha512-256WithRSAEncryption")
ID_RSASSA_PKCS1_V1_5_WITH_SHA3_224 = _oid("2.16.840.1.101.3.4.3.13", "id-rsassa-pkcs1-v1_5-with-sha3-224")
ID_RSASSA_PKCS1_V1_5_WITH_SHA3_256 = _oid("2.16.840.1.101.3.4.3.14", "id-rsassa-pkcs1-v1_5-with-sha3-256")
ID_RSASSA_PKCS1_V1_5_WITH_SHA3_384 = _oid("2.16.840.1.101.3.4.3.15", "id-rsassa-pkcs1-v1_5-with-sha3-384")
ID_RSASSA_PKCS1_V1_5_WITH_SHA3_512 = _oid("2.16.840.1.101.3.4.3.16", "id-rsassa-pkcs1-v1_5-with-sha3-512")
ECDSA_WITH_SHA1 = _oid("1.2.840.10045.4.1", "ecdsa-with-SHA1")
ECDSA_WITH_SHA224 = _oid("1.2.840.10045.4.3.1", "ecdsa-with-SHA224")
ECDSA_WITH_SHA256 = _oid("1.2.840.10045.4.3.2", "ecdsa-with-SHA256")
ECDSA_WITH_SHA384 = _oid("1.2.840.10045.4.3.3", "ecdsa-with-SHA384")
ECDSA_WITH_SHA512 = _oid("1.2.840.10045.4.3.4", "ecdsa-with-SHA512")
ID_ECDSA_WITH_SHA3_224 = _oid("2.16.840.1.101.3.4.3.9", "id-ecdsa-with-sha3-224")
ID_ECDSA_WITH_SHA3_256 = _oid("2.16.840.1.101.3.4.3.10", "id-ecdsa-with-sha3-256")
ID_ECDSA_WITH_SHA3_384 = _oid("2.16.840.1.101.3.4.3.11", "id-ecdsa-with-sha3-384")
ID_ECDSA_WITH_SHA3_512 = _oid("2.16.840.1.101.3.4.3.12", "id-ecdsa-with-sha3-512")
ID_DSA_WITH_SHA1 = _oid("1.2.840.10040.4.3", "dsa-with-sha1")
ID_DSA_WITH_SHA224 = _oid("2.16.840.1.101.3.4.3.1", "dsa-with-sha224")
ID_DSA_WITH_SHA256 = _oid("2.16.840.1.101.3.4.3.2", "dsa-with-sha256")
ID_DSA_WITH_SHA384 = _oid("2.16.840.1.101.3.4.3.3", "dsa-with-sha384")
ID_DSA_WITH_SHA512 = _oid("2.16.840.1.101.3.4.3.4", "dsa-with-sha512")

# --- content encryption, key wrap, key derivation, MAC (RFC 3565, RFC 5084, RFC 3217, RFC 3211, RFC 8018) ------
ID_AES128_CBC = _oid("2.16.840.1.101.3.4.1.2", "aes128-CBC")
ID_AES192_CBC = _oid("2.16.840.1.101.3.4.1.22", "aes192-CBC")
ID_AES256_CBC = _oid("2.16.840.1.101.3.4.1.42", "aes256-CBC")
ID_AES128_GCM = _oid("2.16.840.1.101.3.4.1.6", "aes128-GCM")
ID_AES192_GCM = _oid("2.16.840.1.101.3.4.1.26", "aes192-GCM")
ID_AES256_GCM = _oid("2.16.840.1.101.3.4.1.46", "aes256-GCM")
ID_AES128_WRAP = _oid("2.16.840.1.101.3.4.1.5", "aes128-wrap")
ID_AES192_WRAP = _oid("2.16.840.1.101.3.4.1.25", "aes192-wrap")
ID_AES256_WRAP = _oid("2.16.840.1.101.3.4.1.45", "aes256-wrap")
DES_EDE3_CBC = _oid("1.2.840.113549.3.7", "des-ede3-cbc")
RC2_CBC = _oid("1.2.840.113549.3.2", "rc2-cbc")
ID_ALG_CMS3DES_WRAP = _oid("1.2.840.113549.1.9.16.3.6", "id-alg-CMS3DESwrap")
ID_ALG_ZLIB_COMPRESS = _oid("1.2.840.113549.1.9.16.3.8", "id-alg-zlibCompress")
ID_ALG_PWRI_KEK = _oid("1.2.840.113549.1.9.16.3.9", "id-alg-PWRI-KEK")
ID_PBKDF2 = _oid("1.2.840.113549.1.5.12", "PBKDF2")
ID_PBES2 = _oid("1.2.840.113549.1.5.13", "PBES2")
ID_HMAC_WITH_SHA1 = _oid("1.2.840.113549.2.7", "hmacWithSHA1")
ID_HMAC_WITH_SHA224 = _oid("1.2.840.113549.2.8", "hmacWithSHA224")
ID_HMAC_WITH_SHA256 = _oid("1.2.840.113549.2.9", "hmacWithSHA256")
ID_HMAC_WITH_SHA384 = _oid("1.2.840.113549.2.10", "hmacWithSHA384")
ID_HMAC_WITH_SHA512 = _oid("1.2.840.113549.2.11", "hmacWithSHA512")
# ECDH key agreement schemes for CMS (RFC 5753 §7.1.4; SEC 1 / ANSI X9.63)
DH_SINGLE_PASS_STD_DH_SHA1KDF_SCHEME = _oid("1.3.133.16.840.63.0.2", "dhSinglePass-stdDH-sha1kdf-scheme")
DH_SINGLE_PASS_COFACTOR_DH_SHA1KDF_SCHEME = _oid("1.3.133.16.840.63.0.3",
                                                 "dhSinglePass-cofactorDH-sha1kdf-scheme")
DH_SINGLE_PASS_STD_DH_SHA224KDF_SCHEME = _oid("1.3.132.1.11.0", "dhSinglePass-stdDH-sha224kdf-scheme")
DH_SINGLE_PASS_STD_DH_SHA256KDF_SCHEME = _oid("1.3.132.1.11.1", "dhSinglePass-stdDH-sha256kdf-scheme")
DH_SINGLE_PASS_STD_DH_SHA384KDF_SCHEME = _oid("1.3.132.1.11.2", "dhSinglePass-stdDH-sha384kdf-scheme")
DH_SINGLE_PASS_STD_DH_SHA512KDF_SCHEME = _oid("1.3.132.1.11.3", "dhSinglePass-stdDH-sha512kdf-scheme")
DH_SINGLE_PASS_COFACTOR_DH_SHA224KDF_SCHEME = _oid("1.3.132.1.14.0", "dhSinglePass-cofactorDH-sha224kdf-scheme")
DH_SINGLE_PASS_COFACTOR_DH_SHA256KDF_SCHEME = _oid("1.3.132.1.14.1", "dhSinglePass-cofactorDH-sha256kdf-scheme")
DH_SINGLE_PASS_COFACTOR_DH_SHA384KDF_SCHEME = _oid("1.3.132.1.14.2", "dhSinglePass-cofactorDH-sha384kdf-scheme")
DH_SINGLE_PASS_COFACTOR_DH_SHA512KDF_SCHEME = _oid("1.3.132.1.14.3", "dhSinglePass-cofactorDH-sha512kdf-scheme")

# The decoder hands out these very string objects for the OIDs named here (estcodec._der keeps one string per OID
# it has seen): the tables keyed by the constants above then find a decoded OID by identity, without comparing
# characters. Unknown OIDs get strings of their own (nothing made permanent for what an input brings).
from ._der import canonical_oids as _canonical_oids  # noqa: E402

_canonical_oids(OID_NAMES)
