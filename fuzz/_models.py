"""Shared pieces of the model-level fuzz harnesses (``fuzz/fuzz_<target>.py`` other than der/pem).

Not a harness itself (the leading underscore keeps it out of ``run_short.py``'s ``fuzz_*.py`` glob).

* :func:`decoded` runs a public decoder and swallows ``estcodec.DecodeError`` only (plus, where the call also
  verifies or decrypts, the failure classes named): the DecodeError-only invariant every decoder harness
  states (issue 12, finding 10). Anything else propagates and is the finding.
* :func:`own` runs an accessor and swallows the package's own errors only (``estcodec.Error``, or
  ``estclient.errors.EstError`` for the protocol layer); anything else propagates and is the finding.
* :func:`timed` wraps a ``check_one`` so that one input taking longer than ``ESTCODEC_FUZZ_SLOW_SECONDS``
  (default 2 s) breaks the invariant ("nothing slow"); atheris' ``-timeout`` catches real hangs.
* :func:`candidate_blobs` collects every DER/BER object of tests/vectors and of the installed
  ``cryptography_vectors`` (PEM files are unwrapped); :func:`seeds_for` keeps those a decoder accepts plus
  a few it rejects, which is the seed corpus of that harness.
* :func:`fixed_keys` holds the fixed decryption keys (RFC 4134 Bob's RSA key, the RustCrypto KEK sample's
  AES key, the password ``password``) the EnvelopedData harness decrypts with.
* :func:`atheris_main` is the common ``__main__`` of every harness.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

FUZZ_DIR = Path(__file__).resolve().parent
REPO = FUZZ_DIR.parent
VECTORS = REPO / "tests" / "vectors"
SLOW_SECONDS = float(os.environ.get("ESTCODEC_FUZZ_SLOW_SECONDS", "2"))
MAX_SEED_SIZE = 1 << 17
# seeds kept per harness (the short runner checks every seed whole, and every prefix of the small ones)
MAX_SEEDS = 400
MAX_REJECTED_SEEDS = 24

_DER_SUFFIXES = {".der", ".ber", ".p7b", ".p7c", ".p7m", ".p7s", ".crl", ".cer", ".p10", ".csr", ".bin", ".pri",
                 ".key", ".crt", ".cms", ".pfx", ".sd", ".stl", ".ta"}
_TEXT_SUFFIXES = {".pem", ".crt", ".csr", ".key", ".b64", ".cer", ".txt", ".eml", ".pri"}
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----(.*?)-----END \1-----", re.S)


def decoded(fn: Callable, *args, allow: tuple = (), **kwargs):
    """``fn(*args, **kwargs)``, or None if it raised ``estcodec.DecodeError`` (or one of ``allow``). Any other
    exception, an ``estcodec.Error`` of another class included, propagates: every public decoder raises
    ``DecodeError`` (a subclass is fine) for any input it cannot accept."""
    from estcodec import DecodeError

    try:
        return fn(*args, **kwargs)
    except DecodeError as err:
        assert isinstance(err.offset, int) and err.offset >= 0, f"bad DecodeError offset {err.offset!r}"
        assert isinstance(err.path, str) and err.path.startswith("$"), f"bad DecodeError path {err.path!r}"
        str(err)
        return None
    except allow as err:
        str(err)
        return None


def own(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, or None if it raised an ``estcodec.Error``. Anything else propagates."""
    from estcodec import Error

    return decoded(fn, *args, allow=(Error,), **kwargs)


