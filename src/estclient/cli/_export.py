"""``est export``: a certificate (with its chain and, when asked, its key) in the format another tool wants.

``--format pem`` (the certificate, then its chain; with ``--include-key`` the PKCS#8 key first), ``der`` (the
certificate alone) or ``pfx`` (PKCS#12 through ``cryptography``, protected by the password of
``--password-file``). ``--chain-out FILE`` writes the chain to its own file instead (as globalsign's client does
with ``-separate``). Nothing talks to a server. A file holding a key is written mode 0600.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._errors import EXIT_OK, EXIT_USAGE, CliError
from ._files import KEY_MODE, PUBLIC_MODE, check_writable, write_file
from .._keyspec import is_pkcs11_uri
from ._keys import load_signer
from ._output import Output

__all__ = ["cmd_export"]

_MAX_PASSWORD = 1024


def _read_certificates(path: str) -> list[Any]:
    """The certificates of ``path``: PEM (every CERTIFICATE block), one DER certificate, or a DER certs-only
    PKCS#7 (what ``est cacerts --format der`` writes); the first is the one exported."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import pkcs7

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            try:
                certs = [x509.load_der_x509_certificate(data)]
            except ValueError:
                certs = pkcs7.load_der_pkcs7_certificates(data)
    except ValueError:
        raise CliError(EXIT_USAGE, f"{path}: no certificate in it (PEM, DER or certs-only PKCS#7)") from None
    if not certs:
        raise CliError(EXIT_USAGE, f"{path}: no certificate in it")
    return list(certs)


def _read_password(path: str) -> bytes:
    """The password of ``--password-file`` (its first line; never echoed in a message)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"cannot read password file {path}: {exc.strerror or exc}") from None
    password = data.splitlines()[0] if data.strip() else b""
    if not password or len(password) > _MAX_PASSWORD:
        raise CliError(EXIT_USAGE, f"password file {path}: no password on its first line")
    return password


def _check_args(args: argparse.Namespace) -> None:
    if args.include_key and not args.key:
        raise CliError(EXIT_USAGE, "--include-key needs --key FILE (the certificate's private key)")
    if args.include_key and args.format == "der":
        raise CliError(EXIT_USAGE, "DER holds one structure: use --format pfx (or pem) to include the key")
    if args.format == "pfx" and args.include_key and not args.password_file:
        raise CliError(EXIT_USAGE, "a PKCS#12 file with a key needs --password-file FILE (its password)")
    if args.password_file and args.format == "der":
        raise CliError(EXIT_USAGE, "--password-file protects a key (pem) or a PKCS#12 file (pfx), not DER")
    if args.format in ("der", "pfx") and not args.out:
        raise CliError(EXIT_USAGE, f"--format {args.format} is binary: give --out FILE (or --out - for stdout)")


def _key_matches(key: Any, cert: Any) -> bool:
    from cryptography.hazmat.primitives import serialization

    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return bool(key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki))


def _encode(args: argparse.Namespace, cert: Any, chain: list[Any], key: Any, password: bytes | None) -> bytes:
    """The bytes of ``--out`` (the chain is in them unless ``--chain-out`` takes it)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    pem = serialization.Encoding.PEM
    if args.format == "der":
        return bytes(cert.public_bytes(serialization.Encoding.DER))
    if args.format == "pfx":
        enc = (serialization.BestAvailableEncryption(password) if password is not None
               else serialization.NoEncryption())
        name = (args.name or cert.subject.rfc4514_string()).encode("utf-8")
        return bytes(pkcs12.serialize_key_and_certificates(name, key, cert, chain or None, enc))
    out = b""
    if key is not None:
        enc = (serialization.BestAvailableEncryption(password) if password is not None
               else serialization.NoEncryption())
        out += key.private_bytes(pem, serialization.PrivateFormat.PKCS8, enc)
    return out + b"".join(c.public_bytes(pem) for c in [cert, *chain])


def _chain_bytes(fmt: str, chain: list[Any]) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    if fmt == "der":
        return bytes(pkcs7.serialize_certificates(chain, serialization.Encoding.DER))
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the certificate of --cert (and its chain, and with --include-key the key of --key) as pem, der or
    pfx, to --out (``-``: stdout) and --chain-out."""
    import sys

    out = Output(args)
    _check_args(args)
    certs = _read_certificates(args.cert)
    cert, chain = certs[0], certs[1:]
    if args.include_key and is_pkcs11_uri(args.key):
        raise CliError(EXIT_USAGE, f"{args.key}: the key is on a token and cannot leave it, so --include-key cannot "
                                   "put it in a file; export the certificate without --include-key")
    key = None
    if args.key:
        signer = load_signer(args, args.key)  # an encrypted file: --key-password-file or EST_KEY_PASSWORD
        key = signer.private_key() if signer.exportable else signer
    if key is not None and not _key_matches(key, cert):
        raise CliError(EXIT_USAGE, f"{args.key} is not the key of the certificate in {args.cert}")
    password = _read_password(args.password_file) if args.password_file else None
    check_writable([args.out, args.chain_out], force=args.force)
    included = key if args.include_key else None
    data = _encode(args, cert, [] if args.chain_out else chain, included, password)
    written = []
    if args.out and args.out != "-":
        write_file(args.out, data, mode=KEY_MODE if included is not None else PUBLIC_MODE, force=args.force)
        written.append(args.out)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    if args.chain_out and not chain:
        out.note(f"est export: note: {args.cert} holds no chain: nothing written to {args.chain_out}")
    elif args.chain_out:
        write_file(args.chain_out, _chain_bytes(args.format, chain), mode=PUBLIC_MODE, force=args.force)
        written.append(args.chain_out)
    what = f"{args.format}: the certificate" + (" and its key" if included is not None else "")
    what += f", {len(chain)} chain certificate(s)" + (" apart" if args.chain_out else "")
    for path in written:
        out.note(f"est export: wrote {path}" + (" (mode 0600)" if path == args.out and included is not None else ""))
    out.note(f"est export: {what}")
    return EXIT_OK
