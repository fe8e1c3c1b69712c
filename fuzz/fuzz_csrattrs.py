"""Fuzz harness for ``estcodec.csrattrs.CsrAttrs.from_der`` (strict DER and ``ber=True``).

INVARIANT: every input either decodes or raises ``estcodec.DecodeError`` (a subclass is fine); nothing else, no
other ``estcodec.Error`` either, nothing slow. In addition:
whatever decodes re-encodes (``to_der()``) to bytes that decode again to the same encoding (a fixed point;
for DER input, the input itself); every accessor (attributes, oids, template, key types, extension request,
``contains_oid``, ``len``, ``is_empty``) returns or raises an ``estcodec.Error``, nothing else. Known finding
F1 (fuzz/_models.py) is counted, not raised.

Run: ``python fuzz/fuzz_csrattrs.py fuzz/corpus/csrattrs -max_len=8192`` (see fuzz/README.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import atheris_main, decoded, schema_less_gap, own, schema_less, seeds_for, timed  # noqa: E402

from estcodec.csrattrs import CsrAttrs  # noqa: E402

NAME = "csrattrs"
GROUP = "models"
SEED_EXTENSIONS = (".der", ".b64")
MAX_MUTATION_INPUT = 1 << 13
_PROBE = ("1.2.840.113549.1.9.7", "1.2.840.113549.1.9.14", "1.2.840.10045.2.1", "2.5.4.3")

HANDMADE = {
    "empty": bytes.fromhex("3000"),
    "one-oid": bytes.fromhex("300b06092a864886f70d010907"),
    "libest-nul": bytes.fromhex("300b06092a864886f70d01090700"),
}


def read_all(attrs: CsrAttrs) -> None:
    for name in ("items", "attributes", "oids", "unrecognized", "template", "key_types", "extension_request",
                 "extension_request_oids", "challenge_password_requested"):
        own(getattr, attrs, name)
    for o in _PROBE:
        assert isinstance(attrs.contains_oid(o), bool)
        own(attrs.attribute, o)
        own(attrs.requires, o)
    assert isinstance(len(attrs), int) and isinstance(attrs.is_empty(), bool)


@timed
def check_one(data: bytes) -> None:
    strict = decoded(CsrAttrs.from_der, data)
    lenient = decoded(CsrAttrs.from_der, data, ber=True)
    if strict is not None and schema_less(data) is None:
        schema_less_gap(data)  # accepted strictly, refused by schema-less DER: BER checks do not apply
        read_all(strict)
        return
    if strict is not None:
        assert lenient is not None, "accepted as DER but refused with ber=True"
    for attrs in (strict, lenient):
        if attrs is None:
            continue
        out = own(attrs.to_der)
        if out is None:
            continue
        if attrs is strict:
            assert out == data, "strict decode does not re-encode identically"
        again = decoded(CsrAttrs.from_der, out, ber=True)
        assert again is not None and again.to_der() == out, "re-encoding is not a fixed point"
        read_all(attrs)


def _accepts(blob: bytes) -> bool:
    CsrAttrs.from_der(blob, ber=True)
    return True


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts, HANDMADE)


def TestOneInput(data: bytes) -> None:  # noqa: N802
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