# Known findings the harnesses tolerate (counted, not raised) while they are open in the build under test, so
# that long runs keep looking for new ones (all fixed by 5151fe9; kept so that older builds can still be fuzzed). Each has reproducers in fuzz/findings/ and regression tests. Whether a
# finding is open is probed once per process with its reproducer (is_open): in a build with the fix, the
# symptom is an invariant failure again.
KNOWN_FINDINGS = {
    "F1-any-unchecked": "strict decoding takes a constructed ANY value (e.g. an X.501 AttributeValue or a PKCS#10 "
                        "attribute value) without parsing its contents: schema-less DER refuses the same input, "
                        "ber=True refuses it or re-encodes it differently (fuzz/findings/F1-*.bin); F1b: a primitive "
                        "SEQUENCE/SET or a tag-0 element as an ANY value (fuzz/findings/F1b-*.bin)",
    "F2-retry-after-digits": "estclient.protocol.parse_retry_after: str.isdigit() holds for '²' and other non-ASCII "
                             "digits and int() refuses more than 4300 digits: ValueError escapes "
                             "(fuzz/findings/F2-*.bin)",
    "F6-multipart-header-object": "estclient.protocol._multipart_parts: a part header with a non-ASCII byte comes "
                                  "back from the email package as an email.header.Header, and parse_media_type "
                                  "raises TypeError on it (fuzz/findings/F6-*.bin)",
    "F7-multipart-boundary-latin1": "estclient.protocol._multipart_parts encodes the boundary as latin-1: a "
                                    "boundary outside latin-1 (httpx decodes UTF-8 header bytes) raises "
                                    "UnicodeEncodeError (fuzz/findings/F7-*.bin)",
    "F4-rfc4514-non-string": "x509.Name.rfc4514_string turns a non-string attribute value (INTEGER, BOOLEAN, NULL) "
                             "into bytes(value): INTEGER 5 gives '#0000000000', INTEGER 2**31-1 allocates 2 GiB, "
                             "larger ones raise OverflowError, NULL raises TypeError (fuzz/findings/F4-*.bin)",
}
known_hits: dict[str, int] = {k: 0 for k in KNOWN_FINDINGS}
FINDINGS = FUZZ_DIR / "findings"


def _probe(finding: str) -> bool:
    """Is the finding still open in the build under test? (Its reproducer still shows the symptom.)"""
    from estcodec.x509 import Name

    try:
        if finding.startswith("F1"):
            accepted = 0
            for repro in ("F1-any-constructed-name.bin", "F1b-primitive-set-name.bin", "F1b-eoc-tag-name.bin"):
                try:
                    Name.from_der((FINDINGS / repro).read_bytes())
                    accepted += 1
                except Exception:  # noqa: BLE001 - refused: that part is fixed
                    pass
            return accepted > 0  # any of them still accepted: open
        if finding.startswith("F2"):
            from estclient.protocol import parse_retry_after

            parse_retry_after("\u00b2")
            return False
        if finding.startswith("F6"):
            from estclient.protocol import EstResponse, parse_serverkeygen_response

            body = b"--b\r\nContent-Type: application/pkcs8\x82\r\n\r\nMAA=\r\n--b--\r\n"
            try:
                parse_serverkeygen_response(EstResponse(200, [("Content-Type", "multipart/mixed; boundary=b")], body))
            except TypeError:
                return True
            except Exception:  # noqa: BLE001 - an EstError: fixed
                return False
            return False
        if finding.startswith("F7"):
            from estclient.protocol import EstResponse, parse_serverkeygen_response

            try:
                parse_serverkeygen_response(EstResponse(200, [("Content-Type", "multipart/mixed; boundary=\u04d2")],
                                                        b"--\xd3\x92\r\n\r\n"))
            except UnicodeError:
                return True
            except Exception:  # noqa: BLE001 - an EstError: fixed
                return False
            return False
        if finding.startswith("F4"):
            name = Name.from_der((FINDINGS / "F4-name-integer-value.bin").read_bytes())
            return name.rfc4514_string() != "CN=#020105"
    except Exception:  # noqa: BLE001 - F1: refused (fixed); F2/F4: the symptom is an exception (open)
        return not finding.startswith("F1")
    return False


@functools.lru_cache(maxsize=None)
def is_open(finding: str) -> bool:
    return _probe(finding)


def known(name: str) -> None:
    """Count a known finding's symptom, or fail if the finding was fixed in this build (a regression)."""
    if not is_open(name):
        raise AssertionError(f"{name} is fixed in this build, but its symptom showed: {KNOWN_FINDINGS[name]}")
    known_hits[name] += 1


