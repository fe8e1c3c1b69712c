"""PEM (RFC 7468) reading and writing, and a loader that accepts DER, PEM or base64.

Reading rules (``decode``):

* Every ``-----BEGIN LABEL-----`` ... ``-----END LABEL-----`` block is returned, in order, as
  ``(label, der)``. Text outside the blocks (explanatory text, as ``openssl x509 -text`` writes) is ignored.
* Line ends may be LF, CRLF or CR; spaces and tabs around and inside the base64 lines are tolerated
  (RFC 7468 "lax" parsing of the base64 body).
* The base64 must be valid and canonical: only the base64 alphabet, correct ``=`` padding at the very end,
  zero padding bits. The END label must equal the BEGIN label. A block must not be empty.
* RFC 1421 encapsulated headers (``Proc-Type: 4,ENCRYPTED``, ``DEK-Info: ...``, as in legacy OpenSSL
  encrypted keys) are **rejected**, not skipped: skipping them would hand the caller encrypted bytes as if
  they were DER. Decrypting such keys is ``cryptography``'s job.
* Text with no PEM block at all is an error (strict by default: a caller that expected PEM should learn
  that it got something else rather than an empty list).

Every failure raises ``estcodec.DecodeError`` with reason ``"invalid-pem"``; its ``offset`` is the
character offset (byte offset for ``bytes`` input) of the BEGIN line of the faulty block, or of the stray
line that broke it.
"""
from __future__ import annotations

import base64
import binascii
import re

from .errors import DecodeError

__all__ = ["decode", "encode", "load_any", "REASON"]

REASON = "invalid-pem"

# RFC 7468 §3: label = [ labelchar *( ["-" / SP] labelchar ) ], labelchar = %x21-2C / %x2E-7E
_LABEL = r"(?:[\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*)?"
_BEGIN_RE = re.compile(r"-----BEGIN (" + _LABEL + r")-----")
_END_RE = re.compile(r"-----END (" + _LABEL + r")-----")
_ANY_BEGIN_OR_END = re.compile(r"-----(?:BEGIN|END)[ -]")
_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_B64_CHARS = re.compile(r"[A-Za-z0-9+/=]*\Z")
_WS = re.compile(r"[ \t\r\n\f\v]+")
_HEADER_LINE = re.compile(r"[A-Za-z0-9-]+:")


def _error(detail: str, offset: int) -> DecodeError:
    return DecodeError(detail, offset, REASON)


def _as_text(text: str | bytes | bytearray | memoryview) -> str:
    if isinstance(text, str):
        return text
    if isinstance(text, (bytes, bytearray, memoryview)):
        # latin-1 maps every byte to one character, so offsets stay byte offsets and explanatory text in
        # any encoding outside the blocks does no harm; non-ASCII inside a block is caught below.
        return bytes(text).decode("latin-1")
    raise TypeError(f"expected str or bytes, got {type(text).__name__}")


def _b64decode_strict(compact: str, offset: int) -> bytes:
    """Decode base64 with no whitespace left in it; canonical form only."""
    if not compact:
        raise _error("empty base64 body", offset)
    if not _B64_CHARS.match(compact):
        bad = next(c for c in compact if not (c.isascii() and (c.isalnum() or c in "+/=")))
        raise _error(f"invalid base64 character {bad!r}", offset)
    if len(compact) % 4:
        raise _error("base64 length is not a multiple of 4 (missing padding?)", offset)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _error(f"invalid base64: {exc}", offset) from None
    if base64.b64encode(data).decode("ascii") != compact:
        # misplaced '=' or non-zero padding bits: not the one canonical encoding of these bytes
        raise _error("non-canonical base64 (misplaced padding or non-zero padding bits)", offset)
    return data


