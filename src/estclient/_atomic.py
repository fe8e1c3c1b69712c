"""Atomic file replacement: the one implementation, used by the ``est`` command's outputs and by
:mod:`estclient.renewal` (which adds the fault points its crash tests use), with nothing heavier than ``os``
imported, so that a one-shot enrollment writes its two files without loading the renewal machinery.

A new file beside the target is created with its final mode, written in full and fsynced, then renamed over the
target (or hard-linked, when an existing target must be kept), then the directory is fsynced.
"""
from __future__ import annotations

import os
import secrets
from typing import Callable


def _scratch_name(path: str) -> str:
    folder, base = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _sync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # no directory handles on this platform (Windows)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_scratch(path: str, data: bytes, mode: int, fault: Callable[[], None] | None = None) -> str:
    """Write ``data`` to a new scratch file beside ``path`` and return its name. ``fault`` (crash tests) is called
    once half of the data is written."""
    scratch = _scratch_name(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(scratch, flags, mode)  # born with its final mode: a key is never readable by others
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # the umask narrowed the mode given to open(); set it exactly
            view = memoryview(data)
            half = len(view) // 2 if fault is not None else len(view)
            for rest in (view[:half], view[half:]):
                while rest:
                    rest = rest[os.write(fd, rest):]
                if fault is not None and half:
                    fault()
                    fault = None
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        _remove(scratch)
        raise
    return scratch


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int = 0o600, *, overwrite: bool = True,
                 fault: Callable[[], None] | None = None) -> None:
    """Replace ``path`` by ``data`` atomically with permissions ``mode``; readers see the old or the new file.
    With ``overwrite=False`` an existing ``path`` is kept and :class:`FileExistsError` raised. ``OSError`` on
    I/O failures; the temporary file is removed whatever happens. ``fault``: see :func:`_write_scratch`."""
    path = os.fspath(path)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("data must be bytes")
    scratch = _write_scratch(path, bytes(data), mode, fault)
    try:
        if overwrite:
            os.replace(scratch, path)
        else:
            try:
                os.link(scratch, path)  # fails if path exists, unlike a rename
            except FileExistsError:
                raise
            except OSError:  # no hard links on this file system: check, then rename
                if os.path.lexists(path):
                    raise FileExistsError(17, "File exists", path) from None
                os.replace(scratch, path)
            else:
                _remove(scratch)
    except BaseException:
        _remove(scratch)
        raise
    _sync_folder(os.path.dirname(os.path.abspath(path)))
