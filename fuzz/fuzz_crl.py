"""Fuzz harness for ``estcodec.crl.CertificateList.from_der`` (strict DER; the entries are read lazily).

INVARIANT: every input either decodes or raises ``estcodec.DecodeError`` (a subclass is fine; with an int offset
and a ``$``-path); nothing else, no other ``estcodec.Error`` either, nothing slow. In addition:

* a CRL accepted gives back exactly its input bytes (``to_der()``) and is accepted by the eager model
  (``to_model()``, every entry decoded), whose entries are the same bytes in the same order as the lazy
  iteration's; the eager model may accept more only for a version other than v2 (refused by the lazy reader,
  ``invalid-value`` at ``$.tbs_cert_list.version``);
* the eager model is held to ``_models.check_strict_and_ber`` (strict re-encodes identically and agrees with
  schema-less DER; ``ber=True`` gives the DER form of what schema-less BER accepts); known finding F1 is counted;
* every field, every revoked entry (serial, date, reason, invalidity date, certificate issuer, extensions) and
  every CRL extension returns or raises an ``estcodec.Error``, nothing else;
* ``get_revoked(serial)`` of a listed serial gives the first entry with that serial (both the linear scan and,
  after a few lookups of a CRL of more than 64 entries, the sorted search), of an unlisted serial None;
* ``verify(issuer)`` with each fixed issuer (fuzz/seeds/crl-issuers/) returns None or raises ``SignatureError``;
  ``is_signature_valid`` returns a bool or raises ``UnsupportedSignatureAlgorithm``.

Run: ``python fuzz/fuzz_crl.py fuzz/corpus/crl -max_len=65536`` (see fuzz/README.md).
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import (  # noqa: E402
    FUZZ_DIR, _crypto_vectors_dir, atheris_main, check_strict_and_ber, decoded, own, seeds_for, timed,
)

from estcodec import DecodeError  # noqa: E402
from estcodec._sigalgs import SignatureError, UnsupportedSignatureAlgorithm  # noqa: E402
from estcodec.crl import CertificateList, RevokedCertificate, oid  # noqa: E402
from estcodec.crl import _CertificateListModel  # noqa: E402 - the eager model of to_model()
from estcodec.x509 import Certificate  # noqa: E402

NAME = "crl"
GROUP = "models"
SEED_EXTENSIONS = (".der", ".crl", ".pem")
MAX_MUTATION_INPUT = 1 << 14
# entries read per CRL (a seed of 10,000 entries is checked whole, but not 10,000 times per mutation)
MAX_ENTRIES = 512
MAX_LOOKUPS = 80
_ENTRY_EXTS = (oid.REASON_CODE, oid.INVALIDITY_DATE, oid.CERTIFICATE_ISSUER, "2.5.29.99")


@functools.lru_cache(maxsize=1)
def issuers() -> tuple[Certificate, ...]:
    """The fixed issuer certificates the harness verifies with (fuzz/seeds/crl-issuers/)."""
    folder = FUZZ_DIR / "seeds" / "crl-issuers"
    return tuple(Certificate.from_der(p.read_bytes()) for p in sorted(folder.iterdir()) if p.is_file())


def _big_seeds() -> dict[str, bytes]:
    # crl_almost_10k (about 10,000 entries) is larger than _models.MAX_SEED_SIZE: taken by name, so that the
    # sorted search of get_revoked and the entry cap are exercised
    from estcodec import pem

    vectors = _crypto_vectors_dir()
    path = None if vectors is None else vectors / "x509" / "custom" / "crl_almost_10k.pem"
    return {} if path is None or not path.is_file() else {"crl_almost_10k": pem.load_any(path.read_bytes())}


def read_entry(entry: RevokedCertificate) -> None:
    assert isinstance(entry.serial_number, int)
    assert entry.revocation_date.tzinfo is not None
    for attr in ("reason", "invalidity_date", "certificate_issuer"):
        own(getattr, entry, attr)
    exts = own(lambda: entry.extensions) or []
    for ext in exts:
        assert isinstance(ext.extn_id, str) and isinstance(ext.critical, bool)
        own(lambda e=ext: e.parsed)
    for o in _ENTRY_EXTS:
        own(entry.extension, o)
    repr(entry)


def read_all(crl: CertificateList) -> None:
    """Every field, every entry (up to MAX_ENTRIES), lookups and signatures; estcodec.Error only."""
    assert crl.version in (0, 1)
    assert isinstance(crl.signature, bytes) and isinstance(crl.tbs_der, bytes)
    assert isinstance(crl.signature_algorithm_oid, str) and isinstance(crl.tbs_signature_algorithm.algorithm, str)
    own(crl.issuer.rfc4514_string)
    own(crl.issuer.to_der)
    assert crl.this_update.tzinfo is not None
    assert crl.next_update is None or crl.next_update.tzinfo is not None
    for ext in own(lambda: crl.extensions) or []:
        assert isinstance(ext.extn_id, str) and isinstance(ext.critical, bool)
        own(lambda e=ext: e.parsed)
    for attr in ("crl_number", "delta_crl_indicator", "authority_key_identifier"):
        own(getattr, crl, attr)
    own(crl.validate_extensions)
    own(repr, crl)
    n = len(crl)
    assert n == len(crl.revoked_certificates) >= 0
    serials: list[int] = []
    entries: list[bytes] = []
    for i, entry in enumerate(crl):
        if i >= MAX_ENTRIES:
            break
        read_entry(entry)
        serials.append(entry.serial_number)
        entries.append(entry.to_der())
    assert len(serials) == min(n, MAX_ENTRIES), "iteration gives a count other than len()"
    _lookups(crl, serials, entries)
    _signatures(crl)
    _eager(crl, n, entries)


def _lookups(crl: CertificateList, serials: list[int], entries: list[bytes]) -> None:
    first: dict[int, bytes] = {}
    for s, e in zip(serials, entries):
        first.setdefault(s, e)
    # more than two lookups turn on the sorted search of a CRL of more than 64 entries: both paths are checked
    for s in list(first)[:MAX_LOOKUPS]:
        hit = crl.get_revoked(s)
        assert hit is not None and hit.serial_number == s, f"get_revoked({s}) misses a listed serial"
        if len(crl) <= MAX_ENTRIES and len(crl) <= 64:
            assert hit.to_der() == first[s], f"get_revoked({s}) is not the first entry with that serial"
        assert crl.is_revoked(s)
    absent = (max(serials) + 1) if serials else 1
    if len(crl) <= MAX_ENTRIES:  # every serial is known: one that is not listed
        for probe in (absent, -absent, 0):
            if probe not in first:
                assert crl.get_revoked(probe) is None and not crl.is_revoked(probe)


def _signatures(crl: CertificateList) -> None:
    for issuer in issuers():
        try:
            crl.verify(issuer)
        except SignatureError as err:
            str(err)
        try:
            assert isinstance(crl.is_signature_valid(issuer), bool)
        except UnsupportedSignatureAlgorithm:
            pass


def _eager(crl: CertificateList, n: int, entries: list[bytes]) -> None:
    model = decoded(crl.to_model)
    assert model is not None, "the lazy reader accepts a CRL the eager model refuses"
    listed = model.tbs_cert_list.revoked_certificates or []
    assert len(listed) == n, "the eager model counts other entries"
    assert [e.to_der() for e in listed[:len(entries)]] == entries, "the eager model has other entries"


def read_model(model: object) -> None:
    tbs = model.tbs_cert_list  # type: ignore[attr-defined]
    own(tbs.issuer.rfc4514_string)
    for i, entry in enumerate(tbs.revoked_certificates or []):
        if i >= MAX_ENTRIES:
            break
        read_entry(entry)


@timed
def check_one(data: bytes) -> None:
    crl = decoded(CertificateList.from_der, data)
    if crl is not None:
        assert crl.to_der() == data, "CertificateList does not give back its input"
        read_all(crl)
    check_strict_and_ber(_eager_decode, read_model, data)
    if crl is None:
        model = decoded(_eager_decode, data)
        if model is not None:  # the eager model takes what the lazy reader refuses: the version only
            try:
                CertificateList.from_der(data)
            except DecodeError as err:
                assert err.reason == "invalid-value" and err.path == "$.tbs_cert_list.version", (
                    f"the eager model accepts what the lazy reader refuses: {err!r}")


def _eager_decode(data: bytes, *, ber: bool = False) -> object:
    return _CertificateListModel.from_der(data, ber=ber)


def _accepts(blob: bytes) -> bool:
    CertificateList.from_der(blob)
    return True


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts, extra=_big_seeds(), name=NAME)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - atheris' name
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