def decode(text: str | bytes) -> list[tuple[str, bytes]]:
    """Return ``(label, der)`` for every PEM block in *text* (``str`` or ``bytes``), in order.

    Raises ``DecodeError`` (reason ``"invalid-pem"``) for bad base64, a mismatched or missing END line,
    encapsulated headers, an empty block, or text without any PEM block.
    """
    s = _as_text(text)
    blocks: list[tuple[str, bytes]] = []
    pos = 0
    n = len(s)
    while True:
        m = _BEGIN_RE.search(s, pos)
        if m is None:
            stray = _ANY_BEGIN_OR_END.search(s, pos)
            if stray is not None:
                raise _error("malformed or unmatched PEM boundary line", stray.start())
            break
        begin_at = m.start()
        label = m.group(1)
        # the BEGIN boundary must be alone on its line (trailing blanks allowed)
        line_end = _LINE_SPLIT.search(s, m.end())
        rest_of_line = s[m.end(): line_end.start() if line_end else n]
        if rest_of_line.strip(" \t"):
            raise _error("text after the BEGIN boundary on the same line", begin_at)
        if line_end is None:
            raise _error(f"no END line for BEGIN {label}", begin_at)
        body_start = line_end.end()
        end = _END_RE.search(s, body_start)
        if end is None:
            raise _error(f"no END line for BEGIN {label}", begin_at)
        if end.group(1) != label:
            raise _error(f"END label {end.group(1)!r} does not match BEGIN label {label!r}", end.start())
        body = s[body_start: end.start()]
        other_begin = _BEGIN_RE.search(body)
        if other_begin is not None:
            raise _error(f"BEGIN inside the block of {label}", body_start + other_begin.start())
        # the END boundary must start its own line: what precedes it on that line must be blank
        last_nl = max(body.rfind("\n"), body.rfind("\r"))
        if body[last_nl + 1:].strip(" \t"):
            raise _error("END boundary does not start a line", end.start())
        for line in _LINE_SPLIT.split(body):
            if _HEADER_LINE.match(line.strip(" \t")) and ":" in line:
                raise _error(
                    "PEM encapsulated headers (e.g. Proc-Type/DEK-Info of legacy encrypted keys) "
                    "are not supported",
                    begin_at,
                )
        compact = _WS.sub("", body)
        blocks.append((label, _b64decode_strict(compact, begin_at)))
        pos = end.end()
    if not blocks:
        raise _error("no PEM block found", 0)
    return blocks


def encode(label: str, der: bytes | bytearray | memoryview) -> str:
    """Return the PEM text of *der* under *label*: 64-column base64 lines, LF line ends, final LF."""
    if not isinstance(label, str) or not re.fullmatch(_LABEL, label):
        raise ValueError(f"invalid PEM label {label!r}")
    b64 = base64.b64encode(bytes(der)).decode("ascii")
    lines = [b64[i: i + 64] for i in range(0, len(b64), 64)]
    return "".join(
        [f"-----BEGIN {label}-----\n"] + [line + "\n" for line in lines] + [f"-----END {label}-----\n"]
    )


_B64_TEXT = re.compile(rb"[A-Za-z0-9+/=\s]+\Z")


def load_any(data: str | bytes | bytearray | memoryview) -> bytes:
    """Return DER bytes from *data*, which may be DER, PEM (the first block is used) or base64 text.

    * ``str`` input must be PEM or base64 (whitespace anywhere is ignored).
    * ``bytes`` input containing ``-----BEGIN`` is read as PEM; bytes made only of the base64 alphabet and
      whitespace that decode as canonical base64 are read as base64; anything else is returned unchanged
      as DER (not checked here: the caller parses it).

    Bad PEM or base64 raises ``DecodeError`` with reason ``"invalid-pem"``. The returned bytes are not
    validated as DER.
    """
    if isinstance(data, str):
        try:
            raw = data.encode("latin-1")
        except UnicodeEncodeError:
            raise _error("text input is neither PEM nor base64", 0) from None
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
    else:
        raise TypeError(f"expected bytes or str, got {type(data).__name__}")
    if b"-----BEGIN" in raw:
        return decode(raw)[0][1]
    if _B64_TEXT.match(raw) and raw.strip():
        try:
            return _b64decode_strict(_WS.sub("", raw.decode("ascii")), 0)
        except DecodeError:
            # Rare DER happens to be made only of base64 characters and whitespace (tags 0x0a-0x0d are
            # whitespace); for bytes input, such DER is passed through for the caller to parse.
            if isinstance(data, str):
                raise
    elif isinstance(data, str):
        raise _error("text input is neither PEM nor base64", 0)
    if not raw:
        raise _error("empty input", 0)
    return raw


from ._api import public_dir as _public_dir  # noqa: E402 - last, so that dir() lists the API only

__dir__ = _public_dir(globals())
