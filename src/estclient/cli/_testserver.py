"""``est testserver``: the reference EST server (:class:`estclient.testing.EstTestServer`) in the foreground."""
from __future__ import annotations

import argparse
import os

from .._stop import stop_on_sigterm, wait_for_stop
from ._errors import EXIT_OK, EXIT_USAGE, CliError
from ._files import PUBLIC_MODE, check_writable, write_file

__all__ = ["cmd_testserver"]


def cmd_testserver(args: argparse.Namespace) -> int:
    """Run EstTestServer in the foreground until Ctrl-C or SIGTERM."""
    from ..testing import EstTestServer

    keks: dict[bytes, bytes] = {}
    for item in args.kek:
        kid, _, key = item.partition(":")
        try:
            keks[bytes.fromhex(kid)] = bytes.fromhex(key)
        except ValueError:
            raise CliError(EXIT_USAGE, f"--kek wants ID_HEX:KEY_HEX, got {item!r}") from None
    if args.ca_out:
        check_writable([args.ca_out], force=args.force)
    try:
        srv = EstTestServer(
            port=args.port, auth=None if args.auth == "none" else args.auth, username=args.user,
            password=args.password, ca_label=args.label or None, pending_retry_after=args.pending,
            require_channel_binding=args.channel_binding, server_keygen_keks=keks,
            cert_lifetime=args.cert_lifetime, digest_algorithm=args.digest_algorithm,
            server_keygen_key_type=args.server_key_type, verbose=args.verbose, revocation=args.revocation,
            reenroll_with_credentials=args.reenroll_with_credentials,
        )
    except ValueError as exc:
        raise CliError(EXIT_USAGE, str(exc)) from None
    with stop_on_sigterm() as stop, srv:
        if args.ca_out:
            write_file(args.ca_out, srv.trust_anchor_pem, mode=PUBLIC_MODE, force=args.force)
        fp = srv.ca_fingerprint_sha256.hex()
        print(f"EST test server  {srv.url}/.well-known/est/", flush=True)
        for label in srv.ca_labels:
            print(f"  CA label       {srv.url}/.well-known/est/{label}/")
        print(f"CA SHA-256       {fp}")
        if args.ca_out:
            print(f"trust anchor     {os.path.abspath(args.ca_out)}")
        if srv.auth in ("basic", "digest"):
            print(f"credentials      {srv.username} / {srv.password} ({srv.auth})")
            if srv.auth == "digest":
                print(f"digest algorithm {args.digest_algorithm}")
        else:
            print(f"authentication   {srv.auth or 'none'}")
        if srv.revocation is not None:
            print(f"CRL              {srv.revocation.crl_url}")
            print(f"OCSP             {srv.revocation.ocsp_url}")
            print(f"revoke           curl --data-binary @CERT.pem {srv.revocation.url}/admin/revoke")
        if args.reenroll_with_credentials:
            print("reenroll         also with HTTP credentials and no TLS client certificate")
        if args.pending is not None:
            print(f"pending          first request of each key answered 202, Retry-After {args.pending:g}")
        print("try it:          est cacerts --server " + srv.url + f" --bootstrap-fingerprint {fp}")
        print("Ctrl-C stops it.", flush=True)
        wait_for_stop(stop)
    print("stopped.", flush=True)
    return EXIT_OK
