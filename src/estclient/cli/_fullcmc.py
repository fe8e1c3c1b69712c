"""``est fullcmc``: enroll with a Full PKI Request (RFC 7030 §4.3, RFC 5272)."""
from __future__ import annotations

import argparse
from typing import Any

from .. import errors as E
from ._errors import EXIT_OK, EXIT_PENDING, EXIT_PROTOCOL, EXIT_USAGE, CliError
from ._files import PUBLIC_MODE, check_writable, write_file
from .._keyspec import is_pkcs11_uri
from ._keys import load_signer
from ._output import Output
from ._request import (
    apply_csrattrs,
    builder_from_flags,
    client_class,
    has_subject,
    read_csr_file,
    retry_delay,
    wait_for_result,
    write_issued,
)
from ._settings import make_config, resolve_settings

__all__ = ["cmd_fullcmc"]

def cmd_fullcmc(args: argparse.Namespace) -> int:
    """Enroll with a Full PKI Request (/fullcmc); --response-out keeps the signed PKIResponse."""
    out = Output(args)
    if not args.csr and not args.key_out and not args.use_key:
        raise CliError(EXIT_USAGE, "fullcmc makes a new key: give --key-out FILE (or --use-key FILE)")
    if not args.csr and not has_subject(args):
        raise CliError(EXIT_USAGE, "give at least --cn (or other subject / subjectAltName flags)")
    if args.key_out and is_pkcs11_uri(args.use_key):
        raise CliError(EXIT_USAGE, "the request's key is on a token and cannot leave it: --key-out has nothing to "
                                   "write")
    check_writable([args.out, None if is_pkcs11_uri(args.key_out) else args.key_out, args.response_out,
                    args.request_out], force=args.force)
    config = make_config(resolve_settings(args))
    from ..protocol import CmcRequest, CmcResponse

    builder = None
    if args.csr:
        if not args.use_key:
            raise CliError(EXIT_USAGE, "--csr with fullcmc needs --use-key (the request's key signs the CMC message)")
        csr_der = read_csr_file(args.csr)
        key = load_signer(args, args.use_key)
    else:
        builder = builder_from_flags(args)

    class _Recording(client_class(args)):  # type: ignore[misc]
        """Keeps the last /fullcmc response, so that --response-out can save the Full PKI Response as sent."""

        last: Any = None

        def _send_on(self, client: Any, send: Any) -> Any:
            rec = super()._send_on(client, send)
            if send.request.operation == "fullcmc":
                self.last = rec.response
            return rec

    def save_response(client: Any) -> None:
        if not args.response_out or client.last is None or not client.last.body:
            return
        try:
            der = P.decode_body(client.last.body, "fullcmc response")
        except E.EstError:
            return
        write_file(args.response_out, der, mode=PUBLIC_MODE, force=args.force)
        out.note(f"est: wrote the Full PKI Response ({client.last.status}) to {args.response_out}")

    from .. import protocol as P

    with _Recording(config) as client:
        if builder is not None:
            apply_csrattrs(out, client, builder, args)
            csr_der, key = builder.build()
        request = CmcRequest.for_csr(csr_der, key)
        request_der = request.to_der() if args.request_out else b""  # the same PKIData, signed once more
        try:
            result = wait_for_result(out, lambda: client.full_cmc(request), max_wait=args.max_wait,
                                     is_pending=retry_delay, min_delay=client.config.min_retry_delay)
        except E.ServerError:
            save_response(client)  # a CMC failure response is worth keeping: `est show` reads it
            raise
        save_response(client)
    assert isinstance(result, CmcResponse)
    if result.is_pending():
        # CMC pending (RFC 5272 §6.1.1): the CA holds the request; it is asked again with queryPending and the
        # pendToken, not by repeating it
        info = result.pki_response.pending_info()
        detail = ""
        if info is not None:
            detail = (f"; pendToken {bytes(info.pend_token).hex()}, "
                      f"ask again after {info.pend_time:%Y-%m-%d %H:%M:%S} UTC")
        raise CliError(EXIT_PENDING, "the CA holds the Full PKI Request (CMC status pending)" + detail)
    from cryptography.hazmat.primitives import serialization

    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    mine = [c for c in result.certificates if c.public_key_info.to_der() == spki]
    if not mine:
        raise CliError(EXIT_PROTOCOL, "the Full PKI Response carries no certificate for the requested key")
    cert = mine[0]
    others = [c for c in result.certificates if c is not cert]
    extra: dict[str, Any] = {}
    pr = result.pki_response
    if pr is not None:
        extra["cmc_status"] = getattr(pr.status, "name", str(pr.status)).lower()
        extra["signature_verified"] = "yes" if pr.signature_verified else "no"
    if args.response_out:
        extra["response_file"] = args.response_out
    if args.request_out:
        write_file(args.request_out, request_der, mode=PUBLIC_MODE, force=args.force)
        extra["request_file"] = args.request_out
    # a new key, or a copy of the --use-key key when --key-out asks for one
    write_issued(out, args, cert, others, key if builder is not None or args.key_out else None, "fullcmc", extra)
    return EXIT_OK

