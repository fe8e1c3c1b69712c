"""Measure estcodec against its anchors and against asn1crypto, pyasn1, asn1tools and cryptography, in one run.

Usage::

    python benchmarks/make_corpus.py          # once: writes benchmarks/corpus/ (git-ignored)
    python benchmarks/run.py                  # table of µs per item and ratios
    python benchmarks/run.py --json out.json  # the same figures as JSON (``--json -`` prints JSON instead)
    python benchmarks/run.py --plot out.png   # bar chart of µs per certificate per library (needs matplotlib)
    python benchmarks/run.py --quick          # fewer iterations, for a smoke test

Method: every case is a function that processes its whole item list once (for example all 117 certifi roots).
It is run once untimed (warm-up and a check that it works), then timed with ``timeit`` (garbage collector off
during timing, as timeit does) for a fixed number of passes per repeat; repeats go round-robin over the cases
of a section and the best repeat is reported, divided by passes and items. Fixed pass counts per case, not
auto-ranging, so two runs do the same work. The clock is process CPU time by default (``--timer wall`` for
perf_counter): steadier when other jobs share the machine.

Each section names its reference row; the ratio column is (time of the row) / (time of the reference), so a
competitor showing 57.0 is 57 times slower than estcodec. Sections that need an estcodec part that is not built
yet print "n/a (not built yet)".
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import importlib.metadata as md
import json
import os
import platform
import sys
import time
import timeit
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
ASN1_SPEC = HERE / "asn1" / "pkix.asn"
sys.path.insert(0, str(HERE))

N_PKIDATA_CSRS = 100
NOT_BUILT = "n/a (not built yet)"

warnings.simplefilter("ignore")  # cryptography warns about one certifi root (serial <= 0) and unsorted SETs


# =========================================================================================================
# corpus


@dataclass
class Corpus:
    roots: list[bytes]
    p7b: bytes
    csrs: list[bytes]
    pki_response: bytes
    extensions: list[bytes]  # the DER of every Extension of every root, in order

    @classmethod
    def load(cls) -> "Corpus":
        if not (CORPUS / "MANIFEST.json").exists():
            raise SystemExit(f"no corpus in {CORPUS}: run `python benchmarks/make_corpus.py` first")
        roots = [p.read_bytes() for p in sorted((CORPUS / "roots").glob("*.der"))]
        csrs = [p.read_bytes() for p in sorted((CORPUS / "csrs").glob("*.der"))]
        exts = [e for r in roots for e in _extension_ders(r)]
        return cls(
            roots=roots,
            p7b=(CORPUS / "roots.p7b").read_bytes(),
            csrs=csrs,
            pki_response=(CORPUS / "pki_response.der").read_bytes(),
            extensions=exts,
        )


def _tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag byte, content start, end) of the DER element at ``pos`` (single-byte tags; corpus helper only)."""
    tag = data[pos]
    b = data[pos + 1]
    if b < 0x80:
        return tag, pos + 2, pos + 2 + b
    n = b & 0x7F
    length = int.from_bytes(data[pos + 2 : pos + 2 + n], "big")
    return tag, pos + 2 + n, pos + 2 + n + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    out = []
    pos = start
    while pos < end:
        tag, cs, e = _tlv(data, pos)
        out.append((tag, pos, cs, e))
        pos = e
    return out


def _per_cert(groups: list[list[bytes]]) -> list[list[bytes]]:
    return [g for g in groups if g]


