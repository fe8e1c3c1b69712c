"""estclient: an EST (RFC 7030) client built on estcodec."""
from __future__ import annotations

from estcodec import __version__

__all__ = ["__version__"]
