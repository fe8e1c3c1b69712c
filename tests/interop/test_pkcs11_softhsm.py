"""Token keys through PKCS#11 (issue #18), against SoftHSM2 and the reference server, through the public API.

A token is made in a temporary folder (its own ``SOFTHSM2_CONF``) with ``softhsm2-util --init-token`` once per
module: a PKCS#11 module reads its configuration when it is first loaded in a process, so every test uses that one
token, each with its own key labels. Without softhsm2 or python-pkcs11 the tests skip (fail under
EST_REQUIRE_PEERS=1, as ``.ci/run`` sets).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from estclient import keys
from estclient.client import EstClient
from estclient.config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors
from estclient.csr import CsrBuilder
from estclient.errors import ConfigError, EstError
from estclient.protocol import CmcRequest, CmcResponse, Issued
from estclient.testing import EstTestServer

from interop_peers import REQUIRE_PEERS, need, run, show

MODULE_CANDIDATES = ("/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                     "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so")
PIN = "4321"
TOKEN = "est-test"


def _module() -> str:
    for path in MODULE_CANDIDATES:
        if os.path.exists(path):
            return path
    msg = "SoftHSM2's PKCS#11 module (Debian package softhsm2) is not installed"
    if REQUIRE_PEERS:
        pytest.fail(msg + " (EST_REQUIRE_PEERS is set)")
    pytest.skip(msg)


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The module path of SoftHSM2, with a fresh token ``est-test`` (user PIN in ``EST_PKCS11_PIN``)."""
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        if REQUIRE_PEERS:
            pytest.fail("python-pkcs11 is not installed (EST_REQUIRE_PEERS is set)")
        pytest.skip("python-pkcs11 is not installed")
    tools = need("softhsm2-util")
    module = _module()
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    saved = {k: os.environ.get(k) for k in ("SOFTHSM2_CONF", "EST_PKCS11_PIN", "EST_PKCS11_MODULE")}
    os.environ["SOFTHSM2_CONF"] = str(conf)
    res = run([tools["softhsm2-util"], "--init-token", "--free", "--label", TOKEN, "--pin", PIN,
               "--so-pin", "87654321"], env=dict(os.environ))
    assert res.returncode == 0, show(res)
    os.environ["EST_PKCS11_PIN"] = PIN
    os.environ["EST_PKCS11_MODULE"] = module
    try:
        yield module
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def uri(label: str, **extra: str) -> str:
    return f"pkcs11:token={TOKEN};object={label}" + "".join(f";{k}={v}" for k, v in extra.items())


def conf(srv: EstTestServer, **kw: object) -> EstClientConfig:
    kw.setdefault("trust", TrustAnchors.from_pem(srv.trust_anchor_pem))
    kw.setdefault("timeout", 15.0)
    return EstClientConfig(srv.url, **kw)  # type: ignore[arg-type]


def spki(key: object) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,  # type: ignore[attr-defined]
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def token_objects() -> list[tuple[int, str, bytes]]:
    """(class, label, id) of every object on the test token, to prove that nothing was written."""
    import pkcs11

    from estclient import pkcs11 as p

    session = p._open_session(p.parse_uri(f"pkcs11:token={TOKEN}"), None, None)
    try:
        return sorted((int(o[pkcs11.Attribute.CLASS]), str(o[pkcs11.Attribute.LABEL]), bytes(o[pkcs11.Attribute.ID]))
                      for o in session.get_objects())
    finally:
        session.close()


@pytest.mark.parametrize("key_type", ["ec-p256", "ec-p384", "rsa-2048"])
def test_enroll_with_a_key_generated_on_the_token(token: str, key_type: str) -> None:
    with EstTestServer(auth="basic") as srv:
        signer = keys.generate_key(uri(f"enroll-{key_type}"), key_type=key_type)
        assert signer.exportable is False and signer.is_extractable() is False  # type: ignore[attr-defined]
        with pytest.raises(Exception, match="cannot leave"):
            signer.private_key()
        with EstClient(conf(srv, http_auth=HttpAuth(srv.username, srv.password))) as client:
            b = CsrBuilder().common_name(f"token-{key_type}").san_dns("token.example").with_key(signer)
            res = client.simple_enroll(b)
        assert isinstance(res, Issued)
        cert = res.certificate.to_cryptography()
        assert spki(cert.public_key()) == spki(signer.public_key())
        signer.store_certificate(cert)  # type: ignore[attr-defined]
        signer.close()  # type: ignore[attr-defined]
        again = keys.load_key(uri(f"enroll-{key_type}"))
        assert spki(again.public_key()) == spki(cert.public_key())
        assert again.certificate() == cert  # type: ignore[attr-defined]
        again.close()  # type: ignore[attr-defined]