def _sequence_of(items: list[bytes]) -> bytes:
    """DER of SEQUENCE { items } (items already DER)."""
    body = b"".join(items)
    n = len(body)
    if n < 0x80:
        head = bytes([0x30, n])
    else:
        ln = n.to_bytes((n.bit_length() + 7) // 8, "big")
        head = bytes([0x30, 0x80 | len(ln)]) + ln
    return head + body


def _extension_ders(cert: bytes) -> list[bytes]:
    _, cs, e = _tlv(cert, 0)
    _, tcs, te = _tlv(cert, cs)  # tbsCertificate
    for tag, _, ccs, ce in _children(cert, tcs, te):
        if tag == 0xA3:
            _, scs, se = _tlv(cert, ccs)
            return [cert[p:q] for _, p, _, q in _children(cert, scs, se)]
    return []


# =========================================================================================================
# machine and versions


def _loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _git_head() -> str | None:
    """The commit of the work tree the benchmark ran from (with '+dirty' when src/ has local changes)."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=HERE.parent,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in ("Cython", "asn1crypto", "pyasn1", "pyasn1-modules", "asn1tools", "cryptography",
                 "certifi", "matplotlib"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    try:
        from cryptography.hazmat.backends.openssl import backend

        versions["cryptography's OpenSSL"] = backend.openssl_version_text()
    except Exception:  # pragma: no cover - informational only
        versions["cryptography's OpenSSL"] = None
    try:
        import estcodec

        versions["estcodec"] = getattr(estcodec, "__version__", None)
    except ImportError:
        versions["estcodec"] = None
    try:
        import estcodec._der as core

        so = Path(core.__file__)
        if so.suffix in (".so", ".pyd"):
            sources = [*so.parent.glob("_der*.pyx"), *so.parent.glob("_der*.pxi")]
            newer = [p.name for p in sources if p.stat().st_mtime > so.stat().st_mtime]
            versions["estcodec._der"] = "compiled" + (f" (older than {', '.join(sorted(newer))})" if newer else "")
        else:
            versions["estcodec._der"] = str(so)
    except ImportError:
        versions["estcodec._der"] = None
    return {
        "source": _git_head(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": _loadavg(),
        "versions": versions,
    }


# =========================================================================================================
# field access: the same fields read from every library's result


_CRYPTO_READERS: dict = {}


def _crypto_readers() -> dict:
    """type -> reader of the common values, for cryptography's extension value classes (built once)."""
    if not _CRYPTO_READERS:
        from cryptography import x509

        _CRYPTO_READERS.update({
            x509.BasicConstraints: lambda v: (v.ca, v.path_length),
            x509.KeyUsage: lambda v: (v.digital_signature, v.key_cert_sign, v.crl_sign, v.key_encipherment),
            x509.SubjectKeyIdentifier: lambda v: v.digest,
            x509.AuthorityKeyIdentifier: lambda v: (v.key_identifier, v.authority_cert_serial_number),
            x509.ExtendedKeyUsage: lambda v: [o.dotted_string for o in v],
            x509.SubjectAlternativeName: lambda v: [g.value for g in v],
            x509.IssuerAlternativeName: lambda v: [g.value for g in v],
            x509.CRLDistributionPoints: lambda v: [[g.value for g in (dp.full_name or ())] for dp in v],
            x509.AuthorityInformationAccess:
                lambda v: [(d.access_method.dotted_string, d.access_location.value) for d in v],
            x509.CertificatePolicies: lambda v: [p.policy_identifier.dotted_string for p in v],
            x509.UnrecognizedExtension: lambda v: v.value,
        })
    return _CRYPTO_READERS


def crypto_ext_value(v: Any) -> Any:
    """Read the common values of a cryptography extension object (it parses them when .extensions is read)."""
    f = (_CRYPTO_READERS or _crypto_readers()).get(type(v))
    return f(v) if f is not None else v


def crypto_read(c: Any) -> tuple:
    """Read serial, names, validity, key algorithm, extensions, signature and signed bytes (cryptography)."""
    return (
        c.serial_number,
        [(a.oid.dotted_string, a.value) for a in c.subject],
        [(a.oid.dotted_string, a.value) for a in c.issuer],
        c.not_valid_before_utc,
        c.not_valid_after_utc,
        c.public_key_algorithm_oid.dotted_string,
        [(e.oid.dotted_string, e.critical, crypto_ext_value(e.value)) for e in c.extensions],
        c.signature_algorithm_oid.dotted_string,
        c.signature,
        c.tbs_certificate_bytes,
    )


_EST_READERS: dict = {}


def _est_readers() -> dict:
    """type -> reader of the common values, for estcodec.x509's extension value models (built once). A list value
    (GeneralNames, CRL distribution points, AIA, policies) is keyed by its elements' type and read whole, one list
    comprehension as crypto_ext_value reads cryptography's, not one call per element."""
    if not _EST_READERS:
        from estcodec import x509

        def dist_point(v):
            dp = v.distribution_point
            return [g.value for g in dp.value] if dp is not None and dp.name == "full_name" else None

        _EST_READERS.update({
            x509.BasicConstraints: lambda v: (v.ca, v.path_len_constraint),
            x509.AuthorityKeyIdentifier: lambda v: (v.key_identifier, v.authority_cert_serial_number),
            x509.GeneralName: lambda v: [g.value for g in v],
            x509.DistributionPoint: lambda v: [dist_point(d) for d in v],
            x509.AccessDescription: lambda v: [(d.access_method, d.access_location.value) for d in v],
            x509.PolicyInformation: lambda v: [p.policy_identifier for p in v],
        })
    return _EST_READERS


def _est_value(v: Any) -> Any:
    """Read the common values of an estcodec extension value like crypto_ext_value reads cryptography's:
    models field by field, lists by their elements' type; bytes (key identifiers, unknown extensions), key usage
    bits and EKU OIDs are values already."""
    readers = _EST_READERS or _est_readers()
    f = readers.get(type(v[0]) if type(v) is list and v else type(v))
    return f(v) if f is not None else v


def estcodec_read(c: Any) -> tuple:
    """The same fields as crypto_read, from an estcodec.x509.Certificate (API.md names; Name.attributes gives
    the (OID, value) pairs in order, Extension.parsed the typed value of the registered extensions)."""
    return (
        c.serial_number,
        c.subject.attributes,
        c.issuer.attributes,
        c.not_before,
        c.not_after,
        c.public_key_info.algorithm_oid,
        [(e.oid, e.critical, _est_value(e.parsed)) for e in c.extensions],
        c.signature_algorithm_oid,
        c.signature,
        c.tbs_der,
    )


def crypto_read_rfc4514(c: Any) -> tuple:
    """crypto_read with subject and issuer as RFC 4514 strings (what people print and log)."""
    return (c.subject.rfc4514_string(), c.issuer.rfc4514_string()) + crypto_read_rest(c)


def crypto_read_rest(c: Any) -> tuple:
    return (
        c.serial_number,
        c.not_valid_before_utc,
        c.not_valid_after_utc,
        c.public_key_algorithm_oid.dotted_string,
        [(e.oid.dotted_string, e.critical, crypto_ext_value(e.value)) for e in c.extensions],
        c.signature_algorithm_oid.dotted_string,
        c.signature,
        c.tbs_certificate_bytes,
    )


def estcodec_read_rfc4514(c: Any) -> tuple:
    """estcodec_read with subject and issuer as RFC 4514 strings."""
    return (
        c.subject.rfc4514_string(),
        c.issuer.rfc4514_string(),
        c.serial_number,
        c.not_before,
        c.not_after,
        c.public_key_info.algorithm_oid,
        [(e.oid, e.critical, _est_value(e.parsed)) for e in c.extensions],
        c.signature_algorithm_oid,
        c.signature,
        c.tbs_der,
    )


def crypto_csr_read(c: Any) -> tuple:
    """A CSR's subject as an RFC 4514 string and its requested extensions with their common values."""
    return (c.subject.rfc4514_string(),
            [(e.oid.dotted_string, e.critical, crypto_ext_value(e.value)) for e in c.extensions])


def estcodec_csr_read(c: Any) -> tuple:
    return (c.subject.rfc4514_string(), [(e.oid, e.critical, _est_value(e.parsed)) for e in c.extensions])


def anchor_read(c: Any) -> tuple:
    """The same fields from anchor (c) (names are already lists of pairs, extension values already decoded)."""
    return (
        c.serial_number,
        c.subject,
        c.issuer,
        c.not_before,
        c.not_after,
        c.key_algorithm_oid,
        [(e.oid, e.critical, e.parsed if e.parsed is not None else e.value) for e in c.extensions],
        c.signature_algorithm_oid,
        c.signature,
        c.tbs_der,
    )


def _compare_with_cryptography(label: str, ours: tuple, theirs: tuple) -> list[str]:
    problems = []
    for what, k in (("serial", 0), ("not_before", 3), ("not_after", 4), ("key algorithm", 5),
                    ("signature algorithm", 7), ("signature", 8), ("tbs bytes", 9)):
        if ours[k] != theirs[k]:
            problems.append(f"{label}: {what} differs from cryptography")
    for what, k in (("subject", 1), ("issuer", 2)):
        if [o for o, _ in ours[k]] != [o for o, _ in theirs[k]]:
            problems.append(f"{label}: {what} OIDs differ from cryptography")
    if [(o, c) for o, c, _ in ours[6]] != [(o, c) for o, c, _ in theirs[6]]:
        problems.append(f"{label}: extension ids/criticality differ from cryptography")
    return problems


# =========================================================================================================
# cases


class NotBuilt(Exception):
    """An estcodec part this case needs cannot be imported yet."""


@dataclass
class Case:
    name: str
    make: Callable[[], Callable[[], Any]]  # returns the function that processes all items once
    passes: int
    reference: bool = False
    note: str = ""


@dataclass
class Section:
    key: str
    title: str
    unit: str
    items: int
    cases: list[Case] = field(default_factory=list)


def _import_estcodec(module: str, *names: str) -> Any:
    try:
        mod = importlib.import_module(module)
        objs = [getattr(mod, n) for n in names]
    except (ImportError, AttributeError) as exc:
        raise NotBuilt(f"{module}.{'/'.join(names)}: {exc}") from None
    return objs[0] if len(objs) == 1 else objs


def _asn1tools_spec():
    import asn1tools

    return asn1tools.compile_files(str(ASN1_SPEC), "der")


def sections(corpus: Corpus) -> list[Section]:
    roots = corpus.roots
    exts = corpus.extensions
    exts_by_cert = [_extension_ders(r) for r in roots]
    out: list[Section] = []

    # ---- 1. schema-less tree vs competitors' full decodes (issue 2)
    s = Section("tree", "Certificate to tree / full decode, per certificate (certifi roots)", "µs/cert", len(roots))

    def est_parse():
        parse = _import_estcodec("estcodec.der", "parse")
        return lambda: [parse(r) for r in roots]

    def est_parse_content():
        parse = _import_estcodec("estcodec.der", "parse")

        def walk(el):
            if el.constructed:
                for ch in el:
                    walk(ch)
            else:
                el.content

        return lambda: [walk(parse(r)) for r in roots]

    def anchor_a():
        import _anchors

        parse = _anchors.load("anchor_tree").parse
        return lambda: [parse(r) for r in roots]

    def anchor_a_walk():
        import _anchors

        parse = _anchors.load("anchor_tree").parse

        def walk(t):
            c = t[2]
            if type(c) is tuple:
                for ch in c:
                    walk(ch)
            else:
                c  # noqa: B018 - the same per-element work as the der.parse walk

        return lambda: [walk(parse(r)) for r in roots]

    def asn1crypto_native():
        from asn1crypto import x509 as ax509

        load = ax509.Certificate.load
        return lambda: [load(r).native for r in roots]

    def pyasn1_decode():
        from pyasn1.codec.der import decoder
        from pyasn1_modules import rfc5280

        spec = rfc5280.Certificate()
        return lambda: [decoder.decode(r, asn1Spec=spec) for r in roots]

    def asn1tools_decode():
        spec = _asn1tools_spec()
        return lambda: [spec.decode("Certificate", r) for r in roots]

    def crypto_fields():
        from cryptography import x509

        load = x509.load_der_x509_certificate
        return lambda: [crypto_read(load(r)) for r in roots]

    s.cases = [
        Case("estcodec.der.parse", est_parse, 300, reference=True),
        Case("anchor (a): Cython tuple tree", anchor_a, 300,
             note="minimal Cython tree builder, one tuple per element"),
        Case("estcodec.der.parse + .content of every primitive", est_parse_content, 100,
             note="der.parse slices content lazily; this reads it all, walking the tree in Python"),
        Case("anchor (a) + the same Python walk", anchor_a_walk, 100,
             note="the walk's own cost, for the row above"),
        Case("cryptography load + field access", crypto_fields, 30),
        Case("asn1tools decode (rfc5280 subset)", asn1tools_decode, 5),
        Case("asn1crypto .native", asn1crypto_native, 3),
        Case("pyasn1 decode (pyasn1-modules rfc5280)", pyasn1_decode, 2),
    ]
    out.append(s)

    # ---- 2. a small typed model: schema engine vs hand-written Cython (issue 2)
    s = Section("extension", f"Typed decode of X.509 Extension, per extension ({len(exts)} extensions of the roots)",
                "µs/ext", len(exts))

    def schema_ext():
        from_der = _schema_extension_model().from_der
        return lambda: [from_der(e) for e in exts]

    def schema_ext_fields():
        from_der = _schema_extension_model().from_der

        def one(e):
            x = from_der(e)
            return (x.extn_id, x.critical, x.extn_value)

        return lambda: [one(e) for e in exts]

    def schema_ext_seqof():
        model = _schema_extension_model()
        try:
            from estcodec.schema import SequenceOf
            from estcodec._der import decode
        except ImportError as exc:
            raise NotBuilt(str(exc)) from None
        spec = SequenceOf[model]
        lists = [_sequence_of(run_ders) for run_ders in _per_cert(exts_by_cert)]
        return lambda: [decode(spec, d) for d in lists]

    def schema_ext_default():
        try:
            from _models import ExtensionDefault
        except ImportError as exc:
            raise NotBuilt(str(exc)) from None
        from_der = ExtensionDefault.from_der
        return lambda: [from_der(e) for e in exts]

    def anchor_b():
        import _anchors

        dec = _anchors.load("anchor_ext").decode_extension
        return lambda: [dec(e) for e in exts]

    def anchor_b2():
        import _anchors

        dec = _anchors.load("anchor_ext_model").decode_extension
        return lambda: [dec(e) for e in exts]

    def anchor_b2_loop():
        import _anchors

        dec = _anchors.load("anchor_ext_model").decode_all
        return lambda: dec(exts)

    def anchor_b2_fields():
        import _anchors

        dec = _anchors.load("anchor_ext_model").decode_extension

        def one(e):
            x = dec(e)
            return (x.extn_id, x.critical, x.extn_value)

        return lambda: [one(e) for e in exts]

    def anchor_b_fields():
        import _anchors

        dec = _anchors.load("anchor_ext").decode_extension

        def one(e):
            x = dec(e)
            return (x.extn_id, x.critical, x.extn_value)

        return lambda: [one(e) for e in exts]

    def anchor_b_loop():
        import _anchors

        dec = _anchors.load("anchor_ext").decode_all
        return lambda: dec(exts)

    def asn1tools_ext():
        spec = _asn1tools_spec()
        return lambda: [spec.decode("Extension", e) for e in exts]

    def pyasn1_ext():
        from pyasn1.codec.der import decoder
        from pyasn1_modules import rfc5280

        spec = rfc5280.Extension()
        return lambda: [decoder.decode(e, asn1Spec=spec) for e in exts]

    def asn1crypto_ext():
        from asn1crypto import x509 as ax509

        load = ax509.Extension.load

        def one(e):
            x = load(e)
            return (x["extn_id"].dotted, x["critical"].native, x["extn_value"].contents)

        return lambda: [one(e) for e in exts]

    s.cases = [
        Case("estcodec.schema Extension.from_der", schema_ext, 300, reference=True,
             note="declared gc=False, as estcodec.x509 declares its models"),
        Case("anchor (b2): hand-written Cython, same objects", anchor_b2, 300,
             note="same checks; fills the same Model-based object the engine makes (no spec walk)"),
        Case("anchor (b): hand-written Cython", anchor_b, 300, note="same checks, cdef class via T.__new__(T)"),
        Case("anchor (b2), whole list in one C loop", anchor_b2_loop, 300,
             note="no Python call per item"),
        Case("anchor (b), whole list in one C loop", anchor_b_loop, 300,
             note="no Python call per item: the floor"),
        Case("estcodec.schema Extension (default declaration) .from_der", schema_ext_default, 300,
             note="instances with a __dict__, tracked by the cyclic GC"),
        Case("estcodec.schema, SEQUENCE OF Extension per certificate", schema_ext_seqof, 300,
             note="one decode call per certificate's extensions: the per-instance cost without the entry"),
        Case("estcodec.schema Extension.from_der + 3 fields", schema_ext_fields, 200),
        Case("anchor (b2) + 3 fields", anchor_b2_fields, 200),
        Case("anchor (b) + 3 fields", anchor_b_fields, 200),
        Case("asn1tools decode", asn1tools_ext, 30),
        Case("asn1crypto load + 3 fields", asn1crypto_ext, 30),
        Case("pyasn1 decode", pyasn1_ext, 10),
    ]
    out.append(s)

    # ---- 3. full typed certificate decode with field access (issue 3)
    s = Section("cert", "Typed certificate decode + reading every field, per certificate (certifi roots)",
                "µs/cert", len(roots))

    def est_x509():
        cert_cls = _import_estcodec("estcodec.x509", "Certificate")
        from_der = cert_cls.from_der
        return lambda: [estcodec_read(from_der(r)) for r in roots]

    def est_x509_decode_only():
        from_der = _import_estcodec("estcodec.x509", "Certificate").from_der
        return lambda: [from_der(r) for r in roots]

    def est_x509_read_only():
        from_der = _import_estcodec("estcodec.x509", "Certificate").from_der
        certs = [from_der(r) for r in roots]
        return lambda: [estcodec_read(c) for c in certs]

    def crypto_x509():
        from cryptography import x509

        load = x509.load_der_x509_certificate
        return lambda: [crypto_read(load(r)) for r in roots]

    def crypto_x509_load_only():
        from cryptography import x509

        load = x509.load_der_x509_certificate
        return lambda: [load(r) for r in roots]

    def asn1crypto_x509():
        from asn1crypto import x509 as ax509

        load = ax509.Certificate.load

        def read(c):
            tbs = c["tbs_certificate"]
            return (
                c.serial_number,
                [(a["type"].dotted, a["value"].native) for rdn in c.subject.chosen for a in rdn],
                [(a["type"].dotted, a["value"].native) for rdn in c.issuer.chosen for a in rdn],
                c.not_valid_before,
                c.not_valid_after,
                tbs["subject_public_key_info"]["algorithm"]["algorithm"].dotted,
                [(e["extn_id"].dotted, e["critical"].native, e["extn_value"].parsed.native
                  if e["extn_value"].parsed is not None else e["extn_value"].contents)
                 for e in (tbs["extensions"] or ())],
                c["signature_algorithm"]["algorithm"].dotted,
                c.signature,
                tbs.dump(),
            )

        return lambda: [read(load(r)) for r in roots]

    def est_x509_rfc4514():
        from_der = _import_estcodec("estcodec.x509", "Certificate").from_der
        return lambda: [estcodec_read_rfc4514(from_der(r)) for r in roots]

    def crypto_x509_rfc4514():
        from cryptography import x509

        load = x509.load_der_x509_certificate
        return lambda: [crypto_read_rfc4514(load(r)) for r in roots]

    cert_cases = [
        Case("estcodec.x509.Certificate + fields", est_x509, 100, reference=True),
        Case("cryptography load + fields", crypto_x509, 30),
        Case("estcodec.x509 + fields, names as RFC 4514 strings", est_x509_rfc4514, 100,
             note="subject and issuer read as rfc4514_string() instead of (OID, value) pairs"),
        Case("cryptography + fields, names as RFC 4514 strings", crypto_x509_rfc4514, 20),
        Case("asn1crypto load + fields", asn1crypto_x509, 3),
        Case("  split: estcodec.x509 from_der only", est_x509_decode_only, 100,
             note="informational: the decode part of the first row"),
        Case("  split: estcodec.x509 field reads only (decoded before)", est_x509_read_only, 100,
             note="informational: the reading part of the first row"),
        Case("  split: cryptography load only (it parses lazily)", crypto_x509_load_only, 100,
             note="informational"),
    ]
    if (HERE / "anchors" / "anchor_cert.pyx").exists():

        def anchor_c():
            import _anchors

            dec = _anchors.load("anchor_cert").decode_certificate
            return lambda: [anchor_read(dec(r)) for r in roots]

        def anchor_c_decode_only():
            import _anchors

            dec = _anchors.load("anchor_cert").decode_certificate
            return lambda: [dec(r) for r in roots]

        cert_cases.insert(1, Case("anchor (c): hand-written Cython + fields", anchor_c, 100))
        cert_cases.append(Case("  split: anchor (c) decode only", anchor_c_decode_only, 100, note="informational"))
    s.cases = cert_cases
    out.append(s)

    # ---- 3b. CSRs: parse, subject as an RFC 4514 string, requested extensions with their values (issue 14)
    all_csrs = corpus.csrs
    s = Section("csr", f"CSR parse + subject as RFC 4514 + extension values, per CSR ({len(all_csrs)} CSRs)", "µs/CSR",
                len(all_csrs))

    def est_csr():
        from_der = _import_estcodec("estcodec.pkcs10", "CertificationRequest").from_der
        return lambda: [estcodec_csr_read(from_der(d)) for d in all_csrs]

    def est_csr_parse_only():
        from_der = _import_estcodec("estcodec.pkcs10", "CertificationRequest").from_der
        return lambda: [from_der(d) for d in all_csrs]

    def crypto_csr():
        from cryptography import x509

        load = x509.load_der_x509_csr
        return lambda: [crypto_csr_read(load(d)) for d in all_csrs]

    def crypto_csr_load_only():
        from cryptography import x509

        load = x509.load_der_x509_csr
        return lambda: [load(d) for d in all_csrs]

    def asn1crypto_csr():
        from asn1crypto import csr as acsr

        load = acsr.CertificationRequest.load

        def read(c):
            info = c["certification_request_info"]
            exts = []
            for attr in info["attributes"]:
                if attr["type"].native == "extension_request":
                    exts = [(e["extn_id"].dotted, e["critical"].native, e["extn_value"].parsed.native)
                            for e in attr["values"][0]]
            return info["subject"].human_friendly, exts

        return lambda: [read(load(d)) for d in all_csrs]

    s.cases = [
        Case("estcodec.pkcs10.CertificationRequest + subject + extensions", est_csr, 50, reference=True),
        Case("cryptography load_der_x509_csr + subject + extensions", crypto_csr, 10),
        Case("asn1crypto load + subject + extensions", asn1crypto_csr, 2,
             note="its human_friendly subject is not RFC 4514 (order and escapes differ): for scale only"),
        Case("  split: estcodec.pkcs10 from_der only", est_csr_parse_only, 50, note="informational"),
        Case("  split: cryptography load only", crypto_csr_load_only, 50, note="informational"),
    ]
    out.append(s)

    # ---- 4. PKCS#7 certs-only bundle of the roots (issue 3)
    p7b = corpus.p7b
    s = Section("pkcs7", f"PKCS#7 certs-only bundle of {len(roots)} roots + reading every field, per bundle",
                "µs/bundle", 1)

    def est_p7():
        parse_certs_only = _import_estcodec("estcodec.cms", "parse_certs_only")
        return lambda: [estcodec_read(c) for c in parse_certs_only(p7b)]

    def crypto_p7():
        from cryptography.hazmat.primitives.serialization import pkcs7

        load = pkcs7.load_der_pkcs7_certificates
        return lambda: [crypto_read(c) for c in load(p7b)]

    sorted_path = CORPUS / "roots_sorted.p7b"

    def crypto_p7_sorted():
        from cryptography.hazmat.primitives.serialization import pkcs7

        if not sorted_path.exists():
            raise NotBuilt("roots_sorted.p7b: rebuild the corpus with make_corpus.py --force")
        data = sorted_path.read_bytes()
        load = pkcs7.load_der_pkcs7_certificates
        return lambda: [crypto_read(c) for c in load(data)]

    s.cases = [
        Case("estcodec.cms.parse_certs_only + fields", est_p7, 100, reference=True),
        Case("cryptography load_der_pkcs7_certificates + fields", crypto_p7, 20,
             note="OpenSSL writes the SET OF unsorted: cryptography warns and falls back to BER"),
        Case("cryptography, same bundle with the SET OF sorted", crypto_p7_sorted, 20,
             note="informational: what the BER fallback costs cryptography"),
    ]
    out.append(s)

    # ---- 5. CMC PKIResponse with 50 certificates (issue 3)
    resp = corpus.pki_response
    s = Section("pkiresponse", "CMC Full PKI Response (SignedData, statusInfoV2, 50 certificates), per response",
                "µs/response", 1)

    def est_cmc():
        parse_pki_response = _import_estcodec("estcodec.cmc", "parse_pki_response")

        def run():
            r = parse_pki_response(resp)
            return (r.statuses, r.status, r.certificates)

        return run

    def asn1tools_cmc():
        spec = _asn1tools_spec()

        def run():
            ci = spec.decode("ContentInfo", resp)
            sd = spec.decode("SignedData", ci["content"])
            pr = spec.decode("PKIResponse", sd["encapContentInfo"]["eContent"])
            statuses = [
                spec.decode("CMCStatusInfoV2", v)
                for c in pr["controlSequence"]
                if c["attrType"] == "1.3.6.1.5.5.7.7.25"
                for v in c["attrValues"]
            ]
            return statuses, sd["certificates"], sd["signerInfos"]

        return run

    def pyasn1_cmc():
        from pyasn1.codec.der import decoder
        from pyasn1_modules import rfc5652, rfc6402

        def run():
            ci, _ = decoder.decode(resp, asn1Spec=rfc5652.ContentInfo())
            sd, _ = decoder.decode(ci["content"], asn1Spec=rfc5652.SignedData())
            pr, _ = decoder.decode(bytes(sd["encapContentInfo"]["eContent"]), asn1Spec=rfc6402.PKIResponse())
            statuses = [
                decoder.decode(v, asn1Spec=rfc6402.CMCStatusInfoV2())[0]
                for c in pr["controlSequence"]
                if str(c["attrType"]) == "1.3.6.1.5.5.7.7.25"
                for v in c["attrValues"]
            ]
            return statuses, sd["certificates"]

        return run

    s.cases = [
        Case("estcodec.cmc.parse_pki_response", est_cmc, 200, reference=True),
        Case("asn1tools decode (ContentInfo, SignedData, PKIResponse)", asn1tools_cmc, 5),
        Case("pyasn1 decode (pyasn1-modules rfc5652/rfc6402)", pyasn1_cmc, 2),
    ]
    out.append(s)

    # ---- 6. build and encode a PKIData with 100 CSRs (issue 3)
    csrs = corpus.csrs[:N_PKIDATA_CSRS]
    s = Section("pkidata", f"Build + encode a PKIData with {len(csrs)} CSRs (from their DER), per PKIData",
                "µs/PKIData", 1)

    def est_pkidata():
        builder_cls = _import_estcodec("estcodec.cmc", "PkiDataBuilder")

        def step(b, method, *args):
            r = getattr(b, method)(*args)
            return b if r is None else r

        def run():
            b = builder_cls()
            b = step(b, "transaction_id", 1234567)
            b = step(b, "sender_nonce", b"\x01" * 16)
            b = step(b, "identification", "bench-client")
            for csr in csrs:
                b = step(b, "add_certification_request", csr)
            return b.build().to_der()

        return run

    def pyasn1_pkidata():
        from pyasn1.codec.der import decoder, encoder
        from pyasn1.type import char, univ
        from pyasn1_modules import rfc6402

        def control(body_id, oid, value):
            a = rfc6402.TaggedAttribute()
            a["bodyPartID"] = body_id
            a["attrType"] = oid
            a["attrValues"].append(encoder.encode(value))
            return a

        def run():
            pd = rfc6402.PKIData()
            controls = pd["controlSequence"]
            controls.append(control(1, rfc6402.id_cmc_transactionId, univ.Integer(1234567)))
            controls.append(control(2, rfc6402.id_cmc_senderNonce, univ.OctetString(b"\x01" * 16)))
            controls.append(control(3, rfc6402.id_cmc_identification, char.UTF8String("bench-client")))
            reqs = pd["reqSequence"]
            for i, csr in enumerate(csrs):
                req, _ = decoder.decode(csr, asn1Spec=rfc6402.CertificationRequest())
                tr = rfc6402.TaggedRequest()
                tcr = tr["tcr"]
                tcr["bodyPartID"] = 4 + i
                tcr["certificationRequest"] = req
                reqs.append(tr)
            pd["cmsSequence"].clear()
            pd["otherMsgSequence"].clear()
            return encoder.encode(pd)

        return run

    s.cases = [
        Case("estcodec.cmc.PkiDataBuilder ... .build().to_der()", est_pkidata, 100, reference=True),
        Case("pyasn1 build + encode (pyasn1-modules rfc6402)", pyasn1_pkidata, 2,
             note="each CSR decoded from DER into rfc6402.CertificationRequest, then encoded"),
    ]
    out.append(s)
    # ---- 7. what one object costs (informational probe for the schema engine's per-instance cost)
    n_obj = 10_000
    s = Section("alloc", f"Create and free one object from C ({n_obj} per pass), per object", "µs/object", n_obj)

    def alloc(kind):
        def make():
            import _anchors

            mod = _anchors.load("anchor_alloc")
            if kind == "tuple":
                return lambda: mod.make_tuples(n_obj)
            if kind == "static":
                return lambda: mod.make_static(n_obj)
            if kind == "cdef":
                cls = mod.Base
            else:

                class Sub(mod.Base):  # a plain class statement over a cdef base (gc=False models are lighter:
                    pass          # no GC header, blocks reused; anchor (b2) measures that kind of object)

                cls = Sub
            return lambda: mod.make(cls, n_obj)

        return make

    s.cases = [
        Case("cdef class, type known at compile time (the anchors)", alloc("static"), 300, reference=True),
        Case("cdef class, type given at run time", alloc("cdef"), 300),
        Case("Python subclass of a cdef class, given at run time (plain class statement)", alloc("sub"), 300),
        Case("3-tuple (anchor (a))", alloc("tuple"), 300),
    ]
    out.append(s)
    return out


def _schema_extension_model():
    """The X.509 Extension model declared with estcodec.schema (the same model anchor (b) decodes by hand)."""
    try:
        from _models import Extension  # declared in a module without postponed annotations
    except ImportError as exc:
        raise NotBuilt(f"estcodec.schema: {exc}") from None
    return Extension


# =========================================================================================================
# cross-checks: the fast paths must compute the same thing as the references, or their times mean nothing


# extensions whose common values both readers give in the same shape (compared value for value)
_SAME_SHAPE_EXTENSIONS = {
    "2.5.29.14", "2.5.29.17", "2.5.29.19", "2.5.29.31", "2.5.29.32", "2.5.29.35", "2.5.29.37",
    "1.3.6.1.5.5.7.1.1",
}


def _norm(v: Any) -> Any:
    """Names inside values compared by their DER (estcodec Name vs cryptography Name)."""
    if isinstance(v, (list, tuple)):
        return [_norm(x) for x in v]
    if hasattr(v, "public_bytes"):
        return v.public_bytes()
    if hasattr(v, "to_der"):
        return v.to_der()
    return v


def cross_check(corpus: Corpus, log: Callable[[str], None]) -> list[str]:
    """Compare anchors with estcodec and cryptography on the whole corpus; return the problems found."""
    import _anchors

    problems: list[str] = []
    tree = _anchors.load("anchor_tree")
    ext = _anchors.load("anchor_ext")
    parse: Callable[..., Any] | None
    try:
        from estcodec.der import parse
    except ImportError:
        parse = None
    except Exception as exc:
        problems.append(f"estcodec.der: {type(exc).__name__}: {exc}")
        parse = None

    def count(el):
        return 1 + sum(count(c) for c in el) if el.constructed else 1

    for i, r in enumerate(corpus.roots):
        n_anchor = tree.count(tree.parse(r))
        if parse is not None:
            el = parse(r)
            if count(el) != n_anchor:
                problems.append(f"root {i}: der.parse has {count(el)} elements, anchor (a) {n_anchor}")
            if el.to_der() != r:
                problems.append(f"root {i}: der.parse(...).to_der() differs from the input")
    try:
        model = _schema_extension_model()
    except NotBuilt:
        model = None
    except Exception as exc:  # the schema engine is present but fails: say so, keep measuring the rest
        problems.append(f"schema Extension model: {type(exc).__name__}: {exc}")
        model = None
    for i, e in enumerate(corpus.extensions):
        a = ext.decode_extension(e)
        if model is not None:
            m = model.from_der(e)
            if (a.extn_id, a.critical, a.extn_value) != (m.extn_id, m.critical, m.extn_value):
                problems.append(f"extension {i}: anchor (b) and the schema model disagree")
    from cryptography import x509

    cert_anchor = _anchors.load("anchor_cert")
    certificate_cls: Any = None
    try:
        from estcodec.x509 import Certificate as certificate_cls
    except ImportError:
        pass
    except Exception as exc:
        problems.append(f"estcodec.x509: {type(exc).__name__}: {exc}")
    for i, r in enumerate(corpus.roots):
        theirs = crypto_read(x509.load_der_x509_certificate(r))
        problems += _compare_with_cryptography(f"root {i} anchor (c)",
                                               anchor_read(cert_anchor.decode_certificate(r)), theirs)
        if certificate_cls is not None:
            try:
                ours = estcodec_read(certificate_cls.from_der(r))
            except Exception as exc:  # reported, not fatal: the timing case will show the error too
                problems.append(f"root {i}: estcodec.x509 failed: {type(exc).__name__}: {exc}")
                continue
            problems += _compare_with_cryptography(f"root {i} estcodec.x509", ours, theirs)
            for (o, _, v1), (_, _, v2) in zip(ours[6], theirs[6]):
                if o in _SAME_SHAPE_EXTENSIONS and _norm(v1) != _norm(v2):
                    problems.append(f"root {i}: extension {o} value differs from cryptography: {v1!r} != {v2!r}")
            c, theirs_c = certificate_cls.from_der(r), x509.load_der_x509_certificate(r)
            if estcodec_read_rfc4514(c)[:2] != crypto_read_rfc4514(theirs_c)[:2]:
                problems.append(f"root {i}: RFC 4514 names differ from cryptography's")
    try:
        from estcodec.pkcs10 import CertificationRequest
    except ImportError:
        CertificationRequest = None  # noqa: N806
    for i, d in enumerate(corpus.csrs if CertificationRequest is not None else ()):
        ours_csr = estcodec_csr_read(CertificationRequest.from_der(d))
        theirs_csr = crypto_csr_read(x509.load_der_x509_csr(d))
        if ours_csr[0] != theirs_csr[0] or [e[:2] for e in ours_csr[1]] != [e[:2] for e in theirs_csr[1]]:
            problems.append(f"csr {i}: subject or extension ids differ from cryptography's")
    log(f"cross-checks: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    for p in problems[:20]:
        log(f"  ! {p}")
    return problems


# =========================================================================================================
# running


@dataclass
class Result:
    section: str
    name: str
    status: str  # "ok", NOT_BUILT or "error: ..."
    us_per_item: float | None = None
    passes: int = 0
    repeat: int = 0
    items: int = 0
    ratio: float | None = None  # time / reference time
    reference: bool = False
    note: str = ""


def _check(section: str, name: str, value: Any, corpus: Corpus) -> None:
    """Sanity checks on what a case produced, so a broken case cannot report a fast time."""
    if section in ("tree", "cert") and isinstance(value, list):
        assert len(value) == len(corpus.roots), f"{name}: {len(value)} results"
    if section == "extension" and isinstance(value, list):
        if value and isinstance(value[0], list):  # SEQUENCE OF per certificate
            value = [x for group in value for x in group]
        assert len(value) == len(corpus.extensions), f"{name}: {len(value)} results"
        first = value[0]
        if hasattr(first, "extn_id"):
            assert first.extn_id.count(".") >= 2, f"{name}: bad OID {first.extn_id!r}"
    if section == "csr" and isinstance(value, list):
        assert len(value) == len(corpus.csrs), f"{name}: {len(value)} results"
    if section == "pkcs7" and isinstance(value, list):
        assert len(value) == len(corpus.roots), f"{name}: {len(value)} certificates"
    if section == "pkiresponse" and name.startswith("estcodec"):
        _statuses, _status, certs = value
        assert len(certs) == 50, f"{name}: {len(certs)} certificates"
    if section == "pkidata" and isinstance(value, bytes):
        # whatever made it, pyasn1-modules must read it back with every request
        from pyasn1.codec.der import decoder
        from pyasn1_modules import rfc6402

        pd, rest = decoder.decode(value, asn1Spec=rfc6402.PKIData())
        assert not rest and len(pd["reqSequence"]) == N_PKIDATA_CSRS, f"{name}: bad PKIData"
        assert len(pd["controlSequence"]) == 3, f"{name}: {len(pd['controlSequence'])} controls"


TIMERS = {"cpu": time.process_time, "wall": time.perf_counter}


def run_section(sec: Section, corpus: Corpus, repeat: int, scale: float, only: set[str] | None,
                log: Callable[[str], None], clock: Callable[[], float] = time.process_time) -> list[Result]:
    """Time every case of a section. Repeats go round-robin over the cases (case 1, case 2, ..., case 1, ...)
    so that a noisy moment on the machine does not fall on one case only; the best repeat of each is kept."""
    results: list[Result] = []
    timers: list[tuple[Result, timeit.Timer]] = []
    for case in sec.cases:
        passes = max(1, int(round(case.passes * scale)))
        res = Result(sec.key, case.name, "ok", passes=passes, repeat=repeat, items=sec.items,
                     reference=case.reference, note=case.note)
        results.append(res)
        if only and sec.key not in only:
            res.status = "skipped"
            continue
        try:
            fn = case.make()
            value = fn()  # warm-up and check
            _check(sec.key, case.name, value, corpus)
        except NotBuilt as exc:
            res.status = NOT_BUILT
            res.note = str(exc)
            continue
        except ImportError as exc:
            if "estcodec" not in str(exc):
                raise
            res.status = NOT_BUILT  # an estcodec module that this one imports lazily is not there yet
            res.note = str(exc)
            continue
        except Exception as exc:  # report, keep going with the other cases
            res.status = f"error: {type(exc).__name__}: {exc}"[:200]
            continue
        timers.append((res, timeit.Timer(fn, timer=clock)))
    best: dict[int, float] = {}
    for _ in range(repeat):
        for res, timer in timers:
            gc.collect()
            t = timer.timeit(number=res.passes)
            best[id(res)] = min(t, best.get(id(res), t))
    for res, _ in timers:
        res.us_per_item = best[id(res)] / res.passes / sec.items * 1e6
        log(f"  {sec.key:<12} {res.name:<58} {res.us_per_item:12.3f} {sec.unit}")
    ref = next((r for r in results if r.reference and r.us_per_item), None)
    for r in results:
        if ref is not None and ref.us_per_item and r.us_per_item:
            r.ratio = r.us_per_item / ref.us_per_item
    return results


def process_sections(only: set[str] | None, repeat: int, log: Callable[[str], None]) -> tuple[list[Section],
                                                                                                 list[Result]]:
    """Start-up and one-enrollment figures (whole processes, CPU ms of the child; see _processes.py)."""
    import _processes

    secs: list[Section] = []
    results: list[Result] = []
    n = max(5, repeat)

    def rows(key, title, figures, reference):
        secs.append(Section(key, title, "ms CPU", 1))
        ref = figures[reference]["cpu_ms"]
        for name, v in figures.items():
            note = f"wall {v['wall_ms']:.0f} ms (best)"
            if key == "startup" and name != reference:
                note = f"{v['cpu_ms'] - ref:.1f} ms CPU above {reference}; " + note
            results.append(Result(key, name, "ok", us_per_item=v["cpu_ms"], passes=1, repeat=n, items=1,
                                  ratio=v["cpu_ms"] / ref, reference=name == reference, note=note))
            log(f"  {key:<12} {name:<58} {v['cpu_ms']:12.1f} ms CPU")

    if not only or "startup" in only:
        rows("startup", f"Process start-up, CPU ms of the whole process (best of {n}, bytecode compiled)",
             _processes.startup(n), "python -c pass")
    if not only or "enroll" in only:
        try:
            figures = _processes.enroll(n, log)
        except Exception as exc:  # noqa: BLE001 - reported, the other figures stand
            log(f"enroll: {type(exc).__name__}: {exc}")
            figures = None
        if figures:
            rows("enroll", f"One enrollment per process against estclient.testing.EstTestServer (best of {n})",
                 figures, next(iter(figures)))
    return secs, results


def names_rebuilt(corpus: Corpus) -> tuple[int, int]:
    """(subjects of the roots that re-encode identically after Name.build(subject.attributes), roots)."""
    try:
        from estcodec.x509 import Certificate, Name
    except ImportError:
        return 0, len(corpus.roots)
    same = 0
    for r in corpus.roots:
        subject = Certificate.from_der(r).subject
        try:
            same += Name.build(subject.attributes).to_der() == subject.to_der()
        except Exception:  # noqa: BLE001 - counted as not identical
            pass
    return same, len(corpus.roots)


# libest's estclient enrolling once (one process, against libest's server), as issue 14 measured it; libest is not
# installed on the benchmark machine, so curl posting a ready CSR is measured in the same run as a stand-in.
LIBEST_ENROLL_MS = 194.0


def targets(results: list[Result], rebuilt: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """The "Must show" benchmark lines of issues 2, 3 and 14, checked against this run."""
    by = {(r.section, r.name): r for r in results}

    def t(sec, name):
        r = by.get((sec, name))
        return r.us_per_item if r and r.us_per_item else None

    def line(text, num, den, op, limit):
        if num is None or den is None:
            return {"target": text, "measured": None, "met": None}
        ratio = num / den
        met = ratio <= limit if op == "<=" else ratio >= limit
        return {"target": text, "measured": round(ratio, 2), "met": met}

    def above(text, name, limit):
        base, v = t("startup", "python -c pass"), t("startup", name)
        if base is None or v is None:
            return {"target": text, "measured": None, "met": None}
        return {"target": text, "measured": round(v - base, 1), "met": v - base <= limit}

    def enroll_line():
        est = next((r for r in results if r.section == "enroll" and r.reference), None)
        curl = next((r for r in results if r.section == "enroll" and not r.reference), None)
        text = f"est enroll process, ms CPU < libest estclient {LIBEST_ENROLL_MS:.0f} ms (issue 14; not installed)"
        if est is None or est.us_per_item is None:
            return {"target": text, "measured": None, "met": None}
        if curl is not None and curl.us_per_item:
            text += f"; curl here: {curl.us_per_item:.0f} ms"
        return {"target": text, "measured": round(est.us_per_item, 1), "met": est.us_per_item < LIBEST_ENROLL_MS}

    est_tree = t("tree", "estcodec.der.parse")
    est_ext = t("extension", "estcodec.schema Extension.from_der")
    est_cert = t("cert", "estcodec.x509.Certificate + fields")
    return [
        line("der.parse / anchor (a) tree <= 2", est_tree, t("tree", "anchor (a): Cython tuple tree"), "<=", 2.0),
        line("asn1crypto .native / der.parse >= 50", t("tree", "asn1crypto .native"), est_tree, ">=", 50.0),
        line("schema Extension / anchor (b2) same objects (interpretive overhead <= 1.25)", est_ext,
             t("extension", "anchor (b2): hand-written Cython, same objects"), "<=", 1.25),
        line("schema Extension / anchor (b) cdef class (incl. object cost; aim <= 1.25)", est_ext,
             t("extension", "anchor (b): hand-written Cython"), "<=", 1.25),
        line("cryptography / estcodec.x509 full typed read >= 10", t("cert", "cryptography load + fields"),
             est_cert, ">=", 10.0),
        line("cryptography / estcodec PKCS#7 bundle >= 10",
             t("pkcs7", "cryptography load_der_pkcs7_certificates + fields"),
             t("pkcs7", "estcodec.cms.parse_certs_only + fields"), ">=", 10.0),
        line("asn1tools / estcodec PKIResponse (50 certs) >= 20",
             t("pkiresponse", "asn1tools decode (ContentInfo, SignedData, PKIResponse)"),
             t("pkiresponse", "estcodec.cmc.parse_pki_response"), ">=", 20.0),
        line("pyasn1 / estcodec PKIData with 100 CSRs >= 10",
             t("pkidata", "pyasn1 build + encode (pyasn1-modules rfc6402)"),
             t("pkidata", "estcodec.cmc.PkiDataBuilder ... .build().to_der()"), ">=", 10.0),
        # issue 14
        line("cryptography / estcodec.x509 + fields, names as RFC 4514 >= 10 (goal 20)",
             t("cert", "cryptography + fields, names as RFC 4514 strings"),
             t("cert", "estcodec.x509 + fields, names as RFC 4514 strings"), ">=", 10.0),
        line("cryptography lazy load / estcodec.x509 from_der (load alone) >= 1",
             t("cert", "  split: cryptography load only (it parses lazily)"),
             t("cert", "  split: estcodec.x509 from_der only"), ">=", 1.0),
        line("cryptography / estcodec CSR parse + subject + extension values >= 10",
             t("csr", "cryptography load_der_x509_csr + subject + extensions"),
             t("csr", "estcodec.pkcs10.CertificationRequest + subject + extensions"), ">=", 10.0),
        above("import estclient: ms CPU above python -c pass <= 80", "import estclient", 80.0),
        above("est --help: ms CPU above python -c pass <= 80", "est --help", 80.0),
        enroll_line(),
    ] + ([{"target": f"certifi subjects re-encoding identically after Name.build(attributes): all {rebuilt[1]}",
           "measured": rebuilt[0], "met": rebuilt[0] == rebuilt[1]}] if rebuilt else [])


def format_table(machine: dict, secs: list[Section], results: list[Result], tgts: list[dict]) -> str:
    lines = []
    lines.append("estcodec benchmarks")
    lines.append(f"  machine : {machine['cpu']}, {machine['cores']} cores, {machine['platform']}")
    lines.append(f"  python  : {machine['python']}   run {machine['date']}   source: {machine.get('source')}")
    lines.append(f"  load    : {machine.get('load_average_at_start')} at start, "
                 f"{machine.get('load_average_at_end')} at end (1/5/15-minute averages; other work on the "
                 "machine makes every figure noisier)")
    vers = ", ".join(f"{k} {v}" for k, v in machine["versions"].items() if v is not None)
    lines.append(f"  versions: {vers}")
    missing = [k for k, v in machine["versions"].items() if v is None]
    if missing:
        lines.append(f"  absent  : {', '.join(missing)}")
    lines.append("")
    for sec in secs:
        rows = [r for r in results if r.section == sec.key]
        if all(r.status == "skipped" for r in rows):
            continue
        lines.append(f"{sec.title}")
        lines.append(f"  {'case':<58} {sec.unit:>12} {'x ref':>9}")
        for r in rows:
            if r.us_per_item is not None:
                ratio = f"{r.ratio:9.2f}" if r.ratio is not None else f"{'-':>9}"
                mark = " (ref)" if r.reference else ""
                lines.append(f"  {r.name:<58} {r.us_per_item:12.3f} {ratio}{mark}")
            else:
                lines.append(f"  {r.name:<58} {r.status}")
            if r.note and r.status == "ok":
                lines.append(f"  {'':<4}({r.note})")
        lines.append("")
    lines.append("Targets of issues 2, 3 and 14 (ratios of times measured in this run; ms and counts where so named)")
    for t in tgts:
        if t["measured"] is None:
            lines.append(f"  {t['target']:<90} n/a")
        else:
            lines.append(f"  {t['target']:<90} {t['measured']:>8.2f}  {'pass' if t['met'] else 'short'}")
    return "\n".join(lines)


def format_markdown(machine: dict, secs: list[Section], results: list[Result], tgts: list[dict],
                    repeat: int) -> str:
    """The same figures as Markdown tables (for docs/benchmarks.md)."""
    v = machine["versions"]
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['platform']}; {machine['python']}; "
        f"run {machine['date']}, best of {repeat} round-robin repeats of process CPU time; load average "
        f"{machine.get('load_average_at_start')} at start, {machine.get('load_average_at_end')} at end.",
        "",
        f"Source: commit {machine.get('source')}. Versions: " + ", ".join(f"{k} {val}" for k, val in v.items() if val is not None) + ".",
        "",
    ]
    for sec in secs:
        rows = [r for r in results if r.section == sec.key]
        if all(r.status == "skipped" for r in rows):
            continue
        lines += [f"**{sec.title}**", "", f"| case | {sec.unit} | × estcodec |", "| --- | ---: | ---: |"]
        for r in rows:
            if r.us_per_item is None:
                lines.append(f"| {r.name} | {r.status} | |")
                continue
            ratio = f"{r.ratio:.2f}" if r.ratio is not None else "–"
            name = f"**{r.name}**" if r.reference else r.name
            lines.append(f"| {name} | {r.us_per_item:,.3f} | {ratio} |")
        lines.append("")
    lines += ["**Targets of issues 2, 3 and 14**", "", "| target | measured | |", "| --- | ---: | --- |"]
    for t in tgts:
        if t["measured"] is None:
            lines.append(f"| {t['target']} | n/a | |")
        else:
            lines.append(f"| {t['target']} | {t['measured']:.2f} | {'pass' if t['met'] else '**short**'} |")
    return "\n".join(lines) + "\n"


def plot(path: Path, results: list[Result]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot: matplotlib is not importable (pip install 'estclient[bench]'); no plot written",
              file=sys.stderr)
        return False
    # the tree section's "cryptography load + field access" is the same work as the cert section's row
    rows = [r for r in results if r.us_per_item and (r.section in ("cert", "csr") or (
        r.section == "tree" and not r.name.startswith("cryptography")))]
    if not rows:
        print("--plot: nothing measured per certificate", file=sys.stderr)
        return False
    values = [float(r.us_per_item or 0.0) for r in rows]
    colors = [{"tree": "tab:blue", "cert": "tab:orange", "csr": "tab:green"}[r.section] for r in rows]
    labels = [f"{r.name} [CSR]" if r.section == "csr" else r.name for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.5))
    y = range(len(rows))
    ax.barh(list(y), values, color=colors)
    ax.set_yticks(list(y), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("µs per certificate or per CSR (log scale; lower is faster)")
    ax.set_title("µs per item, process CPU time (log scale)\nblue: certifi roots, tree / generic full decode\n"
                 "orange: typed decode reading every field (names as pairs or RFC 4514 strings)\ngreen: CSRs (per CSR)",
                 fontsize=10)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.2f}", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="estcodec benchmarks (see the module docstring)")
    ap.add_argument("--repeat", type=int, default=5, help="timeit repeats; the best is kept (default 5)")
    ap.add_argument("--timer", choices=sorted(TIMERS), default="cpu",
                    help="cpu: process CPU time (default; steady on a shared, busy machine), wall: perf_counter")
    ap.add_argument("--quick", action="store_true", help="one fifth of the passes and 3 repeats")
    ap.add_argument("--only", action="append", metavar="SECTION",
                    help="run only these sections: tree, extension, cert, csr, pkcs7, pkiresponse, pkidata, alloc, startup, "
                         "enroll")
    ap.add_argument("--json", nargs="?", const="-", metavar="FILE",
                    help="write the results as JSON to FILE ('-' or no FILE: print JSON instead of the table)")
    ap.add_argument("--plot", metavar="FILE.png", help="bar chart of µs per certificate per library")
    ap.add_argument("--markdown", metavar="FILE.md", help="also write the tables as Markdown")
    args = ap.parse_args(argv)

    scale = 0.2 if args.quick else 1.0
    repeat = 3 if args.quick and args.repeat == 5 else args.repeat
    json_to_stdout = args.json == "-"

    def log(msg: str) -> None:  # progress goes to stderr, the table or JSON to stdout
        print(msg, file=sys.stderr, flush=True)

    corpus = Corpus.load()
    machine = machine_info()
    log(f"corpus: {len(corpus.roots)} roots, {len(corpus.extensions)} extensions, {len(corpus.csrs)} CSRs; "
        f"measuring (best of {repeat})")
    problems = cross_check(corpus, log)
    secs = sections(corpus)
    only = set(args.only) if args.only else None
    results: list[Result] = []
    for sec in secs:
        results += run_section(sec, corpus, repeat, scale, only, log, TIMERS[args.timer])
    proc_secs, proc_results = process_sections(only, repeat, log)
    secs += proc_secs
    results += proc_results
    tgts = targets(results, names_rebuilt(corpus))
    machine["load_average_at_end"] = _loadavg()

    payload = {
        "machine": machine,
        "method": {"repeat": repeat, "scale": scale, "clock": args.timer,
                   "timer": "timeit, best of round-robin repeats, gc off while timing"},
        "corpus": json.loads((CORPUS / "MANIFEST.json").read_text()),
        "sections": [{"key": s.key, "title": s.title, "unit": s.unit, "items": s.items} for s in secs],
        "results": [r.__dict__ for r in results],
        "targets": tgts,
        "cross_check_problems": problems,
    }
    if args.json and not json_to_stdout:
        Path(args.json).write_text(json.dumps(payload, indent=2, default=str) + "\n")
    if json_to_stdout:
        print(json.dumps(payload, indent=2, default=str))
    else:
        print(format_table(machine, secs, results, tgts))
        if problems:
            print(f"\nWARNING: {len(problems)} cross-check problem(s); see stderr")
    if args.markdown:
        Path(args.markdown).write_text(format_markdown(machine, secs, results, tgts, repeat))
    if args.plot:
        if plot(Path(args.plot), results):
            log(f"plot written to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
