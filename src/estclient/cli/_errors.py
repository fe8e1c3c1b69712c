"""Exit statuses of the ``est`` command and the one format of its error lines: ``est COMMAND: error: REASON``."""
from __future__ import annotations

import sys

from .. import errors as E
from ._files import OutputExists

__all__ = ["EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_AUTH", "EXIT_TLS", "EXIT_SERVER", "EXIT_PROTOCOL",
           "EXIT_PENDING", "EXIT_NETWORK", "EXIT_FILE", "EXIT_CODES", "CliError", "exit_code_for", "describe",
           "one_line", "print_error", "print_note"]

EXIT_OK = 0
EXIT_ERROR = 1  # anything else: unreadable input file, unexpected failure
EXIT_USAGE = 2  # bad flags or configuration
EXIT_AUTH = 3  # the server refused the credentials or the client certificate (401)
EXIT_TLS = 4  # TLS: untrusted server, bad trust anchors or client identity, bootstrap fingerprint mismatch
EXIT_SERVER = 5  # the server refused the request (4xx/5xx, CMC failure) or does not offer the operation
EXIT_PROTOCOL = 6  # the server's answer does not follow RFC 7030
EXIT_PENDING = 7  # still pending (202) when the wait (--max-wait) ran out
EXIT_NETWORK = 8  # connection refused, reset, timed out
EXIT_FILE = 9  # an output file exists (no --force) or cannot be written

EXIT_CODES = {
    "ok": EXIT_OK, "error": EXIT_ERROR, "usage": EXIT_USAGE, "auth": EXIT_AUTH, "tls": EXIT_TLS,
    "server": EXIT_SERVER, "protocol": EXIT_PROTOCOL, "pending": EXIT_PENDING, "network": EXIT_NETWORK,
    "file": EXIT_FILE,
}


class CliError(Exception):
    """A failure with its exit status and a one-line message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def exit_code_for(exc: BaseException) -> int:
    """The exit status of a failure class."""
    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, E.AuthenticationRequired):
        return EXIT_AUTH
    if isinstance(exc, (E.TlsConfigError, E.BootstrapVerificationError)):
        return EXIT_TLS
    if isinstance(exc, (E.ServerError, E.NotSupported)):
        return EXIT_SERVER
    if isinstance(exc, E.ProtocolError):
        return EXIT_PROTOCOL
    if isinstance(exc, E.PendingTimeout):
        return EXIT_PENDING
    if isinstance(exc, E.TransportError):
        return EXIT_NETWORK
    if isinstance(exc, E.ConfigError):
        return EXIT_USAGE
    if isinstance(exc, (OutputExists, OSError)):
        return EXIT_FILE
    return EXIT_ERROR


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def describe(exc: BaseException) -> str:
    """The reason part of an error line: the exception's message, with the file it concerns or a hint at the
    flag that would fix it."""
    if isinstance(exc, OSError) and not isinstance(exc, OutputExists) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, E.AuthenticationRequired):
        if getattr(exc, "server_message", None):
            return str(exc)  # the server said why: not (necessarily) the credentials
        return f"{exc} (check --user/--password or the client certificate)"
    if isinstance(exc, E.TlsConfigError) and "client certificate" in str(exc):
        return f"{exc} (--cert/--key)"
    if isinstance(exc, E.TlsConfigError):
        return f"{exc} (check --trust / --bootstrap-fingerprint)"
    return str(exc)


def print_error(command: str, reason: object) -> None:
    """Print the one error line of a failed command on stderr: ``est COMMAND: error: REASON``."""
    print(f"est {command}: error: {one_line(reason)}", file=sys.stderr, flush=True)


def print_note(command: str, text: object) -> None:
    """Print a note (not a failure) in the same format: ``est COMMAND: note: TEXT``."""
    print(f"est {command}: note: {one_line(text)}", file=sys.stderr, flush=True)
