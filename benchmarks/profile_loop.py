"""A steady loop over one benchmark case, to be profiled from outside (not a benchmark itself).

    perf record -o perf.data python benchmarks/profile_loop.py extension-seqof --seconds 20
    perf report -i perf.data --no-children --stdio

Cases: ``extension-seqof`` (every certificate's extensions decoded as one SEQUENCE OF Extension with the
schema engine; the run behind the profile quoted in docs/benchmarks.md), ``extension`` (Extension.from_der per
value), ``x509`` (estcodec.x509.Certificate.from_der per root), ``parse`` (estcodec.der.parse per root).
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
    raise SystemExit(f"unknown case {case!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=["extension-seqof", "extension", "x509", "parse"])
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    work = _work(args.case)
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
