"""Run an :class:`EstTestServer` in the foreground: ``python -m estclient.testing [options]``.

It prints the URL and credentials, writes the CA certificate (the trust anchor) to ``--ca-out``,
and serves until interrupted. Everything is throwaway: a new CA is made at every start.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .server import EstTestServer


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m estclient.testing", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: any free port)")
    p.add_argument("--auth", choices=["basic", "digest", "cert", "none"], default="basic")
    p.add_argument("--user", default="estuser")
    p.add_argument("--password", default=None, help="default: a random one, printed at start")
    p.add_argument("--label", action="append", default=[], help="CA label (repeatable)")
    p.add_argument("--pending", type=int, default=None, metavar="SECONDS",
                   help="answer the first request of each key with 202 and this Retry-After")
    p.add_argument("--channel-binding", action="store_true", help="require tls-unique in the CSR (TLS 1.2)")
    p.add_argument("--tls13-only", action="store_true")
    p.add_argument("--kek", action="append", default=[], metavar="ID_HEX:KEY_HEX",
                   help="a KEK for encrypted server-side key generation (repeatable)")
    p.add_argument("--cert-lifetime", type=float, default=30 * 86400, metavar="SECONDS")
    p.add_argument("--ca-out", default="est-test-ca.pem", help="where to write the trust anchor PEM")
    p.add_argument("--digest-algorithm", choices=["MD5", "SHA-256"], default="SHA-256",
                   help="HTTP Digest algorithm with --auth digest (libest and Bouncy Castle speak MD5)")
    p.add_argument("--server-key-type", choices=["ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "ed25519"],
                   default=None, help="key type of server-generated keys (default: the CSR key's family)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="one line per request on stderr: method, path, status, auth, bytes, milliseconds")
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
            server_keygen_key_type=args.server_key_type, verbose=args.verbose,
        )
    except ValueError as exc:
        p.error(str(exc))
    with srv:
        with open(args.ca_out, "wb") as fh:
            fh.write(srv.trust_anchor_pem)
        print(f"EST server   {srv.url}/.well-known/est/", flush=True)
        for label in srv.ca_labels:
            print(f"  label      {srv.url}/.well-known/est/{label}/")
        print(f"trust anchor {os.path.abspath(args.ca_out)}")
        print(f"CA SHA-256   {srv.ca_fingerprint_sha256.hex()}")
        if srv.auth in ("basic", "digest"):
            print(f"credentials  {srv.username} / {srv.password} ({srv.auth})")
        print("Ctrl-C stops it.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
