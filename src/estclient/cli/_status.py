"""``est status FILE``: is this certificate fit for use? Expiry, chain to the trust anchors, revocation.

The certificate is read from FILE (PEM or DER; PEM certificates after the first are taken as its chain). With
``--trust`` the chain is validated (:func:`estclient.validation.validate_chain`); the revocation status is asked of
the OCSP responder and CRL distribution points the certificate names (:mod:`estclient.revocation`), with the
issuer taken from the validated chain, from ``--issuer``, or from the certificates given. When ``--trust``
validated a path with CA certificates below the trust anchor, each of them is checked too, against its own issuer
(:func:`estclient.revocation.check_chain_revocation`): a revoked intermediate makes the certificate unfit; an
unknown status of a CA certificate is shown, not held against it (``--require-status`` is about the certificate).

Exit status: 0 when the certificate is valid now, its chain validates (or was not asked for) and it is not revoked;
1 when it is expired or not yet valid, its chain does not validate, it or a CA certificate of its path is revoked,
its revocation status cannot be
established (a bad signature, a stale answer) or, with ``--require-status``, is unknown; 8 when a CRL or OCSP
response could not be fetched.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509

from ..errors import ChainValidationError, EstError, RevocationError, RevocationFetchError

__all__ = ["add_parser", "run"]

_DESCRIPTION = ("Show whether a certificate is fit for use: its validity period, its chain to the trust anchors "
                "(--trust) and its revocation status by OCSP and CRL, from the URLs the certificate names.")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``status`` command to an argparse subparsers object (no common parents: it declares its own
    ``--trust``, ``--timeout`` and ``--json``); the command runs :func:`run`."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "status", help="expiry, chain and revocation status of a certificate", description=_DESCRIPTION)
    p.add_argument("file", metavar="FILE", help="the certificate, PEM or DER (PEM: more certificates after it are "
                                                "its chain)")
    p.add_argument("--trust", metavar="PEM", help="trust anchors: validate the chain to them")
    p.add_argument("--chain", metavar="PEM", help="intermediate CA certificates (e.g. what `est cacerts` wrote)")
    p.add_argument("--issuer", metavar="PEM", help="the issuer's certificate, for the revocation check (default: "
                                                   "from the chain)")
    p.add_argument("--revocation", choices=["auto", "ocsp", "crl", "off"], default="auto",
                   help="how to check revocation: auto (OCSP, then the CRL; default), ocsp, crl, off")
    p.add_argument("--require-status", action="store_true",
                   help="fail (exit 1) when the revocation status is unknown")
    p.add_argument("--allow-https", action="store_true", help="also fetch https:// CRL and OCSP URLs")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="network timeout of each step of a CRL or OCSP fetch (default 10)")
    p.add_argument("--json", action="store_true", help="print a JSON document on stdout")
    p.set_defaults(func=run)
    return p


def _read_certs(path: str) -> list[x509.Certificate]:
    from cryptography import x509

    with open(path, "rb") as fh:
        data = fh.read()
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise EstError(f"{path}: no readable certificate (PEM or DER)") from None
    return certs


def _name(cert: x509.Certificate) -> str:
    from .._cacerts import _name as shown_name

    return shown_name(cert)


def _shown(text: str) -> str:
    from .._cacerts import _shown as shown

    return shown(text)


def _when(value: _dt.datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    """Run ``est status``: print the report (text, or JSON with ``--json``) and return the exit status."""
    from .._cacerts import verify_issued_by
    from ._errors import EXIT_CODES
    from ..revocation import check_chain_revocation, check_revocation
    from ..validation import validate_chain

    certs = _read_certs(args.file)
    leaf, given = certs[0], certs[1:]
    extra = _read_certs(args.chain) if args.chain else []
    now = _dt.datetime.now(_dt.timezone.utc)
    bad = False
    doc: dict[str, Any] = {
        "file": args.file, "subject": leaf.subject.rfc4514_string(), "issuer": leaf.issuer.rfc4514_string(),
        "serial": f"{leaf.serial_number:x}", "not_before": _when(leaf.not_valid_before_utc),
        "not_after": _when(leaf.not_valid_after_utc),
    }
    left = leaf.not_valid_after_utc - now
    if now < leaf.not_valid_before_utc:
        doc["validity"], bad = "not yet valid", True
        expiry = f"NOT YET VALID: from {leaf.not_valid_before_utc:%Y-%m-%d %H:%M:%S} UTC"
    elif left.total_seconds() < 0:
        doc["validity"], bad = "expired", True
        expiry = f"EXPIRED at {leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC"
    else:
        doc["validity"] = "valid"
        expiry = f"valid until {leaf.not_valid_after_utc:%Y-%m-%d %H:%M:%S} UTC ({left.days} days left)"
    doc["seconds_left"] = int(left.total_seconds())
    issuer: x509.Certificate | None = _read_certs(args.issuer)[0] if args.issuer else None
    path: list[x509.Certificate] = []
    if args.trust:
        try:
            path = validate_chain(leaf, _read_certs(args.trust), [*given, *extra], at=now)
            doc["chain"] = {"state": "valid", "path": [c.subject.rfc4514_string() for c in path]}
            chain_text = "valid: " + " <- ".join(_name(c) for c in path)
            if issuer is None and len(path) > 1:
                issuer = path[1]
        except ChainValidationError as exc:
            bad = True
            doc["chain"] = {"state": "invalid", "error": str(exc)}
            chain_text = f"INVALID: {exc}"
    else:
        doc["chain"] = {"state": "not checked"}
        chain_text = "not checked (no --trust)"
    if issuer is None:
        issuer = next((c for c in [*given, *extra] if verify_issued_by(leaf, c)), None)
    rc = EXIT_CODES["ok"]
    if args.revocation == "off":
        doc["revocation"] = {"state": "not checked"}
        revocation_text = "not checked (--revocation off)"
    elif issuer is None:
        doc["revocation"] = {"state": "unknown", "why": "the issuer's certificate is not available"}
        revocation_text = "unknown: the issuer's certificate is not available (--issuer, --chain or --trust)"
        bad = bad or args.require_status
    else:
        try:
            status = check_revocation(leaf, issuer, method=args.revocation, at=now, timeout=args.timeout,
                                      allow_https=args.allow_https)
            doc["revocation"] = {
                "state": status.state.value, "method": status.method, "source": status.source,
                "reason": status.reason.value if status.reason else None,
                "revocation_time": _when(status.revocation_time), "why": status.why or None,
                "next_update": _when(status.next_update),
            }
            revocation_text = status.describe()
            bad = bad or status.revoked or (status.unknown and args.require_status)
        except RevocationError as exc:
            doc["revocation"] = {"state": "error", "error": str(exc)}
            revocation_text = f"ERROR: {exc}"
            if isinstance(exc, RevocationFetchError):
                rc = EXIT_CODES["network"]
            else:
                bad = True
    # the CA certificates of a validated path (the trust anchor excepted), each against its own issuer: a revoked
    # intermediate makes the certificate unfit too. Their unknown status is shown, not held against the certificate.
    ca_lines: list[str] = []
    if args.revocation != "off" and len(path) > 2 and doc["revocation"].get("state") != "revoked":
        try:
            statuses = check_chain_revocation(path[1:], method=args.revocation, at=now, timeout=args.timeout,
                                              allow_https=args.allow_https)
            doc["chain_revocation"] = [
                {"subject": c.subject.rfc4514_string(), "state": st.state.value, "method": st.method,
                 "source": st.source, "reason": st.reason.value if st.reason else None,
                 "revocation_time": _when(st.revocation_time), "why": st.why or None}
                for c, st in zip(path[1:], statuses)]
            ca_lines = [f"{_name(c)}: {st.describe()}" for c, st in zip(path[1:], statuses)]
            bad = bad or any(st.revoked for st in statuses)
        except RevocationError as exc:
            doc["chain_revocation"] = {"state": "error", "error": str(exc)}
            ca_lines = [f"ERROR: {exc}"]
            if isinstance(exc, RevocationFetchError):
                rc = EXIT_CODES["network"]
            else:
                bad = True
    if bad:
        rc = EXIT_CODES["error"]
    doc["ok"] = rc == EXIT_CODES["ok"]
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"certificate  {_name(leaf)} (serial {leaf.serial_number:x})")
        print(f"issuer       {_shown(leaf.issuer.rfc4514_string()) or '<empty>'}")
        print(f"validity     {expiry}")
        print(f"chain        {chain_text}")
        print(f"revocation   {revocation_text}")
        for line in ca_lines:
            print(f"CA           {line}")
    return rc

cmd_status = run  # the name the command line dispatches to
