"""The ``est`` command: an EST (RFC 7030) client on the command line.

``est SUBCOMMAND [options]``; ``est SUBCOMMAND --help`` describes each one. Settings come from flags, then
environment variables (``EST_SERVER``, ``EST_USER``, ...), then a TOML file (``--config`` or ``EST_CONFIG``);
flags win. Output files are written atomically, private keys with mode 0600, and nothing is overwritten
without ``--force``. Each failure class has its own exit status (see ``est --help``).

The package has one private module per command group (:mod:`._enroll`, :mod:`._cacerts`, :mod:`._fullcmc`,
:mod:`._show`, :mod:`._renew`, :mod:`._batch`, :mod:`._demo`, :mod:`._testserver`, :mod:`._export`,
:mod:`._check`, and :mod:`._generate` for completions and the man page), each imported only when its command
runs, and shared modules that import none of them: :mod:`._parser` (the one parser), :mod:`._settings`,
:mod:`._output`, :mod:`._request`, :mod:`._errors` (exit statuses and the one error-line format) and
:mod:`._files`. Nothing in the package imports this module back.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
from importlib import import_module
from typing import Callable, Sequence

from .._keyspec import is_pkcs11_uri
from .. import errors as E
from ._errors import (  # noqa: F401 - the EXIT_* constants stay importable from here, as before the package
    EXIT_AUTH,
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_FILE,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_PENDING,
    EXIT_PROTOCOL,
    EXIT_SERVER,
    EXIT_TLS,
    EXIT_USAGE,
    CliError,
    exit_code_for,
    print_error,
)
from ._errors import describe as _describe
from ._files import OutputExists
from ._parser import add_testserver_options, build_parser
from ._settings import Settings, make_config, resolve_settings

__all__ = ["main", "program", "build_parser", "EXIT_CODES", "Settings", "resolve_settings", "make_config",
           "exit_code_for", "add_testserver_options", "CliError"]

# command -> the module that runs it (imported when that command runs, never before)
_COMMAND_MODULES = {
    "cacerts": "_cacerts", "csrattrs": "_cacerts", "csr": "_enroll", "enroll": "_enroll", "reenroll": "_enroll",
    "serverkeygen": "_enroll", "fullcmc": "_fullcmc", "renew": "_renew", "batch": "_batch", "demo": "_demo",
    "testserver": "_testserver", "show": "_show", "export": "_export", "check": "_check",
    "completion": "_generate", "manpage": "_generate", "agent": "_agent", "config": "_config", "status": "_status",
}


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    module = _COMMAND_MODULES[name]

    def run(args: argparse.Namespace) -> int:
        func: Callable[[argparse.Namespace], int] = getattr(import_module(f"{__name__}.{module}"), f"cmd_{name}")
        return func(args)

    run.__name__ = run.__qualname__ = f"cmd_{name}"
    run.__doc__ = f"Run ``est {name}`` (imports :mod:`{__name__}.{module}` on first use)."
    return run


cmd_cacerts = _command("cacerts")
cmd_csrattrs = _command("csrattrs")
cmd_csr = _command("csr")
cmd_enroll = _command("enroll")
cmd_reenroll = _command("reenroll")
cmd_serverkeygen = _command("serverkeygen")
cmd_fullcmc = _command("fullcmc")
cmd_renew = _command("renew")
cmd_batch = _command("batch")
cmd_demo = _command("demo")
cmd_testserver = _command("testserver")
cmd_show = _command("show")
cmd_export = _command("export")
cmd_check = _command("check")
cmd_completion = _command("completion")
cmd_manpage = _command("manpage")
cmd_agent = _command("agent")
cmd_config = _command("config")
cmd_status = _command("status")

_LONG_RUNNING_COMMANDS = frozenset({"renew", "testserver", "demo", "batch", "agent"})


def _without_httpx_command_line() -> None:
    """Keep httpx's own command line out of the ``est`` process.

    ``import httpx`` tries ``from ._main import main``, which imports click, rich and pygments when they are
    installed (some 20 ms), and nothing here calls it. httpx guards that import and installs a stub when it
    fails, and the one switch it offers is that ImportError: a ``None`` entry in ``sys.modules`` makes it fail
    fast. Only the ``est`` program does this (``main()`` without arguments, before httpx is imported): code that
    calls ``main([...])`` from Python keeps its httpx as it is.
    """
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def _endpoint(args: argparse.Namespace) -> str:
    """`` (talking to HOST:PORT[ through proxy HOST:PORT])`` for a network error, from the command's settings."""
    from urllib.parse import urlsplit

    try:
        s = resolve_settings(args)
        config = make_config(s) if s.server else None
    except Exception:  # noqa: BLE001 - only a hint for the error line: the error itself is already known
        return ""
    if config is None:
        return ""
    text = f" (talking to {config.host}:{config.port}"
    if config.proxy:
        proxy = urlsplit(config.proxy)
        text += f" through proxy {proxy.hostname}:{proxy.port}"
    return text + ")"


