"""EstTestServer against the project's own codec (estcodec) and CSR builder, over real TLS.

The server builds its CMS/CMC with estcodec itself (what it sends is checked against openssl and
pyasn1-modules in test_server_keygen.py / test_server_cmc.py); here estcodec's client-side readers
read what it sends and it reads what estcodec's builders write, so a mismatch between the two shows
up before any client test runs.
"""
from __future__ import annotations

import base64
import email
import email.policy
import os

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from estclient.testing import EstTestServer

try:  # estcodec's compiled core is built by the lead; without it these checks cannot run
    import estcodec._der  # noqa: F401
    from estcodec import cmc, cms, csrattrs, enveloped
except ImportError:  # pragma: no cover
    pytest.skip("estcodec is not built", allow_module_level=True)

EST = "/.well-known/est"
DECRYPT_KEY_ID = "1.2.840.113549.1.9.16.2.37"
ASYM_DECRYPT_KEY_ID = "1.2.840.113549.1.9.16.2.54"


def make_csr(cn: str = "interop", octet_attributes: dict[str, bytes] | None = None) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    )
    for oid, value in (octet_attributes or {}).items():
        builder = builder.add_attribute(x509.ObjectIdentifier(oid), value, _tag=_ASN1Type.OctetString)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER), key


def keygen_parts(srv: EstTestServer, csr: bytes, identity: tuple[bytes, bytes] | None = None) -> list[bytes]:
    with httpx.Client(verify=srv.client_ssl_context(identity), auth=(srv.username, srv.password)) as c:
        r = c.post(srv.url + EST + "/serverkeygen", content=base64.encodebytes(csr),
                   headers={"Content-Type": "application/pkcs10"})
    assert r.status_code == 200, r.text
    raw = b"Content-Type: " + r.headers["content-type"].encode() + b"\r\n\r\n" + r.content
    msg = email.message_from_bytes(raw, policy=email.policy.HTTP)
    return [p.get_payload(decode=True) for p in msg.iter_parts()]


def spki_der(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_cacerts_and_csrattrs_read_by_estcodec() -> None:
    with EstTestServer(require_channel_binding=True) as srv, httpx.Client(verify=srv.client_ssl_context()) as c:
        certs = cms.parse_certs_only(base64.b64decode(c.get(srv.url + EST + "/cacerts").content))
        attrs = csrattrs.CsrAttrs.from_der(base64.b64decode(c.get(srv.url + EST + "/csrattrs").content))
    assert [cert.to_der() for cert in certs] == [srv.ca_certificate.public_bytes(serialization.Encoding.DER)]
    assert attrs.contains_oid("1.2.840.113549.1.9.7")


def test_kek_encrypted_key_unwrapped_by_estcodec() -> None:
    kek_id, kek = b"kek-1", os.urandom(32)
    with EstTestServer(server_keygen_keks={kek_id: kek}) as srv:
        key_part, cert_part = keygen_parts(srv, make_csr(octet_attributes={DECRYPT_KEY_ID: kek_id})[0])
        assert enveloped.is_encrypted_key(key_part)
        info = enveloped.unwrap_server_generated_key(key_part, signer_trust=srv.trust_anchor_pem, kek=kek, kek_id=kek_id)
        [cert] = pkcs7.load_der_pkcs7_certificates(cert_part)
        assert spki_der(info.to_cryptography().public_key()) == spki_der(cert.public_key())
        with pytest.raises(Exception) as err:
            enveloped.unwrap_server_generated_key(key_part, signer_trust=srv.trust_anchor_pem,
                                                  kek=os.urandom(32), kek_id=kek_id)
        assert isinstance(err.value, estcodec_error())
        # a signer outside the trust given is refused
        other = EstTestServer()
        with pytest.raises(Exception) as err:
            enveloped.unwrap_server_generated_key(key_part, signer_trust=other.trust_anchor_pem, kek=kek, kek_id=kek_id)
        assert isinstance(err.value, estcodec_error())


def estcodec_error() -> type:
    import estcodec

    return estcodec.Error


@pytest.mark.parametrize("key_type", ["rsa-2048", "ec-p256", "ec-p384"])
def test_certificate_encrypted_key_unwrapped_by_estcodec(key_type: str) -> None:
    with EstTestServer() as srv:
        identity = srv.issue_client_identity("holder", key_type=key_type)
        cert = x509.load_pem_x509_certificate(identity[0])
        private_key = serialization.load_pem_private_key(identity[1], None)
        ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        key_part, cert_part = keygen_parts(srv, make_csr(octet_attributes={ASYM_DECRYPT_KEY_ID: ski})[0], identity)
        info = enveloped.unwrap_server_generated_key(
            key_part, signer_trust=srv.trust_anchor_pem, private_key=private_key, certificate=cert
        )
        [issued] = pkcs7.load_der_pkcs7_certificates(cert_part)
        assert spki_der(info.to_cryptography().public_key()) == spki_der(issued.public_key())


def test_estcodec_full_pki_request_accepted_and_response_parsed() -> None:
    with EstTestServer() as srv:
        csr, key = make_csr("cmc-interop")
        pki = cmc.PkiDataBuilder().transaction_id(77).random_sender_nonce().add_certification_request(csr).build()
        request = cmc.sign_pki_data(pki, key)  # signed by the key being certified, named by SKI
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
            r = c.post(srv.url + EST + "/fullcmc", content=base64.encodebytes(request),
                       headers={"Content-Type": "application/pkcs7-mime; smime-type=CMC-request"})
        assert r.status_code == 200, r.text
        resp = cmc.parse_pki_response(base64.b64decode(r.content), signer_trust=srv.trust_anchor_pem)
        assert resp.signature_verified
        assert resp.is_success()
        issued = [c for c in resp.certificates if c.to_cryptography().subject.rfc4514_string() == "CN=cmc-interop"]
        assert len(issued) == 1
        assert spki_der(issued[0].to_cryptography().public_key()) == spki_der(key.public_key())


def test_estcodec_reads_cmc_error_response() -> None:
    with EstTestServer() as srv:
        with httpx.Client(verify=srv.client_ssl_context(), auth=(srv.username, srv.password)) as c:
            r = c.post(srv.url + EST + "/fullcmc", content=b"AAAA",
                       headers={"Content-Type": "application/pkcs7-mime; smime-type=CMC-request"})
        assert r.status_code == 400
        resp = cmc.parse_pki_response(base64.b64decode(r.content), signer_trust=srv.trust_anchor_pem)
        assert not resp.is_success()
        assert int(resp.fail_info()) in (1, 2)  # badMessageCheck / badRequest
