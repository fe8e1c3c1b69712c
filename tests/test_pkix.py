"""estcodec.pkix: the one home of key identifiers, issued-by, chain order, anchoring, issued-certificate selection
and CA roles. Oracle: ``cryptography`` (its SubjectKeyIdentifier.from_public_key and verify_directly_issued_by)."""
from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from estcodec import cmc, cms, pkix
from estcodec.x509 import Certificate, SubjectPublicKeyInfo

NOW = dt.datetime.now(dt.timezone.utc)


def _name(cn: str) -> cx509.Name:
    return cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(key, cn, issuer_key=None, issuer_cert=None, *, ca=False, ski=True, aki=True, subject=None,
           key_cert_sign=False):
    pub = key.public_key()
    b = (cx509.CertificateBuilder().subject_name(subject or _name(cn))
         .issuer_name(issuer_cert.subject if issuer_cert is not None else subject or _name(cn))
         .public_key(pub).serial_number(cx509.random_serial_number())
         .not_valid_before(NOW - dt.timedelta(days=1)).not_valid_after(NOW + dt.timedelta(days=30))
         .add_extension(cx509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if key_cert_sign:
        b = b.add_extension(cx509.KeyUsage(False, False, False, False, False, True, False, False, False), True)
    if ski:
        b = b.add_extension(cx509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
    if issuer_cert is not None and aki:
        b = b.add_extension(cx509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False)
    return b.sign(issuer_key if issuer_key is not None else key, hashes.SHA256())


def _m(c) -> Certificate:
    return Certificate.from_cryptography(c)


@pytest.fixture(scope="module")
def chain():
    rk = ec.generate_private_key(ec.SECP256R1())
    root = _issue(rk, "Root", ca=True)
    ik = ec.generate_private_key(ec.SECP256R1())
    inter = _issue(ik, "Inter", rk, root, ca=True)
    lk = ec.generate_private_key(ec.SECP256R1())
    leaf = _issue(lk, "Leaf", ik, inter)
    return {"root": root, "inter": inter, "leaf": leaf, "rk": rk, "ik": ik, "lk": lk}


@pytest.mark.parametrize("make", [lambda: ec.generate_private_key(ec.SECP384R1()),
                                  lambda: rsa.generate_private_key(65537, 2048),
                                  lambda: ed25519.Ed25519PrivateKey.generate()])
def test_key_identifier_is_rfc5280_method_1_in_every_input_form(make) -> None:
    pub = make().public_key()
    want = cx509.SubjectKeyIdentifier.from_public_key(pub).digest
    der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert pkix.key_identifier(pub) == want
    assert pkix.key_identifier(der) == want
    assert pkix.key_identifier(SubjectPublicKeyInfo.from_der(der)) == want
    assert cmc.subject_key_identifier(pub) == want  # the old public name is a thin alias
    bits = bytes(SubjectPublicKeyInfo.from_der(der).subject_public_key.data)
    assert pkix.key_identifiers(pub) == {want, hashlib.sha256(bits).digest()[:20]}


def test_certificate_key_identifier_prefers_the_extension(chain) -> None:
    k = ec.generate_private_key(ec.SECP256R1())
    without = _issue(k, "no ski", ski=False)
    assert pkix.certificate_key_identifier(without) == pkix.key_identifier(k.public_key())
    odd = (cx509.CertificateBuilder().subject_name(_name("odd")).issuer_name(_name("odd")).public_key(k.public_key())
           .serial_number(1).not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=1))
           .add_extension(cx509.SubjectKeyIdentifier(b"\x01\x02\x03"), False).sign(k, hashes.SHA256()))
    for form in (odd, _m(odd), odd.public_bytes(serialization.Encoding.DER)):
        assert pkix.certificate_key_identifier(form) == b"\x01\x02\x03"


def test_issued_by_checks_name_and_signature_for_models_and_cryptography(chain) -> None:
    root, inter, leaf = chain["root"], chain["inter"], chain["leaf"]
    assert pkix.issued_by(_m(inter), _m(root)) and pkix.issued_by(inter, root)
    assert pkix.issued_by(_m(leaf), _m(inter)) and pkix.issued_by(leaf, inter)
    assert not pkix.issued_by(_m(leaf), _m(root)) and not pkix.issued_by(leaf, root)
    # the same name with another key: the name matches, the signature does not
    impostor = _issue(ec.generate_private_key(ec.SECP256R1()), "Inter", chain["rk"], root, ca=True)
    assert pkix.names_issuer(_m(leaf), _m(inter))
    assert not pkix.names_issuer(_m(leaf), _m(impostor))  # the key identifiers tell them apart
    assert not pkix.issued_by(_m(leaf), _m(impostor)) and not pkix.issued_by(leaf, impostor)


def test_names_issuer_without_key_identifiers_goes_by_name(chain) -> None:
    leaf = _issue(ec.generate_private_key(ec.SECP256R1()), "L2", chain["ik"], chain["inter"], aki=False)
    assert pkix.names_issuer(_m(leaf), _m(chain["inter"]))
    assert not pkix.names_issuer(_m(leaf), _m(chain["root"]))


def test_order_chain_and_chain_from(chain) -> None:
    root, inter, leaf = (_m(chain[k]) for k in ("root", "inter", "leaf"))
    stray = _m(_issue(ec.generate_private_key(ec.SECP256R1()), "Stray", ca=True))
    got = pkix.order_chain([root, stray, leaf, inter, leaf])
    assert [c.to_der() for c in got] == [c.to_der() for c in (leaf, inter, root, stray)]
    assert cms.order_chain is pkix.order_chain
    assert [c.to_der() for c in pkix.chain_from(leaf, [root, inter])] == [leaf.to_der(), inter.to_der(),
                                                                          root.to_der()]
    assert [c.to_der() for c in pkix.chain_from(inter, [leaf])] == [inter.to_der()]
    assert pkix.order_chain([]) == []


def test_is_anchored(chain) -> None:
    root, inter, leaf = (_m(chain[k]) for k in ("root", "inter", "leaf"))
    other = _m(_issue(ec.generate_private_key(ec.SECP256R1()), "Other", ca=True))
    assert pkix.is_anchored(leaf, [inter], [root])
    assert pkix.is_anchored(root, [], [root])
    assert not pkix.is_anchored(leaf, [], [root])
    assert not pkix.is_anchored(leaf, [inter], [other])
    # an intermediate without the CA flag does not carry a chain
    not_ca = _m(_issue(chain["ik"], "Inter", chain["rk"], chain["root"], ca=False))
    assert not pkix.is_anchored(leaf, [not_ca], [root])


def test_is_anchored_is_bounded_on_a_cycle() -> None:
    ka, kb = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    a0 = _issue(ka, "A", ca=True)
    b = _issue(kb, "B", ka, a0, ca=True)
    a = _issue(ka, "A", kb, b, ca=True)  # A issued by B, B issued by A
    leaf = _issue(ec.generate_private_key(ec.SECP256R1()), "leaf", ka, a0)
    anchor = _m(_issue(ec.generate_private_key(ec.SECP256R1()), "Z", ca=True))
    assert not pkix.is_anchored(_m(leaf), [_m(a), _m(b)], [anchor])


def test_select_issued(chain) -> None:
    root, inter, leaf = (_m(chain[k]) for k in ("root", "inter", "leaf"))
    spki = leaf.public_key_info.to_der()
    assert pkix.select_issued([root, inter, leaf], spki) == 2
    assert pkix.select_issued([inter, leaf, root], None) == 1
    assert pkix.select_issued([inter], None) == 0
    with pytest.raises(pkix.SelectionError, match="requested public key"):
        pkix.select_issued([root, inter], spki)
    with pytest.raises(pkix.SelectionError, match="no certificate"):
        pkix.select_issued([], None)
    with pytest.raises(pkix.SelectionError, match="cannot tell"):
        pkix.select_issued([root, inter], None)
    # a key-update certificate carries keyCertSign only: still a CA's, not ours
    ku = _m(_issue(chain["ik"], "KU", key_cert_sign=True))
    assert pkix.acts_as_ca(ku) and not pkix.acts_as_ca(leaf) and pkix.acts_as_ca(root)


def test_ca_role(chain) -> None:
    assert pkix.ca_role(_m(chain["root"])) == "root"
    assert pkix.ca_role(chain["inter"]) == "intermediate"
    # self-issued but signed with another key (RFC 4210 rollover)
    rollover = _issue(chain["ik"], "Root", chain["rk"], chain["root"], ca=True)
    assert pkix.ca_role(_m(rollover)) == "key-update"
