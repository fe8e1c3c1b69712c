"""``python -m estclient``: the ``est`` command (see :mod:`estclient.cli`)."""
from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
