"""``est batch FILE``: enroll (or, with ``--renew``, re-enroll) every identity listed in a CSV or JSON-lines file,
``--concurrency`` at a time, through one :class:`~estclient.AsyncEstClient` and :mod:`estclient.fleet`.

One identity per row (CSV with a header line) or per line (JSON objects). Keys, all optional but a name:

``name``        what the summary calls it (default: the common name, else ``row N``)
``subject``     ``CN=dev1,O=Acme,OU=Line 2,C=DE,ST=...,L=...,serialNumber=...`` (``\\,`` for a comma in a value)
``cn``          shorthand for the common name
``san_dns`` ``san_ip`` ``san_email`` ``san_uri``  subjectAltNames: a JSON list, or ``;``-separated in CSV
``key_type``    ``ec-p256`` (default), ``ec-p384``, ``rsa-2048``, ...
``cert_out`` ``key_out``  where the certificate (with any chain, PEM) and the key (PKCS#8 PEM, mode 0600) go;
                default ``NAME.pem`` and ``NAME.key``; relative paths are relative to ``--out-dir`` (default:
                the input file's directory)
``cert`` ``key``  with ``--renew``: the pair to renew (default: ``cert_out``/``key_out``, renewed in place)

Resumable: an identity whose output pair already exists, matches, and is valid now is skipped (with ``--renew``:
whose certificate has more than ``--threshold`` left, by default a third of its lifetime), so after a partial
run the same command does the rest. Pairs are written with :func:`estclient.renewal.save_pair` (each file
atomically, the key 0600, never a mismatched pair under the final names). Existing files that do not hold a
valid pair are not replaced without ``--force`` (that identity fails, the others go on).
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from estcodec.x509 import OID_NAMES
from estcodec.x509 import oid as _oid

from .._keyspec import is_pkcs11_uri
from .. import errors as E
from ._errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, CliError, exit_code_for, one_line
from ._output import Output
from ._settings import make_config, resolve_settings

__all__ = ["cmd_batch", "read_identities", "BatchRow"]

_COLUMNS = ("name", "subject", "cn", "san_dns", "san_ip", "san_email", "san_uri", "key_type", "cert_out",
            "key_out", "cert", "key")
_SUBJECT_METHODS = {  # attribute type -> the CsrBuilder method that sets it
    _oid.COMMON_NAME: "common_name", _oid.ORGANIZATION: "organization", _oid.ORGANIZATIONAL_UNIT: "organizational_unit",
    _oid.COUNTRY: "country", _oid.STATE: "state", _oid.LOCALITY: "locality", _oid.SERIAL_NUMBER: "serial_number",
}
_SAN_KEYS = ("san_dns", "san_ip", "san_email", "san_uri")
_MAX_ROWS = 1_000_000


@dataclass
class BatchRow:
    """One identity of the input file, validated, with its output paths resolved."""

    line: int
    name: str
    subject: list[tuple[str, str]] = field(default_factory=list)  # (CsrBuilder method, value)
    sans: dict[str, list[str]] = field(default_factory=dict)
    key_type: str | None = None
    cert_out: Path = Path()
    key_out: Path = Path()
    cert: Path = Path()
    key: Path = Path()


# ----------------------------------------------------------------------------------------------- input


_SUBJECT_HELP = "CN=, O=, OU=, C=, ST=, L=, serialNumber="


def _split_subject(text: str, where: str) -> list[tuple[str, str]]:
    """(CsrBuilder method, value) of each attribute of ``subject``, read by
    :meth:`estcodec.x509.Name.from_rfc4514`, in the order written (the file's ``CN=dev1,O=Acme`` puts the
    commonName first in the request, as it always has)."""
    from estcodec.errors import EncodeError
    from estcodec.x509 import Name

    if not text.strip():
        return []
    try:
        name = Name.from_rfc4514(text)
    except EncodeError as exc:
        if exc.part is not None:
            raise CliError(EXIT_USAGE, f"{where}: subject part {exc.part!r} is not one of {_SUBJECT_HELP}") from None
        raise CliError(EXIT_USAGE, f"{where}: subject {text!r}: {exc}") from None
    out = []
    for rdn in reversed(name.rdns):  # from_rfc4514 stores the last written RDN first
        for atv in rdn:
            method = _SUBJECT_METHODS.get(atv.type)
            if method is None or not isinstance(atv.value, str):
                part = f"{OID_NAMES.get(atv.type, atv.type)}={atv.value}"
                raise CliError(EXIT_USAGE, f"{where}: subject part {part!r} is not one of {_SUBJECT_HELP}")
            out.append((method, atv.value.strip()))
    return out


def _list(value: Any, where: str, key: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    raise CliError(EXIT_USAGE, f"{where}: {key} must be a string or a list of strings")


def _raw_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(EXIT_USAGE, f"{path}: not UTF-8 text") from None
    suffix = path.suffix.lower()
    first = next((ln.lstrip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    rows: list[tuple[int, dict[str, Any]]] = []
    if suffix in (".jsonl", ".ndjson", ".json") or (suffix != ".csv" and first.startswith("{")):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CliError(EXIT_USAGE, f"{path}:{n}: not a JSON object ({exc.msg})") from None
            except (ValueError, RecursionError):  # e.g. nesting deeper than the parser's recursion limit
                raise CliError(EXIT_USAGE, f"{path}:{n}: not a JSON object") from None
            if not isinstance(obj, dict):
                raise CliError(EXIT_USAGE, f"{path}:{n}: not a JSON object")
            rows.append((n, obj))
            if len(rows) > _MAX_ROWS:
                raise CliError(EXIT_USAGE, f"{path}: more than {_MAX_ROWS} identities")
        return rows
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        return []
    header = [(h or "").strip().lower() for h in reader.fieldnames]
    reader.fieldnames = header
    try:
        for rec in reader:
            if None in rec:
                raise CliError(EXIT_USAGE, f"{path}:{reader.line_num}: more cells than columns")
            if not any((v or "").strip() for v in rec.values()) or str(rec.get(header[0]) or "").startswith("#"):
                continue
            rows.append((reader.line_num, {k: (v or "").strip() for k, v in rec.items() if (v or "").strip()}))
            if len(rows) > _MAX_ROWS:
                raise CliError(EXIT_USAGE, f"{path}: more than {_MAX_ROWS} identities")
    except csv.Error as exc:
        raise CliError(EXIT_USAGE, f"{path}:{reader.line_num}: {exc}") from None
    return rows


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "identity"


def read_identities(path: str | os.PathLike[str], *, out_dir: str | None = None, renew: bool = False) -> list[BatchRow]:
    """Read and check the identity file; every problem is a CliError naming the file and line."""
    path = Path(path)
    base = Path(out_dir) if out_dir else (path.parent if str(path.parent) else Path("."))
    rows: list[BatchRow] = []
    names: set[str] = set()
    outputs: dict[str, str] = {}
    for n, raw in _raw_rows(path):
        where = f"{path}:{n}"
        unknown = sorted(set(raw) - set(_COLUMNS))
        if unknown:
            raise CliError(EXIT_USAGE, f"{where}: unknown field {unknown[0]!r} (known: {', '.join(_COLUMNS)})")
        for key in ("name", "subject", "cn", "key_type", "cert_out", "key_out", "cert", "key"):
            if key in raw and not isinstance(raw[key], str):
                raise CliError(EXIT_USAGE, f"{where}: {key} must be a string")
        for key in ("key_out", "key"):
            if is_pkcs11_uri(raw.get(key)):
                raise CliError(EXIT_USAGE, f"{where}: {key}: batch writes key files; a pkcs11: token key is "
                                           "enrolled one at a time with est enroll --key-out pkcs11:...")
        subject = _split_subject(raw.get("subject", ""), where)
        if raw.get("cn"):
            subject = [("common_name", raw["cn"]), *[s for s in subject if s[0] != "common_name"]]
        sans = {k: _list(raw.get(k), where, k) for k in _SAN_KEYS}
        cn = next((v for m, v in subject if m == "common_name"), None)
        name = raw.get("name") or cn or f"row {n}"
        if name in names:
            raise CliError(EXIT_USAGE, f"{where}: the name {name!r} is used twice")
        names.add(name)
        if not renew and not subject and not any(sans.values()):
            raise CliError(EXIT_USAGE, f"{where}: {name}: no subject and no subjectAltName")
        cert_out = base / raw.get("cert_out", f"{_safe_name(name)}.pem")
        key_out = base / raw.get("key_out", f"{_safe_name(name)}.key")
        for p in (cert_out, key_out):
            other = outputs.setdefault(str(p.resolve()), name)
            if other != name:
                raise CliError(EXIT_USAGE, f"{where}: output {p} is also named by {other!r}")
        if cert_out.resolve() == key_out.resolve():
            raise CliError(EXIT_USAGE, f"{where}: cert_out and key_out are the same file")
        row = BatchRow(n, name, subject, sans, raw.get("key_type"), cert_out, key_out,
                       base / raw["cert"] if raw.get("cert") else cert_out,
                       base / raw["key"] if raw.get("key") else key_out)
        if row.key_type:
            from ..csr import KEY_TYPES

            if row.key_type not in KEY_TYPES:
                raise CliError(EXIT_USAGE, f"{where}: unknown key_type {row.key_type!r}")
        rows.append(row)
    if not rows:
        raise CliError(EXIT_USAGE, f"{path}: no identities")
    return rows


def _builder(row: BatchRow) -> Any:
    from ..csr import CsrBuilder

    b = CsrBuilder()
    for method, value in row.subject:
        getattr(b, method)(value)
    for key, values in row.sans.items():
        if values:
            getattr(b, key)(*values)
    if row.key_type:
        b.key_type(row.key_type)
    return b


# ----------------------------------------------------------------------------------------------- state


def _valid_pair(cert_path: Path, key_path: Path, now: dt.datetime) -> tuple[Any, str]:
    """(identity or None, why not). A pair is valid when both files read, the key matches, and the
    certificate is inside its validity period now."""
    from ..config import ClientIdentity

    if not cert_path.exists() and not key_path.exists():
        return None, "absent"
    try:
        ident = ClientIdentity(cert_path.read_bytes(), key_path.read_bytes())
    except (OSError, E.EstError):
        return None, "invalid"
    cert = ident.certificate
    if not (cert.not_valid_before_utc <= now < cert.not_valid_after_utc):
        return ident, "expired"
    return ident, "valid"


def _threshold(args: argparse.Namespace) -> float | None:
    if args.threshold is None:
        return None
    from ._renew import parse_duration

    return parse_duration(args.threshold, "--threshold")


# ----------------------------------------------------------------------------------------------- progress


class _Bar:
    """A one-line progress bar redrawn with ``\\r`` on a terminal (at most ten times a second)."""

    def __init__(self, total: int, enabled: bool, stream: Any = None) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._last = 0.0
        self._width = 0

    def update(self, done: int, issued: int, failed: int, skipped: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        frac = done / self.total if self.total else 1.0
        filled = int(frac * 30)
        text = (f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} {frac:4.0%}  "
                f"issued {issued}  skipped {skipped}  failed {failed}")
        self._width = max(self._width, len(text))
        self.stream.write(text.ljust(self._width))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()


# ----------------------------------------------------------------------------------------------- run


@dataclass
class _Outcome:
    row: BatchRow
    status: str  # "issued" | "renewed" | "skipped" | "failed"
    reason: str = ""
    error: BaseException | None = None
    not_after: str | None = None


def cmd_batch(args: argparse.Namespace) -> int:
    """Enroll (or --renew) every identity of the file, --concurrency at a time; report each failure once."""
    out = Output(args)
    if args.concurrency < 1:
        raise CliError(EXIT_USAGE, "--concurrency must be at least 1")
    if args.format == "der":
        raise CliError(EXIT_USAGE,
                       "batch writes PEM pairs (a certificate with its chain, a PKCS#8 key): no --format der")
    rows = read_identities(args.file, out_dir=args.out_dir, renew=args.renew)
    threshold = _threshold(args) if args.renew else None
    config = make_config(resolve_settings(args))
    config = dataclasses.replace(config, max_connections=args.concurrency)
    now = dt.datetime.now(dt.timezone.utc)
    outcomes: list[_Outcome] = []
    todo: list[tuple[BatchRow, Any]] = []  # (row, CsrBuilder, or the current identity for --renew)
    for row in rows:
        if args.renew:
            ident, state = _renew_state(row, now, threshold)
            if state == "skip":
                outcomes.append(_Outcome(row, "skipped", "renewed already (enough validity left)"))
            elif ident is None:
                outcomes.append(_Outcome(row, "failed", state))
            else:
                todo.append((row, ident))
            continue
        ident, state = _valid_pair(row.cert_out, row.key_out, now)
        if state == "valid":
            outcomes.append(_Outcome(row, "skipped", "holds a valid pair"))
        elif state != "absent" and not args.force:
            outcomes.append(_Outcome(row, "failed", f"{row.cert_out} or {row.key_out} exists but does not hold a "
                                                    f"valid pair ({state}; use --force to replace it)"))
        else:
            missing = [p.parent for p in (row.cert_out, row.key_out) if not p.parent.is_dir()]
            if missing:
                outcomes.append(_Outcome(row, "failed", f"no such directory: {missing[0]}"))
                continue
            try:
                todo.append((row, _builder(row)))  # a bad value fails this identity before anything is sent
            except (E.EstError, ValueError, TypeError) as exc:
                outcomes.append(_Outcome(row, "failed", f"bad request: {_reason(exc)}", exc))
    tty = sys.stderr.isatty()
    bar = _Bar(len(rows), args.progress == "always" or (args.progress == "auto" and tty and not out.quiet))
    counts = {"issued": 0, "failed": 0, "skipped": 0}
    for o in outcomes:
        counts["failed" if o.status == "failed" else "skipped"] += 1
    done = len(outcomes)
    bar.update(done, counts["issued"], counts["failed"], counts["skipped"], force=True)
    if todo:
        import asyncio

        async def go() -> None:
            nonlocal done
            from ..client import AsyncEstClient
            from ..fleet import FleetRequest, enroll_many, reenroll_many

            requests = (_request(row, what, FleetRequest) for row, what in todo)
            async with AsyncEstClient(config) as client:
                start = reenroll_many if args.renew else enroll_many
                async with start(client, requests, concurrency=args.concurrency, max_wait=args.max_wait) as run:
                    async for result in run:
                        row = todo[result.index][0]
                        outcome = await _finish(row, result, args.renew)
                        outcomes.append(outcome)
                        done += 1
                        counts["failed" if outcome.status == "failed" else "issued"] += 1
                        bar.update(done, counts["issued"], counts["failed"], counts["skipped"])

        try:
            asyncio.run(go())
        finally:
            bar.update(done, counts["issued"], counts["failed"], counts["skipped"], force=True)
            bar.close()
    else:
        bar.close()
    return _report(out, args, rows, outcomes)


def _renew_state(row: BatchRow, now: dt.datetime, threshold: float | None) -> tuple[Any, str]:
    from ..renewal import load_identity

    try:
        ident = load_identity(row.cert, row.key)
    except E.EstError as exc:
        return None, f"cannot renew: {one_line(str(exc))}"
    cert = ident.certificate
    left = (cert.not_valid_after_utc - now).total_seconds()
    lifetime = (cert.not_valid_after_utc - cert.not_valid_before_utc).total_seconds()
    limit = threshold if threshold is not None else lifetime / 3
    if left > limit:
        return ident, "skip"
    return ident, "renew"


def _request(row: BatchRow, what: Any, request_type: Any) -> Any:
    from ..config import ClientIdentity
    from ..renewal import RenewalConfig, renewal_csr

    if not isinstance(what, ClientIdentity):
        return request_type(what, name=row.name)
    ident = what

    cfg = RenewalConfig(renewal_threshold=1.0, check_interval=1.0, key_type=row.key_type)
    return request_type(renewal_csr(ident, cfg), name=row.name, client_identity=ident)


async def _finish(row: BatchRow, result: Any, renew: bool) -> _Outcome:
    if result.error is not None:
        return _Outcome(row, "failed", _reason(result.error), result.error)
    if result.issued is None:
        return _Outcome(row, "failed", "still pending (HTTP 202)")
    from cryptography.hazmat.primitives import serialization

    from ..renewal import save_pair

    key = result.request.csr.private_key
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = result.issued.to_pem().encode("ascii")
    dest_cert, dest_key = (row.cert_out, row.key_out)
    import asyncio

    try:
        await asyncio.to_thread(save_pair, dest_cert, dest_key, cert_pem, key_pem)
    except (OSError, E.EstError) as exc:
        return _Outcome(row, "failed", f"issued, but writing failed: {_reason(exc)}", exc)
    not_after = result.certificate.not_after.strftime("%Y-%m-%d %H:%M:%S UTC")
    return _Outcome(row, "renewed" if renew else "issued", "", None, not_after)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _report(out: Output, args: argparse.Namespace, rows: list[BatchRow], outcomes: list[_Outcome]) -> int:
    outcomes.sort(key=lambda o: o.row.line)
    n_done = sum(o.status in ("issued", "renewed") for o in outcomes)
    n_skip = sum(o.status == "skipped" for o in outcomes)
    failures = [o for o in outcomes if o.status == "failed"]
    verb = "renewed" if args.renew else "issued"
    out.info(f"batch: {len(rows)} identities: {n_done} {verb}, {n_skip} skipped, {len(failures)} failed")
    if failures:
        print("failed:", file=sys.stderr)
        for o in failures:
            print(f"  {o.row.name} (line {o.row.line}): {o.reason}", file=sys.stderr)
    out.result({
        "total": len(rows), verb: n_done, "skipped": n_skip, "failed": len(failures),
        "identities": [
            {"name": o.row.name, "line": o.row.line, "status": o.status, "reason": o.reason or None,
             "cert": str(o.row.cert_out), "key": str(o.row.key_out), "not_after": o.not_after}
            for o in outcomes
        ],
    })
    if not failures:
        return EXIT_OK
    # one kind of failure (every identity refused with 401, say): its own status; a mixture: 1
    codes = {exit_code_for(o.error) if o.error is not None else EXIT_ERROR for o in failures}
    return codes.pop() if len(codes) == 1 else EXIT_ERROR
