"""estclient.protocol is one public module over five private parts: the parts import in one direction only, each
stays under 800 lines, and every public name still belongs to ``estclient.protocol``."""
from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest

from estclient import protocol as P

SRC = Path(P.__file__).resolve().parent
PARTS = ["protocol", "_protocol_media", "_protocol_types", "_protocol_checks", "_protocol_keygen", "_protocol_cmc"]


def _estclient_imports(name: str) -> set[str]:
    """The estclient modules that ``estclient.<name>`` imports, at module level or inside functions."""
    tree = ast.parse((SRC / f"{name}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("estclient."):
            found.add((node.module or "").split(".")[1])
    return found


def test_the_parts_import_without_a_cycle() -> None:
    graph = {name: _estclient_imports(name) & set(PARTS) for name in PARTS}
    assert not any("protocol" in deps for name, deps in graph.items() if name != "protocol")
    done: set[str] = set()
    for _ in PARTS:  # peel off the parts that import no unfinished part; a cycle leaves some behind
        done |= {name for name, deps in graph.items() if deps <= done}
    assert done == set(PARTS), f"import cycle among {sorted(set(PARTS) - done)}"


@pytest.mark.parametrize("name", PARTS)
def test_each_part_stays_under_800_lines(name: str) -> None:
    lines = (SRC / f"{name}.py").read_text(encoding="utf-8").count("\n")
    assert lines <= 800, f"{name}.py has {lines} lines"


def test_the_public_names_belong_to_estclient_protocol() -> None:
    for name in P.__all__:
        obj = getattr(P, name)
        if isinstance(obj, str):
            continue
        assert obj.__module__ == "estclient.protocol", name
    # a result pickled by name comes back as the same class
    again = pickle.loads(pickle.dumps(P.Pending(30.0)))
    assert type(again) is P.Pending and again.retry_after == 30.0


def test_private_helpers_the_tests_use_are_still_reachable() -> None:
    resp = P.EstResponse(200, {"Content-Type": 'multipart/mixed; boundary="b"'},
                         b"--b\r\nContent-Type: application/pkcs8\r\n\r\nAAAA\r\n--b--\r\n")
    assert P._multipart_parts(resp) == [("application/pkcs8", {}, b"AAAA")]
    assert P.authentication_failure(P.EstResponse(401), "cacerts", tried_credentials=False).challenge is None
