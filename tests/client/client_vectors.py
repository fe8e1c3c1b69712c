"""Vector paths and a reader for the recorded libest exchanges, imported by the estclient tests.

(A module of its own, not conftest: tests/cli has a conftest too, and ``from conftest import`` would find
whichever was imported first when both folders run in one session.)"""
from __future__ import annotations

import re
from pathlib import Path

from estclient.protocol import EstResponse

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"
CAPTURES = VECTORS / "libest-captures"
RFC7030 = VECTORS / "rfc7030"


def split_http_responses(raw: bytes) -> list[EstResponse]:
    """Split the raw bytes of one or more recorded HTTP/1.1 responses (status line, headers, body).

    Bodies are delimited by Content-Length; without it the body runs to the next status line or the end."""
    out: list[EstResponse] = []
    pos = 0
    while pos < len(raw):
        head_end = raw.find(b"\r\n\r\n", pos)
        sep = 4
        if head_end < 0:
            head_end = raw.find(b"\n\n", pos)
            sep = 2
        if head_end < 0:
            break
        lines = re.split(rb"\r?\n", raw[pos:head_end])
        m = re.match(rb"HTTP/1\.[01] (\d{3})", lines[0])
        assert m, lines[0]
        headers = []
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            headers.append((k.strip().decode("latin-1"), v.strip().decode("latin-1")))
        body_start = head_end + sep
        length = next((int(v) for k, v in headers if k.lower() == "content-length"), None)
        if length is None:
            nxt = raw.find(b"HTTP/1.", body_start)
            end = len(raw) if nxt < 0 else nxt
        else:
            end = body_start + length
        out.append(EstResponse(int(m.group(1)), headers, raw[body_start:end]))
        pos = end
    return out


def capture(name: str) -> list[EstResponse]:
    return split_http_responses((CAPTURES / f"{name}.resp.bin").read_bytes())
