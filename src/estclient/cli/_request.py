"""Shared steps of the commands that send a request: the CSR from the subject flags, the server's CSR
attributes, waiting while the server answers 202, and writing what was issued."""
from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any, Callable, Sequence

from .._keyspec import is_pkcs11_uri
from .. import errors as E
from ._errors import EXIT_ERROR, EXIT_PENDING, EXIT_SERVER, EXIT_USAGE, CliError
from ._files import KEY_MODE, PUBLIC_MODE, write_file
from ._output import Output, cert_bytes, cert_lines, cert_summary, read_der
from ._settings import make_config, resolve_settings

__all__ = ["wait_for_result", "retry_delay", "builder_from_flags", "has_subject", "apply_csrattrs",
           "selfcheck_builder", "make_client", "client_class", "outputs_format", "write_issued", "read_csr_file"]

def sleep_with_progress(out: Output, delay: float, left: float, attempt: int, interrupt: threading.Event) -> None:
    """Wait ``delay`` seconds, showing the countdown to the next try and the time left of --max-wait."""
    tty = sys.stderr.isatty() and not out.quiet
    end = time.monotonic() + delay
    out.note(f"est: pending (HTTP 202), try {attempt}: next try in {delay:.0f}s, {left:.0f}s left of --max-wait")
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        if tty:
            sys.stderr.write(f"\r  waiting: next try in {remaining:4.0f}s, {left - (delay - remaining):5.0f}s left ")
            sys.stderr.flush()
        if interrupt.wait(min(1.0, remaining)):
            raise KeyboardInterrupt
    if tty:
        sys.stderr.write("\r" + " " * 60 + "\r")
        sys.stderr.flush()


def wait_for_result(out: Output, attempt_once: Callable[[], Any], *, max_wait: float,
                    is_pending: Callable[[Any], float | None], min_delay: float = 1.0) -> Any:
    """Call ``attempt_once`` until it returns something that is not pending; ``is_pending(result)`` gives the
    retry delay (seconds) of a pending result or None. The waits follow the library's 202 policy
    (:class:`estclient._polling.PendingWait`: at least ``min_delay`` each, ``max_wait`` counted on the monotonic
    clock); raises CliError(EXIT_PENDING) when the next wait would pass ``max_wait``."""
    from .._polling import PendingWait
    from ..errors import PendingTimeout

    interrupt = threading.Event()
    wait = PendingWait(max_wait, min_delay=min_delay, what="request", limit_name="--max-wait",
                       on_wait=lambda delay, attempt: sleep_with_progress(out, delay, wait.left, attempt, interrupt))
    while True:
        result = attempt_once()
        retry_after = is_pending(result)
        if retry_after is None:
            return result
        try:
            wait.next_delay(retry_after)  # the policy's hook waits, showing the countdown
        except PendingTimeout as exc:
            hint = "" if max_wait else " (give --max-wait SECONDS to wait for it)"
            raise CliError(EXIT_PENDING, f"{exc}{hint}") from None


def retry_delay(result: Any) -> float | None:
    """Retry delay of an HTTP 202 answer (the same request is repeated, RFC 7030 §4.2.3), else None."""
    from .._polling import DEFAULT_RETRY_AFTER
    from ..protocol import Pending

    if isinstance(result, Pending):
        return result.retry_after if result.retry_after is not None else DEFAULT_RETRY_AFTER
    return None


def builder_from_flags(args: argparse.Namespace) -> Any:
    """The request the subject, name, usage and key flags describe (:meth:`estclient.csr.CsrBuilder.from_fields`),
    with the key of ``--use-key``, or one made on the token of ``--key-out pkcs11:...``."""
    from ..csr import CsrBuilder

    b = CsrBuilder.from_fields(
        common_name=args.cn, organization=args.org, organizational_units=args.ou, country=args.country,
        state=args.state, locality=args.locality, serial_number=args.subject_serial, san_dns=args.san_dns or (),
        san_ip=args.san_ip or (), san_email=args.san_email or (), san_uri=args.san_uri or (),
        key_usage=args.key_usage or (), extended_key_usage=args.eku or (), key_type=args.key_type,
        signature_hash=args.hash)
    if args.use_key:
        from ._keys import load_signer

        b.with_key(load_signer(args, args.use_key))
    elif is_pkcs11_uri(getattr(args, "key_out", None)):
        from ._keys import new_token_key

        token_key = new_token_key(args)  # made on the token now, removed again if the command fails
        if token_key is not None:
            b.with_key(token_key)
    return b


def has_subject(args: argparse.Namespace) -> bool:
    return any([args.cn, args.org, args.ou, args.country, args.state, args.locality, args.subject_serial,
                args.san_dns, args.san_ip, args.san_email, args.san_uri])


