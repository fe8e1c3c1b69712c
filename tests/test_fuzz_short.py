"""Runs the fuzz harnesses' invariants (fuzz/fuzz_*.py) without atheris for a fixed number of inputs per
harness: seeds from tests/vectors, their truncated prefixes, seeded random mutations (fuzz/run_short.py). No clock
is involved, so a loaded machine runs the same inputs, only slower. Set ESTCODEC_FUZZ_INPUTS and ESTCODEC_FUZZ_SEED
to run more inputs or other mutations (long time-boxed runs: ``python fuzz/run_short.py --seconds N``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "fuzz"
sys.path.insert(0, str(FUZZ))

import run_short  # noqa: E402

INPUTS = int(os.environ.get("ESTCODEC_FUZZ_INPUTS", "150000"))
SEED = int(os.environ.get("ESTCODEC_FUZZ_SEED", str(run_short.DEFAULT_SEED)))


def test_short_fuzz_run_keeps_every_invariant():
    lines: list[str] = []
    report = run_short.run(seconds=None, executions=INPUTS, seed=SEED, save=False, log=lines.append)
    print("\n".join(lines))
    assert set(report.executions) == {"der", "pem"}
    assert report.seeds["der"] >= 300 and report.seeds["pem"] >= 50
    assert all(n >= INPUTS for n in report.executions.values()), report.executions
    assert report.ok, "\n".join(f"{f.harness}: {f.signature}\n  input: {f.data[:200].hex()}" for f in report.failures)


def test_harness_reports_foreign_exceptions(monkeypatch):
    # the invariant check must not swallow anything but DecodeError
    (der_harness,) = run_short.load_harnesses(["der"])

    def broken_parse(data, *, ber=False):
        raise IndexError("boom")

    monkeypatch.setattr(der_harness.der, "parse", broken_parse)
    with pytest.raises(IndexError):
        der_harness.check_one(b"\x30\x00")


def test_harness_checks_reencoding(monkeypatch):
    (der_harness,) = run_short.load_harnesses(["der"])
    real_parse = der_harness.der.parse

    class Liar:
        def __init__(self, el):
            self._el = el

        def __getattr__(self, name):
            return getattr(self._el, name)

        def to_der(self):
            return self._el.to_der() + b"\x00"

    monkeypatch.setattr(der_harness.der, "parse", lambda data, *, ber=False: Liar(real_parse(data, ber=ber)))
    with pytest.raises(AssertionError):
        der_harness.check_one(b"\x30\x03\x02\x01\x05")


def test_prefix_sampling_is_bounded():
    assert len(list(run_short.prefixes(bytes(100)))) == 100
    big = list(run_short.prefixes(bytes(100_000)))
    assert len(big) <= run_short.SAMPLED_PREFIXES + 128
    assert big[0] == b"" and len(big[-1]) == 99_999


def test_mutations_are_deterministic_for_a_seed():
    import random

    seeds = [bytes.fromhex("30 06 02 01 05 01 01 ff"), bytes.fromhex("04 03 01 02 03")]
    ra, rb = random.Random(3), random.Random(3)
    a = [run_short.mutate(ra, seeds[0], seeds) for _ in range(50)]
    b = [run_short.mutate(rb, seeds[0], seeds) for _ in range(50)]
    assert a == b and len(set(a)) > 1