def _run(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run the command; a key it made on a token is removed again when it fails, and the token sessions it
    opened are closed (only commands that name a pkcs11: key open any, so only they import the module)."""
    try:
        return int(func(args))
    except BaseException:
        if getattr(args, "new_token_key", None) is not None:
            from ._keys import discard_new_token_key

            discard_new_token_key(args)
        raise
    finally:
        if getattr(args, "opened_token_keys", None):
            from ._keys import close_token_keys

            close_token_keys(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``est`` console script; returns the exit status."""
    if not sys.warnoptions:  # library deprecation warnings are not for the command's user
        import warnings

        warnings.simplefilter("ignore")
    if argv is None:
        _without_httpx_command_line()
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    if getattr(args, "key_out", None) == "-":
        parser.error("--key-out -: a private key is not written to standard output; give a file name")
    key_out = getattr(args, "key_out", None)
    if getattr(args, "key_out_password_file", None) and not key_out:
        parser.error("--key-out-password-file encrypts the key written to --key-out: give --key-out FILE")
    if getattr(args, "store_cert_on_token", False) and not is_pkcs11_uri(key_out):
        parser.error("--store-cert-on-token keeps the certificate beside a key made on a token: give "
                     "--key-out pkcs11:token=...;object=...")
    # A one-shot command allocates mostly objects that live as long as the process (the modules it imports): the
    # cyclic garbage collector would walk them again and again for nothing, and once more when the interpreter
    # exits (about 10 ms CPU of one enrollment). Commands that keep running keep it. Run as the ``est`` program
    # (``argv`` None), the collector stays off when the command returns, as the process is about to end: the
    # interpreter still collects cyclic garbage once while it tears the modules down. Called with an ``argv`` list
    # (from Python), ``main`` puts it back on.
    pause_gc = args.command not in _LONG_RUNNING_COMMANDS and gc.isenabled()
    if pause_gc:
        gc.disable()
    func: Callable[[argparse.Namespace], int] = globals()[f"cmd_{args.command}"]
    try:
        rc = _run(func, args)
        sys.stdout.flush()
        return rc
    except KeyboardInterrupt:
        print("est: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_ERROR
    except (CliError, E.EstError, OutputExists, OSError) as exc:
        reason = _describe(exc)
        if isinstance(exc, E.TransportError) or (
                isinstance(exc, E.TlsConfigError) and str(exc).startswith(("server certificate", "TLS handshake"))):
            reason += _endpoint(args)  # which server (and proxy) the connection was to
        print_error(args.command, reason)
        return exit_code_for(exc)
    except Exception as exc:  # estcodec errors for unreadable input, and anything unexpected
        from estcodec import Error as CodecError

        if isinstance(exc, CodecError):
            print_error(args.command, exc)
            return EXIT_ERROR
        print(f"est {args.command}: unexpected error: {type(exc).__name__}: {' '.join(str(exc).split())}",
              file=sys.stderr)
        return EXIT_ERROR
    finally:
        if pause_gc and argv is not None:
            gc.enable()


def program() -> None:
    """The ``est`` program (console script, ``python -m estclient``): :func:`main`, then the process ends.

    It ends without the interpreter's teardown, which frees every module and object one by one (about 18 ms CPU
    of a one-shot enrollment, more than all its network steps): standard output and error are flushed and the
    ``atexit`` handlers run (logging's flush among them) as at a normal exit, then ``os._exit``. Where anything
    could still need the teardown (threads still running, a PKCS#11 module loaded: its library is finalized when
    the module is freed) the process exits the usual way."""
    import atexit
    import threading

    try:
        rc = main()
    except SystemExit as stop:  # argparse's --help, --version and usage errors end this way
        if stop.code is None or isinstance(stop.code, int):
            rc = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            rc = 1
    if not _flushed() and rc == 0:
        rc = 120  # what Python's own exit gives when standard output cannot be flushed (a full disk, say)
    if threading.active_count() > 1 or "pkcs11" in sys.modules:
        sys.exit(rc)
    atexit._run_exitfuncs()
    if not _flushed() and rc == 0:
        rc = 120
    os._exit(rc)


def _flushed() -> bool:
    ok = True
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            ok = False
    return ok


if __name__ == "__main__":
    program()
