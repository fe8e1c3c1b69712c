"""Make-style entry point: run every harness against a separately installed build of the package, one
subprocess per harness, and write a summary of the inputs each one ran.

    # 1. install snapshots of the package OUTSIDE the source tree (never rebuild the shared tree's .so):
    git archive HEAD | tar -x -C /tmp/asan-src
    (cd /tmp/asan-src && ESTCODEC_ASAN=1 pip install --no-deps --target /tmp/asan-site .)
    (cd /tmp/asan-src && pip install --no-deps --target /tmp/plain-site .)
    python fuzz/make_seeds.py && python fuzz/make_model_seeds.py        # seed corpora (git-ignored)

    # 2. AddressSanitizer: structure-aware mutations (fuzz/run_short.py) over the seeds, N inputs each
    python fuzz/run_all.py asan --site /tmp/asan-site --executions 1000000 --seconds 1800

    # 3. atheris, coverage-guided on the Python code, against the plain build, T seconds each
    python fuzz/run_all.py atheris --site /tmp/plain-site --seconds 600 [--harness x509 ...]

    # 4. replay what atheris found (its corpus grows in fuzz/corpus/NAME) under AddressSanitizer
    python fuzz/run_all.py replay --site /tmp/asan-site

Why two modes: gcc's ASan runtime, which has to be preloaded (the interpreter is not built with it), also
defines the ``__sanitizer_cov_*`` hooks, so atheris' coverage feedback is lost under it (atheris warns about
it; libFuzzer then keeps a one-byte corpus). The compiled core is therefore put under ASan by the mutation
runner and by replaying the atheris corpora, and atheris searches with coverage against the plain build.
(With clang, atheris' ``asan_with_fuzzer.so`` and a ``-fsanitize=address,fuzzer-no-link`` build would do
both at once, see fuzz/README.md.)

``--jobs`` runs that many harnesses at once. Logs go to ``--log-dir`` (default /tmp/estcodec-fuzz-logs), the
summary to ``LOG_DIR/summary-MODE.json``; the exit status is 1 if any harness failed.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
HARNESSES = ("der", "pem", "x509", "pkcs10", "certs_only", "csrattrs", "pki_data", "pki_response", "enveloped",
             "pkcs8", "protocol", "show", "crl", "ocsp")
MAX_LEN = {"der": 65536, "certs_only": 65536, "pki_data": 65536, "pki_response": 65536, "crl": 65536}


def _libasan() -> str:
    return subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True,
                          check=True).stdout.strip()


def _env(site: str, asan: bool) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = site + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if asan:
        env["LD_PRELOAD"] = _libasan()
        env["ASAN_OPTIONS"] = "detect_leaks=0:allocator_may_return_null=1:abort_on_error=1"
    return env


_CHILD = r"""
import json, sys, time
sys.path.insert(0, {fuzz!r})
import estcodec
assert estcodec.__file__.startswith({site!r}), estcodec.__file__
import run_short, _models
mode, name, seconds, executions, seed = {args!r}
if mode == "replay":
    from pathlib import Path
    (mod,) = run_short.load_harnesses([name])
    files = [p for p in sorted((Path({fuzz!r}) / "corpus" / name).iterdir()) if p.is_file()]
    failures = []
    for p in files:
        try:
            mod.check_one(p.read_bytes())
        except Exception as exc:
            failures.append(f"{{p.name}}: {{type(exc).__name__}}: {{exc}}"[:300])
    print("RESULT " + json.dumps({{"executions": len(files), "failures": failures,
                                   "known": dict(_models.known_hits)}}))
else:
    lines = []
    rep = run_short.run(seconds=seconds, seed=seed, harnesses=[name], save=True, log=lines.append,
                        executions=executions, max_failures=50)
    print("\n".join(lines))
    print("RESULT " + json.dumps({{"executions": rep.executions.get(name, 0),
                                   "failures": [f.signature + (f" -> {{f.saved}}" if f.saved else "")
                                                for f in rep.failures],
                                   "known": dict(_models.known_hits)}}))
