"""A 1,000,000-entry CRL: estcodec.crl against cryptography, in one run.

Usage::

    python benchmarks/bench_crl.py             # makes benchmarks/corpus/crl_1m.der once (about 30 MB, cached)
    python benchmarks/bench_crl.py --entries 100000 --repeats 2   # a smaller CRL (its own cache file)

Cases (each a fresh parse of the same bytes, so nothing is reused between calls):

* parse + lookup of one serial: ``CertificateList.from_der(data).get_revoked(s)`` against cryptography's
  ``load_der_x509_crl(data).get_revoked_certificate_by_serial_number(s)``, for a serial near the end of the list
  and for one that is absent (the whole list is searched);
* parse + iterate every entry, reading its serial number and revocation date.

Time: process CPU time, best of ``--repeats``. Memory: tracemalloc peak of each case on top of the input bytes
(estcodec only: cryptography allocates in Rust, which tracemalloc does not see). Targets of issue
15: estcodec >= 5x faster than cryptography; estcodec's peak (input included) <= 2x the input.

The CRL: random 88-bit serials (11 content octets, first bit clear), UTCTime dates, one entry in ten with a
reasonCode extension, signed with a P-256 key; generated with estcodec's own CertificateListBuilder.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import random
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def make_crl(n: int) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ec

    from estcodec.crl import CertificateListBuilder, CRLReason
    from estcodec.x509 import Name

    rng = random.Random(15)
    key = ec.derive_private_key(0x15151515, ec.SECP256R1())
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    b = (CertificateListBuilder().issuer(Name.build([("2.5.4.3", "Benchmark CRL CA"), ("2.5.4.10", "estcodec")]))
         .this_update(now).next_update(now + dt.timedelta(days=7)).crl_number(1))
    for i in range(n):
        serial = rng.getrandbits(87) | (1 << 86)
        when = now - dt.timedelta(seconds=rng.randrange(86400 * 700))
        b.add_revoked(serial, when, reason=CRLReason.KEY_COMPROMISE if i % 10 == 0 else None)
    return b.sign(key).to_der()


def load_or_make(n: int) -> bytes:
    path = CORPUS / ("crl_1m.der" if n == 1_000_000 else f"crl_{n}.der")
    if path.exists():
        return path.read_bytes()
    CORPUS.mkdir(exist_ok=True)
    t = time.perf_counter()
    data = make_crl(n)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    print(f"generated {path.name}: {len(data):,} bytes in {time.perf_counter() - t:.1f} s", flush=True)
    return data


def measure(fn, repeats: int, trace: bool = True) -> tuple[float, int]:
    """(best CPU seconds, tracemalloc peak bytes or 0 when not traced) of fn()."""
    fn()  # warm-up, and a check that it works
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeats):
            t = time.process_time()
            fn()
            best = min(best, time.process_time() - t)
    finally:
        gc.enable()
    gc.collect()
    if not trace:
        return best, 0
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return best, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from cryptography import __version__ as crypto_version
    from cryptography import x509

    import estcodec
    from estcodec.crl import CertificateList

    data = load_or_make(args.entries)
    crl = CertificateList.from_der(data)
    entries = list(crl.revoked_certificates.offsets())
    n = len(entries)
    near_end = CertificateList.from_der(data)
    probe = None
    for i, entry in enumerate(near_end):
        if i == n - n // 10:
            probe = entry.serial_number
            break
    absent = 12345  # below every generated serial
    assert crl.get_revoked(absent) is None

    def est_lookup():
        r = CertificateList.from_der(data).get_revoked(probe)
        assert r is not None

    def crypto_lookup():
        r = x509.load_der_x509_crl(data).get_revoked_certificate_by_serial_number(probe)
        assert r is not None

    def est_absent():
        assert CertificateList.from_der(data).get_revoked(absent) is None

    def crypto_absent():
        assert x509.load_der_x509_crl(data).get_revoked_certificate_by_serial_number(absent) is None

    def est_iterate():
        k = 0
        for r in CertificateList.from_der(data):
            r.serial_number, r.revocation_date
            k += 1
        assert k == n

    def crypto_iterate():
        k = 0
        for r in x509.load_der_x509_crl(data):
            r.serial_number, r.revocation_date_utc
            k += 1
        assert k == n

    def est_parse():
        CertificateList.from_der(data)

    def crypto_parse():
        x509.load_der_x509_crl(data)

    print("estcodec CRL benchmark (benchmarks/bench_crl.py)")
    print(f"  machine : {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"  python  : {platform.python_implementation()} {platform.python_version()}; estcodec "
          f"{estcodec.__version__}; cryptography {crypto_version}")
    print(f"  load    : {os.getloadavg()} at start (other work on the machine makes every figure noisier)")
    print(f"  input   : {len(data):,} bytes, {n:,} revoked entries; CPU time, best of {args.repeats}")
    print()
    print(f"  {'case':44} {'estcodec':>12} {'cryptography':>13} {'ratio':>7}   est. peak/input")
    rows = [("parse only", est_parse, crypto_parse),
            ("parse + lookup of one serial (90% down)", est_lookup, crypto_lookup),
            ("parse + lookup of an absent serial", est_absent, crypto_absent),
            ("parse + iterate (serial, date) of each entry", est_iterate, crypto_iterate)]
    for label, ours, theirs in rows:
        t_ours, peak_ours = measure(ours, args.repeats)
        t_theirs, _ = measure(theirs, args.repeats, trace=False)
        ratio = t_theirs / t_ours
        print(f"  {label:44} {t_ours * 1e3:9.1f} ms {t_theirs * 1e3:10.1f} ms {ratio:6.1f}x   "
              f"{(len(data) + peak_ours) / len(data):.2f} (+{peak_ours / 1e6:.1f} MB)", flush=True)
    print()
    print("  targets: ratio >= 5 (cryptography time / estcodec time); estcodec peak/input <= 2")


if __name__ == "__main__":
    sys.exit(main())
