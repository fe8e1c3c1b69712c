"""Fuzz harness for ``estcodec.pem`` (``decode``, ``load_any``) and the DER parse of what they return.

INVARIANT: for every input, ``pem.decode`` returns a list of ``(label, der)`` or raises ``estcodec.DecodeError``
(reason ``invalid-pem``); nothing else. ``pem.encode`` of each block decodes back to the same block.
``pem.load_any`` returns bytes or raises ``DecodeError``. Whatever comes out is then held to the DER
harness' invariant.

Run under atheris: ``python fuzz/fuzz_pem.py fuzz/corpus/pem``.
"""
from __future__ import annotations

import sys
from pathlib import Path

from estcodec import DecodeError, pem

try:  # as a script (fuzz/ on sys.path) or as the package-less module the runner loads
    from fuzz_der import check_one as check_der
except ImportError:  # pragma: no cover
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fuzz_der import check_one as check_der

NAME = "pem"
SEED_EXTENSIONS = (".pem", ".b64", ".crt", ".key", ".txt")
MAX_MUTATION_INPUT = 1 << 15


def check_one(data: bytes) -> None:
    try:
        blocks = pem.decode(data)
    except DecodeError as err:
        assert err.reason == "invalid-pem", err.reason
        assert 0 <= err.offset <= len(data)
        blocks = []
    for label, body in blocks:
        assert isinstance(label, str) and isinstance(body, bytes) and body
        assert pem.decode(pem.encode(label, body)) == [(label, body)]
    try:
        raw = pem.load_any(data)
    except DecodeError as err:
        assert err.reason == "invalid-pem", err.reason
        return
    assert isinstance(raw, bytes) and raw
    if blocks:
        assert raw == blocks[0][1]
    if len(raw) <= 1 << 16:
        check_der(raw)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    check_one(data)


def main() -> None:
    import atheris

    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


def default_seed_dir() -> Path:
    return Path(__file__).resolve().parent / "corpus" / NAME


if __name__ == "__main__":
    main()