def name_hits_f4(name) -> bool:
    """True (and counted) when finding F4 is open and ``name`` holds an attribute value it mishandles: then the
    harness does not call ``rfc4514_string`` (or a repr built on it), which could allocate gigabytes."""
    if not is_open("F4-rfc4514-non-string"):
        return False
    try:
        rdns = name.value
        values = [a.value for rdn in rdns for a in rdn]
    except Exception:  # noqa: BLE001 - not a Name of RDNs: nothing to guard
        return False
    if any(not isinstance(v, (str, bytes, bytearray, memoryview)) for v in values):
        known("F4-rfc4514-non-string")
        return True
    return False


# Raw (ANY) values are validated by the core for framing, forms and structural primitives; their string
# charsets and time formats are checked when they are decoded as their type (the lead's decision, commit
# b79170a). So a strict model may accept what schema-less DER refuses for these reasons only, and, in a
# certificate's issuer or subject only, for an attribute value whose own TLV is sound but whose constructed contents
# do not parse: the certificate is read and that value refused when read (cryptography_vectors
# custom/name_attribute_unsupported_tag.pem). That is tolerated (counted as "certificate-name-value") only when
# the refusal lies inside the issuer or subject of a certificate that Certificate.from_der accepts and whose
# validate_names() raises.
VALUE_LEVEL_REASONS = frozenset({"invalid-string", "invalid-time"})
CERT_NAME_DESIGN = "certificate-name-value"
design_hits: dict[str, int] = {}
MAX_CERT_CANDIDATES = 256


def _element_end(data: bytes, start: int) -> int | None:
    """End of the element whose identifier is at ``start`` (a one-octet tag, definite length), or None."""
    if start + 2 > len(data):
        return None
    first = data[start + 1]
    if first < 0x80:
        return start + 2 + first
    n = first & 0x7F
    if n == 0 or n > 4 or start + 2 + n > len(data):
        return None
    return start + 2 + n + int.from_bytes(data[start + 2:start + 2 + n], "big")


def _in_certificate_name(data: bytes, offset: int) -> bool:
    """Does the schema-less refusal at ``offset`` lie inside the issuer or subject of a certificate held in
    ``data`` that ``Certificate.from_der`` accepts and whose ``validate_names()`` raises? (Candidates: SEQUENCEs
    that start before ``offset`` and end after it, nearest first, at most MAX_CERT_CANDIDATES of them.)"""
    from estcodec import DecodeError
    from estcodec._der import tlv_children
    from estcodec.x509 import Certificate

    tried = 0
    for start in range(min(offset, len(data) - 1), -1, -1):
        if data[start] != 0x30:
            continue
        end = _element_end(data, start)
        if end is None or end <= offset or end > len(data):
            continue
        tried += 1
        if tried > MAX_CERT_CANDIDATES:
            return False
        blob = data[start:end]
        cert = decoded(Certificate.from_der, blob)
        if cert is None:
            continue
        (_, _, _, _, cs, ce), = tlv_children(blob, 0, len(blob))
        tbs = tlv_children(blob, cs, ce)[0]
        parts = tlv_children(blob, tbs[4], tbs[5])
        v = 1 if parts[0][0] == 2 else 0  # [0] version present
        spans = [(parts[i][3], parts[i][5]) for i in (2 + v, 4 + v)]
        if not any(a <= offset - start < b for a, b in spans):
            continue
        try:
            cert.validate_names()
        except DecodeError:
            return True
        return False
    return False


def schema_less_gap(data: bytes) -> None:
    """A strict model accepted ``data`` while schema-less DER (or BER) refused it: fine for a value-level
    reason inside a raw value, or for an unparsable constructed value inside a certificate's name that
    ``validate_names()`` refuses (both counted in ``design_hits``), else finding F1 (counted while open, else
    raised)."""
    from estcodec import DecodeError, der

    try:
        der.parse(data)
    except DecodeError as err:
        if err.reason in VALUE_LEVEL_REASONS:
            design_hits[err.reason] = design_hits.get(err.reason, 0) + 1
            return
        if _in_certificate_name(data, err.offset):
            design_hits[CERT_NAME_DESIGN] = design_hits.get(CERT_NAME_DESIGN, 0) + 1
            return
    known("F1-any-unchecked")


