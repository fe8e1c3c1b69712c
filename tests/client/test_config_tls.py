"""estclient.config and estclient.tls (context construction, RFC 6125 host matching, tls-unique rules)."""
from __future__ import annotations

import hashlib
import ssl

import pytest
from cryptography import x509

from estclient.config import ClientIdentity, EstClientConfig, HttpAuth, TrustAnchors, validate_ca_label
from estclient.errors import ConfigError, EstError
from estclient.tls import ConnectionInfo, authorize_server_certificate, connection_info, create_ssl_context, host_matches

from loopback import issue, make_ca


@pytest.mark.parametrize("url", ["http://est.example", "ftp://x", "https://", "https://u:p@est.example",
                                 "https://est.example/path", "https://est.example:99999", "not a url"])
def test_server_url_rejected(url):
    with pytest.raises(ConfigError):
        EstClientConfig(url)


def test_server_url_normalized_and_defaults():
    c = EstClientConfig("HTTPS://EST.example:8443/")
    assert c.server_url == "https://est.example:8443"
    assert c.trust == TrustAnchors.system() and c.max_body_size == 10 * 1024 * 1024
    assert c.channel_binding == "auto" and c.timeout == 30.0
    assert EstClientConfig("https://[::1]:8443").server_url == "https://[::1]:8443"
    assert EstClientConfig("https://est.example/.well-known/est/").server_url == "https://est.example"
    with pytest.raises(TypeError):
        EstClientConfig("https://est.example", "label")  # keyword-only after server_url
    assert isinstance(ConfigError("x"), (EstError, ValueError))


@pytest.mark.parametrize("label", ["cacerts", "simpleenroll", "SimpleReEnroll", "fullcmc", "serverkeygen", "csrattrs",
                                   "", "a/b", "..", "with space"])
def test_bad_ca_labels(label):
    with pytest.raises(ConfigError):
        validate_ca_label(label)
    with pytest.raises(ConfigError):
        EstClientConfig("https://est.example", ca_label=label)


def test_good_ca_labels():
    for label in ("arbitraryLabel1", "tenant-7", "a.b_c~d", "x%20y"):
        assert EstClientConfig("https://est.example", ca_label=label).ca_label == label


@pytest.mark.parametrize("kw", [{"channel_binding": "maybe"}, {"timeout": 0}, {"max_body_size": 0},
                                {"max_redirects": -1}, {"trust": "system"}, {"http_auth": ("u", "p")}])
def test_bad_options(kw):
    with pytest.raises(ConfigError):
        EstClientConfig("https://est.example", **kw)


def test_http_auth_hides_password():
    a = HttpAuth("user", "s3cret!", "DIGEST")
    assert a.scheme == "digest" and "s3cret" not in repr(a)
    with pytest.raises(ConfigError):
        HttpAuth("u", "p", "bearer")
    with pytest.raises(ConfigError):
        HttpAuth("a:b", "p")


