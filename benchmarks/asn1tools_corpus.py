"""How much of asn1tools' own test material estcodec.asn1 compiles and decodes identically. Run by hand::

    pip download --no-deps --no-binary :all: asn1tools==0.167.0 && tar xzf asn1tools-0.167.0.tar.gz
    python benchmarks/asn1tools_corpus.py asn1tools-0.167.0          # the sdist folder (the wheel has no tests)
    python benchmarks/asn1tools_corpus.py asn1tools-0.167.0 -v       # every failure, one line each

Part 1, modules: every ``tests/files/**/*.asn`` is compiled alone (and, where that fails, again with
``omit_unsupported=True`` to count the types that do compile); one that imports from modules it lacks is
compiled again together with every ``.asn`` of its folder and the repository's X.500 stand-ins
(tests/vectors/asn1-modules/x500-stubs.asn). A module counts as compiled when ``compile`` returns
(modules compiled as open types for ambiguous CHOICEs still count; they are listed in the warnings column).

Part 2, test values: asn1tools' DER tests (``tests/test_der.py``) are run with asn1tools' ``compile_*`` and
``Specification.decode`` wrapped, so that every successful DER decode is recorded with the ASN.1 it was compiled
from. Each recorded encoding is then decoded with the estcodec models compiled from the same ASN.1 (with
``omit_unsupported=True``: a module's other types count even where one of its types cannot be compiled) and counted:
``compiled`` (the ASN.1 compiles), ``decoded`` (DecodeError-free), ``re-encoded identically`` (``to_der`` of
the decoded value, and an encode from rebuilt plain values, give the same bytes) and ``same value`` (the
decoded value equals asn1tools' decoded value under the obvious mapping: dict = SEQUENCE model with snake_case
fields, (name, value) = CHOICE, (bytes, nbits) = BIT STRING, raw bytes = open types).
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import glob
import io
import os
import re
import sys
import unittest
import warnings


X500_STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vectors", "asn1-modules",
                          "x500-stubs.asn")


def _snake(name: str) -> str:
    from estcodec.asn1 import _snake as s

    return s(name)


def same_value(ours, theirs) -> bool:
    from estcodec._der import BitStringValue, ChoiceModel, Model

    if isinstance(ours, Model):
        if not isinstance(theirs, dict):
            return False
        names = type(ours)._field_names
        for key, v in theirs.items():
            k = _snake(key)
            cands = [n for n in names if n == k or n == k + "_"]
            if not cands or not same_value(getattr(ours, cands[0]), v):
                return False
        return True
    if isinstance(ours, ChoiceModel):
        return (isinstance(theirs, tuple) and len(theirs) == 2 and ours.name.rstrip("_") == _snake(theirs[0]).rstrip("_")
                and same_value(ours.value, theirs[1]))
    if isinstance(ours, BitStringValue):
        return isinstance(theirs, tuple) and ours.data == theirs[0] and len(ours.data) * 8 - ours.unused_bits == theirs[1]
    if isinstance(ours, frozenset):  # named bits
        return isinstance(theirs, tuple)  # asn1tools gives the bits; the re-encoding check covers the value
    if isinstance(ours, list):
        return isinstance(theirs, list) and len(ours) == len(theirs) and all(map(same_value, ours, theirs))
    if isinstance(ours, dt.datetime) and isinstance(theirs, dt.datetime):
        if theirs.tzinfo is None:
            theirs = theirs.replace(tzinfo=dt.timezone.utc)
        return ours == theirs
    if isinstance(ours, int) and isinstance(theirs, str):  # ENUMERATED: asn1tools gives the name
        return True
    return ours == theirs


def rebuild(v):
    from estcodec._der import ChoiceModel, Model

    if isinstance(v, Model):
        return type(v)(**{n: rebuild(getattr(v, n)) for n in type(v)._field_names})
    if isinstance(v, ChoiceModel):
        return type(v)(v.name, rebuild(v.value))
    if isinstance(v, list):
        return [rebuild(x) for x in v]
    return v


def _parsed(path: str):
    import asn1tools

    try:
        return asn1tools.parse_files([path])
    except Exception:  # noqa: BLE001 - asn1tools' own parse errors; compile reports them
        return None


def part_modules(sdist: str, verbose: bool) -> None:
    from estcodec import asn1

    files = sorted(glob.glob(os.path.join(sdist, "tests", "files", "**", "*.asn"), recursive=True))
    ok = 0
    reasons = collections.Counter()
    types_total = types_kept = 0
    for f in files:
        source: object = [f]
        try:
            ns = asn1.compile(source)
        except asn1.CompileError as exc:
            ns = None
            if "which was not given" in str(exc) or "neither defined nor imported" in str(exc):
                # again with the modules it imports (transitively) from its folder and the X.500 stand-ins
                by_module: dict = {}
                for g in sorted(glob.glob(os.path.join(os.path.dirname(f), "*.asn"))) + [X500_STUBS]:
                    for name, d in (_parsed(g) or {}).items():
                        by_module.setdefault(name, d)
                mine = _parsed(f) or {}
                need = dict(mine)
                todo = [m for d in mine.values() for m in d.get("imports", {})]
                while todo:
                    m = todo.pop()
                    if m not in need and m in by_module:
                        need[m] = by_module[m]
                        todo += list(by_module[m].get("imports", {}))
                source = need
                try:
                    ns = asn1.compile(need)
                except asn1.CompileError as exc2:
                    exc = exc2
            if ns is None:
                # how many of its types compile when those that cannot are left out
                parsed = source if isinstance(source, dict) else (_parsed(f) or {})
                n_types = sum(len(d.get("types", {})) for d in parsed.values())
                try:
                    part = asn1.compile(source, omit_unsupported=True)
                    left_out = sum(" left out: " in w for w in part.__warnings__)
                except asn1.CompileError:
                    left_out = n_types
                types_total += n_types
                types_kept += n_types - left_out
                reason = re.sub(r"^[^:]*: ", "", str(exc))
                reason = re.sub(r"'.*|\b[A-Z][\w-]*\.[\w.-]+", "…", reason)[:70]
                reasons[reason] += 1
                if verbose:
                    print(f"  FAIL {os.path.relpath(f, sdist)}: {exc}")
                continue
        ok += 1
        n_types = sum(len(d.get("types", {})) for d in (source.values() if isinstance(source, dict)
                                                         else (_parsed(f) or {}).values()))
        types_total += n_types
        types_kept += n_types
        if verbose and ns.__warnings__:
            print(f"  ok with {len(ns.__warnings__)} warnings: {os.path.relpath(f, sdist)}")
    print(f"modules: {ok} of {len(files)} .asn files compile; with omit_unsupported=True, {types_kept} of "
          f"{types_total} types compile (files asn1tools cannot parse not counted)")
    for r, n in reasons.most_common():
        print(f"  {n:3d} refused: {r}")


def part_values(sdist: str, verbose: bool) -> None:
    import asn1tools
    import asn1tools.compiler as comp

    from estcodec import DecodeError, EncodeError, asn1, schema

    records = []
    orig = {n: getattr(comp, n) for n in ("compile_string", "compile_files", "compile_dict")}

    def wrap(name):
        def f(src, codec="ber", *a, **k):
            spec = orig[name](src, codec, *a, **k)
            if codec == "der":
                if name == "compile_files":
                    paths = [src] if isinstance(src, str) else list(src)
                    spec._h7_src = ("files", tuple(os.path.abspath(p) for p in paths))
                elif name == "compile_string":
                    spec._h7_src = ("string", src)
                else:
                    import copy

                    spec._h7_src = ("dict", copy.deepcopy(src))
            return spec

        return f

    orig_decode = comp.Specification.decode

    def decode(self, name, data, *a, **k):
        out = orig_decode(self, name, data, *a, **k)
        src = getattr(self, "_h7_src", None)
        if src is not None:
            records.append((src, name, bytes(data), out))
        return out

    for n in orig:
        setattr(comp, n, wrap(n))
        setattr(asn1tools, n, getattr(comp, n))
    comp.Specification.decode = decode
    cwd = os.getcwd()
    os.chdir(sdist)
    sys.path.insert(0, sdist)
    try:
        suite = unittest.defaultTestLoader.loadTestsFromName("tests.test_der")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    finally:
        os.chdir(cwd)
        for n, f in orig.items():
            setattr(comp, n, f)
            setattr(asn1tools, n, f)
        comp.Specification.decode = orig_decode
    print(f"asn1tools tests/test_der.py: {result.testsRun} tests run, {len(records)} DER decodes recorded")

    cache: dict = {}
    counts = collections.Counter()
    failures = collections.Counter()
    for src, type_name, data, theirs in records:
        key = repr(src[1]) if src[0] != "dict" else id(src[1])
        if key not in cache:
            try:
                # types that cannot be compiled are left out: the values of the others still count
                cache[key] = asn1.compile(list(src[1]) if src[0] == "files" else src[1], omit_unsupported=True)
            except asn1.CompileError as exc:
                cache[key] = exc
        ns = cache[key]
        counts["values"] += 1
        if isinstance(ns, Exception):
            failures["not compiled: " + re.sub(r"^[^:]*: ", "", str(ns))[:60]] += 1
            continue
        counts["compiled"] += 1
        t = getattr(ns, type_name.replace("-", "_"), None)
        if t is None:
            left = [w for w in ns.__warnings__ if w.split(".", 1)[-1].startswith(type_name + " left out")]
            failures[("type left out: " + re.sub(r"^.*?: ", "", left[0].split(" left out: ", 1)[1]))[:70]
                     if left else "type not in namespace"] += 1
            continue
        try:
            ours = schema.decode(t, data)
        except DecodeError as exc:
            failures[f"DecodeError {exc.reason}"] += 1
            if verbose:
                print(f"  {type_name} {data.hex()}: {exc}")
            continue
        counts["decoded"] += 1
        try:
            again = schema.encode(t, ours)
            rebuilt = schema.encode(t, rebuild(ours))
        except (EncodeError, TypeError) as exc:
            failures[f"re-encode: {type(exc).__name__}"] += 1
            continue
        if again == data and rebuilt == data:
            counts["re-encoded identically"] += 1
        if same_value(ours, theirs):
            counts["same value"] += 1
        elif verbose:
            print(f"  value differs {type_name}: ours {ours!r} theirs {theirs!r}")
    print(f"test values: {counts['values']} recorded, {counts['compiled']} from ASN.1 that compiles (types that "
          "cannot be compiled left out), "
          f"{counts['decoded']} decoded, {counts['re-encoded identically']} re-encoded identically, "
          f"{counts['same value']} with the same value as asn1tools")
    for r, n in failures.most_common(12):
        print(f"  {n:4d} {r}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sdist", help="the unpacked asn1tools sdist folder")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    part_modules(os.path.abspath(args.sdist), args.verbose)
    part_values(os.path.abspath(args.sdist), args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
