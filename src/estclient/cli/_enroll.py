"""``est csr``, ``est enroll``, ``est reenroll`` and ``est serverkeygen``: make a request, send it, write the
certificate and key."""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from .. import errors as E
from ._errors import EXIT_OK, EXIT_PROTOCOL, EXIT_USAGE, CliError
from ._files import KEY_MODE, PUBLIC_MODE, check_writable, write_file
from .._keyspec import is_pkcs11_uri
from ._keys import TLS_TOKEN_KEY, after_issue, key_out_bytes, load_signer
from ._output import Output, key_description, pem_block
from ._request import (
    apply_csrattrs,
    builder_from_flags,
    has_subject,
    make_client,
    outputs_format,
    read_csr_file,
    retry_delay,
    selfcheck_builder,
    wait_for_result,
    write_issued,
)
from ._settings import make_config, resolve_settings

__all__ = ["cmd_csr", "cmd_enroll", "cmd_reenroll", "cmd_serverkeygen"]

def cmd_csr(args: argparse.Namespace) -> int:
    """Make a key and a CSR from the flags (and, with --from-server, the server's /csrattrs)."""
    out = Output(args)
    fmt = outputs_format(args)
    if not args.out:
        raise CliError(EXIT_USAGE, "csr needs --out FILE (the request)")
    if not args.use_key and not args.key_out:
        raise CliError(EXIT_USAGE, "csr makes a new key: give --key-out FILE (or --use-key FILE)")
    check_writable([args.out, None if is_pkcs11_uri(args.key_out) else args.key_out], force=args.force)
    b = builder_from_flags(args)
    if args.from_server:
        with make_client(args) as client:
            apply_csrattrs(out, client, b, argparse.Namespace(**{**vars(args), "no_csrattrs": False}))
    if not has_subject(args) and not args.from_server:
        raise CliError(EXIT_USAGE, "give at least --cn (or other subject / subjectAltName flags)")
    try:
        der, key = b.build()
    except E.EstError:
        raise
    except (ValueError, TypeError) as exc:
        raise CliError(EXIT_USAGE, f"cannot build the request: {exc}") from None
    extra = {}
    if getattr(args, "new_token_key", None) is not None:
        extra = after_issue(args, None)  # the key stays on the token
    elif args.key_out:
        write_file(args.key_out, key_out_bytes(args, key, fmt), mode=KEY_MODE, force=args.force)
    write_file(args.out, der if fmt == "der" else pem_block("CERTIFICATE REQUEST", der).encode("ascii"),
               mode=PUBLIC_MODE, force=args.force)
    from estcodec.show import summarize_as

    s = summarize_as("csr", der)
    if out.json:
        out.result(dict(s, operation="csr", files={"csr": args.out, "key": None if extra else args.key_out},
                        **extra))
    else:
        out.info(f"wrote request {args.out}: {s['subject'] or '(empty subject)'}, key {s['key']}")
        if extra:
            out.info(f"key made on the token: {extra['token_key']}")
        elif args.key_out:
            out.info(f"wrote key {args.key_out} (mode 0600)")
    return EXIT_OK



_SUBJECT_FLAGS = ("cn", "org", "ou", "country", "state", "locality", "subject_serial", "san_dns", "san_ip",
                  "san_email", "san_uri")