def test_reenroll_on_the_token(token: str, tmp_path: Path) -> None:
    """Enroll a token key, then renew it on the token. The reference server wants the TLS client certificate
    being renewed; a token key cannot be a TLS identity with the standard library's ssl (docs/hardware-keys.md),
    so the TLS identity is a file key enrolled under the same name (the documented route)."""
    from estclient import pkcs11 as p

    with EstTestServer(auth="basic") as srv:
        basic = HttpAuth(srv.username, srv.password)
        signer = keys.generate_key(uri("renew-me"), key_type="ec-p256")
        with EstClient(conf(srv, http_auth=basic)) as client:
            first = client.simple_enroll(CsrBuilder().common_name("renew-me").san_dns("r.example").with_key(signer))
            tls = CsrBuilder().common_name("renew-me").san_dns("r.example")
            tls_cert = client.simple_enroll(tls)
        assert isinstance(first, Issued) and isinstance(tls_cert, Issued)
        signer.store_certificate(first.certificate.to_cryptography())  # type: ignore[attr-defined]
        old_id = signer.key_id  # type: ignore[attr-defined]
        identity = ClientIdentity(tls_cert.to_pem().encode(), keys.private_key_pem(tls.signer))
        cert_file = tmp_path / "token-cert.pem"
        with EstClient(conf(srv, client_identity=identity)) as client:
            new = p.renew_on_token(client, signer, cert_path=cert_file)  # type: ignore[arg-type]
        assert new.key_id != old_id and new.label == "renew-me"
        new_cert = new.certificate()
        assert new_cert is not None and spki(new_cert.public_key()) == spki(new.public_key())
        assert new_cert.subject.rfc4514_string() == "CN=renew-me"
        assert x509.load_pem_x509_certificate(cert_file.read_bytes()) == new_cert
        objs = token_objects()
        assert not [o for o in objs if o[2] == old_id], "the old pair is removed after the new one is stored"
        new.close()
        loaded = keys.load_key(uri("renew-me"))
        assert spki(loaded.public_key()) == spki(new_cert.public_key())
        loaded.close()  # type: ignore[attr-defined]


def test_interrupted_renewal_keeps_the_old_pair_current(token: str) -> None:
    """A new key on the token without its certificate (a renewal stopped before storing it) does not displace
    the current pair; a renewal the server refuses removes its new key and keeps the old pair."""
    from estclient import pkcs11 as p

    with EstTestServer(auth="basic") as srv:
        signer = keys.generate_key(uri("half-way"), key_type="ec-p256")
        with EstClient(conf(srv, http_auth=HttpAuth(srv.username, srv.password))) as client:
            res = client.simple_enroll(CsrBuilder().common_name("half-way").with_key(signer))
            assert isinstance(res, Issued)
            signer.store_certificate(res.certificate.to_cryptography())  # type: ignore[attr-defined]
            with signer._lock:  # type: ignore[attr-defined]
                p._generate(signer._session, "ec-p256", "half-way", b"orphan")  # type: ignore[attr-defined]
            current = keys.load_key(uri("half-way"))
            assert current.key_id == signer.key_id  # type: ignore[attr-defined]
            current.close()  # type: ignore[attr-defined]
            before = token_objects()
            # no TLS client identity: the server refuses the re-enrollment (403); nothing stays behind
            with pytest.raises(EstError):
                p.renew_on_token(client, signer, allow_without_identity=True)  # type: ignore[arg-type]
            assert token_objects() == before
        signer.close()  # type: ignore[attr-defined]


def test_cmc_request_signed_on_the_token_verifies_with_openssl(token: str, tmp_path: Path) -> None:
    tools = need("openssl")
    with EstTestServer(auth="basic") as srv:
        signer = keys.generate_key(uri("cmc-signer"), key_type="ec-p256")
        with EstClient(conf(srv, http_auth=HttpAuth(srv.username, srv.password))) as client:
            issued = client.simple_enroll(CsrBuilder().common_name("cmc-signer").with_key(signer))
            assert isinstance(issued, Issued)
            csr_der = CsrBuilder().common_name("cmc-signer").with_key(signer).build_for_connection(None)
            request = CmcRequest.for_csr(csr_der, signer, certificate=issued.certificate)
            der = request.to_der()
            (tmp_path / "req.der").write_bytes(der)
            (tmp_path / "signer.pem").write_bytes(issued.to_pem().encode())
            res = run([tools["openssl"], "cms", "-verify", "-binary", "-inform", "DER", "-in",
                       str(tmp_path / "req.der"), "-noverify", "-certfile", str(tmp_path / "signer.pem"),
                       "-out", str(tmp_path / "content.der")])
            assert res.returncode == 0, show(res)
            assert b"Verification successful" in res.stderr
            assert (tmp_path / "content.der").read_bytes() == request.pki_data.to_der()
            answer = client.full_cmc(request)
            assert isinstance(answer, CmcResponse) and answer.certificates
        signer.close()  # type: ignore[attr-defined]


