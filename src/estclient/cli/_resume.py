"""``est enroll --resume`` and ``est reenroll --resume``: an enrollment that survives a pending (202) answer beyond
``--max-wait``, Ctrl-C or a reboot, through :mod:`estclient.resume`.

With ``--resume`` the request is built once and saved with its key (0600) in ``<key-out>.pending/`` before it
is first sent. If the wait runs out, the command exits with status 7 and says so; running the same command again
(still with ``--resume``) re-sends the saved request (RFC 7030 §4.2.3) and, once issued, writes ``--out`` and
``--key-out`` and removes the saved files.
"""
from __future__ import annotations

import argparse
from typing import Any

__all__ = ["enroll_resume", "add_resume_flag"]


def add_resume_flag(p: argparse.ArgumentParser) -> None:
    """Add ``--resume`` to ``est enroll`` and ``est reenroll``."""
    p.add_argument("--resume", action="store_true",
                   help="save the request and its key in KEY-OUT.pending/ before sending; if the server answers "
                        "202 beyond --max-wait, run the same command again to re-send the same request")


def enroll_resume(args: argparse.Namespace, out: Any, config: Any, builder: Any, operation: str = "enroll") -> int:
    """Enroll (or, with ``operation="reenroll"``, re-enroll) with ``--resume``: resume the request saved beside
    ``--key-out``, or save a new one from ``builder`` and send it; write the outputs when issued. Returns the exit
    status."""
    from ..client import EstClient
    from ..resume import PendingEnrollment, pending_dir_for
    from ._errors import EXIT_OK, EXIT_PENDING, EXIT_USAGE, CliError
    from ._request import apply_csrattrs as _apply_csrattrs
    from ._request import retry_delay as _retry_delay
    from ._request import selfcheck_builder as _selfcheck_builder
    from ._request import wait_for_result
    from ._request import write_issued as _write_issued

    if not args.key_out or args.csr or args.use_key or getattr(args, "same_key", False):
        raise CliError(EXIT_USAGE, "--resume makes and keeps a new key: give --key-out FILE, without --csr, "
                                   "--use-key or --same-key")
    if config.channel_binding == "require":
        raise CliError(EXIT_USAGE, "--resume re-sends a saved request, which cannot be bound to a later TLS "
                                   "connection: use --channel-binding auto or off")
    directory = pending_dir_for(args.key_out)
    with EstClient(config) as client:
        if PendingEnrollment.exists(directory):
            pending = PendingEnrollment.load(directory)
            if pending.operation != operation:
                raise CliError(EXIT_USAGE, f"{directory} holds a saved {pending.operation} request, not a "
                                           f"{operation} one: run est {pending.operation} --resume, or remove it")
            out.note(f"est {operation}: resuming the request saved in {directory} ({pending.created})")
        else:
            if operation == "enroll":  # a re-enrollment repeats the current subject: no /csrattrs
                _apply_csrattrs(out, client, builder, args)
            _selfcheck_builder(builder)
            pending = PendingEnrollment.start(builder, directory, operation=operation)
            out.note(f"est {operation}: request and key saved in {directory} until the certificate is issued")
        try:
            result = wait_for_result(out, lambda: pending.send(client), max_wait=args.max_wait,
                                     is_pending=_retry_delay, min_delay=client.config.min_retry_delay)
        except CliError as exc:
            if exc.code == EXIT_PENDING:
                raise CliError(EXIT_PENDING, f"{exc}; the request and its key are kept in {directory}: run the "
                                             "same command again to re-send it") from None
            raise
    from cryptography.hazmat.primitives import serialization

    from ..errors import ProtocolError

    key = pending.private_key()
    ours = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if result.certificate.public_key_info.to_der() != ours:
        raise ProtocolError("the enrollment response holds no certificate for the saved key")
    _write_issued(out, args, result.certificate, result.chain, key, operation)
    pending.discard()
    return EXIT_OK