def _refuse_new_subject(args: argparse.Namespace, identity: Any) -> None:
    """reenroll keeps the subject and subjectAltName of --cert (RFC 7030 §4.2.2): a flag that would change them
    is refused, not silently ignored (``--cn`` equal to the current commonName is allowed)."""
    from cryptography.x509.oid import NameOID

    given = [f for f in _SUBJECT_FLAGS if getattr(args, f, None)]
    if given == ["cn"]:
        current = [a.value for a in identity.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        if current == [args.cn]:
            return
    if given:
        flags = ", ".join("--" + ("serial-number" if f == "subject_serial" else f.replace("_", "-")) for f in given)
        raise CliError(EXIT_USAGE, f"reenroll keeps the subject and subjectAltName of --cert (RFC 7030 §4.2.2): "
                                   f"{flags} would change them; use enroll for a new subject")


def _enroll_common(args: argparse.Namespace, *, reenroll: bool) -> int:
    out = Output(args)
    operation = "reenroll" if reenroll else "enroll"
    settings = resolve_settings(args)
    csr_der: bytes | None = None
    builder = None
    if args.csr:
        if has_subject(args) or args.use_key:
            raise CliError(EXIT_USAGE, "--csr sends a ready request: do not combine it with subject or key flags")
        if args.key_out:
            raise CliError(EXIT_USAGE, "--csr sends a ready request whose key stays with you: --key-out has "
                                       "nothing to write")
        csr_der = read_csr_file(args.csr)
    token_identity = reenroll and is_pkcs11_uri(settings.key)
    if reenroll:
        if not (settings.cert and settings.key):
            raise CliError(EXIT_USAGE, "reenroll needs the current identity: --cert FILE --key FILE")
        if token_identity and not settings.user:
            raise CliError(EXIT_USAGE, TLS_TOKEN_KEY)
    if getattr(args, "resume", False) and (is_pkcs11_uri(args.key_out) or is_pkcs11_uri(args.use_key)):
        raise CliError(EXIT_USAGE, "--resume keeps its key in a file: it does not take a pkcs11: key")
    new_key = csr_der is None and not (reenroll and args.same_key) and not args.use_key
    if args.key_out and not new_key and (is_pkcs11_uri(args.use_key) or (token_identity and args.same_key)):
        raise CliError(EXIT_USAGE, "the request's key is on a token and cannot leave it: --key-out has nothing to "
                                   "write")
    if new_key and not args.key_out:
        raise CliError(EXIT_USAGE, f"{operation} makes a new key: give --key-out FILE (or --use-key FILE)")
    check_writable([args.out, None if is_pkcs11_uri(args.key_out) else args.key_out], force=args.force)
    config = make_config(settings, token_identity=token_identity)
    identity: Any = config.client_identity
    if token_identity:
        identity = _token_identity(args, settings)
        out.note(f"est {operation}: note: the current key is on a token and cannot authenticate TLS; "
                 "re-enrolling with HTTP credentials and without a TLS client certificate (docs/hardware-keys.md)")
    if csr_der is None:
        if reenroll:
            _refuse_new_subject(args, identity)
            builder = _reenroll_builder(args, identity)
        else:
            if not has_subject(args) and args.no_csrattrs:
                raise CliError(EXIT_USAGE, "give at least --cn (or other subject / subjectAltName flags)")
            builder = builder_from_flags(args)
    if getattr(args, "resume", False):
        from ._resume import enroll_resume

        return enroll_resume(args, out, config, builder, operation)
    from ..protocol import Issued

    with make_client(args, config) as client:
        if builder is not None and not reenroll:
            apply_csrattrs(out, client, builder, args)
            selfcheck_builder(builder)
        request: Any = builder if builder is not None else csr_der
        if reenroll:
            def call(req: Any) -> Any:
                return client.simple_reenroll(req, allow_without_identity=token_identity)
        else:
            call = client.simple_enroll
        result = wait_for_result(out, lambda: call(request), max_wait=args.max_wait, is_pending=retry_delay,
                                 min_delay=client.config.min_retry_delay)
    assert isinstance(result, Issued)
    # a new key, or the key the request was made with when --key-out asks for a copy of it
    key = builder.private_key if builder is not None and (new_key or args.key_out) else None
    write_issued(out, args, result.certificate, result.chain, key, operation)
    return EXIT_OK


class _TokenIdentity:
    """The identity being renewed when its key is on a token: the --cert certificate and the token signer."""

    def __init__(self, certificate: Any, signer: Any) -> None:
        self.certificate = certificate
        self.signer = signer


def _token_identity(args: argparse.Namespace, settings: Any) -> _TokenIdentity:
    """--cert (read) and --key pkcs11:... (opened: a wrong PIN or a missing key fails here, before anything is
    sent); the key must be the certificate's."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        cert = x509.load_pem_x509_certificates(Path(settings.cert).read_bytes())[0]
    except (OSError, ValueError, IndexError):
        raise CliError(EXIT_USAGE, f"{settings.cert}: cannot read the current certificate (PEM)") from None
    signer = load_signer(args, settings.key)
    der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if signer.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise CliError(EXIT_USAGE, f"{settings.key} is not the key of the certificate in {settings.cert}")
    return _TokenIdentity(cert, signer)


def _reenroll_builder(args: argparse.Namespace, identity: Any) -> Any:
    """A request with the subject (byte for byte), subjectAltName, keyUsage and extendedKeyUsage of the current
    certificate (RFC 7030 §4.2.2), built by :func:`estclient.renewal.renewal_csr` as the renewal daemon does;
    with --key-out pkcs11:... the new key is made on the token."""
    from ..renewal import RenewalConfig, renewal_csr, renewal_csr_for

    keep = bool(args.same_key or args.use_key)
    if isinstance(identity, _TokenIdentity):
        b = renewal_csr_for(identity.certificate)
        if not keep:
            from ..keys import key_type_of

            b.key_type(args.key_type or key_type_of(identity.signer))
        if args.same_key:
            b.with_key(identity.signer)
    else:
        rc = RenewalConfig(renewal_threshold=1, check_interval=1, new_key=not (keep or is_pkcs11_uri(args.key_out)),
                           key_type=args.key_type)
        b = renewal_csr(identity, rc)
    if args.use_key:
        b.with_key(load_signer(args, args.use_key))
    elif not args.same_key and is_pkcs11_uri(args.key_out):
        from ._keys import new_token_key

        token_key = new_token_key(args)
        if token_key is not None:
            b.with_key(token_key)
    if getattr(args, "hash", None):
        b.signature_hash(args.hash)
    return b


def cmd_enroll(args: argparse.Namespace) -> int:
    """Enroll a new key (/simpleenroll), or send the ready-made request of --csr."""
    return _enroll_common(args, reenroll=False)


def cmd_reenroll(args: argparse.Namespace) -> int:
    """Renew --cert/--key (/simplereenroll): same subject and subjectAltName, a new key unless told."""
    return _enroll_common(args, reenroll=True)


def cmd_serverkeygen(args: argparse.Namespace) -> int:
    """Let the server generate the key (/serverkeygen); decrypt it locally when it comes encrypted."""
    out = Output(args)
    if not args.key_out:
        raise CliError(EXIT_USAGE, "serverkeygen returns a private key: give --key-out FILE")
    if is_pkcs11_uri(args.key_out) or is_pkcs11_uri(args.use_key):
        raise CliError(EXIT_USAGE, "serverkeygen: the server makes the key, so it is not a token key: --key-out "
                                   "takes a file")
    if not has_subject(args) and args.no_csrattrs:
        raise CliError(EXIT_USAGE, "give at least --cn (or other subject / subjectAltName flags)")
    kek = kek_id = None
    if args.kek_id or args.kek_file:
        if not (args.kek_id and args.kek_file):
            raise CliError(EXIT_USAGE, "--kek-id and --kek-file go together")
        try:
            kek_id = bytes.fromhex(args.kek_id)
            raw = Path(args.kek_file).read_bytes().strip()
            kek = bytes.fromhex(raw.decode("ascii")) if re.fullmatch(rb"[0-9A-Fa-f]+", raw) else raw
        except (ValueError, OSError) as exc:
            raise CliError(EXIT_USAGE, f"bad KEK: {getattr(exc, 'strerror', None) or exc}") from None
        if len(kek) not in (16, 24, 32):
            raise CliError(EXIT_USAGE, "the KEK must be an AES key of 16, 24 or 32 bytes (raw or hex)")
    settings = resolve_settings(args)
    if args.encrypt_to_cert and not (settings.cert and settings.key):
        raise CliError(EXIT_USAGE, "--encrypt-to-cert uses the TLS client identity: give --cert and --key")
    check_writable([args.out, args.key_out], force=args.force)
    config = make_config(settings)
    builder = builder_from_flags(args)
    from ..protocol import ServerKeygenResponse

    kw: dict[str, Any] = {}
    how = "unencrypted (over TLS)"
    if kek is not None:
        kw = {"kek": kek, "kek_id": kek_id}
        how = f"encrypted to KEK {args.kek_id}, decrypted locally"
    elif args.encrypt_to_cert:
        ident = config.client_identity
        kw = {"private_key": ident.private_key(), "certificate": ident.certificate}
        how = "encrypted to the client certificate's key, decrypted locally"
    with make_client(args, config) as client:
        apply_csrattrs(out, client, builder, args)
        selfcheck_builder(builder)
        result = wait_for_result(out, lambda: client.server_keygen(builder, **kw), max_wait=args.max_wait,
                                 is_pending=retry_delay, min_delay=client.config.min_retry_delay)
    assert isinstance(result, ServerKeygenResponse)
    if result.private_key is None:
        raise CliError(EXIT_PROTOCOL, "the server-generated key arrived encrypted: give --kek-id and --kek-file, "
                                      "or --encrypt-to-cert, to decrypt it")
    key = result.private_key_object()
    write_issued(out, args, result.certificate, result.chain, key, "serverkeygen",
                  {"private_key": f"{key_description(key)}, {how}"})
    return EXIT_OK

