"""A steady loop over one benchmark case, to be profiled from outside (not a benchmark itself).

    perf record -o perf.data python benchmarks/profile_loop.py extension-seqof --seconds 20
    perf report -i perf.data --no-children --stdio

Cases: ``extension-seqof`` (every certificate's extensions decoded as one SEQUENCE OF Extension with the
schema engine; the run behind the profile quoted in docs/benchmarks.md), ``extension`` (Extension.from_der per
value), ``x509`` (estcodec.x509.Certificate.from_der per root), ``parse`` (estcodec.der.parse per root),
``csr`` (the CSR line of run.py: load, subject as RFC 4514, extension values, per CSR).

``--passes N`` runs a fixed number of passes instead of a time, for instruction counts that do not depend on the
machine's speed (the difference of two runs is the loop's own cost)::

    valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes --cachegrind-out-file=cg.0 \
        python benchmarks/profile_loop.py csr --passes 0
    valgrind ... --cachegrind-out-file=cg.20 python benchmarks/profile_loop.py csr --passes 20
    cg_diff cg.0 cg.20 > cg.diff && cg_annotate --show=Ir,I1mr,Bcm --sort=Ir cg.diff
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (benchmarks/run.py)


def _work(case: str):
    corpus = run.Corpus.load()
    if case == "extension-seqof":
        from estcodec._der import decode
        from estcodec.schema import SequenceOf

        spec = SequenceOf[run._schema_extension_model()]
        lists = [run._sequence_of(g) for g in run._per_cert([run._extension_ders(r) for r in corpus.roots])]
        return lambda: [decode(spec, d) for d in lists]
    if case == "extension":
        from_der = run._schema_extension_model().from_der
        return lambda: [from_der(e) for e in corpus.extensions]
    if case == "x509":
        from estcodec.x509 import Certificate

        return lambda: [Certificate.from_der(r) for r in corpus.roots]
    if case == "parse":
        from estcodec.der import parse

        return lambda: [parse(r) for r in corpus.roots]
    if case == "csr":
        from estcodec.pkcs10 import CertificationRequest

        from_der, read = CertificationRequest.from_der, run.estcodec_csr_read
        return lambda: [read(from_der(d)) for d in corpus.csrs]
    raise SystemExit(f"unknown case {case!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=["extension-seqof", "extension", "x509", "parse", "csr"])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--passes", type=int, default=None, help="run this many passes (after one untimed) instead")
    args = ap.parse_args()
    work = _work(args.case)
    if args.passes is not None:
        work()      # the first pass builds caches; the difference of two --passes runs leaves it out
        for _ in range(args.passes):
            work()
        print(f"{args.passes} passes of {args.case}", file=sys.stderr)
        return 0
    end = time.monotonic() + args.seconds
    passes = 0
    while time.monotonic() < end:
        for _ in range(50):
            work()
        passes += 50
    print(f"{passes} passes of {args.case}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
