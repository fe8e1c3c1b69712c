"""Run an :class:`EstTestServer` in the foreground: ``python -m estclient.testing [options]``.

It prints the URL and credentials, writes the CA certificate (the trust anchor) to ``--ca-out``,
and serves until interrupted. Everything is throwaway: a new CA is made at every start.
"""
from __future__ import annotations

import argparse
import os
import sys

from .._stop import stop_on_sigterm, wait_for_stop
from .server import EstTestServer


def main(argv: list[str] | None = None) -> int:
    """Run an EstTestServer in the foreground with the ``est testserver`` options; returns the exit status."""
    from ..cli import add_testserver_options

    p = argparse.ArgumentParser(prog="python -m estclient.testing", description=__doc__.splitlines()[0])
    add_testserver_options(p)  # the options `est testserver` has too
    p.add_argument("--pending", type=int, default=None, metavar="SECONDS",
                   help="answer the first request of each key with 202 and this Retry-After")
    p.add_argument("--tls13-only", action="store_true")
    p.add_argument("--revocation", action="store_true",
                   help="serve a CRL and an OCSP responder over HTTP and name them in issued certificates")
    p.add_argument("--ca-out", default="est-test-ca.pem", help="where to write the trust anchor PEM")
    args = p.parse_args(argv)
    keks = {}
    for item in args.kek:
        kid, _, key = item.partition(":")
        try:
            keks[bytes.fromhex(kid)] = bytes.fromhex(key)
        except ValueError:
            p.error(f"--kek wants ID_HEX:KEY_HEX, got {item!r}")
    try:
        srv = EstTestServer(
            port=args.port, auth=None if args.auth == "none" else args.auth, username=args.user,
            password=args.password, ca_label=args.label or None, pending_retry_after=args.pending,
            require_channel_binding=args.channel_binding, tls_min_version="1.3" if args.tls13_only else None,
            server_keygen_keks=keks, cert_lifetime=args.cert_lifetime, digest_algorithm=args.digest_algorithm,
            server_keygen_key_type=args.server_key_type, verbose=args.verbose, revocation=args.revocation,
        )
    except ValueError as exc:
        p.error(str(exc))
    with stop_on_sigterm() as stop, srv:   # SIGTERM handled from before the first line is printed
        with open(args.ca_out, "wb") as fh:
            fh.write(srv.trust_anchor_pem)
        print(f"EST server   {srv.url}/.well-known/est/", flush=True)
        for label in srv.ca_labels:
            print(f"  label      {srv.url}/.well-known/est/{label}/")
        print(f"trust anchor {os.path.abspath(args.ca_out)}")
        if srv.revocation is not None:
            print(f"CRL          {srv.revocation.crl_url}")
            print(f"OCSP         {srv.revocation.ocsp_url}")
            print(f"revoke       curl --data-binary @CERT.pem {srv.revocation.url}/admin/revoke")
        print(f"CA SHA-256   {srv.ca_fingerprint_sha256.hex()}")
        if srv.auth in ("basic", "digest"):
            print(f"credentials  {srv.username} / {srv.password} ({srv.auth})")
        print("Ctrl-C stops it.", flush=True)
        wait_for_stop(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
