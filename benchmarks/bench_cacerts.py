"""Benchmark (not a test): validation of a /cacerts set (issue #12, finding 8).

    python benchmarks/bench_cacerts.py [--n 1000] [--chain 80]

(1) ``--n`` CA certificates (a root, 10 first-level CAs, the rest below them) in server, reversed and shuffled
order, validated by ``estclient._cacerts.validate_ca_set`` (indexed path finding + cryptography's
x509.verification on each path). (2) A chain of ``--chain`` CAs sent leaf-most first, the shape that made the
previous loop cubic: the previous loop (kept here for comparison, signatures only) against the new code, which
refuses the chain (longer than cryptography's depth limit of 8) after a linear number of checks.

Prints wall seconds and signature checks (counted through ``_cacerts.verify_issued_by``), and the machine.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from estclient import _cacerts
from estclient.errors import ProtocolError

NOW = dt.datetime.now(dt.timezone.utc)
SHARED_KEY = ec.generate_private_key(ec.SECP256R1())


def ca(cn: str, issuer=None, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    icert, ikey = issuer if issuer else (None, key)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    b = (
        x509.CertificateBuilder().subject_name(name).issuer_name(icert.subject if icert else name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(minutes=5)).not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if icert is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ikey.public_key()), critical=False)
    return b.sign(ikey, hashes.SHA256()), key


def _signature_only(cert, issuer) -> bool:
    """What the previous loop checked: the signature with the candidate's key, names not compared (EC here)."""
    Count.n += 1
    try:
        issuer.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        return True
    except Exception:
        return False


def previous_loop(accepted, others):
    """The loop this replaces (flows.validate_ca_set before issue #12): signatures only, rescanned each pass."""
    good, pending = [accepted], [c for c in others if c is not accepted]
    progress = True
    while pending and progress:
        progress = False
        for c in list(pending):
            if any(_signature_only(c, g) for g in good):
                good.append(c)
                pending.remove(c)
                progress = True
    return good


class Count:
    n = 0


_real = _cacerts.verify_issued_by


def _counted(cert, issuer):
    Count.n += 1
    return _real(cert, issuer)


_cacerts.verify_issued_by = _counted


def timed(fn):
    Count.n = 0
    t = time.perf_counter()
    try:
        out = fn()
    except ProtocolError as exc:
        out = f"refused ({str(exc)[:60]}...)"
    return time.perf_counter() - t, Count.n, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--chain", type=int, default=80)
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"CPython {platform.python_version()}")
    root = ca("Root")
    level1 = [ca(f"L1 {i}", root) for i in range(10)]
    certs = [root[0]] + [c for c, _ in level1] + [ca(f"L2 {i}", level1[i % 10], SHARED_KEY)[0]
                                                  for i in range(args.n - 11)]
    orders = {"server": certs, "reversed": certs[::-1], "shuffled": random.Random(1).sample(certs, len(certs))}
    for label, seq in orders.items():
        secs, checks, out = timed(lambda: _cacerts.validate_ca_set([root[0]], seq))
        print(f"{args.n} CAs, {label:8s} order: {secs:6.3f} s, {checks} signature checks, "
              f"{len(out) if isinstance(out, list) else out} validated")
    chain = [ca("Chain root")]
    for i in range(args.chain - 1):
        chain.append(ca(f"Chain {i}", chain[-1]))
    rev = [c for c, _ in chain][::-1]
    secs, checks, out = timed(lambda: previous_loop(chain[0][0], rev))
    print(f"chain of {args.chain}, reversed, previous loop: {secs:6.3f} s, {checks} signature checks")
    secs, checks, out = timed(lambda: _cacerts.validate_ca_set([chain[0][0]], rev))
    print(f"chain of {args.chain}, reversed, validate_ca_set: {secs:6.3f} s, {checks} signature checks, {out}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
