"""``est cacerts`` and ``est csrattrs``: what the server says about its CA and the requests it wants."""
from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path
from typing import Any, Callable

from ._errors import EXIT_FILE, EXIT_OK, EXIT_SERVER, EXIT_USAGE, CliError
from ._files import PUBLIC_MODE, check_writable, write_file
from ._output import Output, cert_summary, pem_block
from ._request import make_client, outputs_format

__all__ = ["cmd_cacerts", "cmd_csrattrs"]

_ROLE_SELECTED: dict[str, Callable[[str], bool]] = {
    "all": lambda role: True,
    "roots": lambda role: role == "root",
    "intermediates": lambda role: role != "root",
}


def cmd_cacerts(args: argparse.Namespace) -> int:
    """Fetch /cacerts; print the selected certificates as PEM, or write them (--out, --out-dir)."""
    out = Output(args)
    fmt = outputs_format(args)
    _check_outputs(args, fmt)
    with make_client(args) as client:
        cas = client.get_ca_certs()
    chosen = _select(list(cas), args.select)
    files: list[str] = []
    if args.out_dir:
        files += _write_each(args, chosen, fmt)
    if args.out:
        files.append(_write_bundle(args, chosen, fmt))
    _report(out, chosen, len(cas), files)
    return EXIT_OK


def _check_outputs(args: argparse.Namespace, fmt: str) -> None:
    """What can fail before the request: DER for the terminal, an existing --out, a missing --out-dir."""
    if fmt == "der" and not (args.out or args.out_dir):
        raise CliError(EXIT_USAGE, "--format der needs --out FILE or --out-dir DIR (DER is not printed)")
    check_writable([args.out], force=args.force)
    if args.out_dir and not Path(args.out_dir).is_dir():
        raise CliError(EXIT_FILE, f"--out-dir {args.out_dir}: no such directory")


def _select(cas: list[Any], select: str) -> list[tuple[Any, str]]:
    """(certificate, role) of each CA certificate that ``--select`` keeps; CliError when none is left."""
    keep = _ROLE_SELECTED[select]
    chosen = [(c, r) for c, r in ((c, _ca_role(c)) for c in cas) if keep(r)]
    if not chosen:
        raise CliError(EXIT_SERVER, f"the server returned no {select} among its {len(cas)} CA certificates")
    return chosen


def _file_name(directory: str, index: int, cert: Any, role: str, fmt: str) -> str:
    """``DIR/NN-ROLE-NAME.pem`` (or ``.der``), NAME from the common name, made safe for a file name."""
    cn = getattr(cert.subject, "common_name", None)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(cn or "ca")).strip("_")[:40] or "ca"
    return str(Path(directory) / f"{index:02d}-{role}-{slug}.{'pem' if fmt == 'pem' else 'der'}")


def _write_each(args: argparse.Namespace, chosen: list[tuple[Any, str]], fmt: str) -> list[str]:
    """--out-dir: one file per certificate (all checked before the first is written)."""
    names = [_file_name(args.out_dir, i, c, r, fmt) for i, (c, r) in enumerate(chosen, 1)]
    check_writable(names, force=args.force)
    for name, (c, _r) in zip(names, chosen):
        data = c.to_der() if fmt == "der" else pem_block("CERTIFICATE", c.to_der()).encode("ascii")
        write_file(name, data, mode=PUBLIC_MODE, force=args.force)
    return names


def _pem_bundle(chosen: list[tuple[Any, str]]) -> str:
    return "".join(pem_block("CERTIFICATE", c.to_der()) for c, _ in chosen)


def _write_bundle(args: argparse.Namespace, chosen: list[tuple[Any, str]], fmt: str) -> str:
    """--out: the certificates in one file, PEM, or with --format der a certs-only PKCS#7 as the server sends."""
    if fmt == "der":
        from estcodec.cms import build_certs_only

        data = build_certs_only([c for c, _ in chosen])
    else:
        data = _pem_bundle(chosen).encode("ascii")
    write_file(args.out, data, mode=PUBLIC_MODE, force=args.force)
    return str(args.out)


def _report(out: Output, chosen: list[tuple[Any, str]], total: int, files: list[str]) -> None:
    """PEM on stdout when nothing was written (and no --json), then the summary (or a note on stderr)."""
    if out.json:
        out.result({"operation": "cacerts", "count": len(chosen), "files": files,
                    "certificates": [dict(cert_summary(c), role=r) for c, r in chosen]})
    elif not files:
        sys.stdout.write(_pem_bundle(chosen))
        sys.stdout.flush()
        out.note(f"est: {len(chosen)} CA certificate(s) printed ({', '.join(r for _, r in chosen)})")
        return
    out.info(f"{len(chosen)} CA certificate(s) from {total}:")
    for c, r in chosen:
        out.info(f"  [{r}] {c.subject.rfc4514_string()}  (SHA-256 {c.fingerprint().hex()[:16]}...)")
    for f in files:
        out.info(f"wrote {f}")


def _ca_role(cert: Any) -> str:
    """``root`` (self-signed), ``key-update`` (self-issued, signed by another key: RFC 4210 rollover
    certificates) or ``intermediate``."""
    from estcodec.pkix import ca_role

    return ca_role(cert)


def cmd_csrattrs(args: argparse.Namespace) -> int:
    """Fetch /csrattrs and describe it (--out also writes it)."""
    from estcodec.show import format_text, summarize_as

    out = Output(args)
    check_writable([args.out], force=args.force)
    with make_client(args) as client:
        attrs = client.get_csr_attributes()
    der = attrs.to_der()
    summary = summarize_as("csr-attributes", der)
    if args.out:
        data = der if outputs_format(args) == "der" else pem_block("CSR ATTRIBUTES", der).encode("ascii")
        write_file(args.out, data, mode=PUBLIC_MODE, force=args.force)
    if out.json:
        out.result(dict(summary, operation="csrattrs", der_base64=base64.b64encode(der).decode()))
    else:
        if attrs.is_empty():
            out.info("the server asks for no particular CSR attributes")
        else:
            out.info(format_text(summary))
    if args.out:
        out.note(f"est: wrote {args.out}")
    return EXIT_OK

