"""Output files of the ``est`` command: atomic writes, private keys mode 0600, no overwrite without ``force``.

A file is written to a temporary file in the same directory (created with its final mode, so a key is never
readable by others, not even for a moment), flushed and fsynced, then moved into place in one step: a reader
(or a crash) sees the old file or the new one, never a partial one. Without ``force`` the final step is a hard
link, which fails if the name exists, so even a file created meanwhile by someone else is not replaced.
"""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

__all__ = ["OutputExists", "check_writable", "write_file", "KEY_MODE", "PUBLIC_MODE"]

KEY_MODE = 0o600
PUBLIC_MODE = 0o644


class OutputExists(Exception):
    """The output file exists and ``--force`` was not given."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__(f"{os.fspath(path)} exists (use --force to replace it)")
        self.path = os.fspath(path)


def check_writable(paths: list[str | os.PathLike[str] | None], *, force: bool) -> None:
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
        if path.exists() and not force:
            raise OutputExists(path)
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise OSError(errno.ENOENT, "no such directory", str(parent))


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_file(path: str | os.PathLike[str], data: bytes, *, mode: int = PUBLIC_MODE, force: bool = False) -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode`` (``KEY_MODE`` for private keys).

    Raises :class:`OutputExists` when ``path`` exists and ``force`` is false; ``OSError`` for I/O failures. The
    temporary file is removed on any failure.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(target) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)  # mkstemp creates 0600; a public file is widened, a key stays 0600
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # atomic, and refuses to replace a file that appeared meanwhile
            except FileExistsError:
                raise OutputExists(target) from None
            except OSError:  # a file system without hard links
                if os.path.exists(target):
                    raise OutputExists(target) from None
                os.replace(tmp, target)
            else:
                os.unlink(tmp)
        _fsync_dir(directory)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
