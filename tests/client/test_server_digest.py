"""Server-side HTTP Digest checks of EstTestServer against the worked examples of RFC 7616 §3.9.1.

These are sans-IO tests of the verifier; the end-to-end Digest exchanges with httpx's own
DigestAuth over TLS are in test_server.py.
"""
from __future__ import annotations

import time

import pytest

from estclient.testing._digest import DigestVerifier, parse_auth_params

# RFC 7616 §3.9.1 (username "Mufasa", password "Circle of Life", GET /dir/index.html)
REALM = "http-auth@example.org"
NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RESPONSES = {
    "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    "MD5": "8ca523f5e9506fed4657c9700eebdbec",
}


def rfc_authorization(algorithm: str, *, nc: str = "00000001", response: str | None = None,
                      username: str = "Mufasa", uri: str = "/dir/index.html") -> str:
    return (
        f'Digest username="{username}", realm="{REALM}", uri="{uri}", algorithm={algorithm}, '
        f'nonce="{NONCE}", nc={nc}, cnonce="{CNONCE}", qop=auth, '
        f'response="{response or RESPONSES[algorithm]}", opaque="{OPAQUE}"'
    )


def verifier(algorithm: str, **kw: float) -> DigestVerifier:
    v = DigestVerifier("Mufasa", "Circle of Life", realm=REALM, algorithm=algorithm, **kw)
    v.opaque = OPAQUE
    v._remember(NONCE)
    return v


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_rfc7616_examples_verify(algorithm: str) -> None:
    assert verifier(algorithm).verify(rfc_authorization(algorithm), "GET", "/dir/index.html") == (True, False)


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_rfc7616_examples_with_one_thing_wrong(algorithm: str) -> None:
    auth = rfc_authorization(algorithm)
    assert verifier(algorithm).verify(auth, "POST", "/dir/index.html") == (False, False)  # method is signed
    assert verifier(algorithm).verify(auth, "GET", "/dir/other.html") == (False, False)  # uri must be this request's
    assert verifier(algorithm).verify(rfc_authorization(algorithm, username="Simba"), "GET",
                                      "/dir/index.html") == (False, False)
    flipped = RESPONSES[algorithm][:-1] + ("0" if RESPONSES[algorithm][-1] != "0" else "1")
    assert verifier(algorithm).verify(rfc_authorization(algorithm, response=flipped), "GET",
                                      "/dir/index.html") == (False, False)
    other = "MD5" if algorithm == "SHA-256" else "SHA-256"
    assert verifier(other).verify(auth, "GET", "/dir/index.html") == (False, False)  # not the offered algorithm
    v = DigestVerifier("Mufasa", "Circle of Life", realm=REALM, algorithm=algorithm)
    v.opaque = OPAQUE
    assert v.verify(auth, "GET", "/dir/index.html") == (False, False)  # a nonce this server never issued


def test_replayed_nonce_count_is_refused() -> None:
    v = verifier("SHA-256")
    auth = rfc_authorization("SHA-256")
    assert v.verify(auth, "GET", "/dir/index.html") == (True, False)
    assert v.verify(auth, "GET", "/dir/index.html") == (False, False)


def test_expired_nonce_asks_again_with_stale() -> None:
    v = verifier("SHA-256", nonce_lifetime=0.01)
    time.sleep(0.05)
    assert v.verify(rfc_authorization("SHA-256"), "GET", "/dir/index.html") == (False, True)
    assert "stale=true" in v.challenge(stale=True)


def test_challenge_and_param_parsing() -> None:
    v = DigestVerifier("u", "p", realm="estrealm", algorithm="SHA-256")
    challenge = v.challenge()
    scheme, _, rest = challenge.partition(" ")
    params = parse_auth_params(rest)
    assert scheme == "Digest"
    assert params["realm"] == "estrealm" and params["qop"] == "auth" and params["algorithm"] == "SHA-256"
    assert len(params["nonce"]) == 32 and params["opaque"] == v.opaque
    assert parse_auth_params(r'a="x\"y", b=z') == {"a": 'x"y', "b": "z"}
    with pytest.raises(ValueError):
        parse_auth_params('a="unterminated')
    with pytest.raises(ValueError):
        DigestVerifier("u", "p", algorithm="SHA-1")


def test_missing_qop_or_basic_scheme_is_refused() -> None:
    v = verifier("MD5")
    no_qop = rfc_authorization("MD5").replace(" qop=auth,", "")
    assert v.verify(no_qop, "GET", "/dir/index.html") == (False, False)
    assert v.verify("Basic TXVmYXNhOkNpcmNsZSBvZiBMaWZl", "GET", "/dir/index.html") == (False, False)
