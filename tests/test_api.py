"""The public names of the API contract exist where the contract puts them (acceptance checks import them)."""
import importlib

import pytest

CODEC = {
    "estcodec": ["__version__", "Error", "DecodeError", "EncodeError"],
    "estcodec.der": ["parse", "Element"],
    "estcodec.pem": ["decode", "encode"],
    "estcodec.x509": ["Certificate", "Name", "Extension"],
    "estcodec.pkcs10": ["CertificationRequest"],
    "estcodec.pkcs8": ["PrivateKeyInfo", "parse_private_key"],
    "estcodec.cms": ["parse_certs_only", "build_certs_only"],
    "estcodec.csrattrs": ["CsrAttrs", "CsrAttribute"],
    "estcodec.cmc": ["PKIData", "PKIResponse", "TaggedAttribute", "TaggedRequest", "BodyPartId", "BatchRequest",
                     "CmcStatusValue", "CmcFailInfo", "CmcStatusInfo", "PendingInfo", "PkiDataBuilder", "oid",
                     "sign_pki_data", "parse_pki_response", "parse_pki_data"],
    "estcodec.enveloped": ["EnvelopedData", "parse_enveloped_data", "EncryptionAlgorithm", "DecryptionKey",
                           "decrypt_enveloped_data", "decrypt", "is_encrypted_key", "unwrap_server_generated_key",
                           "DecryptionError"],
    "estcodec.oids": ["OID_NAMES", "oid_name", "oid_label", "ID_SIGNED_DATA", "ID_CE_SUBJECT_ALT_NAME"],
    "estcodec.pkix": ["key_identifier", "issued_by", "order_chain", "is_anchored", "select_issued", "ca_role"],
}
CLIENT = {
    "estclient": ["__version__", "EstClientConfig", "ClientIdentity", "HttpAuth", "TrustAnchors", "EstClient",
                  "AsyncEstClient"],
    "estclient.csr": ["CsrBuilder"],
    "estclient.errors": ["EstError", "AuthenticationRequired", "ServerError", "NotSupported", "TlsConfigError",
                         "ProtocolError", "BootstrapVerificationError", "TransportError"],
    "estclient.renewal": ["RenewalConfig", "RenewalScheduler", "CheckStarted", "RenewalNeeded", "RenewalStarted",
                          "RenewalSucceeded", "RenewalFailed", "RenewalExhausted"],
    "estclient.testing": ["EstTestServer"],
}
CMC_OIDS = ["TRANSACTION_ID", "SENDER_NONCE", "RECIPIENT_NONCE", "IDENTIFICATION", "STATUS_INFO_V2", "QUERY_PENDING",
            "REVOKE_REQUEST", "GET_CERT", "GET_CRL", "CHANGE_SUBJECT_NAME", "TRUSTED_ANCHORS", "BATCH_REQUESTS",
            "BATCH_RESPONSES"]


@pytest.mark.parametrize("module,names", sorted({**CODEC, **CLIENT}.items()))
def test_contract_names_exist(module, names):
    mod = importlib.import_module(module)
    missing = [n for n in names if not hasattr(mod, n)]
    assert not missing, f"{module} lacks {missing}"


def test_cmc_oid_constants():
    from estcodec import cmc

    for name in CMC_OIDS:
        value = getattr(cmc.oid, name)
        assert isinstance(value, str) and value.startswith("1.3.6.1.5.5.7.7."), name


def test_all_lists_exist_and_resolve():
    for module in sorted({**CODEC, **CLIENT}):
        mod = importlib.import_module(module)
        for name in getattr(mod, "__all__", ()):
            assert hasattr(mod, name), f"{module}.__all__ names {name!r}, which does not exist"


def test_decode_error_carries_offset_and_path():
    from estcodec import DecodeError
    from estcodec.x509 import Certificate

    with pytest.raises(DecodeError) as info:
        Certificate.from_der(bytes.fromhex("3003020105"))
    err = info.value
    assert isinstance(err, ValueError)
    assert err.offset == 2 and err.path == "$.tbs_certificate" and err.reason == "unexpected-tag"


def test_versions_agree():
    import estclient
    import estcodec

    assert estcodec.__version__ == estclient.__version__ and estcodec.__version__ != ""
