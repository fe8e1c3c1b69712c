"""The command line of :mod:`estcodec.show` (``est show`` and ``python -m estcodec show``): read each file,
recognise what it holds, print the summaries; one error line per file that is not a PKI file."""
from __future__ import annotations

import json
import sys
from typing import Any

from ._show_formats import looks_like_text, summarize_multipart
from ._show_text import format_text
from .errors import Error
from .show import load_blocks, summarize

__all__ = ["add_arguments", "run"]


def add_arguments(p: Any) -> None:
    """The arguments of the ``show`` subcommand (shared by ``est show`` and ``python -m estcodec show``)."""
    p.add_argument("files", nargs="+", metavar="FILE", help="DER, BER, PEM or base64 file ('-' for stdin)")
    p.add_argument("--json", action="store_true",
                   help="print the summary as JSON (several files: an object keyed by file name)")
    p.add_argument("--trust", metavar="PEM", help="CA certificates to verify signed CMC messages against")


def _reason(data: bytes, exc: BaseException) -> str:
    """Why a file is not shown: a text file is called one (not "987 bytes of trailing data")."""
    if b"-----BEGIN" not in data and looks_like_text(data):
        return "not a PKI file (looks like text)"
    return str(exc)


def _show_one(name: str, trust: Any, prefix: str) -> list[dict[str, Any]] | None:
    """The summaries of one file, or None after printing one error line (``PREFIXerror: ...``)."""
    try:
        if name == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(name, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        print(f"{prefix}error: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
        return None
    multipart = summarize_multipart(data, trust)
    if multipart is not None:
        return [multipart]
    try:
        blocks = load_blocks(data)
    except (Error, ValueError) as exc:
        print(f"{prefix}error: {name}: {_reason(data, exc)}", file=sys.stderr)
        return None
    summaries: list[dict[str, Any]] = []
    failures: list[str] = []
    for label, der in blocks:
        try:
            s = summarize(der, trust=trust)
        except (Error, ValueError) as exc:
            if len(blocks) == 1:
                print(f"{prefix}error: {name}: {_reason(data, exc)}", file=sys.stderr)
                return None
            # one block of several (e.g. the EC PARAMETERS before an EC PRIVATE KEY): say so, show the rest
            failures.append(f"{label}: {exc}")
            continue
        if label is not None:
            s["pem_label"] = label
        summaries.append(s)
    for f in failures:
        print(f"{prefix}note: {name}: PEM block not shown: {f}", file=sys.stderr)
    if not summaries:
        print(f"{prefix}error: {name}: no PEM block holds a structure this tool recognises", file=sys.stderr)
        return None
    return summaries


def run(args: Any, *, prog: str | None = None) -> int:
    """Entry point of ``show``: 0 when every file was summarised, 1 when one was unreadable or unrecognised
    (one line on stderr for each such file: ``error: REASON``, or ``PROG: error: REASON`` given ``prog``, as
    ``est show`` does)."""
    prefix = f"{prog}: " if prog else ""
    files = list(getattr(args, "files", None) or [args.file])
    trust = None
    if getattr(args, "trust", None):
        try:
            with open(args.trust, "rb") as fh:
                trust = fh.read()
        except OSError as exc:
            print(f"{prefix}error: cannot read {args.trust}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    rc = 0
    docs: dict[str, Any] = {}
    texts: list[str] = []
    for name in files:
        summaries = _show_one(name, trust, prefix)
        if summaries is None:
            rc = 1
            continue
        docs[name] = summaries[0] if len(summaries) == 1 else summaries
        text = "\n\n".join(format_text(s) for s in summaries)
        texts.append(f"==> {name} <==\n{text}" if len(files) > 1 else text)
    if args.json:
        if docs:
            print(json.dumps(docs if len(files) > 1 else docs[files[0]], indent=2))
    elif texts:
        print("\n\n".join(texts))
    return rc
