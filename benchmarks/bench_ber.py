"""BER normalisation of large hostile inputs: time and peak memory (issue 12 finding 6, issue 14's last target).

    python benchmarks/bench_ber.py                 # 1 and 10 MiB of each shape
    python benchmarks/bench_ber.py --sizes 10      # only 10 MiB
    python benchmarks/bench_ber.py --tree          # also the element-tree path (parse(ber=True).to_der()), at
                                                   # 1 MiB only: it needs about 90x the input

For each input shape and size it prints the best of ``--repeat`` CPU times (``time.process_time``: the
machines it runs on are shared, and CPU time is what a hostile input costs) of ``der.normalize_ber`` (no
tracing) and, in a separate call, its tracemalloc peak as a multiple of the input size; then the same for the
decoders that read BER (``cms.parse_certs_only``, ``enveloped.parse_enveloped_data``). Target: peak under 10x
the input, time linear in it (the ns/byte column stays flat as the size grows).

Measured 2026-12-04 (2-core AMD EPYC, CPython 3.11.7, machine shared and loaded; CPU seconds, best of 1), 10 MiB:

    shape                normalize_ber        parse_certs_only     parse_enveloped_data
    empty-sequences      0.079 s   2.0x       0.078 s   2.0x       0.148 s   2.0x
    deep-nesting         0.080 s   2.0x       0.081 s   2.0x       0.166 s   2.0x
    deep-chains          0.049 s   1.5x       0.048 s   1.5x       0.091 s   1.5x
    octet-chunks         0.033 s   1.3x       0.033 s   1.3x       0.034 s   1.3x
    nested-octet-chunks  0.032 s   1.3x       0.033 s   1.3x       0.033 s   1.3x
    bit-chunks           0.030 s   1.3x       0.031 s   1.3x       0.031 s   1.3x
    short-times          1.196 s   3.3x       1.127 s   3.3x       1.156 s   3.3x

ns/byte at 1 MiB and 10 MiB agree within 8% on every line (linear). Before (element tree, 1 MiB of empty
SEQUENCEs): normalize_ber and parse_certs_only peaked at 90x the input, parse_enveloped_data at 178x.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from estcodec import Error, der  # noqa: E402
from estcodec.cms import parse_certs_only  # noqa: E402
from estcodec.enveloped import parse_enveloped_data  # noqa: E402

MIB = 1 << 20
TARGET_RATIO = 10.0


def _shapes() -> dict[str, Callable[[int], bytes]]:
    import test_ber_memory as t

    return {"empty-sequences": t.empty_sequences, "deep-nesting": t.deep_nesting, "deep-chains": t.deep_chains,
            "octet-chunks": t.octet_chunks, "nested-octet-chunks": t.nested_octet_chunks,
            "bit-chunks": t.bit_chunks, "short-times": t.short_times}


def _call(fn: Callable[[bytes], object], data: bytes) -> None:
    try:
        fn(data)
    except Error:
        pass


def best_time(fn: Callable[[bytes], object], data: bytes, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        _call(fn, data)
        best = min(best, time.process_time() - t0)
    return best


def peak_ratio(fn: Callable[[bytes], object], data: bytes) -> float:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        _call(fn, data)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak / len(data)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=float, nargs="+", default=[1, 10], help="input sizes in MiB")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--tree", action="store_true", help="also time the element-tree path at 1 MiB")
    p.add_argument("--no-decoders", action="store_true")
    args = p.parse_args(argv)
    print(f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    targets: list[tuple[str, Callable[[bytes], object]]] = [("normalize_ber", der.normalize_ber)]
    if not args.no_decoders:
        targets += [("parse_certs_only", parse_certs_only), ("parse_enveloped_data", parse_enveloped_data)]
    worst = 0.0
    print(f"{'shape':22s} {'MiB':>5s} {'function':22s} {'cpu s':>8s} {'ns/byte':>8s} {'peak':>7s}")
    for shape, make in _shapes().items():
        for mib in args.sizes:
            data = make(int(mib * MIB))
            for name, fn in targets:
                secs = best_time(fn, data, args.repeat)
                ratio = peak_ratio(fn, data)
                worst = max(worst, ratio)
                print(f"{shape:22s} {len(data) / MIB:5.1f} {name:22s} {secs:8.3f} {secs / len(data) * 1e9:8.1f} "
                      f"{ratio:6.1f}x", flush=True)
        if args.tree:
            data = make(MIB)
            tree = lambda d: der.parse(d, ber=True).to_der()  # noqa: E731
            secs = best_time(tree, data, 1)
            print(f"{shape:22s} {len(data) / MIB:5.1f} {'tree (old path)':22s} {secs:8.3f} "
                  f"{secs / len(data) * 1e9:8.1f} {peak_ratio(tree, data):6.1f}x", flush=True)
    print(f"worst peak {worst:.1f}x the input (target < {TARGET_RATIO:.0f}x): {'pass' if worst < TARGET_RATIO else 'short'}")
    return 0 if worst < TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
