"""Parsing a certificate corpus in one process and on a Dask LocalCluster; the cost of moving a model by pickle.

Usage::

    python benchmarks/bench_corpus.py                    # 100,000 certificates in 40 files, 2 workers
    python benchmarks/bench_corpus.py --count 200000 --workers 2 --files 80

Needs ``dask[distributed]`` (the ``corpus`` extra) for the cluster rows; the pickle rows need only estcodec.

The corpus is certifi's roots and the certificates of ``cryptography_vectors`` (x509/) that estcodec reads,
repeated in a fixed order to ``--count`` certificates and written as files of one base64 DER per line (as CT-log tools write them) into a temporary folder (deleted
afterwards). The parsing is docs/corpus.md's recipe: each partition is one file, read and parsed where it runs.

Rows (wall-clock seconds, best of ``--repeat``; the cluster is started and warmed up before timing):

* single process, summary: parse every file, count key algorithms and certificates expiring before 2030;
* single process, models: parse every file and keep every model;
* cluster, summary: the same summary computed on the workers (only counts come back);
* cluster, models to client: every model sent back to the client (pickled on the worker, unpickled here), one
  list per partition (``to_delayed``, as the recipe does);
* cluster, DER bytes to client: the same certificates sent back as plain ``bytes`` (the floor for moving them);
* cluster, models to client + read all: the same, then one field of every model read in the client, which is
  what unpickling cost before it deferred the decode;
* cluster, models to client, flattened bag: ``bag.compute()`` of the flattened bag, which gathers every
  partition on one worker first (the same cost with plain bytes instead of models: Dask's, not the models').

Then the pickle round trip per certificate, in this process, over distinct model objects: ``dumps``,
``loads`` (deferred decode), ``loads`` + first field read, and ``loads`` of the former format (decode at once).
"""
from __future__ import annotations

import argparse
import datetime as dt
import glob
import os
import pickle
import shutil
import sys
import tempfile
import time
import uuid
import warnings

CUTOFF = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def base_certificates() -> list[bytes]:
    import certifi
    import cryptography_vectors

    from estcodec import DecodeError, pem
    from estcodec.x509 import Certificate

    out = []
    with open(certifi.where(), encoding="ascii") as fh:
        out += [d for label, d in pem.decode(fh.read()) if label == "CERTIFICATE"]
    root = os.path.join(os.path.dirname(cryptography_vectors.__file__), "x509")
    for f in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
        if not f.endswith((".pem", ".der", ".crt")) or not os.path.isfile(f):
            continue
        with open(f, "rb") as fh:
            data = fh.read()
        try:
            ders = [d for label, d in pem.decode(data.decode("latin-1")) if label == "CERTIFICATE"] \
                if data.lstrip().startswith(b"-----") else [data]
        except DecodeError:
            continue
        for d in ders:
            try:
                Certificate.from_der(d)
            except (DecodeError, ValueError):
                continue
            out.append(d)
    return out