"""


def run_python(mode: str, name: str, site: str, seconds: float, executions: int | None, seed: int,
               log_dir: Path) -> dict:
    code = _CHILD.format(fuzz=str(FUZZ_DIR), site=site, args=(mode, name, seconds, executions, seed))
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], env=_env(site, asan=True), capture_output=True, text=True,
                          timeout=seconds + 3600)
    took = time.monotonic() - t0
    (log_dir / f"{mode}-{name}.log").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    m = re.search(r"^RESULT (.*)$", proc.stdout, re.M)
    if m is None:  # ASan abort or a crash of the interpreter
        asan = re.search(r"ERROR: AddressSanitizer: .*", proc.stderr)
        return {"harness": name, "mode": mode, "executions": None, "seconds": round(took, 1), "ok": False,
                "failures": [asan.group(0) if asan else f"exit status {proc.returncode}"]}
    res = json.loads(m.group(1))
    return {"harness": name, "mode": mode, "executions": res["executions"], "seconds": round(took, 1),
            "ok": not res["failures"], "failures": res["failures"],
            "known_findings_tolerated": {k: v for k, v in res["known"].items() if v}}


def run_atheris(name: str, site: str, seconds: float, executions: int | None, log_dir: Path, asan: bool) -> dict:
    corpus = FUZZ_DIR / "corpus" / name
    corpus.mkdir(parents=True, exist_ok=True)
    crashes = FUZZ_DIR / "crashes"
    crashes.mkdir(exist_ok=True)
    cmd = [sys.executable, str(FUZZ_DIR / f"fuzz_{name}.py"), str(corpus), f"-max_total_time={int(seconds)}",
           f"-max_len={MAX_LEN.get(name, 16384)}", "-timeout=20", "-rss_limit_mb=6144", "-print_final_stats=1",
           f"-artifact_prefix={crashes}/{name}-"]
    if executions:
        cmd.append(f"-runs={executions}")
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=_env(site, asan), capture_output=True, text=True, timeout=seconds + 600)
    took = time.monotonic() - t0
    out = proc.stdout + proc.stderr
    (log_dir / f"atheris-{name}.log").write_text(out)
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    execs = int(m.group(1)) if m else None
    if execs is None:
        last = re.findall(r"^#(\d+)\s", out, re.M)
        execs = int(last[-1]) if last else None
    failures = re.findall(r"^(?:=== Uncaught Python exception: ===\n.*|.*ERROR: AddressSanitizer.*)$", out, re.M)
    return {"harness": name, "mode": "atheris" + ("+asan" if asan else ""), "executions": execs,
            "seconds": round(took, 1), "ok": proc.returncode == 0, "exit_status": proc.returncode,
            "failures": failures[:5]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("asan", "atheris", "replay"))
    p.add_argument("--site", required=True, help="directory the package snapshot was installed to (--target)")
    p.add_argument("--harness", action="append", help="only these harnesses (default: all)")
    p.add_argument("--seconds", type=float, default=600.0, help="time per harness")
    p.add_argument("--executions", type=int, default=None, help="inputs per harness (asan, atheris)")
    p.add_argument("--seed", type=int, default=20261127)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--atheris-asan", action="store_true", help="preload ASan for atheris too (no coverage)")
    p.add_argument("--log-dir", default="/tmp/estcodec-fuzz-logs")
    args = p.parse_args(argv)
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    names = args.harness or list(HARNESSES)

    def one(name: str) -> dict:
        if args.mode == "atheris":
            res = run_atheris(name, args.site, args.seconds, args.executions, log_dir, args.atheris_asan)
        else:
            mode = "asan-mutate" if args.mode == "asan" else "replay"
            res = run_python("mutate" if args.mode == "asan" else "replay", name, args.site, args.seconds,
                             args.executions, args.seed, log_dir)
            res["mode"] = mode
        print(json.dumps(res), flush=True)
        return res

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(one, names))
    summary = log_dir / f"summary-{args.mode}.json"
    previous = json.loads(summary.read_text()) if summary.is_file() else []
    keep = [r for r in previous if r["harness"] not in names]
    summary.write_text(json.dumps(keep + results, indent=1))
    print(f"summary: {summary}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
