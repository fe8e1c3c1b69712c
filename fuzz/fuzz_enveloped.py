"""Fuzz harness for ``estcodec.enveloped``: ``parse_enveloped_data`` (DER and BER, bare or in a ContentInfo),
``decrypt`` with fixed keys, ``decrypt_enveloped_data`` with a fixed content key, ``unwrap_server_generated_key``
(RFC 7030 §4.4.2, signer not verified) with the same keys, and ``is_encrypted_key``.

Fixed keys (all public, see fuzz/_models.py): RFC 4134 Bob's RSA key, the AES-128 KEK
``0102030405060708090A0B0C0D0E0F00`` with key id ``DEADBEEF`` (RustCrypto's sample), the password
``password`` (PBKDF2 capped at 100,000 iterations here: the library default cap, 10,000,000, is a policy for
callers and would make single inputs take seconds), and the AES-128-CBC content key ``00 01 .. 0F``.

INVARIANT: every input either parses or raises ``estcodec.DecodeError`` (a subclass is fine); nothing else, no
other ``estcodec.Error`` either, nothing slow. Decrypting may also raise ``DecryptionError`` (which includes
``UnsupportedAlgorithmError`` and the PBKDF2 budget refusal); unwrapping also ``SignatureError``;
``is_encrypted_key`` returns a bool and raises nothing. In addition: whatever decrypts also parses; an
EnvelopedData parsed strictly gives back exactly its input bytes, and is accepted as BER too unless a string
or time inside a raw value is malformed (schema-less BER checks those; strict models leave them to the
value's type); accessors return or raise an ``estcodec.Error``.

Run: ``python fuzz/fuzz_enveloped.py fuzz/corpus/enveloped -max_len=16384`` (see fuzz/README.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _models import atheris_main, decoded, fixed_keys, own, schema_less_gap, seeds_for, timed  # noqa: E402

from estcodec import enveloped as env  # noqa: E402
from estcodec.pkcs10 import SignatureError  # noqa: E402

NAME = "enveloped"
GROUP = "models"
SEED_EXTENSIONS = (".der", ".bin", ".ber")
MAX_MUTATION_INPUT = 1 << 14
MAX_ITERATIONS = 100_000
CONTENT_KEY = env.DecryptionKey(bytes(range(16)), env.EncryptionAlgorithm.AES128_CBC)


def read_all(e) -> None:
    for name in ("version", "recipients", "recipient_infos", "content_encryption_algorithm", "encrypted_content",
                 "iv", "content_type", "originator_info", "unprotected_attrs", "unauth_attrs", "auth_attrs", "mac"):
        if hasattr(type(e), name):
            own(getattr, e, name)
    repr(e)


@timed
def check_one(data: bytes) -> None:
    assert isinstance(env.is_encrypted_key(data), bool)
    parsed = decoded(env.parse_enveloped_data, data)
    if parsed is not None:
        read_all(parsed)
    strict = decoded(env.parse_enveloped_data, data, ber=False)
    if strict is not None:
        if parsed is None:
            # BER normalisation is schema-less: it checks string charsets and time formats inside raw (ANY)
            # values, which strict models leave to the value's own type (commit b79170a); only such a reason may
            # separate the two (counted in design_hits), anything else is a finding
            schema_less_gap(data)
        if type(strict).from_der is not None and decoded(type(strict).from_der, data) is not None:
            assert strict.to_der() == data, "strict EnvelopedData does not re-encode identically"
    k = fixed_keys()
    plain = decoded(env.decrypt, data, private_key=k["private_key"], kek=k["kek"], kek_id=k["kek_id"],
                    password=k["password"], max_pbkdf2_iterations=MAX_ITERATIONS, allow=(env.DecryptionError,))
    if plain is not None:
        assert isinstance(plain, bytes) and parsed is not None, "decrypted what does not parse"
    content = decoded(env.decrypt_enveloped_data, data, CONTENT_KEY, allow=(env.DecryptionError,))
    if content is not None:
        assert parsed is not None
    if parsed is not None:  # unwrap runs decrypt again: only for what parses (keeps the harness fast)
        key = decoded(env.unwrap_server_generated_key, data, verify_signer=False, private_key=k["private_key"],
                      kek=k["kek"], kek_id=k["kek_id"], allow=(env.DecryptionError, SignatureError))
        if key is not None:
            assert plain is not None, "unwrapped a key from what does not decrypt"
            key.to_der()


def _accepts(blob: bytes) -> bool:
    env.parse_enveloped_data(blob)
    return True


def collect_seeds() -> dict[str, bytes]:
    return seeds_for(_accepts, name=NAME)


def TestOneInput(data: bytes) -> None:  # noqa: N802
    check_one(data)


if __name__ == "__main__":
    atheris_main(TestOneInput)
