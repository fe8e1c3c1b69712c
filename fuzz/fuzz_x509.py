"""Fuzz harness for ``estcodec.x509.Certificate.from_der`` (strict DER and ``ber=True``).

INVARIANT: every input either decodes or raises ``estcodec.DecodeError`` (a subclass is fine; with an int
offset and a ``$``-path); nothing else, no other ``estcodec.Error`` either, nothing slow
(ESTCODEC_FUZZ_SLOW_SECONDS, default 2 s). In addition:

* a certificate accepted in strict mode re-encodes byte-identically and is valid schema-less DER
  (``der.parse`` accepts it); ``ber=True`` accepts it too;
* a certificate accepted with ``ber=True`` is valid schema-less BER and re-encodes to the same bytes as
  ``der.parse(data, ber=True).to_der()`` (the DER form), or, where the schema's own DER rules (a DEFAULT value
  present, trailing zero bits of a named bit list) change it further, to strict DER that decodes to itself;
* known findings F1 and F4 (see fuzz/_models.py) are counted, not raised;
* one documented gap: in a certificate's issuer or subject an attribute value whose own TLV is sound but whose
  constructed contents do not parse is kept raw (refused when read). Schema-less DER and ``ber=True`` refuse such a
  certificate; that is tolerated (counted in ``_models.design_hits``) only when the refusal lies in the issuer or
  subject and ``validate_names()`` raises (``_models.schema_less_gap``);
* every documented accessor (names, validity, key info, extensions and their decoded values, key
  identifiers, SANs, fingerprint, validity check) returns or raises an ``estcodec.Error``, nothing else.

``check_one(data)`` is the invariant in code (no atheris needed: ``fuzz/run_short.py`` and
``tests/test_fuzz_models_short.py`` use it). Under atheris (see fuzz/README.md for the ASan build)::

    python fuzz/make_model_seeds.py
    python fuzz/fuzz_x509.py fuzz/corpus/x509 -max_len=65536
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import (  # noqa: E402
    _crypto_vectors_dir, atheris_main, check_strict_and_ber, name_hits_f4, own, seeds_for, timed,
)

from estcodec.x509 import Certificate  # noqa: E402

NAME = "x509"
GROUP = "models"
SEED_EXTENSIONS = (".der", ".crt", ".cer", ".pem")
MAX_MUTATION_INPUT = 1 << 14
_WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def read_all(cert: Certificate) -> None:
    """Every accessor a user reads; each may raise only estcodec.Error."""
    assert isinstance(cert.serial_number, int)
    f4 = False
    for name in (cert.subject, cert.issuer):
        if name_hits_f4(name):
            f4 = True
        else:
            own(name.rfc4514_string)
        own(lambda n=name: n.to_der())
    assert cert.not_before.tzinfo is not None and cert.not_after.tzinfo is not None
    own(lambda: cert.public_key_info.algorithm_oid)
    own(lambda: cert.public_key_info.to_der())
    exts = own(lambda: cert.extensions) or []
    for ext in exts:
        assert isinstance(ext.oid, str) and isinstance(ext.critical, bool) and isinstance(ext.value, bytes)
    assert isinstance(cert.signature_algorithm_oid, str)
    assert isinstance(cert.signature, bytes) and isinstance(cert.tbs_der, bytes)
    for attr in ("subject_key_identifier", "authority_key_identifier", "basic_constraints", "is_ca", "key_usage",
                 "extended_key_usage", "subject_alt_names", "is_self_issued"):
        value = own(getattr, cert, attr)
        if callable(value):
            own(value)
    own(cert.fingerprint)
    own(cert.is_valid_at, _WHEN)
    if not f4:
        repr(cert)


@timed
def check_one(data: bytes) -> None:
    check_strict_and_ber(Certificate.from_der, read_all, data)


def _accepts(blob: bytes) -> bool:
    Certificate.from_der(blob, ber=True)
    return True


def _name_value_seeds() -> dict[str, bytes]:
    # A certificate whose names hold a constructed value with unparsable contents: strict from_der reads it (the
    # value is refused when read), schema-less DER and ber=True refuse it, so _accepts does not pick it.
    from estcodec import pem

    vectors = _crypto_vectors_dir()
    path = None if vectors is None else vectors / "x509" / "custom" / "name_attribute_unsupported_tag.pem"
    return {} if path is None or not path.is_file() else {"name_attribute_unsupported_tag": pem.load_any(
        path.read_bytes())}


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts, extra=_name_value_seeds())


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
