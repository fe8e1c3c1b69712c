"""What ``dir()`` of a public module shows: its API (``__all__``), not the modules and typing names it imports."""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["public_dir"]


def public_dir(namespace: dict[str, Any]) -> Callable[[], list[str]]:
    """A module ``__dir__`` listing ``namespace["__all__"]`` and the module's dunder attributes
    (``__dir__ = public_dir(globals())`` at the end of the module)."""

    def __dir__() -> list[str]:
        names = set(namespace.get("__all__", ()))
        names.update(n for n in namespace if n.startswith("__") and n.endswith("__"))
        return sorted(names)

    return __dir__