def schema_less(data: bytes, *, ber: bool = False):
    """``der.parse(data, ber=ber)`` or None (schema-less validity, the gate for finding F1)."""
    from estcodec import der

    return decoded(der.parse, data, ber=ber)


def check_strict_and_ber(decode: Callable, read_all: Callable, data: bytes) -> None:
    """The invariant of a model whose ``from_der(data, ber=...)`` keeps its bytes: a strict decode re-encodes to
    the input and agrees with schema-less DER; a ``ber=True`` decode gives the DER form of what schema-less BER
    accepts (where the schema's own rules change it further, strict DER that decodes to itself), and nothing
    schema-less BER refuses."""
    strict = decoded(decode, data)
    tree = schema_less(data)
    if strict is not None:
        assert strict.to_der() == data, "strict decode does not re-encode identically"
        read_all(strict)
        if tree is None:  # the model accepted it, schema-less strict DER did not
            schema_less_gap(data)
            return
    lenient = decoded(decode, data, ber=True)
    ber_tree = schema_less(data, ber=True)
    if lenient is None:
        if strict is not None:
            assert ber_tree is None, "accepted as DER but refused with ber=True"
            schema_less_gap(data)
        return
    assert ber_tree is not None, "ber=True model decode of input that schema-less BER refuses"
    out = lenient.to_der()
    if out != ber_tree.to_der():
        # The schema knows rules the schema-less normalisation cannot (a DEFAULT value present, trailing zero bits
        # of a named bit list, IMPLICIT-tagged primitives): the output is then the strict DER of the same value.
        assert strict is None, "input accepted as DER re-encodes differently when read with ber=True"
        again = decoded(decode, out)
        assert again is not None and again.to_der() == out, "ber=True decode does not give a DER form of its input"
        assert schema_less(out) is not None, "ber=True decode gives what schema-less DER refuses"
    if strict is None:
        read_all(lenient)


def own_est(fn: Callable, *args, **kwargs):
    """Like :func:`own` for the client layer: ``estclient.errors.EstError`` only."""
    from estclient.errors import EstError

    try:
        return fn(*args, **kwargs)
    except EstError as err:
        str(err)
        return None


def timed(check: Callable[[bytes], None]) -> Callable[[bytes], None]:
    @functools.wraps(check)
    def run(data: bytes) -> None:
        t0 = time.perf_counter()
        check(data)
        took = time.perf_counter() - t0
        assert took < SLOW_SECONDS, f"slow input: {took:.2f} s for {len(data)} bytes"

    return run


def _crypto_vectors_dir() -> Path | None:
    try:
        import cryptography_vectors
    except ImportError:
        return None
    return Path(cryptography_vectors.__file__).resolve().parent


def _blobs_of(path: Path) -> Iterable[bytes]:
    try:
        raw = path.read_bytes()
    except OSError:
        return
    if len(raw) > 4 * MAX_SEED_SIZE:
        return
    if raw[:1] in (b"\x30", b"\xa0", b"\x31") and path.suffix.lower() in _DER_SUFFIXES:
        yield raw
        return
    if path.suffix.lower() not in _TEXT_SUFFIXES:
        return
    found = False
    for m in _PEM_BLOCK.finditer(raw):
        body = b"".join(ln for ln in m.group(2).splitlines() if b":" not in ln)
        try:
            yield base64.b64decode(body, validate=False)
            found = True
        except ValueError:
            continue
    if not found and path.suffix.lower() == ".b64":
        try:
            yield base64.b64decode(b"".join(raw.split()), validate=False)
        except ValueError:
            pass


