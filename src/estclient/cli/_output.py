"""What the ``est`` command prints and writes: the :class:`Output` streams, certificate summaries, PEM/DER
bytes of certificates and keys, and reading the key and request files named on the command line."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from ._errors import EXIT_USAGE, CliError

__all__ = ["Output", "pem_block", "cert_summary", "cert_lines", "key_bytes", "cert_bytes", "key_description",
           "read_private_key", "read_der"]

class Output:
    """Where messages go: results to stdout, progress and notes to stderr; ``--json`` makes stdout one JSON
    document and keeps human text on stderr."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.json = bool(getattr(args, "json", False))
        self.quiet = bool(getattr(args, "quiet", False))

    def info(self, text: str = "") -> None:
        if self.quiet:
            return
        print(text, file=sys.stderr if self.json else sys.stdout, flush=True)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(text, file=sys.stderr, flush=True)

    def result(self, doc: Any) -> None:
        if self.json:
            print(json.dumps(doc, indent=2, default=str), flush=True)


def pem_block(label: str, der: bytes) -> str:
    from estcodec.pem import encode

    return encode(label, der)


def cert_summary(cert: Any) -> dict[str, Any]:
    from estcodec.show import summarize_certificate

    return summarize_certificate(cert)


def cert_lines(cert: Any, indent: str = "  ") -> list[str]:
    from estcodec.show import terminal_safe

    s = {k: terminal_safe(v) if isinstance(v, str) else v for k, v in cert_summary(cert).items()}
    if s.get("subject_alt_names"):
        s["subject_alt_names"] = [terminal_safe(str(x)) for x in s["subject_alt_names"]]
    lines = [
        f"{indent}subject:  {s['subject']}",
        f"{indent}issuer:   {s['issuer']}",
        f"{indent}serial:   {s['serial']}",
        f"{indent}validity: {s['not_before']} .. {s['not_after']} ({s['validity']})",
        f"{indent}key:      {s['key']}",
    ]
    if s.get("subject_alt_names"):
        lines.append(f"{indent}SAN:      {', '.join(s['subject_alt_names'])}")
    return lines


def key_bytes(key: Any, fmt: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    enc = serialization.Encoding.PEM if fmt == "pem" else serialization.Encoding.DER
    data: bytes = key.private_bytes(enc, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return data


def cert_bytes(cert: Any, chain: Sequence[Any], fmt: str) -> bytes:
    if fmt == "der":
        return bytes(cert.to_der())
    return "".join(pem_block("CERTIFICATE", c.to_der()) for c in [cert, *chain]).encode("ascii")


def key_description(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    from estcodec.show import describe_public_key
    from estcodec.x509 import SubjectPublicKeyInfo

    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return describe_public_key(SubjectPublicKeyInfo.from_der(spki))


def read_private_key(path: str) -> Any:
    from cryptography.hazmat.primitives import serialization

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"cannot read key {path}: {exc.strerror or exc}") from None
    try:
        if b"-----BEGIN" in data:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError):
        raise CliError(EXIT_USAGE, f"{path}: not a readable unencrypted private key") from None


def read_der(path: str) -> bytes:
    from estcodec.pem import load_any

    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CliError(EXIT_USAGE, f"cannot read {path}: {exc.strerror or exc}") from None
    return load_any(data)