def write_corpus(folder: str, ders: list[bytes], count: int, files: int) -> list[str]:
    import base64

    per_file = -(-count // files)
    paths = []
    n = 0
    for i in range(files):
        lines = []
        for _ in range(min(per_file, count - n)):
            lines.append(base64.b64encode(ders[n % len(ders)]))
            n += 1
        p = os.path.join(folder, f"part-{i:04d}.b64")
        with open(p, "wb") as fh:
            fh.write(b"\n".join(lines) + b"\n")
        paths.append(p)
    return paths


def read_certificates(path):
    # as docs/corpus.md
    import base64
    import binascii

    from estcodec import DecodeError
    from estcodec.x509 import Certificate

    certs, rejected = [], []
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                certs.append(Certificate.from_der(base64.b64decode(line.strip(), validate=True)))
            except binascii.Error:
                rejected.append((path, lineno, "not-base64", "", 0))
            except DecodeError as exc:
                rejected.append((path, lineno, exc.reason, exc.path, exc.offset))
    return certs, rejected


def summary(certs) -> tuple[dict, int]:
    algs: dict = {}
    expiring = 0
    for c in certs:
        a = c.public_key_info.algorithm_oid
        algs[a] = algs.get(a, 0) + 1
        expiring += c.not_after < CUTOFF
    return algs, expiring


def best_of(n: int, f) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        result = f()
        best = min(best, time.perf_counter() - t0)
    return best, result


class _EagerPickle:
    """Pickles a model in the former format: unpickling decodes at once."""

    def __init__(self, model):
        self.model = model

    def __reduce__(self):
        from estcodec._der import _from_der_for_pickle

        return (_from_der_for_pickle, (type(self.model), self.model.to_der(), False))


def pickle_rows(ders: list[bytes], n: int, repeat: int) -> None:
    from estcodec.x509 import Certificate

    # n distinct objects on distinct bytes (pickle would send a bytes object shared by several models once)
    models = [Certificate.from_der(bytes(bytearray(ders[i % len(ders)]))) for i in range(n)]
    t_dumps, blob = best_of(repeat, lambda: pickle.dumps(models, protocol=pickle.HIGHEST_PROTOCOL))
    t_loads, _ = best_of(repeat, lambda: pickle.loads(blob))
    t_read, _ = best_of(repeat, lambda: [c.serial_number for c in pickle.loads(blob)])
    old_blob = pickle.dumps([_EagerPickle(m) for m in models], protocol=pickle.HIGHEST_PROTOCOL)
    t_old, _ = best_of(repeat, lambda: pickle.loads(old_blob))
    t_decode, _ = best_of(repeat, lambda: [Certificate.from_der(ders[i % len(ders)]) for i in range(n)])
    print(f"\npickle round trip, {n} distinct Certificate models, µs per certificate (best of {repeat}):")
    print(f"  {'dumps':48s} {t_dumps / n * 1e6:8.2f}   ({len(blob) / n:.0f} bytes per certificate)")
    print(f"  {'loads (decode deferred)':48s} {t_loads / n * 1e6:8.2f}")
    print(f"  {'loads + first read of a field (decodes)':48s} {t_read / n * 1e6:8.2f}")
    print(f"  {'loads, former format (decodes at once)':48s} {t_old / n * 1e6:8.2f}")
    print(f"  {'Certificate.from_der alone, for reference':48s} {t_decode / n * 1e6:8.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pickle-count", type=int, default=20_000)
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)  # not the scheduler's notes on recomputed keys

    ders = base_certificates()
    folder = tempfile.mkdtemp(prefix="estcodec-corpus-")
    try:
        paths = write_corpus(folder, ders, args.count, args.files)
        size = sum(os.path.getsize(p) for p in paths)
        print(f"corpus: {args.count} certificates ({len(ders)} distinct, repeated) in {len(paths)} files "
              f"{size / 1e6:.0f} MB; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        rows = []

        def single_summary():
            out = [summary(read_certificates(p)[0]) for p in paths]
            return sum(e for _, e in out)

        def single_models():
            return [c for p in paths for c in read_certificates(p)[0]]

        t, expiring = best_of(args.repeat, single_summary)
        rows.append(("single process, summary", t))
        t, models = best_of(args.repeat, single_models)
        assert len(models) == args.count
        del models
        rows.append(("single process, models kept", t))

        try:
            import dask
            import dask.bag as db
            from dask.distributed import Client, LocalCluster
        except ImportError:
            print("dask[distributed] is not installed: the cluster rows are left out")
        else:
            with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                def certs_bag():
                    # a new graph for every computation (resubmitting one bag's keys makes the scheduler warn)
                    run = uuid.uuid4().hex  # part of every key's token
                    bag = db.from_sequence([(p, run) for p in paths], npartitions=len(paths))
                    return bag.map(lambda item: read_certificates(item[0])[0]).flatten()

                def cluster_summary():
                    certs = certs_bag()
                    algs = certs.map(lambda c: c.public_key_info.algorithm_oid).frequencies()
                    exp = certs.filter(lambda c: c.not_after < CUTOFF).count()
                    return dask.compute(algs, exp, scheduler=client.get)[1]

                def cluster_models():
                    parts = dask.compute(*certs_bag().to_delayed(), scheduler=client.get)
                    return [c for part in parts for c in part]

                def cluster_models_read():
                    got = cluster_models()
                    for c in got:
                        c.serial_number
                    return got

                def cluster_bytes():
                    # the same data as plain DER bytes: what moving the bytes alone costs here
                    der_bag = certs_bag().map(lambda c: c.to_der())
                    parts = dask.compute(*der_bag.to_delayed(), scheduler=client.get)
                    return [d for part in parts for d in part]

                def cluster_models_flat():
                    return certs_bag().compute(scheduler=client.get)

                cluster_summary()  # warm-up: workers import estcodec
                t, exp2 = best_of(args.repeat, cluster_summary)
                assert exp2 == expiring
                rows.append((f"cluster of {args.workers} workers, summary", t))
                t, got = best_of(args.repeat, cluster_models)
                assert len(got) == args.count
                del got
                rows.append((f"cluster of {args.workers} workers, models to client", t))
                t, got = best_of(args.repeat, cluster_bytes)
                assert len(got) == args.count
                del got
                rows.append((f"cluster of {args.workers} workers, DER bytes to client (no models)", t))
                t, got = best_of(args.repeat, cluster_models_read)
                del got
                rows.append((f"cluster of {args.workers} workers, models to client + read all", t))
                t, got = best_of(args.repeat, cluster_models_flat)
                assert len(got) == args.count
                del got
                rows.append((f"cluster of {args.workers} workers, models to client, flattened bag", t))
        print(f"\n{'case':58s} {'seconds':>8s} {'µs/cert':>8s}")
        for name, t in rows:
            print(f"{name:58s} {t:8.2f} {t / args.count * 1e6:8.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    pickle_rows(ders, args.pickle_count, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