@functools.lru_cache(maxsize=1)
def candidate_blobs() -> dict[str, bytes]:
    """source name -> DER/BER bytes, from the shared vectors and cryptography_vectors (distinct, <= 128 KiB)."""
    roots: list[tuple[str, Path]] = []
    if VECTORS.is_dir():
        roots.append(("vectors", VECTORS.resolve()))
    cv = _crypto_vectors_dir()
    if cv is not None:
        for sub in ("x509", "pkcs7", "asymmetric/PKCS8", "asymmetric/DER_Serialization", "asymmetric/PEM_Serialization",
                    "asymmetric/Traditional_OpenSSL_Serialization", "asymmetric/EC"):
            if (cv / sub).is_dir():
                roots.append(("cryptography_vectors/" + sub, cv / sub))
    out: dict[str, bytes] = {}
    seen: set[bytes] = set()
    for label, root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            for i, blob in enumerate(_blobs_of(path)):
                if not blob or len(blob) > MAX_SEED_SIZE:
                    continue
                digest = hashlib.sha1(blob).digest()
                if digest in seen:
                    continue
                seen.add(digest)
                name = f"{label}/{path.relative_to(root).as_posix()}" + (f"#{i}" if i else "")
                out[name.replace("/", "__")] = blob
    return out


def committed_seeds(name: str) -> dict[str, bytes]:
    """The hand-built seeds of harness ``name`` committed in fuzz/seeds/NAME (see make_model_seeds.py)."""
    folder = FUZZ_DIR / "seeds" / name
    if not folder.is_dir():
        return {}
    return {f"generated__{p.name}": p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def seeds_for(accepts: Callable[[bytes], bool], extra: dict[str, bytes] | None = None,
              name: str | None = None) -> dict[str, bytes]:
    """Seeds of one harness: the candidate blobs ``accepts`` takes (at most MAX_SEEDS, spread over sizes),
    a few it refuses (for the error paths), ``extra`` (hand-made inputs) and the committed seeds of ``name``."""
    accepted: list[tuple[str, bytes]] = []
    rejected: list[tuple[str, bytes]] = []
    for source, blob in candidate_blobs().items():
        try:
            ok = accepts(blob)
        except Exception:  # noqa: BLE001 - seed selection only; the harness itself reports foreign errors
            ok = False
        (accepted if ok else rejected).append((source, blob))
    accepted.sort(key=lambda kv: (len(kv[1]), kv[0]))
    if len(accepted) > MAX_SEEDS:
        step = len(accepted) / MAX_SEEDS
        accepted = [accepted[int(i * step)] for i in range(MAX_SEEDS)]
    rejected.sort(key=lambda kv: hashlib.sha1(kv[1]).digest())
    out = dict(accepted)
    out.update(rejected[:MAX_REJECTED_SEEDS])
    out.update({f"handmade__{k}": v for k, v in (extra or {}).items()})
    if name:
        out.update(committed_seeds(name))
    return out


def signer_certificate_pem() -> bytes | None:
    """The certificate that signed the committed CMC seeds (fuzz/seeds/signer-cert.pem)."""
    path = FUZZ_DIR / "seeds" / "signer-cert.pem"
    return path.read_bytes() if path.is_file() else None


@functools.lru_cache(maxsize=1)
def fixed_keys() -> dict:
    """The fixed keys the EnvelopedData harness decrypts with (all from public vectors, see README there)."""
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    keys: dict = {"kek": bytes.fromhex("0102030405060708090A0B0C0D0E0F00"), "kek_id": bytes.fromhex("DEADBEEF"),
                  "password": b"password", "private_key": None}
    bob = VECTORS / "rfc4134" / "BobPrivRSAEncrypt.pri"
    if bob.is_file():
        keys["private_key"] = load_der_private_key(bob.read_bytes(), password=None)
    return keys


def atheris_main(test_one_input: Callable[[bytes], None]) -> None:
    """Run a harness under atheris (``python fuzz/fuzz_X.py CORPUS_DIR -atheris_runs=...`` etc.)."""
    import atheris

    # the harness modules imported the codec already: instrument what is loaded (Python coverage only; the
    # compiled core is checked by AddressSanitizer, see fuzz/README.md)
    if os.environ.get("ESTCODEC_FUZZ_NO_INSTRUMENT", "") != "1":
        atheris.instrument_all()
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
