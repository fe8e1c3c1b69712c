"""Short, bounded fuzzing without atheris: each harness's invariant on its seeds, every truncated prefix of
them, and random mutations, for a fixed time. Meant for CI (well under a minute) and for a quick local check.

    python fuzz/run_short.py                   # 30 s over all harnesses
    python fuzz/run_short.py --seconds 300 --seed 7 --harness der

Harnesses are the ``fuzz/fuzz_*.py`` modules; each defines ``NAME``, ``check_one(data)`` (raises when the
invariant is broken), ``SEED_EXTENSIONS`` and ``MAX_MUTATION_INPUT``, and may define ``GROUP`` (default
``"core"``: der, pem; the model and protocol harnesses say ``"models"``) and ``collect_seeds()``. Seeds come
from ``fuzz/corpus/NAME`` when ``make_seeds.py`` / ``make_model_seeds.py`` have filled it, else from the
harness's ``collect_seeds()``, else straight from tests/vectors. ``run()`` and ``load_harnesses()`` take
the core group by default (what tests/test_fuzz_short.py budgets for); ``--group all`` on the command line.
Inputs that break an invariant are
written to ``fuzz/crashes/`` and listed; the exit status is 1 if there was any.

Prefixes: all of them for seeds up to 4 KiB, an evenly spread sample of 512 (plus the first and last 64) for
bigger ones, so that quadratic work stays bounded.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import math
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Callable

FUZZ_DIR = Path(__file__).resolve().parent
FULL_PREFIX_LIMIT = 4096
SAMPLED_PREFIXES = 512
INTERESTING = (0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x1F, 0x20, 0x24, 0x30, 0x31, 0x3F, 0x7F, 0x80, 0x81, 0x82,
               0x84, 0x88, 0x89, 0xA0, 0xBF, 0xFE, 0xFF)
DEFAULT_SEED = 20261127


@dataclass
class Failure:
    harness: str
    signature: str
    data: bytes
    error: str
    saved: Path | None = None


@dataclass
class Report:
    executions: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    seeds: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures


def harness_group(mod: ModuleType) -> str:
    return getattr(mod, "GROUP", "core")


def load_harnesses(names: list[str] | None = None, group: str | None = None) -> list[ModuleType]:
    """Harness modules by name; without names, those of ``group`` (None or "all": every harness)."""
    if str(FUZZ_DIR) not in sys.path:
        sys.path.insert(0, str(FUZZ_DIR))
    mods = []
    for path in sorted(FUZZ_DIR.glob("fuzz_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        mod = sys.modules.get(path.stem)
        if mod is None:
            mod = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = mod
            spec.loader.exec_module(mod)
        if names and mod.NAME not in names:
            continue
        if not names and group not in (None, "all") and harness_group(mod) != group:
            continue
        mods.append(mod)
    return mods


def load_seeds(mod: ModuleType, use_corpus: bool = True) -> list[bytes]:
    corpus = FUZZ_DIR / "corpus" / mod.NAME
    seeds: list[bytes] = []
    if use_corpus and corpus.is_dir():
        seeds = [p.read_bytes() for p in sorted(corpus.iterdir()) if p.is_file()]
    if not seeds and hasattr(mod, "collect_seeds"):
        seeds = list(mod.collect_seeds().values())
    if not seeds:
        sys.path.insert(0, str(FUZZ_DIR))
        import make_seeds

        seeds = list(make_seeds.collect(mod.NAME).values())
    # distinct, small first (prefix work is quadratic in size)
    unique = {hashlib.sha1(s).digest(): s for s in seeds}
    return sorted(unique.values(), key=len)


def _signature(exc: BaseException) -> str:
    msg = str(exc).splitlines()[0] if str(exc) else ""
    msg = re.sub(r"\b[0-9a-f]{8,}\b", "<hex>", msg)
    msg = re.sub(r"\d+", "N", msg)
    return f"{type(exc).__name__}: {msg[:160]}"


def prefixes(seed: bytes):
    n = len(seed)
    if n <= FULL_PREFIX_LIMIT:
        yield from (seed[:i] for i in range(n))
        return
    picks = set(range(64)) | set(range(n - 64, n))
    picks |= {i * n // SAMPLED_PREFIXES for i in range(SAMPLED_PREFIXES)}
    yield from (seed[:i] for i in sorted(picks))


def mutate(rng: random.Random, data: bytes, pool: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(10)
        n = len(buf)
        if op == 0 and n:  # flip a bit
            buf[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # interesting byte
            buf[rng.randrange(n)] = rng.choice(INTERESTING)
        elif op == 2:  # insert random bytes
            i = rng.randrange(n + 1)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif op == 3 and n > 1:  # delete a range
            i = rng.randrange(n)
            del buf[i:i + rng.randint(1, min(16, n - i))]
        elif op == 4 and n > 1:  # duplicate a range in place
            i = rng.randrange(n)
            j = min(n, i + rng.randint(1, 32))
            k = rng.randrange(n + 1)
            buf[k:k] = buf[i:j]
        elif op == 5 and n:  # truncate
            del buf[rng.randrange(n):]
        elif op == 6 and pool:  # splice in part of another input
            other = rng.choice(pool)
            if other:
                i = rng.randrange(len(other))
                piece = other[i:i + rng.randint(1, 64)]
                k = rng.randrange(n + 1)
                buf[k:k + rng.randint(0, len(piece))] = piece
        elif op == 7 and n > 2:  # make a length indefinite and add end-of-contents
            i = rng.randrange(1, n)
            buf[i] = 0x80
            k = rng.randrange(i, n + 1)
            buf[k:k] = b"\x00\x00"
        elif op == 8 and n > 2:  # long-form length with leading zeros in front of a short length
            i = rng.randrange(1, n)
            if buf[i] < 0x80:
                buf[i:i + 1] = bytes([0x80 | 2, 0, buf[i]])
        elif op == 9:  # wrap in constructed headers, definite or indefinite
            tag = rng.choice((0x30, 0x31, 0x24, 0xA0, 0x2C, 0x23))
            depth = rng.randint(1, 80)
            if rng.random() < 0.5:
                buf = bytearray(bytes([tag, 0x80]) * depth + bytes(buf) + b"\x00\x00" * depth)
            else:
                for _ in range(depth):
                    body = bytes(buf)
                    ln = len(body)
                    hdr = bytes([ln]) if ln < 0x80 else bytes([0x80 | ((ln.bit_length() + 7) // 8)]) + ln.to_bytes(
                        (ln.bit_length() + 7) // 8, "big")
                    buf = bytearray(bytes([tag]) + hdr + body)
    return bytes(buf)


def run(seconds: float | None = 30.0, seed: int = DEFAULT_SEED, harnesses: list[str] | None = None,
        max_failures: int = 20, save: bool = True, log: Callable[[str], None] = print,
        group: str | None = "core", executions: int | None = None, use_corpus: bool = True) -> Report:
    """``seconds`` is shared evenly by the harnesses; ``executions`` (optional) also stops each harness once it
    has checked that many inputs; ``use_corpus=False`` ignores fuzz/corpus/ (which long runs grow).

    ``seconds=None`` runs without a clock: each harness checks its seeds, their sampled prefixes and seeded
    mutations until it has checked ``executions`` inputs, so the same seed gives the same inputs on any machine,
    however loaded (what the tests use)."""
    if seconds is None and executions is None:
        raise ValueError("a run without a time budget needs an executions count")
    mods = load_harnesses(harnesses, group)
    report = Report()
    if not mods:
        log("no harnesses found")
        return report
    rng = random.Random(seed)
    per = math.inf if seconds is None else seconds / len(mods)
    seen_sigs: set[tuple[str, str]] = set()

    for mod in mods:
        deadline = time.monotonic() + per
        seeds = load_seeds(mod, use_corpus)
        report.seeds[mod.NAME] = len(seeds)
        count = 0

        def attempt(data: bytes) -> None:
            nonlocal count
            count += 1
            try:
                mod.check_one(data)
            except BaseException as exc:  # noqa: BLE001 - anything escaping is the finding
                if isinstance(exc, KeyboardInterrupt):
                    raise
                sig = _signature(exc)
                if (mod.NAME, sig) in seen_sigs:
                    return
                seen_sigs.add((mod.NAME, sig))
                f = Failure(mod.NAME, sig, data, repr(exc))
                if save:
                    out = FUZZ_DIR / "crashes"
                    out.mkdir(exist_ok=True)
                    f.saved = out / f"{mod.NAME}-{hashlib.sha1(data).hexdigest()[:16]}.bin"
                    f.saved.write_bytes(data)
                report.failures.append(f)
                log(f"[{mod.NAME}] INVARIANT BROKEN: {sig}\n    input ({len(data)} bytes): {data[:96].hex()}"
                    + ("..." if len(data) > 96 else "") + (f"\n    saved to {f.saved}" if f.saved else ""))

        # 1. every seed whole (always, whatever the time)
        for s in seeds:
            attempt(s)
        # 2. every truncated prefix (bounded by the time budget, or by the count in a clockless run)
        for s in seeds:
            if time.monotonic() > deadline or len(report.failures) >= max_failures:
                break
            if executions is not None and count >= executions:
                break
            for p in prefixes(s):
                attempt(p)
        # 3. random mutations until the budget is spent
        pool = [s for s in seeds if len(s) <= mod.MAX_MUTATION_INPUT] or [b""]
        small = [s for s in pool if len(s) <= 2048] or pool
        while time.monotonic() < deadline and len(report.failures) < max_failures:
            if executions is not None and count >= executions:
                break
            base = rng.choice(small if rng.random() < 0.7 else pool)
            attempt(mutate(rng, base, pool))
        report.executions[mod.NAME] = count
        log(f"[{mod.NAME}] {len(seeds)} seeds, {count} executions, "
            f"{sum(1 for f in report.failures if f.harness == mod.NAME)} distinct failures")
    models = sys.modules.get("_models")  # the model harnesses' shared module, when one of them ran
    if models is not None and getattr(models, "design_hits", None):
        log(f"tolerated by design (fuzz/_models.py): {dict(sorted(models.design_hits.items()))}")
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="bounded fuzzing of the harnesses' invariants without atheris")
    p.add_argument("--seconds", type=float, default=30.0,
                   help="total time budget (default 30; 0 = no clock, stop on --executions only)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed for the mutations")
    p.add_argument("--harness", action="append", help="only this harness (der, pem, x509, ...); repeatable")
    p.add_argument("--group", default="all", choices=("all", "core", "models"),
                   help="which harnesses without --harness (default: all)")
    p.add_argument("--max-failures", type=int, default=20)
    p.add_argument("--executions", type=int, default=None, help="stop each harness after this many inputs")
    p.add_argument("--no-save", action="store_true", help="do not write failing inputs to fuzz/crashes/")
    args = p.parse_args(argv)
    if args.seconds == 0 and args.executions is None:
        p.error("--seconds 0 needs --executions")
    report = run(args.seconds or None, args.seed, args.harness, args.max_failures, save=not args.no_save, group=args.group,
                 executions=args.executions)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
