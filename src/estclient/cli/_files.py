"""Output files of the ``est`` command: atomic writes, private keys mode 0600, no overwrite without ``force``.

The writing itself is :func:`estclient._atomic.write_atomic`, shared with the renewal daemon: a temporary file
in the same directory (created with its final mode, so a key is never readable by others, not even for a
moment), fsync, then one rename; without ``force`` the final step is a hard link, which fails if the name exists,
so even a file created meanwhile by someone else is not replaced. This module adds the checks made before any
network work and the ``--force`` error.
"""
from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["OutputExists", "check_writable", "write_file", "KEY_MODE", "PUBLIC_MODE"]

KEY_MODE = 0o600
PUBLIC_MODE = 0o644


class OutputExists(Exception):
    """The output file exists and ``--force`` was not given."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(f"{os.fspath(path)} exists (use --force to replace it)")
        self.path = os.fspath(path)


def check_writable(paths: Sequence[str | os.PathLike[str] | None], *, force: bool) -> None:
    """Fail before any network work if an output exists (without ``force``) or its directory is missing."""
    seen: set[str] = set()
    for p in paths:
        if p is None or os.fspath(p) == "-":
            continue
        path = Path(p)
        key = str(path.resolve())
        if key in seen:
            raise OSError(errno.EINVAL, "the same file is named for two outputs", os.fspath(p))
        seen.add(key)
        if path.is_dir():  # caught before the request, not after the CA issued
            raise OSError(errno.EISDIR, "is a directory, not a file name", os.fspath(p))
        if path.exists() and not force:
            raise OutputExists(path)
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise OSError(errno.ENOENT, "no such directory", str(parent))


def write_file(path: str | os.PathLike[str], data: bytes, *, mode: int = PUBLIC_MODE, force: bool = False) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode`` (``KEY_MODE`` for private keys), through
    :func:`estclient._atomic.write_atomic` (temporary file beside the target, fsync, rename or hard link; the
    one implementation renewal uses too, without importing the renewal machinery).

    ``path`` ``-`` is standard output (refused for ``KEY_MODE``: keys go to files only).

    Raises :class:`OutputExists` when ``path`` exists and ``force`` is false; ``OSError`` for I/O failures.
    """
    if os.fspath(path) == "-":  # --out -: standard output (never a private key)
        if mode == KEY_MODE:
            raise OSError(errno.EINVAL, "a private key is not written to standard output: give a file name", "-")
        sys.stdout.flush()
        sys.stdout.buffer.write(bytes(data))
        sys.stdout.buffer.flush()
        return
    from .._atomic import write_atomic

    try:
        write_atomic(path, bytes(data), mode, overwrite=force)
    except FileExistsError:
        raise OutputExists(path) from None