def test_rsa_pss_signature_on_the_token(token: str) -> None:
    from estcodec import _sigalgs

    signer = keys.generate_key(uri("pss"), key_type="rsa-2048")
    alg, sig = _sigalgs.sign(signer, b"message", rsa_padding="pss")
    _sigalgs.verify(alg, signer.public_key(), b"message", sig)
    signer.close()  # type: ignore[attr-defined]


def test_errors_are_clear_and_write_nothing(token: str, tmp_path: Path) -> None:
    from estclient import pkcs11 as p

    before = token_objects()
    with pytest.raises(p.TokenError, match="PIN .*refused") as e:
        keys.load_key(uri("anything"), pin="0000")
    assert "0000" not in str(e.value)
    with pytest.raises(p.TokenError, match="no token 'no-such-token'"):
        keys.load_key("pkcs11:token=no-such-token;object=x")
    with pytest.raises(p.TokenError, match="module not found"):
        keys.load_key(uri("x", **{}) + "?module-path=/nonexistent/libnothing.so")
    with pytest.raises(p.TokenError, match="no private key"):
        keys.load_key(uri("missing-key"))
    with pytest.raises(ConfigError, match="pin-value"):
        keys.load_key(uri("x") + "?pin-value=1234")
    pin_file = tmp_path / "pin"
    pin_file.write_text(PIN + "\n")
    os.environ.pop("EST_PKCS11_PIN")
    try:
        with pytest.raises(p.TokenError, match="needs a PIN"):
            keys.load_key(uri("missing-key"))
        with pytest.raises(p.TokenError, match="no private key"):  # the PIN from pin-source was accepted
            keys.load_key(uri("missing-key") + f"?pin-source=file:{pin_file}")
    finally:
        os.environ["EST_PKCS11_PIN"] = PIN
    assert token_objects() == before
    # an object that is not a private key: a certificate alone under the label
    signer = keys.generate_key(uri("cert-only"), key_type="ec-p256")
    with EstTestServer(auth="basic") as srv, EstClient(conf(srv, http_auth=HttpAuth(srv.username,
                                                                                      srv.password))) as client:
        res = client.simple_enroll(CsrBuilder().common_name("cert-only").with_key(signer))
    assert isinstance(res, Issued)
    signer.store_certificate(res.certificate.to_cryptography())  # type: ignore[attr-defined]
    signer._destroy(with_certificates=False)  # type: ignore[attr-defined]
    signer.close()  # type: ignore[attr-defined]
    with pytest.raises(p.TokenError, match="is not a private key"):
        keys.load_key(uri("cert-only"))
    # generating over an existing label is refused
    with pytest.raises(p.TokenError, match="exists already"):
        keys.generate_key(uri("enroll-or-not"), key_type="ec-p256").close()  # type: ignore[attr-defined]
        keys.generate_key(uri("enroll-or-not"), key_type="ec-p256")


def test_uri_parsing() -> None:
    from estclient.pkcs11 import parse_uri

    u = parse_uri("pkcs11:token=My%20Token;object=dev%2fkey;id=%01%02?module-path=/x/lib.so&pin-source=file:/p")
    assert (u.token, u.object, u.id, u.module_path, u.pin_source) == ("My Token", "dev/key", b"\x01\x02",
                                                                       "/x/lib.so", "file:/p")
    for bad in ("pkcs12:token=x", "pkcs11:token", "pkcs11:token=a;token=b", "pkcs11:object=%zz"):
        with pytest.raises(ConfigError):
            parse_uri(bad)


def test_uri_parsing_never_fails_otherwise() -> None:
    """Any text ends in a Pkcs11Uri or a ConfigError (seeded, bounded)."""
    import random

    from estclient.pkcs11 import Pkcs11Uri, parse_uri

    rng = random.Random(18)
    alphabet = "pkcs11:;?&=%0aFzé/ \x00"
    for _ in range(3000):
        text = "pkcs11:" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        try:
            assert isinstance(parse_uri(text), Pkcs11Uri)
        except ConfigError:
            pass