def apply_csrattrs(out: Output, client: Any, builder: Any, args: argparse.Namespace) -> Any:
    """Fetch /csrattrs and apply it to the builder (unless --no-csrattrs); returns the CsrAttrs or None."""
    if getattr(args, "no_csrattrs", False):
        return None
    try:
        attrs = client.get_csr_attributes()
    except E.NotSupported:
        return None
    except E.ServerError as exc:  # name the step: the request the user asked for was not sent yet
        raise CliError(EXIT_SERVER,
                       f"{exc} (from /csrattrs, asked before the request; --no-csrattrs skips it)") from None
    if not attrs.is_empty():
        asked = builder.copy().with_attributes(attrs)  # what the server's attributes alone would make of it
        builder.with_attributes(attrs)
        out.note(f"est: applied the server's CSR attributes ({len(attrs)} items)")
        _keep_explicit_choices(out, builder, asked, args)
    return attrs


def _keep_explicit_choices(out: Output, builder: Any, asked: Any, args: argparse.Namespace) -> None:
    """An explicit --key-type or --hash is kept over the server's CSR attributes, and a note says so (the server
    may refuse the request; without the flag the server's choice is used)."""
    key_type = getattr(args, "key_type", None)
    given_key = getattr(args, "use_key", None) or getattr(args, "new_token_key", None) is not None
    if key_type and not given_key and asked.selected_key_type != key_type:
        builder.key_type(key_type)
        out.note(f"est: note: the server's CSR attributes ask for key type {asked.selected_key_type}; keeping "
                 f"--key-type {key_type}")
    hash_name = getattr(args, "hash", None)
    asked_hash = getattr(getattr(asked, "_hash", None), "name", None)  # the builder has no public reader of it
    if hash_name and asked_hash and asked_hash != hash_name:
        builder.signature_hash(hash_name)
        out.note(f"est: note: the server's CSR attributes ask for hash {asked_hash}; keeping --hash {hash_name}")


def selfcheck_builder(b: Any) -> None:
    """Build once, so that a bad combination of flags fails before anything is sent."""
    try:
        b.build()
    except E.EstError:
        raise
    except (ValueError, TypeError) as exc:
        raise CliError(EXIT_USAGE, f"cannot build the request: {exc}") from None


def read_csr_file(path: str) -> bytes:
    """The DER of the PKCS#10 request in ``path`` (PEM or DER), parsed and its signature checked before anything
    is sent: garbage, a certificate or a request with a broken signature fails here (exit 1), naming the file."""
    from estcodec import Error as CodecError
    from estcodec.pkcs10 import CertificationRequest

    try:
        der = read_der(path)
        request = CertificationRequest.from_der(der)
    except CodecError as exc:
        raise CliError(EXIT_ERROR, f"{path}: not a PKCS#10 certification request ({exc})") from None
    if not request.is_signature_valid:
        raise CliError(EXIT_ERROR, f"{path}: the request's signature does not verify with its own public key")
    return der


def client_class(args: argparse.Namespace) -> Any:
    """The client class of a command: :class:`estclient.EstClient`, or with ``-v``/``--debug`` its subclass that
    reports each exchange on stderr (:mod:`._trace`)."""
    if getattr(args, "verbose", 0) or getattr(args, "debug", False):
        from ._trace import tracing_client_class

        return tracing_client_class(bool(getattr(args, "debug", False)))
    from ..client import EstClient

    return EstClient


def make_client(args: argparse.Namespace, config: Any = None) -> Any:
    """An EST client for the command's settings (``config``, else made from flags, environment and file)."""
    if config is None:
        config = make_config(resolve_settings(args))
    return client_class(args)(config)


def outputs_format(args: argparse.Namespace) -> str:
    """``--format``: pem (the default) or der."""
    return getattr(args, "format", None) or "pem"


def _to_stdout(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def write_issued(out: Output, args: argparse.Namespace, cert: Any, chain: Sequence[Any], key: Any,
                 operation: str, extra: dict[str, Any] | None = None) -> None:
    """Write the key (0600) then the certificate (``--out -``: on stdout, in ``--format``); print the summary."""
    fmt = outputs_format(args)
    files = {}
    if getattr(args, "new_token_key", None) is not None:
        from ._keys import after_issue

        extra = {**after_issue(args, cert), **(extra or {})}  # the key stays on the token: no file
    elif key is not None and args.key_out:
        from ._keys import key_out_bytes

        write_file(args.key_out, key_out_bytes(args, key, fmt), mode=KEY_MODE, force=args.force)
        files["key"] = args.key_out
    cert_data = cert_bytes(cert, chain, fmt)
    to_file = bool(args.out) and args.out != "-"
    if to_file:
        write_file(args.out, cert_data, mode=PUBLIC_MODE, force=args.force)
        files["certificate"] = args.out
    if out.json:
        doc = {"operation": operation, "certificate": cert_summary(cert), "files": files}
        if not to_file:
            doc["certificate_pem"] = cert_bytes(cert, chain, "pem").decode("ascii")
        doc.update(extra or {})
        out.result(doc)
        return
    if not to_file:
        _to_stdout(cert_data if args.out == "-" else cert_bytes(cert, chain, "pem"))
        target = out.note
    else:
        target = out.info
    target(f"{operation}: certificate issued")
    for line in cert_lines(cert):
        target(line)
    for k, v in (extra or {}).items():
        target(f"  {k.replace('_', ' ')}: {v}")
    for what, path in files.items():
        target(f"wrote {what} {path}" + (" (mode 0600)" if what == "key" else ""))
