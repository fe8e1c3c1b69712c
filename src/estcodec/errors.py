"""Exceptions of the estcodec package.

Every error that bad input can cause is one of these. ``DecodeError`` carries the byte offset of the faulty
element in the input, the model path to it (``$.tbs_certificate.validity.not_after``) and a short, stable
reason slug (``"non-minimal-length"``) that tests and callers can match on.
"""
from __future__ import annotations

__all__ = ["Error", "DecodeError", "EncodeError"]


class Error(Exception):
    """Root of all estcodec exceptions."""


class DecodeError(Error, ValueError):
    """Input that is not a valid encoding of what was asked for.

    Attributes:
        offset: byte offset, in the input given to the decoder, of the element at fault.
        path: where in the model the fault is, as ``$.field.sub[2].leaf`` (``$`` alone at the top level).
        reason: a stable slug naming the rule broken, e.g. ``"truncated"``, ``"unexpected-tag"``.
        detail: the human-readable part of the message, without offset and path.
    """

    def __init__(self, detail: str, offset: int = 0, reason: str = "invalid", path: str = "$") -> None:
        self.detail = detail
        self.offset = offset
        self.reason = reason
        self._segments: list[str] = []
        self._base_path = path
        super().__init__(detail)

    @property
    def path(self) -> str:
        """Where in the model the error is, as ``$.field.sub[2].leaf`` (``$`` alone at the top level)."""
        if not self._segments:
            return self._base_path
        return self._base_path + "".join(reversed(self._segments))

    def _push(self, segment: str) -> None:
        # Called while the error unwinds through the schema engine: each enclosing level adds its segment.
        self._segments.append(segment)

    def __str__(self) -> str:
        return f"{self.detail} at {self.path} (byte {self.offset})"

    def __reduce__(self) -> tuple[object, tuple[str, int, str, str]]:  # keep pickling (multiprocessing workers) working
        return (_rebuild_decode_error, (self.detail, self.offset, self.reason, self.path))


def _rebuild_decode_error(detail: str, offset: int, reason: str, path: str) -> DecodeError:
    return DecodeError(detail, offset, reason, path)


class EncodeError(Error, ValueError):
    """A value that cannot be encoded as the model requires.

    Attributes:
        part: the piece of text input at fault when there is one (the ``type=value`` of an RFC 4514 string whose
            attribute type is unknown), else None.
    """

    part: str | None = None


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
