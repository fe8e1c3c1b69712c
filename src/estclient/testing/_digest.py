"""Server side of HTTP Digest authentication (RFC 7616), for the reference EST server only.

The server issues nonces and checks the client's ``response`` (MD5, SHA-256 and their ``-sess``
variants, ``qop=auth``). Clients never compute Digest by hand: they use httpx's ``DigestAuth``.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time

__all__ = ["DigestVerifier", "parse_auth_params", "SUPPORTED_ALGORITHMS"]

SUPPORTED_ALGORITHMS = ("MD5", "SHA-256", "MD5-sess", "SHA-256-sess")
_HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}

_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^",\s]*)\s*(?:,|$)')


def parse_auth_params(text: str) -> dict[str, str]:
    """``k=v, k="quoted"`` auth-params (RFC 7235 §2.1) into a dict with lower-case keys."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = _PARAM.match(text, pos)
        if not m:
            raise ValueError("malformed auth-param list")
        key, value = m.group(1).lower(), m.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out[key] = value
        pos = m.end()
    return out


class DigestVerifier:
    """Issues challenges and verifies Authorization: Digest answers for one user."""

    def __init__(
        self, username: str, password: str, *, realm: str = "estrealm", algorithm: str = "SHA-256",
        nonce_lifetime: float = 300.0,
    ) -> None:
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"digest algorithm must be one of {SUPPORTED_ALGORITHMS}")
        self.username = username
        self._password = password
        self.realm = realm
        self.algorithm = algorithm
        self.opaque = secrets.token_hex(8)
        self.nonce_lifetime = nonce_lifetime
        self._nonces: dict[str, list[float | int]] = {}  # nonce -> [issued_at, highest nc seen]
        self._lock = threading.Lock()

    def challenge(self, *, stale: bool = False) -> str:
        """The WWW-Authenticate value. RFC 7616 §3.3 has realm, domain, nonce, opaque and qop quoted and
        algorithm and stale unquoted. Plain MD5 is the default when algorithm is absent, so the MD5
        challenge leaves it out: every parameter it carries is then quoted, the form clients such as
        Bouncy Castle's insist on, and it stays conformant. Other algorithms must be named (unquoted)."""
        nonce = secrets.token_hex(16)
        self._remember(nonce)
        header = f'Digest realm="{self.realm}", qop="auth", nonce="{nonce}", opaque="{self.opaque}"'
        if self.algorithm != "MD5":
            header += f", algorithm={self.algorithm}"
        return header + (", stale=true" if stale else "")

    def _remember(self, nonce: str) -> None:
        with self._lock:
            now = time.monotonic()
            # forget long-expired nonces so the table stays small
            for n in [n for n, (t, _) in self._nonces.items() if now - t > 2 * self.nonce_lifetime]:
                del self._nonces[n]
            self._nonces[nonce] = [now, 0]

    def verify(self, authorization: str, method: str, request_target: str) -> tuple[bool, bool]:
        """Check one ``Authorization`` header value; returns (ok, stale)."""
        scheme, _, rest = authorization.strip().partition(" ")
        if scheme.lower() != "digest":
            return False, False
        try:
            p = parse_auth_params(rest)
        except ValueError:
            return False, False
        algorithm = p.get("algorithm", "MD5")
        if algorithm.upper() != self.algorithm.upper():
            return False, False
        base = "SHA-256" if algorithm.upper().startswith("SHA-256") else "MD5"
        sess = algorithm.lower().endswith("-sess")
        required = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if any(k not in p for k in required) or p["qop"] != "auth" or p.get("userhash", "false") != "false":
            return False, False
        if p["realm"] != self.realm or p.get("opaque", self.opaque) != self.opaque:
            return False, False
        if p["uri"] != request_target:
            return False, False
        try:
            nc = int(p["nc"], 16)
        except ValueError:
            return False, False

        def h(s: str) -> str:
            return _HASH[base](s.encode("utf-8")).hexdigest()

        a1 = h(f"{p['username']}:{self.realm}:{self._password}")
        if sess:
            a1 = h(f"{a1}:{p['nonce']}:{p['cnonce']}")
        a2 = h(f"{method}:{p['uri']}")
        expected = h(f"{a1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{a2}")
        user_ok = hmac.compare_digest(p["username"].encode(), self.username.encode())
        resp_ok = hmac.compare_digest(expected.encode(), p["response"].lower().encode())
        with self._lock:
            state = self._nonces.get(p["nonce"])
            if state is None:
                return False, False
            if time.monotonic() - state[0] > self.nonce_lifetime:
                # a correct answer to an expired nonce: ask again with stale=true (RFC 7616 §3.3)
                return False, bool(user_ok and resp_ok)
            if not (user_ok and resp_ok):
                return False, False
            if nc <= state[1]:
                return False, False  # replayed nonce count
            state[1] = nc
        return True, False
