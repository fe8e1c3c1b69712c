"""The key seam (issue #17): any estcodec Signer is accepted wherever estclient uses a private key, code that must
export a key asks the signer first, and key types, generation and key files have one home (estclient.keys)."""
from __future__ import annotations

import os
import stat
import subprocess
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from estcodec.signer import KeyNotExportable, SignatureScheme, SoftwareSigner

from estclient import keys
from estclient.csr import KEY_TYPES, CsrBuilder
from estclient.errors import ConfigError


class OpaqueSigner:
    """A signer that, like a token key, signs but never hands its key over (a software key inside)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
        self._inner = SoftwareSigner(key)
        self.calls = 0

    @property
    def exportable(self) -> bool:
        return False

    def public_key(self):  # noqa: ANN201 - the protocol's type
        return self._inner.public_key()

    def private_key(self):  # noqa: ANN201
        raise KeyNotExportable("opaque")

    def sign(self, data: bytes, scheme: SignatureScheme) -> bytes:
        self.calls += 1
        return self._inner.sign(data, scheme)


def test_key_types_have_one_home():
    assert KEY_TYPES is keys.KEY_TYPES
    for kt in KEY_TYPES:
        if kt.startswith("rsa-") and kt != "rsa-2048":
            continue
        assert keys.key_type_of(keys.generate_software_key(kt)) == kt
    with pytest.raises(ConfigError):
        keys.generate_software_key("dsa-1024")


@pytest.mark.parametrize("make", [lambda: ec.generate_private_key(ec.SECP384R1()),
                                  lambda: rsa.generate_private_key(65537, 2048)])
def test_csr_builder_signs_with_an_opaque_signer(make):
    from estcodec.pkcs10 import CertificationRequest

    signer = OpaqueSigner(make())
    b = CsrBuilder().common_name("seam").san_dns("seam.example").with_key(signer)
    der = b.build_for_connection("cb")
    req = CertificationRequest.from_der(der)
    req.verify()
    assert signer.calls == 1
    assert b.signer is signer and b.private_key is signer  # not exportable: the signer itself
    assert b.public_key_spki() == signer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert req.challenge_password == "cb"
    # the same request again is the memoised one (RFC 7030 §4.2.3), not a second signature
    assert b.build_for_connection("cb") == der and signer.calls == 1


def test_builder_accessors_need_no_signature():
    signer = OpaqueSigner(ec.generate_private_key(ec.SECP256R1()))
    b = CsrBuilder().common_name("acc").san_dns("a.example", "b.example").with_key(signer)
    assert b.subject.rfc4514_string() == "CN=acc"
    san = x509.SubjectAlternativeName([x509.DNSName("a.example"), x509.DNSName("b.example")])
    assert b.subject_alt_name_der == san.public_bytes()
    assert b.extension_oids() == ["2.5.29.17"]
    assert signer.calls == 0
    assert CsrBuilder().common_name("x").subject_alt_name_der is None


def test_with_key_refuses_other_objects():
    with pytest.raises(ConfigError, match="with_key needs"):
        CsrBuilder().with_key(b"not a key")


def test_cmc_request_signed_by_an_opaque_signer():
    from estcodec.cms import verify_signed_data

    from estclient.protocol import CmcRequest

    signer = OpaqueSigner(ec.generate_private_key(ec.SECP256R1()))
    csr_der = CsrBuilder().common_name("cmc").with_key(signer).build_for_connection(None)
    der = CmcRequest.for_csr(csr_der, signer).to_der()
    content_type, _content, _cert, _verified = verify_signed_data(der, signer_public_key=signer.public_key())
    assert content_type == "1.3.6.1.5.5.7.12.2"  # id-cct-PKIData


def test_renewal_file_store_refuses_a_key_it_cannot_write(tmp_path):
    """renewal writes the new key to a file: a non-exportable signer is refused with a clear error."""
    from estclient.renewal import _issue_pair

    signer = OpaqueSigner(ec.generate_private_key(ec.SECP256R1()))
    b = CsrBuilder().common_name("r").with_key(signer)
    with pytest.raises(ConfigError, match="renew a token key"):
        _issue_pair(object(), b.signer, None, None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cannot leave"):
        keys.private_key_pem(signer)


# ----------------------------------------------------------------------------- key files, plain and encrypted


def test_encrypted_key_file_round_trip(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "k.pem"
    keys.write_key_file(path, key, b"s3cret pass")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = path.read_bytes()
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in data and b"s3cret" not in data
    with pytest.raises(ConfigError, match="exists"):
        keys.write_key_file(path, key, b"x")
    loaded = keys.load_key(str(path), password="s3cret pass")
    assert loaded.public_key() == key.public_key()
    with pytest.raises(ConfigError) as e:
        keys.load_key(str(path), password="wrong")
    assert "wrong" not in str(e.value).replace("wrong password", "")
    with pytest.raises(ConfigError, match="encrypted"):
        keys.load_key(str(path))
    pw_file = tmp_path / "pw"
    pw_file.write_bytes(b"s3cret pass\n")
    assert keys.load_key(str(path), password_file=pw_file).public_key() == key.public_key()


def test_key_password_from_environment(tmp_path, monkeypatch):
    key = rsa.generate_private_key(65537, 2048)
    path = tmp_path / "k.pem"
    keys.write_key_file(path, key, "env-pass")
    monkeypatch.setenv(keys.KEY_PASSWORD_ENV, "env-pass")
    assert keys.load_key(str(path)).public_key() == key.public_key()


@pytest.mark.skipif(shutil.which("openssl") is None and os.environ.get("EST_REQUIRE_PEERS") != "1",
                    reason="openssl not installed")
def test_encrypted_key_file_round_trips_with_openssl(tmp_path):
    """Written here, read by `openssl pkey`; written by `openssl pkey`, read here."""
    key = ec.generate_private_key(ec.SECP384R1())
    ours = tmp_path / "ours.pem"
    keys.write_key_file(ours, key, b"pw-one")
    (tmp_path / "pw1").write_bytes(b"pw-one\n")
    plain = subprocess.run(["openssl", "pkey", "-in", str(ours), "-passin", f"file:{tmp_path / 'pw1'}"],
                           capture_output=True, check=True, timeout=60).stdout
    assert serialization.load_pem_private_key(plain, None).public_key() == key.public_key()
    theirs = tmp_path / "theirs.pem"
    (tmp_path / "pw2").write_bytes(b"pw-two\n")
    subprocess.run(["openssl", "pkey", "-in", str(ours), "-passin", f"file:{tmp_path / 'pw1'}", "-aes256",
                    "-passout", f"file:{tmp_path / 'pw2'}", "-out", str(theirs)],
                   capture_output=True, check=True, timeout=60)
    assert b"ENCRYPTED" in theirs.read_bytes()
    signer = keys.load_key(str(theirs), password_file=tmp_path / "pw2")
    assert signer.public_key() == key.public_key()
    sig = signer.sign(b"data", SignatureScheme(hashes.SHA384()))
    key.public_key().verify(sig, b"data", ec.ECDSA(hashes.SHA384()))


def test_unreadable_key_file_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="not a readable private key"):
        keys.load_key(str(bad))
    with pytest.raises(ConfigError, match="cannot read"):
        keys.load_key(str(tmp_path / "missing.pem"))


def test_extension_request_mixing_extensions_and_bare_oids():
    """An older server's extensionRequest value that mixes Extensions with bare OIDs: the Extensions are copied
    (criticality included), the OIDs skipped, as before csr.py read DER through the codec."""
    from estcodec.csrattrs import CsrAttribute, CsrAttrs
    from estcodec.pkcs10 import CertificationRequest

    ext = bytes.fromhex("300f0603551d130101ff040530030101ff")  # basicConstraints, critical, cA TRUE
    bare = bytes.fromhex("06052b0601020a")
    value = b"\x30" + bytes([len(ext) + len(bare)]) + ext + bare
    attrs = CsrAttrs([CsrAttribute.of("1.2.840.113549.1.9.14", value)])
    b = CsrBuilder().common_name("old-server").with_attributes(attrs)
    assert b.extension_oids() == ["2.5.29.19"]
    req = CertificationRequest.from_der(b.build()[0])
    (copied,) = [e for e in req.extensions if e.extn_id == "2.5.29.19"]
    assert copied.critical is True


async def test_fleet_enrolls_opaque_signers():
    """enroll_many through AsyncEstClient with keys that cannot be exported: each certificate is for its key."""
    from estclient.client import AsyncEstClient
    from estclient.config import EstClientConfig, HttpAuth, TrustAnchors
    from estclient.fleet import enroll_many
    from estclient.testing import EstTestServer

    signers = [OpaqueSigner(ec.generate_private_key(ec.SECP256R1())) for _ in range(3)]
    with EstTestServer(auth="basic") as srv:
        cfg = EstClientConfig(srv.url, trust=TrustAnchors.from_pem(srv.trust_anchor_pem),
                              http_auth=HttpAuth(srv.username, srv.password), timeout=15.0)
        async with AsyncEstClient(cfg) as c:
            builders = [CsrBuilder().common_name(f"fleet-{i}").with_key(s) for i, s in enumerate(signers)]
            results = [r async for r in enroll_many(c, builders, concurrency=2)]
    assert len(results) == 3 and all(r.ok for r in results)
    for r in results:
        signer = signers[r.index]
        assert r.issued.certificate.to_cryptography().public_key() == signer.public_key()
        assert signer.calls >= 1
