"""Fuzz harness for ``estcodec.cms``: ``parse_certs_only`` (DER or BER PKCS#7/CMS certs-only),
``parse_content_info``, ``parse_signed_data`` and ``ContentInfo.from_der`` (strict and ``ber=True``).

INVARIANT: every input either gives a list of ``Certificate`` (a ``ContentInfo``, a ``SignedData``) or raises
``estcodec.DecodeError`` (a subclass is fine); nothing else, no other ``estcodec.Error`` either, nothing slow.
In addition: what ``parse_certs_only`` accepts, ``parse_signed_data`` accepts, and what that accepts,
``parse_content_info`` accepts; every certificate returned re-decodes strictly from its own ``to_der()`` to the
same bytes (known finding F1, fuzz/_models.py, counted instead); ``build_certs_only(..., keep_order=True)`` of
the list gives a message that ``parse_certs_only`` reads back to the same certificates in the same order, and
``build_certs_only`` (canonical) to the same certificates sorted.

Run: ``python fuzz/fuzz_certs_only.py fuzz/corpus/certs_only -max_len=65536`` (see fuzz/README.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import atheris_main, decoded, schema_less_gap, own, schema_less, seeds_for, timed  # noqa: E402

from estcodec.cms import ContentInfo, build_certs_only, parse_certs_only, parse_content_info, parse_signed_data  # noqa: E402
from estcodec.x509 import Certificate  # noqa: E402

NAME = "certs_only"
GROUP = "models"
SEED_EXTENSIONS = (".der", ".p7b", ".p7c", ".ber", ".pem")
MAX_MUTATION_INPUT = 1 << 15


@timed
def check_one(data: bytes) -> None:
    certs = decoded(parse_certs_only, data)
    sd = decoded(parse_signed_data, data)
    ci = decoded(parse_content_info, data)
    assert certs is None or sd is not None, "parse_certs_only accepts what parse_signed_data refuses"
    if sd is not None and ci is None:
        # parse_content_info validates the content as an open type (schema-less), parse_signed_data decodes it as
        # SignedData in the same pass: only the documented gaps of _models.schema_less_gap may part them (a
        # certificate name value kept raw, a value-level charset/time check), counted in design_hits
        assert schema_less(data) is None, "parse_signed_data accepts what parse_content_info refuses"
        schema_less_gap(data)
    for ber in (False, True):
        got = decoded(ContentInfo.from_der, data, ber=ber)
        if got is not None:
            own(got.signed_data)
            own(got.to_der)
    if certs is None:
        return
    assert isinstance(certs, list)
    ders = []
    for c in certs:
        assert isinstance(c, Certificate)
        b = c.to_der()
        again = decoded(Certificate.from_der, b)
        if again is None and schema_less(b) is None and schema_less(data, ber=True) is None:
            schema_less_gap(b)  # a raw value the schema-less walk refuses
            continue
        assert again is not None and again.to_der() == b, "a returned certificate does not re-decode"
        ders.append(b)
    if not certs:
        return
    rebuilt = own(build_certs_only, certs, keep_order=True)
    if rebuilt is None:  # e.g. BER certificates that cannot go into a DER SET OF: an own error is fine
        return
    back = parse_certs_only(rebuilt)
    assert [c.to_der() for c in back] == ders, "build_certs_only/parse_certs_only changed the certificates"
    canonical = own(build_certs_only, certs)  # the default: the SET OF sorted, as DER wants it
    assert canonical is not None, "build_certs_only failed where keep_order=True did not"
    got = [c.to_der() for c in parse_certs_only(canonical)]
    assert got == sorted(c.to_der() for c in back), "build_certs_only did not sort the certificates"


def _accepts(blob: bytes) -> bool:
    return bool(parse_certs_only(blob))


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts)


def TestOneInput(data: bytes) -> None:  # noqa: N802
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
