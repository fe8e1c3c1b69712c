"""``python -m estclient``: the ``est`` command (see :mod:`estclient.cli`)."""
from __future__ import annotations

from .cli import program

if __name__ == "__main__":
    program()
