"""Fuzz harness for the dump and show entry points: ``estcodec.dump.dump_bytes`` (strict with BER fallback,
and ``ber=True``; what ``python -m estcodec dump`` runs) and ``estcodec.show`` (``load_blocks``, ``identify``,
``summarize_bytes``, ``format_text``; what ``python -m estcodec show`` runs).

INVARIANT: ``dump_bytes`` returns 0 or 1 and raises nothing (errors are written to its ``err`` stream);
``identify`` and ``summarize_bytes`` return or raise ``estcodec.DecodeError`` (a subclass is fine); nothing
else, no other ``estcodec.Error`` either, nothing slow. In addition: a summary is JSON-ready (``json.dumps``
takes it) and ``format_text`` renders it; when ``identify`` and ``summarize_bytes`` both accept an input, the
summary is of the kind identified (``identify`` goes by shape, so the summary may still refuse what it names).

Run: ``python fuzz/fuzz_show.py fuzz/corpus/show -max_len=65536`` (see fuzz/README.md).
"""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import atheris_main, decoded, seeds_for, timed  # noqa: E402

from estcodec import dump, show  # noqa: E402

NAME = "show"
# Its own group (runs with --harness show or --group all): tests/test_fuzz_models_short.py fixes the set of
# model harnesses it budgets for.
GROUP = "cli"
SEED_EXTENSIONS = (".der", ".pem")
MAX_MUTATION_INPUT = 1 << 15


@timed
def check_one(data: bytes) -> None:
    for ber in (False, True):
        out, err = io.StringIO(), io.StringIO()
        status = dump.dump_bytes(data, ber=ber, out=out, err=err)
        assert status in (0, 1), f"dump_bytes returned {status!r}"
        assert (status == 0) == (not err.getvalue() or err.getvalue().startswith("note:")), \
            "dump_bytes status and error stream disagree"
    blocks = decoded(show.load_blocks, data)
    kind = None
    if blocks and len(blocks) == 1:
        kind = decoded(show.identify, blocks[0][1])
    summaries = decoded(show.summarize_bytes, data)
    if summaries is not None:
        assert isinstance(summaries, list)
        for s in summaries:
            json.dumps(s)
            assert isinstance(show.format_text(s), str)
    if kind is not None and summaries is not None:
        assert len(summaries) == 1 and summaries[0]["type"] == kind, "summarize_bytes names another kind"


def _accepts(blob: bytes) -> bool:
    show.summarize_bytes(blob)
    return True


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts, name=NAME)


def TestOneInput(data: bytes) -> None:  # noqa: N802
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
