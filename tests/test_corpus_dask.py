"""Corpora beyond one machine (issue 15 part 4): models that are cheap to move, and the Dask recipe of
docs/corpus.md run as written on a LocalCluster.

The pickle tests need nothing beyond estcodec. The recipe test needs ``dask[distributed]`` (the optional extra
``corpus``) and is skipped, with that reason, where it is not installed.
"""
import copy
import datetime as dt
import os
import pickle
import re
import time
import tracemalloc
from pathlib import Path

import pytest

from estcodec import DecodeError, pem
from estcodec._der import _from_der_for_pickle
from estcodec.x509 import Certificate, Name

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _certifi_ders():
    certifi = pytest.importorskip("certifi")
    with open(certifi.where(), encoding="ascii") as fh:
        return [der for label, der in pem.decode(fh.read()) if label == "CERTIFICATE"]


# --- pickling: cheap to move, strict on first read -------------------------------------------------------------

def test_unpickled_certificates_read_as_the_originals():
    ders = _certifi_ders()
    certs = [Certificate.from_der(d) for d in ders]
    back = pickle.loads(pickle.dumps(certs, protocol=pickle.HIGHEST_PROTOCOL))
    for a, b, der in zip(certs, back, ders):
        assert type(b) is Certificate
        assert b.to_der() == der and b.raw == der and b == a and hash(b) == hash(a)  # without decoding
        assert b.serial_number == a.serial_number                                   # FieldPath: first read
        assert b.subject.rfc4514_string() == a.subject.rfc4514_string()
        assert b.tbs_der == a.tbs_der and b.signature == a.signature
        assert [e.parsed for e in b.extensions] == [e.parsed for e in a.extensions]
        assert repr(b) == repr(a)
    c = pickle.loads(pickle.dumps(certs[0]))
    assert c.replace(signature_value=certs[1].signature_value).signature_value == certs[1].signature_value
    assert copy.deepcopy(certs[0]) == certs[0] and copy.copy(back[1]).not_after == certs[1].not_after


def test_other_models_round_trip():
    der = _certifi_ders()[0]
    cert = Certificate.from_der(der)
    # a CHOICE model (lazy value), alone
    name = pickle.loads(pickle.dumps(cert.subject))
    assert type(name) is Name and name.attributes == cert.subject.attributes and name.value == cert.subject.value
    # a model built from values (pickled as its encoding)
    built = cert.tbs_certificate.validity.replace(not_before=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    back = pickle.loads(pickle.dumps(built))
    assert back.not_before == built.not_before and back.to_der() == built.to_der()
    # a model read with ber=True (re-read as it was read: BER rules apply)
    ber = Certificate.from_der(der, ber=True)
    assert pickle.loads(pickle.dumps(ber)).serial_number == cert.serial_number
    # pickles made before deferred decoding still load
    assert pickle.loads(pickle.dumps(_OldStyle(cert))) == cert


class _OldStyle:
    def __init__(self, model):
        self.model = model

    def __reduce__(self):
        return (_from_der_for_pickle, (type(self.model), self.model.to_der(), False))


def test_unpickling_defers_the_decode():
    ders = _certifi_ders()
    blob = pickle.dumps([Certificate.from_der(d) for d in ders * 4])
    tracemalloc.start()
    try:
        back = pickle.loads(blob)
        _, peak_loads = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        fields = [c.subject.attributes for c in back]
        _, peak_read = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(fields) == len(ders) * 4
    # unpickling holds the bytes (the blob's size, about) and not the decoded values, which reading builds
    assert peak_loads < 1.5 * len(blob)
    assert peak_read > peak_loads


def test_tampered_pickles_fail_strictly():
    der = _certifi_ders()[0]
    blob = pickle.dumps(Certificate.from_der(der))
    # the outer tag and length are checked when unpickling
    with pytest.raises(DecodeError):
        pickle.loads(blob.replace(der, b"\x31" + der[1:]))
    assert der[1] == 0x82
    shorter = der[:2] + (int.from_bytes(der[2:4], "big") - 1).to_bytes(2, "big") + der[4:]  # one byte left over
    with pytest.raises(DecodeError) as ei:
        pickle.loads(blob.replace(der, shorter))
    assert ei.value.reason == "trailing-data"
    # anything inside on the first read, with offset and path; and on every read after
    from estcodec.der import parse

    broken = bytearray(der)
    broken[parse(der).children[0].children[1].offset] = 0x04  # the serial number's INTEGER tag
    c = pickle.loads(blob.replace(der, bytes(broken)))
    assert c.to_der() == bytes(broken)  # the bytes are there, unread
    for _ in range(2):
        with pytest.raises(DecodeError) as ei:
            c.serial_number
        assert ei.value.path == "$.tbs_certificate.serial_number" and ei.value.offset > 0


# --- the Dask recipe of docs/corpus.md --------------------------------------------------------------------

def _recipe_blocks() -> list[str]:
    text = (DOCS / "corpus.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```py\n(.*?)^```", text, re.M | re.S)
    assert len(blocks) == 2
    return blocks


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def test_dask_recipe_on_a_local_cluster(tmp_path, capsys):
    pytest.importorskip("dask.distributed", reason="the recipe needs dask[distributed] (extra 'corpus')")
    ders = _certifi_ders()
    # four files of certifi's roots, one base64 DER per line; one file with a truncated certificate and a line
    # that is not base64
    import base64

    paths = []
    for i in range(4):
        lines = [base64.b64encode(d) for d in ders]
        if i == 2:
            lines.insert(7, base64.b64encode(ders[7][:-10]))   # truncated: line 9 after the insert below
            lines.insert(0, b"not base64!")                   # line 1
        p = tmp_path / f"part-{i}.b64"
        p.write_bytes(b"\n".join(lines) + b"\n")
        paths.append(str(p))

    namespace = {"__name__": "docs_corpus"}
    recipe, usage = _recipe_blocks()
    exec(compile(recipe, "docs/corpus.md", "exec"), namespace)

    # the worker processes the recipe's cluster starts are found by PID and must be gone after the with blocks
    import distributed

    pids: list[int] = []
    original_client = distributed.Client

    class RecordingClient(original_client):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            pids.extend(self.run(os.getpid).values())

    namespace["Client"] = RecordingClient
    namespace["corpus_files"] = paths
    exec(compile(usage, "docs/corpus.md", "exec"), namespace)
    out = capsys.readouterr().out

    algorithms, expiring, rejected = namespace["algorithms"], namespace["expiring"], namespace["rejected"]
    # the same report, computed in this process
    cutoff = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    local = [namespace["read_certificates"](p) for p in paths]
    certs = [c for cs, _ in local for c in cs]
    expected_algs: dict = {}
    for c in certs:
        expected_algs[c.public_key_info.algorithm_oid] = expected_algs.get(c.public_key_info.algorithm_oid, 0) + 1
    assert algorithms == expected_algs and sum(algorithms.values()) == 4 * len(ders)
    assert [c.to_der() for c in expiring] == [c.to_der() for c in certs if c.not_after < cutoff]
    assert expiring and all(isinstance(c, Certificate) for c in expiring)
    assert [(os.path.basename(r[0]), r[1], r[2]) for r in rejected] == \
        [("part-2.b64", 1, "not-base64"), ("part-2.b64", 9, rejected[1][2])]
    assert rejected[1][3].startswith("$") and rejected[1][4] >= 0
    assert str(len(expiring)) in out

    assert len(pids) == 2 and os.getpid() not in pids
    deadline = time.monotonic() + 30
    while not all(_pid_gone(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(_pid_gone(p) for p in pids), pids
