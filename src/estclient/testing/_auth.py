"""Who may use the reference server: a TLS client certificate, HTTP Basic or Digest credentials
(RFC 7030 §3.2.3), and the tls-unique channel binding a CSR's challengePassword carries (RFC 7030 §3.5)."""
from __future__ import annotations

import base64
import binascii
import hmac

from ._csr import CsrError, CsrInfo
from ._http import Exchange, HttpError, unauthorized


def authenticate(x: Exchange) -> str:
    """How the client of ``x`` is authenticated: "certificate", "basic", "digest" or "none"; otherwise
    401 with a challenge (Basic, Digest) or 403 (``auth="cert"`` without a client certificate)."""
    est = x.est
    if x.peer_cert is not None:
        return "certificate"
    if est.auth is None:
        return "none"
    header = x.headers.get("Authorization", "")
    if est.auth == "basic":
        if _basic_ok(header, est.username, est.password):
            return "basic"
        raise unauthorized(f'Basic realm="{est.realm}"', "credentials refused" if header else "credentials required")
    if est.auth == "digest":
        assert est._digest is not None
        ok, stale = est._digest.verify(header, x.method, x.path) if header else (False, False)
        if ok:
            return "digest"
        why = "nonce expired" if stale else "credentials refused" if header else "credentials required"
        raise unauthorized(est._digest.challenge(stale=stale), why)
    # auth == "cert" and no client certificate: no HTTP challenge can help, so not 401 (which must carry
    # one, RFC 9110 §15.5.2) but 403; libest answers 401 without a challenge here
    raise HttpError(403, "Forbidden: a TLS client certificate issued by this CA is required")


def _basic_ok(header: str, username: str, password: str) -> bool:
    """Whether an Authorization header carries Basic credentials equal to these (compared in constant time)."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return False
    try:
        user, _, given = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user, given = "", ""
    ok_user = hmac.compare_digest(user.encode(), username.encode())
    ok_pass = hmac.compare_digest(given.encode(), password.encode())
    return ok_user and ok_pass


def check_channel_binding(x: Exchange, info: CsrInfo) -> None:
    """A challengePassword, when present (and always when ``require_channel_binding``), must be
    base64(tls-unique) of the connection the CSR arrived on; 403 "Proof of Possession Mismatch" otherwise."""
    try:
        password = info.challenge_password
    except CsrError as exc:
        raise HttpError(400, str(exc)) from None
    if password is None:
        if x.est.require_channel_binding:
            raise HttpError(403, "Proof of Possession Mismatch: this server requires the CSR "
                                 "to carry base64(tls-unique) as challengePassword (RFC 7030 section 3.5).")
        return
    if x.tls_unique is None:
        raise HttpError(400, "challengePassword carries tls-unique, which does not exist on TLS 1.3")
    expected = base64.b64encode(x.tls_unique).decode("ascii")
    if not hmac.compare_digest(password.encode(), expected.encode()):
        raise HttpError(403, "Proof of Possession Mismatch: challengePassword is not "
                             "the tls-unique value of this TLS connection.")
