"""Collect fuzzing seeds from tests/vectors into fuzz/corpus/<harness>/ (git-ignored).

    python fuzz/make_seeds.py            # writes fuzz/corpus/der and fuzz/corpus/pem
    python fuzz/make_seeds.py --list     # only print what would be collected

``der`` gets every DER/BER file of the shared vectors plus a few hand-made inputs for corners the vectors do
not reach (indefinite lengths, constructed strings, high tag numbers, huge lengths, deep nesting);
``pem`` gets the PEM and base64 files. Seeds are named after their source path so a finding can be traced back.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

FUZZ_DIR = Path(__file__).resolve().parent
REPO = FUZZ_DIR.parent
VECTORS = REPO / "tests" / "vectors"

DER_EXTENSIONS = (".der", ".ber", ".p7b", ".p7c", ".p7m", ".crl", ".cer", ".p10", ".csr")
PEM_EXTENSIONS = (".pem", ".b64", ".crt")
MAX_SEED = 1 << 20

HANDMADE_DER = {
    "ber-indefinite-nested": bytes.fromhex("30 80 30 80 02 01 05 00 00 a0 80 04 00 00 00 00 00"),
    "ber-constructed-octets": bytes.fromhex("24 80 04 02 01 02 24 04 04 02 03 04 00 00"),
    "ber-constructed-bits": bytes.fromhex("23 80 03 02 00 0f 03 02 04 f0 00 00"),
    "ber-constructed-visible": bytes.fromhex("3a 09 04 03 4a 6f 6e 04 02 65 73"),
    "ber-non-minimal": bytes.fromhex("30 84 00 00 00 07 02 81 01 05 01 01 01"),
    "ber-times": bytes.fromhex("30 1c 17 0b") + b"2501010000Z" + bytes.fromhex("18 0d") + b"202501010000Z",
    "high-tags": bytes.fromhex("30 0e 9f 81 00 00 bf 82 80 00 02 05 00 5f 7f 00"),
    "huge-length": bytes.fromhex("30 88 40 00 00 00 00 00 00 00 02 01 00"),
    "deep": b"\x30\x80" * 200 + b"\x00\x00" * 200,
    "primitives": bytes.fromhex(
        "30 3b 01 01 ff 02 09 00 80 00 00 00 00 00 00 00 05 00 06 03 88 37 03 03 02 07 80 0c 03 e2 82 ac"
        " 13 02 41 42 1e 02 00 41 1c 04 00 00 00 41 17 0d") + b"250101000000Z"
    + bytes.fromhex("0a 01 01"),
}


def _fix_primitives() -> None:
    # keep the hand-written SEQUENCE length right whatever is appended above
    body = HANDMADE_DER["primitives"][2:]
    HANDMADE_DER["primitives"] = b"\x30" + bytes([len(body)]) + body


_fix_primitives()


def collect(name: str) -> dict[str, bytes]:
    """Seed name -> bytes for harness ``name`` ("der" or "pem"), read straight from the shared vectors."""
    exts = DER_EXTENSIONS if name == "der" else PEM_EXTENSIONS
    seeds: dict[str, bytes] = {}
    if VECTORS.is_dir():
        for path in sorted(VECTORS.rglob("*")):
            if path.suffix.lower() in exts and path.is_file() and path.stat().st_size <= MAX_SEED:
                seeds[path.relative_to(VECTORS).as_posix().replace("/", "__")] = path.read_bytes()
    if name == "der":
        seeds.update({f"handmade__{k}": v for k, v in HANDMADE_DER.items()})
    return seeds


def write(name: str, seeds: dict[str, bytes]) -> Path:
    out = FUZZ_DIR / "corpus" / name
    out.mkdir(parents=True, exist_ok=True)
    seen = set()
    for seed_name, data in seeds.items():
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        (out / seed_name).write_bytes(data)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--list", action="store_true", help="print the seeds instead of writing them")
    args = p.parse_args(argv)
    if not VECTORS.is_dir():
        print(f"vectors not found at {VECTORS}", file=sys.stderr)
        return 1
    for name in ("der", "pem"):
        seeds = collect(name)
        if args.list:
            for k, v in seeds.items():
                print(f"{name}\t{len(v)}\t{k}")
        else:
            out = write(name, seeds)
            print(f"{len(seeds)} {name} seeds -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
