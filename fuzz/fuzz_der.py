"""Fuzz harness for ``estcodec.der.parse`` (strict DER and ``ber=True``) and ``estcodec.der.normalize_ber``.

INVARIANT: every input either parses or raises ``estcodec.DecodeError``; nothing else (no other exception, no
crash, no hang, no RecursionError, no MemoryError). Re-encoding a strict parse is identical to the input.
In addition:

* ``normalize_ber`` (the streaming BER to DER pass, no tree) accepts exactly what ``parse(ber=True)`` accepts
  and returns its ``to_der()``, and raises only ``DecodeError``;

* a ``DecodeError`` carries an ``int`` offset within ``[0, len(input)]``, a known reason slug and path ``$``;
* whatever strict DER accepts, BER accepts too, with the same re-encoding;
* a BER parse re-encodes (``to_der()``) to bytes that strict DER accepts and that re-encode to themselves
  (BER normalises to DER), with the same tree shape;
* walking the tree (``tag_class``, ``tag``, ``children``, ``content``, ``value`` of every primitive) raises
  nothing.

``check_one(data)`` states the invariant in code; it raises ``AssertionError`` (or lets the foreign exception
through) when it is broken. It needs no atheris, so ``fuzz/run_short.py`` and the test suite use it too.

Run under atheris (see fuzz/README.md for the ASan build)::

    python fuzz/make_seeds.py
    python fuzz/fuzz_der.py fuzz/corpus/der -max_len=65536
"""
from __future__ import annotations

import sys
from pathlib import Path

from estcodec import DecodeError, der

NAME = "der"
SEED_EXTENSIONS = (".der", ".ber", ".bin", ".p7b", ".p7c", ".p7m", ".crl", ".cer", ".p10", ".csr")
# max input size worth mutating in the short runner (bigger seeds are still checked whole)
MAX_MUTATION_INPUT = 1 << 16

REASONS = frozenset({
    "truncated", "trailing-data", "indefinite-length", "indefinite-primitive", "non-minimal-length",
    "length-too-long", "reserved-length", "non-minimal-tag", "tag-too-large", "unexpected-eoc",
    "constructed-primitive", "primitive-constructed", "too-deep", "invalid-boolean", "non-minimal-integer",
    "empty-integer", "invalid-null", "invalid-oid", "invalid-bit-string", "invalid-time", "invalid-string",
    "unexpected-tag", "missing-field", "default-encoded", "invalid-value",
})
CLASSES = ("universal", "application", "context", "private")


def _check_error(err: DecodeError, data: bytes) -> None:
    assert isinstance(err.offset, int) and 0 <= err.offset <= len(data), f"offset {err.offset!r} out of range"
    assert err.reason in REASONS, f"unknown reason {err.reason!r}"
    assert err.path == "$", f"schema-less error with path {err.path!r}"
    str(err)  # formatting must not fail


def _shape(el) -> tuple:
    """Tag structure and content of a tree, iteratively (trees are at most the core's depth bound deep)."""
    out = []
    stack = [(el, 0)]
    while stack:
        node, depth = stack.pop()
        assert node.tag_class in CLASSES
        assert isinstance(node.tag, int) and node.tag >= 0
        if node.constructed:
            kids = node.children
            assert len(node) == len(kids)
            out.append((depth, node.tag_class, node.tag, True, len(kids)))
            stack.extend((k, depth + 1) for k in reversed(kids))
        else:
            assert len(node) == 0
            content = bytes(node.content)
            value = node.value  # decoding a parsed primitive must not raise
            # BER and DER contents of one value may differ (BOOLEAN 01 vs FF, time forms): compare values
            key = value if node.tag_class == "universal" else content
            out.append((depth, node.tag_class, node.tag, False, key))
    return tuple(out)


def check_one(data: bytes) -> None:
    """Assert the invariant for one input."""
    strict_out = None
    try:
        el = der.parse(data)
    except DecodeError as err:
        _check_error(err, data)
    else:
        strict_out = el.to_der()
        assert strict_out == data, "strict parse does not re-encode identically"
        assert el.offset == 0 and el.end == len(data)
        _shape(el)

    try:
        streamed = der.normalize_ber(data)
    except DecodeError as err:
        _check_error(err, data)
        streamed = None
    try:
        el = der.parse(data, ber=True)
    except DecodeError as err:
        _check_error(err, data)
        assert strict_out is None, f"DER accepted but BER refused: {err}"
        assert streamed is None, "normalize_ber accepts what parse(ber=True) refuses"
        return
    out = el.to_der()
    assert streamed is not None, "normalize_ber refuses what parse(ber=True) accepts"
    assert streamed == out, "normalize_ber differs from parse(ber=True).to_der()"
    if strict_out is not None:
        assert out == strict_out, "BER re-encoding of DER input differs"
    shape = _shape(el)
    try:
        again = der.parse(out)
    except DecodeError as err:
        raise AssertionError(f"BER input re-encoded to non-DER: {err} [{err.reason}] in {out[:64].hex()}") from None
    assert again.to_der() == out, "DER form is not a fixed point"
    assert _shape(again) == shape, "DER form has a different tree than the BER parse"


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    check_one(data)


def main() -> None:
    import atheris  # only needed for long fuzzing runs

    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


def default_seed_dir() -> Path:
    return Path(__file__).resolve().parent / "corpus" / NAME


if __name__ == "__main__":
    main()
