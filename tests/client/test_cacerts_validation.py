"""The /cacerts set is validated in every trust mode (RFC 7030 §4.1.3; issue #12 §4.1.3 and finding 8).

Each certificate must be a CA certificate (validity, basicConstraints cA, keyUsage keyCertSign) with a path to
the anchor in use: the explicit anchors, the certificate a bootstrap accepted, or with system trust the set's
most recent self-signed CA certificate. The path finding is linear: the tests count signature checks through
the one seam that makes them (``estclient._cacerts.verify_issued_by``) and the path validations handed to
``cryptography``, never time."""
from __future__ import annotations

import datetime as dt
import random

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from estclient import _cacerts
from estclient.config import EstClientConfig, TrustAnchors
from estclient.errors import BootstrapVerificationError, ProtocolError
from estclient.testing import EstTestServer
from estclient.testing._ca import TestCa

from test_e2e_operations import call, est, mode  # noqa: F401  (mode is a fixture)

NOW = dt.datetime.now(dt.timezone.utc)
_KEY = ec.generate_private_key(ec.SECP256R1())  # one key for the bulk sets: key generation is not under test


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_ca_cert(cn: str, issuer: tuple[x509.Certificate, object] | None = None, *, key=None, ca: bool = True,
                 cert_sign: bool = True, days: int = 30, expired: bool = False, aki: bool = True,
                 issuer_name: x509.Name | None = None):
    """(certificate, key) of a CA certificate, self-signed or issued by ``issuer`` (certificate, key)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    signer_cert, signer_key = issuer if issuer else (None, key)
    start = NOW - dt.timedelta(days=days + 2) if expired else NOW - dt.timedelta(minutes=5)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name or (signer_cert.subject if signer_cert else _name(cn)))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, cert_sign, cert_sign, False, False),
                       critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if signer_cert is not None and aki:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
                            critical=False)
    return b.sign(signer_key, hashes.SHA256()), key


class Counter:
    """Counts the signature checks of the path finding and the path validations handed to cryptography."""

    def __init__(self, monkeypatch):
        self.signatures = 0
        self.validations = 0
        real_check = _cacerts.verify_issued_by
        real_verifier = _cacerts._verifier

        def check(cert, issuer):
            self.signatures += 1
            return real_check(cert, issuer)

        def verifier(anchors, at):
            inner = real_verifier(anchors, at)
            outer = self

            class Counting:
                def verify(self, leaf, intermediates):
                    outer.validations += 1
                    return inner.verify(leaf, intermediates)

            return Counting()

        monkeypatch.setattr(_cacerts, "verify_issued_by", check)
        monkeypatch.setattr(_cacerts, "_verifier", verifier)


# ----------------------------------------------------------------------------------------- finding 8


def _tree(n: int):
    """A root, 10 first-level CAs below it and ``n - 11`` second-level CAs below those (one shared key for
    the lower levels, distinct names): ``n`` certificates, every path at most three long."""
    root, root_key = make_ca_cert("Bulk Root")
    level1 = [make_ca_cert(f"Level-1 CA {i}", (root, root_key)) for i in range(10)]
    certs = [root] + [c for c, _ in level1]
    for i in range(n - 11):
        parent = level1[i % 10]
        certs.append(make_ca_cert(f"Level-2 CA {i}", parent, key=_KEY)[0])
    return root, certs


@pytest.mark.parametrize("order", ["server", "reversed", "shuffled"])
def test_thousand_certificates_cost_linear_signature_checks(monkeypatch, order):
    root, certs = _tree(1000)
    if order == "reversed":
        certs = certs[::-1]
    elif order == "shuffled":
        random.Random(12).shuffle(certs)
    counter = Counter(monkeypatch)
    good = _cacerts.validate_ca_set([root], certs)
    assert len(good) == 1000
    # one check per certificate that has an issuer (the root is the anchor); the old loop needed up to n^3/6
    assert counter.signatures == 999
    assert counter.validations == 999


def test_reversed_chain_is_linear(monkeypatch):
    """The shape that was cubic: a chain sent leaf-most first (depth 7: cryptography's limit is 8)."""
    chain = [make_ca_cert("Chain Root")]
    for i in range(6):
        chain.append(make_ca_cert(f"Chain CA {i}", chain[-1]))
    certs = [c for c, _ in chain][::-1]
    counter = Counter(monkeypatch)
    assert len(_cacerts.validate_ca_set([chain[0][0]], certs)) == 7
    assert counter.signatures == 6 and counter.validations == 6


def test_one_name_without_key_identifiers_is_bounded(monkeypatch):
    """Hostile: 200 certificates of one name and no AKI, none issued by the anchor. Each costs at most
    MAX_ISSUER_CANDIDATES checks; the set is refused."""
    root, root_key = make_ca_cert("Same")
    stranger = ec.generate_private_key(ec.SECP256R1())
    same = [make_ca_cert("Same", (root, stranger), key=_KEY, aki=False)[0] for _ in range(200)]
    counter = Counter(monkeypatch)
    with pytest.raises(ProtocolError, match="does not chain"):
        _cacerts.validate_ca_set([root], [root, *same])
    assert counter.signatures <= 201 * _cacerts.MAX_ISSUER_CANDIDATES
    assert counter.validations == 0


# --------------------------------------------------------------------------------- what is checked


@pytest.mark.parametrize(
    "defect, message",
    [
        (dict(expired=True), "expired|not valid"),
        (dict(ca=False), "basicConstraints|not a CA"),
        (dict(cert_sign=False), "keyCertSign"),
    ],
)
def test_defective_intermediate_is_refused(defect, message):
    root, key = make_ca_cert("Good Root")
    bad, _ = make_ca_cert("Bad Intermediate", (root, key), **defect)
    with pytest.raises(ProtocolError, match=f"Bad Intermediate: .*({message})"):
        _cacerts.validate_ca_set([root], [root, bad])


def test_defective_anchor_in_the_set_is_refused():
    root, _ = make_ca_cert("Old Root", expired=True)
    with pytest.raises(ProtocolError, match="Old Root: not valid"):
        _cacerts.validate_ca_set([root], [root])
    leafish, _ = make_ca_cert("Not A CA", ca=False)
    with pytest.raises(ProtocolError, match="Not A CA: no basicConstraints cA"):
        _cacerts.validate_ca_set([leafish], [leafish])


def test_signature_alone_is_not_enough():
    """A certificate whose signature verifies with the anchor's key but names another issuer has no path."""
    root, key = make_ca_cert("Real Root")
    odd, _ = make_ca_cert("Odd", (root, key), issuer_name=_name("Someone Else"))
    with pytest.raises(ProtocolError, match="Odd: does not chain"):
        _cacerts.validate_ca_set([root], [root, odd])


def test_most_recent_root_is_the_latest_self_signed():
    old, _ = make_ca_cert("Root", days=10)
    new, _ = make_ca_cert("Root", days=20)
    inter, _ = make_ca_cert("Inter", (new, _))
    assert _cacerts.most_recent_root([old, inter, new]) is new
    assert _cacerts.most_recent_root([inter]) is None


@pytest.mark.parametrize("options", [{}, dict(ca_intermediate=True), dict(ca_rollover=True),
                                     dict(ca_key_type="rsa-2048", ca_intermediate=True, ca_rollover=True)])
def test_reference_server_ca_sets_pass(options):
    """What the reference CA issues (root, intermediate, RFC 4210 key-update certificates) passes."""
    srv_ca = TestCa(key_type=options.get("ca_key_type", "ec-p256"), intermediate=options.get("ca_intermediate", False),
                    rollover=options.get("ca_rollover", False))
    certs = srv_ca.ca_certificates
    assert len(_cacerts.validate_ca_set([srv_ca.certificate], certs)) == len(certs)
    root = _cacerts.most_recent_root(certs)
    assert len(_cacerts.validate_ca_set([root], certs)) == len(certs)


# ------------------------------------------------------------------------------ every trust mode, e2e


def _modes(srv):
    return {
        "explicit": TrustAnchors.from_pem(srv.trust_anchor_pem),
        "bootstrap": TrustAnchors.bootstrap(srv.ca_fingerprint_sha256),
    }


@pytest.mark.parametrize("trust_mode", ["explicit", "bootstrap"])
async def test_cacerts_set_validated_in_each_mode(mode, trust_mode):
    bad, _ = make_ca_cert("Expired Sub CA", expired=True)
    with EstTestServer(auth=None, ca_intermediate=True, ca_rollover=True) as srv:
        async with est(mode, EstClientConfig(srv.url, trust=_modes(srv)[trust_mode], timeout=15.0)) as c:
            assert len(await call(c.get_ca_certs())) == 5
    with EstTestServer(auth=None, extra_ca_certificates=[bad]) as srv:
        err = BootstrapVerificationError if trust_mode == "bootstrap" else ProtocolError
        async with est(mode, EstClientConfig(srv.url, trust=_modes(srv)[trust_mode], timeout=15.0)) as c:
            with pytest.raises(err, match="Expired Sub CA"):
                await call(c.get_ca_certs())


async def test_cacerts_set_validated_with_system_trust(mode, tmp_path, monkeypatch):
    """System trust: the set is anchored at its own most recent root; an unrelated CA in it is refused."""
    unrelated, _ = make_ca_cert("Unrelated CA")
    for extra, ok in (([], True), ([unrelated], False)):
        with EstTestServer(auth=None, ca_rollover=True, extra_ca_certificates=extra) as srv:
            path = tmp_path / "system.pem"
            path.write_bytes(srv.trust_anchor_pem)
            monkeypatch.setenv("SSL_CERT_FILE", str(path))
            monkeypatch.delenv("SSL_CERT_DIR", raising=False)
            async with est(mode, EstClientConfig(srv.url, trust=TrustAnchors.system(), timeout=15.0)) as c:
                if ok:
                    assert len(await call(c.get_ca_certs())) == 4
                else:
                    with pytest.raises(ProtocolError, match="Unrelated CA: does not chain"):
                        await call(c.get_ca_certs())
