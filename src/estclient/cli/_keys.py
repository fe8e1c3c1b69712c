"""The keys named on the ``est`` command line: key files (plain or encrypted) and keys on PKCS#11 tokens.

``--key``, ``--use-key`` and ``--key-out`` take a file name or an RFC 7512 ``pkcs11:`` URI (see
:mod:`estclient.pkcs11` and docs/hardware-keys.md):

- a key file is read with its password from ``--key-password-file`` or ``EST_KEY_PASSWORD`` when it is encrypted;
  a new key is written as PKCS#8, encrypted when ``--key-out-password-file`` is given;
- a token key is opened with its PIN from ``--pin-file``, the URI's ``pin-source`` or ``EST_PKCS11_PIN`` (never
  from the command line in clear); ``--key-out pkcs11:...`` makes the new key on the token, where it stays, and
  ``--store-cert-on-token`` keeps the issued certificate beside it.

A key made on a token for a command that then fails is removed again, so a failed command leaves nothing behind.
"""
from __future__ import annotations

import argparse
from typing import Any, Optional

from estcodec.signer import Signer

from .._keyspec import is_pkcs11_uri
from ..keys import KEY_PASSWORD_ENV, load_key, private_key_pem, read_password
from ._errors import EXIT_USAGE, CliError

__all__ = ["load_signer", "new_token_key",
           "key_out_bytes", "key_out_password", "key_password", "after_issue", "discard_new_token_key",
           "close_token_keys", "TLS_TOKEN_KEY"]

#: Why a token key cannot be the TLS client identity, and what works instead (docs/hardware-keys.md).
TLS_TOKEN_KEY = ("a key on a PKCS#11 token cannot be the TLS client key: Python's ssl loads client keys only from "
                 "files (docs/hardware-keys.md). Authenticate with HTTP credentials (--user/--password-file; "
                 "reenroll and renew then go without a TLS client certificate) or give a file key (and its "
                 "certificate) as --cert/--key")


def key_password(args: argparse.Namespace) -> Optional[bytes]:
    """The password of an encrypted --key/--use-key file: --key-password-file, else EST_KEY_PASSWORD."""
    return read_password(None, password_file=getattr(args, "key_password_file", None), env=KEY_PASSWORD_ENV)


def key_out_password(args: argparse.Namespace) -> Optional[bytes]:
    """The password to encrypt --key-out with (--key-out-password-file), or None."""
    path = getattr(args, "key_out_password_file", None)
    return read_password(None, password_file=path) if path else None


def load_signer(args: argparse.Namespace, spec: str) -> Signer:
    """The key ``spec`` names (a file, encrypted or not, or a ``pkcs11:`` URI), as a signer; a token key is kept
    on ``args`` to be closed when the command ends. Errors are :class:`ConfigError` (exit 2) naming the file or
    the token object, never a PIN or password."""
    if is_pkcs11_uri(spec):
        signer = load_key(spec, pin_file=getattr(args, "pin_file", None))
        _opened(args).append(signer)
        return signer
    return load_key(spec, password=key_password(args))


def new_token_key(args: argparse.Namespace) -> Optional[Signer]:
    """The new key of ``--key-out pkcs11:...``, made on the token now (type ``--key-type``, default ec-p256),
    or None when --key-out is not a token. The key is removed again if the command fails
    (:func:`discard_new_token_key`)."""
    spec: Optional[str] = getattr(args, "key_out", None)
    if spec is None or not is_pkcs11_uri(spec):
        return None
    from ..keys import generate_key

    if getattr(args, "key_out_password_file", None):
        raise CliError(EXIT_USAGE, "--key-out-password-file encrypts a key file; a token key has no file form")
    signer = generate_key(spec, key_type=getattr(args, "key_type", None) or "ec-p256",
                          pin_file=getattr(args, "pin_file", None))
    args.new_token_key = signer
    _opened(args).append(signer)
    return signer


def key_out_bytes(args: argparse.Namespace, key: Any, fmt: str) -> bytes:
    """The bytes of --key-out: PKCS#8 in ``fmt`` (pem or der), encrypted with --key-out-password-file."""
    return private_key_pem(key, key_out_password(args), encoding=fmt)


def after_issue(args: argparse.Namespace, cert: Any) -> dict[str, str]:
    """After a certificate was issued for ``--key-out pkcs11:...``: keep it on the token when
    --store-cert-on-token asks, and keep the new key (it is no longer discarded). What was done, for the
    summary."""
    signer = getattr(args, "new_token_key", None)
    if signer is None:
        return {}
    done = {"token_key": signer.uri}
    if getattr(args, "store_cert_on_token", False):
        signer.store_certificate(cert.to_cryptography() if hasattr(cert, "to_cryptography") else cert)
        done["token_certificate"] = "stored beside the key"
    args.new_token_key = None
    return done


def discard_new_token_key(args: argparse.Namespace) -> None:
    """Remove the key --key-out made on the token for a command that failed (nothing is left behind)."""
    signer = getattr(args, "new_token_key", None)
    if signer is not None:
        args.new_token_key = None
        try:
            signer.destroy()
        except Exception:  # noqa: BLE001 - the command's own failure is the one to report
            pass


def close_token_keys(args: argparse.Namespace) -> None:
    """End the token sessions the command opened."""
    for signer in _opened(args):
        close = getattr(signer, "close", None)
        if close is not None:
            close()
    args.opened_token_keys = []


def _opened(args: argparse.Namespace) -> list[Signer]:
    opened: Optional[list[Signer]] = getattr(args, "opened_token_keys", None)
    if opened is None:
        opened = []
        args.opened_token_keys = opened
    return opened
