"""Speed of models compiled from RFC 5280's ASN.1 (estcodec.asn1) against the hand-written estcodec.x509.

Usage::

    python benchmarks/bench_asn1_compile.py            # table of µs per certificate over certifi's roots
    python benchmarks/bench_asn1_compile.py --quick    # fewer passes

Rows: ``Certificate.from_der`` of estcodec.x509; of the classes compiled from tests/vectors/asn1-modules/
rfc5280.asn (PKIX1Explicit88 + PKIX1Implicit88); each followed by reading the fields a user reads (serial,
subject and issuer DER, validity, key algorithm, extension ids and values); and asn1tools' own DER codec
compiled from the same modules, for scale. Timing as benchmarks/run.py: one untimed pass, then a fixed number
of passes per repeat with the garbage collector off, repeats round-robin over the rows, the best repeat
reported; process CPU time (steadier on a shared machine). Target of issue 15: compiled within 1.2x of x509.
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RFC5280 = ROOT / "tests" / "vectors" / "asn1-modules" / "rfc5280.asn"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)

    import warnings

    warnings.simplefilter("ignore")
    import certifi

    from estcodec import asn1, pem
    from estcodec.x509 import Certificate

    with open(certifi.where(), encoding="ascii") as fh:
        ders = [d for label, d in pem.decode(fh.read()) if label == "CERTIFICATE"]
    ns = asn1.compile([str(RFC5280)])
    compiled = ns.Certificate

    def x509_decode():
        for d in ders:
            Certificate.from_der(d)

    def compiled_decode():
        for d in ders:
            compiled.from_der(d)

    def x509_read():
        for d in ders:
            c = Certificate.from_der(d)
            c.serial_number, c.subject.to_der(), c.issuer.to_der(), c.not_before, c.not_after
            c.public_key_info.algorithm_oid
            [(e.oid, e.value) for e in c.extensions]

    def compiled_read():
        for d in ders:
            t = compiled.from_der(d).tbs_certificate
            t.serial_number, t.subject.to_der(), t.issuer.to_der()
            v = t.validity
            v.not_before.value, v.not_after.value
            t.subject_public_key_info.algorithm.algorithm
            [(e.extn_id, e.extn_value) for e in t.extensions or ()]

    rows = [("estcodec.x509 from_der", x509_decode, 200), ("compiled RFC 5280 from_der", compiled_decode, 200),
            ("estcodec.x509 from_der + read fields", x509_read, 100),
            ("compiled RFC 5280 from_der + read fields", compiled_read, 100)]
    try:
        import asn1tools

        spec = asn1tools.compile_files([str(RFC5280)], "der")

        def asn1tools_decode():
            for d in ders:
                spec.decode("Certificate", d)

        rows.append(("asn1tools DER decode (same modules)", asn1tools_decode, 3))
    except ImportError:
        pass
    if args.quick:
        rows = [(n, f, max(1, p // 5)) for n, f, p in rows]
    best = {n: float("inf") for n, _, _ in rows}
    for _, f, _ in rows:
        f()
    for _ in range(args.repeat):
        for name, f, passes in rows:
            gc.disable()
            try:
                t0 = time.process_time()
                for _ in range(passes):
                    f()
                dt = time.process_time() - t0
            finally:
                gc.enable()
            best[name] = min(best[name], dt / passes / len(ders) * 1e6)
    print(f"{len(ders)} certifi roots, Python {sys.version.split()[0]}, best of {args.repeat}, CPU time")
    print(f"{'case':45s} {'µs/cert':>9s} {'ratio':>7s}")
    for name, _, _ in rows:
        ref = best["estcodec.x509 from_der + read fields" if "read" in name else "estcodec.x509 from_der"]
        if name.startswith("asn1tools"):
            ref = best["estcodec.x509 from_der"]
        print(f"{name:45s} {best[name]:9.2f} {best[name] / ref:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
