"""RFC 7030 §4.4.1 (issue #12): an encrypted server-keygen request carries SMIMECapabilities besides its
decryption-key identifier, and the reference server picks its content cipher, key wrap and key-agreement
scheme from them. Real TLS on loopback, sync and async."""
from __future__ import annotations

import os

from cryptography import x509

from estclient.csr import DEFAULT_KEYGEN_CAPABILITIES, OID, CsrBuilder
from estclient.testing import EstTestServer
from estcodec import _cms_crypto as _cc
from estcodec.enveloped import EncryptionAlgorithm, KeyAgreeRecipientInfo, parse_enveloped_data
from estcodec.pkcs10 import CertificationRequest
from estcodec.x509 import AlgorithmIdentifier

from test_e2e_operations import basic, call, conf, est, mode, same_key  # noqa: F401  (mode is a fixture)


def _capabilities(csr_der: bytes) -> list[str] | None:
    from estclient.testing._csr import from_request

    info = from_request(CertificationRequest.from_der(csr_der))
    caps = info.smime_capabilities
    return caps or None


def test_decryption_key_request_carries_default_capabilities():
    plain, _ = CsrBuilder().common_name("p").build()
    assert _capabilities(plain) is None
    for b in (CsrBuilder().common_name("k").decrypt_key_identifier(b"kek-1"),
              CsrBuilder().common_name("a").asymmetric_decrypt_key_identifier(b"\x01" * 20)):
        der, _ = b.build()
        assert _capabilities(der) == list(DEFAULT_KEYGEN_CAPABILITIES)
        attrs = {a.oid.dotted_string for a in x509.load_der_x509_csr(der).attributes}
        assert OID.SMIME_CAPABILITIES in attrs
    # the caller's own list wins
    der, _ = CsrBuilder().common_name("c").decrypt_key_identifier(b"k").smime_capabilities(_cc.OID_AES128_CBC).build()
    assert _capabilities(der) == [_cc.OID_AES128_CBC]


def _kari(encrypted_key: bytes) -> tuple[object, str, str]:
    env = parse_enveloped_data(encrypted_key)
    (ri,) = env.recipients
    assert isinstance(ri, KeyAgreeRecipientInfo)
    kea = ri.key_encryption_algorithm
    return env.content_encryption_algorithm, kea.algorithm, AlgorithmIdentifier.from_der(kea.parameters).algorithm


async def _encrypted_keygen(mode, builder):
    with EstTestServer(auth="basic") as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            holder = CsrBuilder().common_name("holder").key_type("ec-p256").key_usage("digital_signature",
                                                                                      "key_agreement")
            mine = await call(c.simple_enroll(holder))
            res = await call(c.server_keygen(builder, private_key=holder.private_key, certificate=mine.certificate))
    assert res.key_encrypted and same_key(res.certificate, res.private_key_object())
    return res


async def test_server_follows_default_capabilities(mode):
    """The client's defaults put AES-256 wrap first: the server uses it even for a P-256 recipient (its own
    default there is AES-128 wrap), with the SHA-256 KDF scheme and AES-256-CBC."""
    res = await _encrypted_keygen(mode, CsrBuilder().common_name("kg-default"))
    content, scheme, wrap = _kari(res.encrypted_key)
    assert content is EncryptionAlgorithm.AES256_CBC
    assert scheme == _cc.OID_DH_SINGLE_PASS_STDDH_SHA256KDF and wrap == _cc.OID_AES256_WRAP


async def test_server_follows_the_clients_capabilities(mode):
    b = CsrBuilder().common_name("kg-caps").smime_capabilities(
        _cc.OID_AES128_CBC, _cc.OID_AES192_WRAP, _cc.OID_DH_SINGLE_PASS_STDDH_SHA384KDF
    )
    res = await _encrypted_keygen(mode, b)
    content, scheme, wrap = _kari(res.encrypted_key)
    assert content is EncryptionAlgorithm.AES128_CBC
    assert scheme == _cc.OID_DH_SINGLE_PASS_STDDH_SHA384KDF and wrap == _cc.OID_AES192_WRAP


async def test_kek_request_content_cipher_from_capabilities(mode):
    kek = os.urandom(32)
    with EstTestServer(auth="basic", server_keygen_keks={b"kek-1": kek}) as srv:
        async with est(mode, conf(srv, http_auth=basic(srv))) as c:
            b = CsrBuilder().common_name("kg-kek").smime_capabilities(_cc.OID_AES192_CBC)
            res = await call(c.server_keygen(b, kek=kek, kek_id=b"kek-1"))
    assert parse_enveloped_data(res.encrypted_key).content_encryption_algorithm is EncryptionAlgorithm.AES192_CBC


async def test_system_trust_checks_the_key_signer_against_the_cacerts_set(mode, tmp_path, monkeypatch):
    """With system trust the SignedData around an encrypted key is verified against the validated /cacerts
    set (fetched once, before the request), as a Full CMC response is."""
    from estclient.config import EstClientConfig, TrustAnchors

    kek = os.urandom(32)
    with EstTestServer(auth="basic", server_keygen_keks={b"kek-1": kek}) as srv:
        path = tmp_path / "system.pem"
        path.write_bytes(srv.trust_anchor_pem)
        monkeypatch.setenv("SSL_CERT_FILE", str(path))
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        config = EstClientConfig(srv.url, trust=TrustAnchors.system(), http_auth=basic(srv), timeout=15.0)
        async with est(mode, config) as c:
            res = await call(c.server_keygen(CsrBuilder().common_name("kg-system"), kek=kek, kek_id=b"kek-1"))
            assert res.private_key is not None and same_key(res.certificate, res.private_key_object())
        assert [r.operation for r in srv.requests if r.status == 200] == ["cacerts", "serverkeygen"]