def test_client_identity(tmp_path):
    ca = make_ca()
    ident = issue(ca, "client")
    ci = ClientIdentity(ident.cert_pem, ident.key_pem)
    assert "BEGIN" not in repr(ci) and "client" in repr(ci)
    (tmp_path / "c.pem").write_bytes(ident.cert_pem)
    (tmp_path / "k.pem").write_bytes(ident.key_pem)
    assert ClientIdentity.from_files(tmp_path / "c.pem", tmp_path / "k.pem").cert_pem == ident.cert_pem
    other = issue(ca, "other")
    with pytest.raises(ConfigError, match="does not match"):
        ClientIdentity(ident.cert_pem, other.key_pem)
    with pytest.raises(ConfigError) as ei:
        ClientIdentity(ident.cert_pem, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert "AAAA" not in str(ei.value)
    with pytest.raises(ConfigError):
        ClientIdentity.from_files(tmp_path / "missing.pem", tmp_path / "k.pem")


def test_trust_anchors():
    ca = make_ca()
    assert TrustAnchors.from_pem(ca.cert_pem).kind == "explicit"
    with pytest.raises(ConfigError):
        TrustAnchors.from_pem(b"nothing here")
    with pytest.raises(ConfigError):
        TrustAnchors.bootstrap()
    with pytest.raises(ConfigError):
        TrustAnchors.bootstrap("abcd")
    der = ca.cert.public_bytes(__import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
    fp = hashlib.sha256(der).hexdigest()
    for form in (fp, fp.upper(), ":".join(fp[i:i + 2] for i in range(0, 64, 2)), "SHA256:" + fp, bytes.fromhex(fp)):
        t = TrustAnchors.bootstrap(form)
        assert t.matches_fingerprint(der) and not t.verified
    assert not TrustAnchors.bootstrap("00" * 32).matches_fingerprint(der)


# ----------------------------------------------------------------------------- tls


def cert_with(dns=(), ips=(), cn="x"):
    return issue(make_ca(), cn, dns=list(dns), ips=list(ips)).cert


@pytest.mark.parametrize(
    "dns, ips, host, ok",
    [
        (["est.example"], [], "est.example", True),
        (["EST.Example"], [], "est.example.", True),
        (["*.est.example"], [], "a.est.example", True),
        (["*.est.example"], [], "a.b.est.example", False),
        (["*.est.example"], [], "est.example", False),
        (["*.example"], [], "est.example", False),  # like OpenSSL: no wildcard directly above a single label
        (["est.example"], [], "other.example", False),
        ([], ["127.0.0.1"], "127.0.0.1", True),
        (["127.0.0.1"], [], "127.0.0.1", False),  # an IP is matched against iPAddress only
        ([], ["::1"], "[::1]", True),
    ],
)
def test_host_matches(dns, ips, host, ok):
    assert host_matches(cert_with(dns, ips), host) is ok


def test_cn_used_only_without_san():
    assert host_matches(cert_with(cn="est.example"), "est.example")
    assert not host_matches(cert_with(dns=["other.example"], cn="est.example"), "est.example")


def test_authorization_rule():
    ca = make_ca()
    ra = issue(ca, "ra", dns=["ra.example"], eku=[x509.ObjectIdentifier("1.3.6.1.5.5.7.3.28")]).cert
    der = ra.public_bytes(__import__("cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]).Encoding.DER)
    authorize_server_certificate(der, "est.example", explicit=True)  # cmcRA: authorized with explicit anchors
    with pytest.raises(ssl.SSLCertVerificationError):
        authorize_server_certificate(der, "est.example", explicit=False)  # the system store needs the name
    authorize_server_certificate(der, "ra.example", explicit=False)


def test_contexts():
    ca = make_ca()
    ctx = create_ssl_context(TrustAnchors.from_pem(ca.cert_pem))
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2 and ctx.verify_mode == ssl.CERT_REQUIRED
    assert not ctx.check_hostname  # replaced by the RFC 7030 §3.6.1 rule inside the handshake
    capped = create_ssl_context(TrustAnchors.from_pem(ca.cert_pem), max_tls12=True)
    assert capped.maximum_version == ssl.TLSVersion.TLSv1_2
    system = create_ssl_context(TrustAnchors.system())
    assert system.check_hostname and system.verify_mode == ssl.CERT_REQUIRED
    boot = create_ssl_context(TrustAnchors.bootstrap("00" * 32))
    assert boot.verify_mode == ssl.CERT_NONE  # only ever used for the bootstrap /cacerts
    ident = issue(ca, "c")
    create_ssl_context(TrustAnchors.system(), ClientIdentity(ident.cert_pem, ident.key_pem))


class _FakeSsl:
    def __init__(self, version):
        self._v = version
        self.calls = 0

    def version(self):
        return self._v

    def get_channel_binding(self, kind):
        self.calls += 1
        return b"unique"


def test_tls_unique_only_up_to_tls12():
    t13 = _FakeSsl("TLSv1.3")
    assert connection_info(t13) == ConnectionInfo("TLSv1.3", None) and t13.calls == 0  # never asked on 1.3
    assert connection_info(_FakeSsl("TLSv1.2")) == ConnectionInfo("TLSv1.2", b"unique")
    assert connection_info(None) == ConnectionInfo(None, None)
