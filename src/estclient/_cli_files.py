"""Former home of the ``est`` command's output files; they live in :mod:`estclient.cli._files` now.

Kept so that ``from estclient._cli_files import write_file`` goes on working."""
from __future__ import annotations

from .cli._files import KEY_MODE, PUBLIC_MODE, OutputExists, check_writable, write_file

__all__ = ["OutputExists", "check_writable", "write_file", "KEY_MODE", "PUBLIC_MODE"]
