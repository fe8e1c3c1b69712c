"""The compiler of :mod:`estcodec.asn1`: from asn1tools' parse tree of ASN.1 modules (X.680) to the Python source
of estcodec models (what maps and how is listed in :mod:`estcodec.asn1`'s docstring and docs/asn1-compile.md).

Internal: :func:`estcodec.asn1.generate` and :func:`estcodec.asn1.compile` are the API.
"""
from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from typing import Any as _TypingAny

from ._asn1_parse import (
    _CLASS_NUM, _Node, _Tag, CompileError, _PRIMS, _UNSUPPORTED, _TAG_OF_KIND, _PY_TYPES, _first_argument, _snake,
    _pyname, _Module, _parse,
)


class _Compiler:
    def __init__(self, parsed: _Node, strict: bool, omit: bool = False) -> None:
        self.mods = {n: _Module(n, d) for n, d in parsed.items()}
        self.strict = strict
        self.omit = omit
        self.warnings: list[str] = []
        self.defs: dict[str, tuple[list[str], set[str]]] = {}   # pyname -> (source lines, dependencies)
        self.pynames: dict[tuple[str, str], str] = {}           # (module, asn1 name) -> pyname
        self.state: dict[tuple[str, str], object] = {}          # "compiling", "done" or the CompileError
        self.used: set[str] = set()
        self.constants: list[str] = []
        self.registries: list[tuple[str, str]] = []
        self.pytypes: dict[str, str] = {}                        # pyname of an alias -> its Python value type
        self.current = ""                                        # the type being compiled, for error messages

    # -- name resolution --
    def lookup(self, mod: _Module, name: str, what: str = "types") -> tuple[_Module, str]:
        seen = 0
        while True:
            if name in getattr(mod, what):
                return mod, name
            src = mod.imports.get(name)
            if src is None:
                raise CompileError(f"{mod.name}: {name} is neither defined nor imported")
            if src not in self.mods:
                raise CompileError(f"{mod.name}: {name} is imported from {src}, which was not given")
            mod = self.mods[src]
            seen += 1
            if seen > 50:
                raise CompileError(f"{mod.name}: circular IMPORTS of {name}")

    def pyname_of(self, mod: _Module, name: str) -> str:
        key = (mod.name, name)
        if key not in self.pynames:
            base = _pyname(name)
            if base in self.used or base.startswith("_") or base in ("OPEN_TYPES",):
                base = f"{_pyname(mod.name)}__{base}"
            self.used.add(base)
            self.pynames[key] = base
        return self.pynames[key]

    def int_value(self, mod: _Module, v: _TypingAny, where: str) -> int:
        if isinstance(v, bool) or v is None:
            raise CompileError(f"{where}: bad bound {v!r}")
        if isinstance(v, int):
            return v
        if isinstance(v, str):
            if re.fullmatch(r"-?\d+", v):
                return int(v)
            m, n = self.lookup(mod, v, "values")
            val = m.values[n].get("value")
            return self.int_value(m, val, where)
        raise CompileError(f"{where}: bound {v!r} is not an integer")

    def oid_value(self, mod: _Module, v: _TypingAny, where: str, depth: int = 0) -> str:
        if depth > 50:
            raise CompileError(f"{where}: OBJECT IDENTIFIER value refers to itself")
        if isinstance(v, str):
            m, n = self.lookup(mod, v, "values")
            return self.oid_value(m, m.values[n].get("value"), where, depth + 1)
        if not isinstance(v, (list, tuple)):
            raise CompileError(f"{where}: OBJECT IDENTIFIER value {v!r} is not understood")
        arcs: list[str] = []
        for i, comp in enumerate(v):
            if isinstance(comp, (list, tuple)) and len(comp) == 2:
                arcs.append(str(self.int_value(mod, comp[1], where)))
            elif isinstance(comp, int):
                arcs.append(str(comp))
            elif isinstance(comp, str) and re.fullmatch(r"\d+", comp):
                arcs.append(comp)
            elif isinstance(comp, str) and i == 0:
                arcs.append(self.oid_value(mod, comp, where, depth + 1))
            elif isinstance(comp, str) and comp in ("iso", "itu-t", "ccitt", "joint-iso-itu-t", "joint-iso-ccitt"):
                arcs.append({"iso": "1", "itu-t": "0", "ccitt": "0"}.get(comp, "2"))
            else:
                raise CompileError(f"{where}: OBJECT IDENTIFIER component {comp!r} is not understood")
        return ".".join(arcs)

    # -- type resolution --
    def resolve(self, mod: _Module, node: _Node, where: str, depth: int = 0) -> tuple[_Module, _Node, bool]:
        """The node a (chain of) type reference(s) ends at, and whether a tag was met on the way."""
        tagged_ = "tag" in node
        while node["type"] not in _PRIMS and node["type"] not in ("SEQUENCE", "SET", "SEQUENCE OF", "SET OF",
                                                                     "CHOICE", "ANY", "ANY DEFINED BY") \
                and node["type"] not in _UNSUPPORTED:
            depth += 1
            if depth > 50:
                raise CompileError(f"{where}: the type {node['type']} refers to itself")
            if ".&" in node["type"]:
                field_type = self.class_field_type(mod, node)
                if field_type is None:
                    break  # an open type
                mod, node = field_type
                continue
            mod, name = self.lookup(mod, node["type"])
            node = mod.types[name]
            tagged_ = tagged_ or "tag" in node
        return mod, node, tagged_

    def class_field_type(self, mod: _Module, node: _Node) -> tuple[_Module, _Node] | None:
        """(module, type node) of a fixed-type field of an information object class (``CLASS.&id``); None for a
        type field (an open type) or a class that is not known."""
        cls_name, _, fld = node["type"].partition(".&")
        try:
            m, c = self.lookup(mod, cls_name, "classes")
        except CompileError:
            return None
        for member in m.classes[c].get("members", []):
            if member.get("name") == "&" + fld and member.get("type") not in (None, "OpenType"):
                return m, {"type": member["type"]}
        return None

    def is_untagged_choice_or_open(self, mod: _Module, node: _Node, where: str) -> bool:
        m, n, tagged_ = self.resolve(mod, {k: v for k, v in node.items() if k != "tag"}, where)
        if tagged_:
            return False
        return n["type"] in ("CHOICE", "ANY", "ANY DEFINED BY") or (".&" in n["type"] and self.is_open(m, n))

    def is_open(self, mod: _Module, node: _Node) -> bool:
        cls_name, _, fld = node["type"].partition(".&")
        try:
            m, c = self.lookup(mod, cls_name, "classes")
        except CompileError:
            return True
        for member in m.classes[c].get("members", []):
            if member.get("name") == "&" + fld:
                out: bool = member.get("type") == "OpenType"
                return out
        return True

    def tag_set(self, mod: _Module, node: _Node, where: str, depth: int = 0) -> set[_Tag] | None:
        """The outer tags (class, number) a value of this type can start with; None for any tag (open types)."""
        if "tag" in node:
            t = node["tag"]
            return {(_CLASS_NUM[t.get("class", "CONTEXT")], t["number"])}
        m, n, _ = self.resolve(mod, node, where)
        if "tag" in n:
            t = n["tag"]
            return {(_CLASS_NUM[t.get("class", "CONTEXT")], t["number"])}
        kind = n["type"]
        if kind in _PRIMS:
            return {(0, _PRIMS[kind][1])}
        if kind in _TAG_OF_KIND:
            return {(0, _TAG_OF_KIND[kind])}
        if kind == "CHOICE" and depth < 20:
            out: set[_Tag] = set()
            for mem in self.members(m, n):
                ts = self.tag_set(m, self.auto_tagged(m, n, mem), where, depth + 1)
                if ts is None:
                    return None
                out |= ts
            return out
        return None

    def members(self, mod: _Module, node: _Node, depth: int = 0) -> list[_Node]:
        """Root and addition components, each with ``_ext`` set for those after the extension marker;
        ``COMPONENTS OF T`` replaced by the root components of T (X.680 25.5), marked ``_included``."""
        out: list[_Node] = []
        ext = False
        for mem in node.get("members", []):
            if mem is None:
                ext = not ext if out or ext else True
                continue
            group = mem if isinstance(mem, list) else [mem]
            for g in group:
                if g is None:
                    continue
                if "components-of" in g:
                    if depth > 20:
                        raise CompileError(f"{mod.name}: COMPONENTS OF {g['components-of']} refers to itself")
                    m, n, _ = self.resolve(mod, {"type": g["components-of"]}, mod.name)
                    if n["type"] not in ("SEQUENCE", "SET"):
                        raise CompileError(f"{mod.name}: COMPONENTS OF {g['components-of']}, not a SEQUENCE or SET")
                    for inc in self.members(m, n, depth + 1):
                        if not inc["_ext"]:
                            inc = dict(inc)
                            inc["_ext"] = ext
                            inc["_included"] = True
                            out.append(inc)
                    continue
                g = dict(g)
                g["_ext"] = ext or isinstance(mem, list)
                out.append(g)
        return out

    def auto_tagged(self, mod: _Module, parent: _Node, mem: _Node) -> _Node:
        if mod.tags != "AUTOMATIC" or parent["type"] not in ("SEQUENCE", "SET", "CHOICE"):
            return mem
        mems = self.members(mod, parent)
        # the decision is taken on the components as written (before COMPONENTS OF), the numbering after
        if any("tag" in x for x in mems if not x["_ext"] and not x.get("_included")):
            return mem
        names = [x["name"] for x in mems]
        mem = dict(mem)
        mem["tag"] = {"number": names.index(mem["name"])}
        return mem

    # -- code generation --
    def type_expr(self, mod: _Module, node: _Node, where: str, owner: str, deps: set[str]) -> tuple[str, list[str]]:
        """(Python expression of the type, without its own tag, comments about unenforced constraints)."""
        kind = node["type"]
        notes = []
        if "size" in node and kind not in ("SEQUENCE OF", "SET OF"):
            notes.append(f"SIZE {self.fmt_constraint(node['size'])} not enforced")
        if "restricted-to" in node:
            notes.append(f"value constraint {self.fmt_constraint(node['restricted-to'])} not enforced")
        if "with-components" in node:
            notes.append("WITH COMPONENTS constraint not enforced")
        if kind in _UNSUPPORTED:
            raise CompileError(f"{where}: {kind} has no codec in estcodec.schema")
        if kind == "BIT STRING" and node.get("named-bits"):
            bits = {}
            for bname, pos in node["named-bits"]:
                bits[self.int_value(mod, pos, where)] = _snake(bname)
            if not bits or max(bits) > 1024:
                raise CompileError(f"{where}: named bits {node['named-bits']!r} are not understood")
            names = [bits.get(i, f"bit{i}") for i in range(max(bits) + 1)]
            return "_s.NamedBitString(" + ", ".join(repr(x) for x in names) + ")", notes
        if kind in _PRIMS:
            return "_s." + _PRIMS[kind][0], notes
        if kind in ("ANY", "ANY DEFINED BY"):
            return "_s.Any", notes
        if ".&" in kind:
            if self.is_open(mod, node):
                return "_s.Any", notes
            cls_name, _, fld = kind.partition(".&")
            m, c = self.lookup(mod, cls_name, "classes")
            for member in m.classes[c].get("members", []):
                if member.get("name") == "&" + fld:
                    return self.type_expr(m, {"type": member["type"]}, where, owner, deps)
            raise CompileError(f"{where}: {kind} names no field of class {cls_name}")
        if kind in ("SEQUENCE OF", "SET OF"):
            inner, inner_notes = self.member_type(mod, node["element"], where + "[]", owner + "_item", deps)
            notes += inner_notes
            lo, hi = 0, -1
            if "size" in node:
                size = node["size"]
                try:
                    if len(size) != 1 or None in size:
                        raise LookupError("extensible")
                    r = size[0]
                    if isinstance(r, (list, tuple)):
                        lo = self.int_value(mod, r[0], where) if r[0] != "MIN" else 0
                        hi = -1 if r[1] == "MAX" else self.int_value(mod, r[1], where)
                    else:
                        lo = hi = self.int_value(mod, r, where)
                except (LookupError, CompileError):
                    # an extensible constraint, or a bound that is a parameter of a parameterised type
                    lo, hi = 0, -1
                    notes.append(f"SIZE {self.fmt_constraint(size)} not enforced")
            fn = "_s.SequenceOf" if kind == "SEQUENCE OF" else "_s.SetOf"
            args = [inner]
            if lo:
                args.append(f"min_size={lo}")
            if hi >= 0:
                args.append(f"max_size={hi}")
            return f"{fn}({', '.join(args)})", notes
        if kind in ("SEQUENCE", "SET", "CHOICE"):
            name = self.anon_class(mod, node, where, owner)
            deps.add(name)
            return name, notes
        m, name = self.lookup(mod, kind)
        if "actual-parameters" in node and "parameters" not in m.types[name]:
            raise CompileError(f"{where}: {kind} is given parameters it does not take")
        self.compile_named(m, name)
        py = self.pyname_of(m, name)
        deps.add(py)
        return py, notes

    def py_type(self, expr: str) -> str:
        """The Python type of the values of a generated type expression, for the field's ``Annotated[...]``."""
        if expr.startswith(("_s.SequenceOf(", "_s.SetOf(", "_a.tagged(")):
            inner = _first_argument(expr[expr.index("(") + 1:])
            inner_type = self.py_type(inner)
            return inner_type if expr.startswith("_a.tagged(") else f"list[{inner_type}]"
        if expr.startswith("_s.NamedBitString("):
            return "frozenset[str]"
        if expr.startswith("_s."):
            return _PY_TYPES.get(expr[3:], "object")
        if expr.isidentifier():
            return self.pytypes.get(expr, expr)  # an alias's value type, else a model class (its instances)
        return "object"

    def fmt_constraint(self, c: _TypingAny) -> str:
        parts = []
        for r in c:
            if r is None:
                parts.append("...")
            elif isinstance(r, (list, tuple)):
                parts.append(f"{r[0]}..{r[1]}")
            else:
                parts.append(str(r))
        return "(" + ", ".join(parts) + ")"

    def member_type(self, mod: _Module, node: _Node, where: str, owner: str, deps: set[str]) -> tuple[str, list[str]]:
        """Expression of a type with its tag applied (SEQUENCE OF elements, tagged alias targets)."""
        base, notes = self.type_expr(mod, node, where, owner, deps)
        if "tag" in node:
            mode, num, cls = self.tag_of(mod, node, where)
            base = f"_a.tagged({base}, {mode!r}, {num}, {cls!r})"
        return base, notes

    def tag_of(self, mod: _Module, node: _Node, where: str) -> tuple[str, int, str]:
        t = node["tag"]
        cls = t.get("class", "CONTEXT").lower()
        if cls == "universal":
            raise CompileError(f"{where}: UNIVERSAL tags are not supported")
        num = self.int_value(mod, t["number"], where)
        kind = t.get("kind")
        if kind is None:
            kind = "EXPLICIT" if mod.tags == "EXPLICIT" else "IMPLICIT"
        if kind == "IMPLICIT" and self.is_untagged_choice_or_open(mod, node, where):
            kind = "EXPLICIT"
        return kind.lower(), num, cls

    def anon_class(self, mod: _Module, node: _Node, where: str, owner: str) -> str:
        name = owner
        i = 1
        while name in self.used:
            i += 1
            name = f"{owner}{i}"
        self.used.add(name)
        self.emit_class(mod, node, where, name)
        return name

    def compile_named(self, mod: _Module, name: str) -> None:
        key = (mod.name, name)
        st = self.state.get(key)
        if st == "done":
            return
        if isinstance(st, CompileError):
            raise st  # refused before: a type that uses it is refused for the same reason
        where = f"{mod.name}.{name}"
        self.current = where
        if st == "compiling":
            raise CompileError(f"{where}: recursive types are not supported (the type refers to itself)")
        self.state[key] = "compiling"
        try:
            self._compile_named(mod, name, where)
        except CompileError as exc:
            self.state[key] = exc
            raise
        self.state[key] = "done"

    def _compile_named(self, mod: _Module, name: str, where: str) -> None:
        node = mod.types[name]
        if "parameters" in node:
            self.check_params(mod, name, node)
        py = self.pyname_of(mod, name)
        kind = node["type"]
        if kind in ("SEQUENCE", "SET", "CHOICE") and "tag" not in node:
            self.emit_class(mod, node, where, py)
        else:
            deps: set[str] = set()
            if kind in ("SEQUENCE", "SET", "CHOICE"):
                base = self.anon_class(mod, node, where, f"_{py}_untagged")
                deps.add(base)
                notes: list[str] = []
            else:
                base, notes = self.type_expr(mod, {k: v for k, v in node.items() if k != "tag"}, where, py, deps)
            if "tag" in node:
                mode, num, cls = self.tag_of(mod, node, where)
                base = f"_a.tagged({base}, {mode!r}, {num}, {cls!r}, name={name!r})"
            lines = [f"{py} = {base}" + (f"  # {'; '.join(notes)}" if notes else "")]
            self.defs[py] = (lines, deps)
            self.pytypes[py] = self.py_type(base)

    def check_params(self, mod: _Module, name: str, node: _Node) -> None:
        """Parameterised types compile when their parameters are information object sets (or values used only in
        constraints): one model serves every instance, its open types resolved through OPEN_TYPES (the parser does
        not expose the actual parameters). A type parameter cannot be compiled that way."""
        formals = set(node["parameters"])

        def walk(n: _TypingAny) -> None:
            if isinstance(n, dict):
                if n.get("type") in formals:
                    raise CompileError(f"{mod.name}.{name}: parameterised type with the type parameter "
                                       f"{n['type']} is not supported")
                for k, v in n.items():
                    if k != "table":
                        walk(v)
            elif isinstance(n, list):
                for v in n:
                    walk(v)

        walk({k: v for k, v in node.items() if k != "parameters"})

    def default_expr(self, mod: _Module, mem: _Node, where: str) -> str:
        d = mem["default"]
        m, n, _ = self.resolve(mod, {k: v for k, v in mem.items() if k not in ("default", "tag")}, where)
        kind = n["type"]
        if kind == "BOOLEAN" and isinstance(d, bool):
            return repr(d)
        if kind in ("INTEGER", "ENUMERATED"):
            if isinstance(d, int) and not isinstance(d, bool):
                return repr(d)
            if isinstance(d, str):
                if re.fullmatch(r"-?\d+", d):
                    return d
                named = dict(n.get("named-numbers") or {})
                for item in n.get("values") or []:
                    if item:
                        named[item[0]] = item[1]
                if d in named:
                    return repr(self.int_value(m, named[d], where))
                return repr(self.int_value(mod, d, where))
        if kind == "BIT STRING" and n.get("named-bits") and isinstance(d, list):
            names = {b: _snake(b) for b, _ in n["named-bits"]}
            if all(x in names for x in d):
                return "frozenset(" + repr(sorted(names[x] for x in d)) + ")" if d else "frozenset()"
        if kind in _PRIMS and kind.endswith("String") and kind not in ("BIT STRING", "OCTET STRING") \
                and isinstance(d, str):
            return repr(d)
        if kind == "OBJECT IDENTIFIER" and isinstance(d, (list, tuple)):
            return repr(self.oid_value(mod, list(d), where))
        if kind in ("BIT STRING", "OCTET STRING") and isinstance(d, str) and re.fullmatch(r"0b[01]*|0x[0-9a-fA-F]*", d):
            bits = d[2:] if d[1] == "b" else "".join(f"{int(c, 16):04b}" for c in d[2:])
            if kind == "BIT STRING" and n.get("named-bits"):
                names = {self.int_value(m, pos, where): _snake(b) for b, pos in n["named-bits"]}
                if all(names.get(i) for i, c in enumerate(bits) if c == "1"):
                    return "frozenset(" + repr(sorted(names[i] for i, c in enumerate(bits) if c == "1")) + ")"
            elif kind == "BIT STRING":
                unused = (-len(bits)) % 8
                padded = bits + "0" * unused
                data = bytes(int(padded[i:i + 8], 2) for i in range(0, len(padded), 8))
                return f"_s.BitStringValue({data!r}, {unused})"
            elif len(bits) % 8 == 0:
                return repr(bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)))
        raise CompileError(f"{where}: DEFAULT {d!r} of a {kind} is not supported")

    def emit_class(self, mod: _Module, node: _Node, where: str, py: str) -> None:
        kind = node["type"]
        deps: set[str] = set()
        lines: list[str] = []
        mems = [self.auto_tagged(mod, node, m) for m in self.members(mod, node)]
        if kind == "CHOICE":
            seen: dict[_Tag, str] = {}
            clash = None
            for m in mems:
                ts = self.tag_set(mod, m, f"{where}.{m['name']}")
                if ts is None:
                    clash = (m["name"], "an open type")
                    break
                for tag in ts:
                    if tag in seen:
                        clash = (m["name"], seen[tag])
                        break
                    seen[tag] = m["name"]
                if clash:
                    break
            if clash:
                msg = (f"{where}: CHOICE alternatives {clash[1]} and {clash[0]} cannot be told apart by their tags; "
                       "compiled as an open type (raw TLV)")
                if self.strict:
                    raise CompileError(msg)
                self.warnings.append(msg)
                self.defs[py] = ([f"{py} = _s.Any  # {msg.split(': ', 1)[1]}"], set())
                self.pytypes[py] = "bytes"
                return
        if kind == "SET":
            tags = []
            for m in mems:
                ts = self.tag_set(mod, m, f"{where}.{m['name']}")
                if ts is None or len(ts) != 1:
                    raise CompileError(f"{where}: SET with an untagged CHOICE or open type component is not supported")
                tags.append(next(iter(ts)))
            if len(set(tags)) != len(tags):
                raise CompileError(f"{where}: SET components with the same tag")
            # DER puts SET components in tag order (X.690 10.3): the model declares them in that order
            mems = [m for _, m in sorted(zip(tags, mems), key=lambda p: p[0])]
        base = "_s.Choice" if kind == "CHOICE" else "_s.Sequence"
        lines.append(f"class {py}({base}, gc=False):")
        lines.append(f"    \"\"\"{where} ({kind}).\"\"\"")
        pyfields: list[str] = []
        prev_optional_tags: set[_Tag] | None = set()
        for m in mems:
            fname = _snake(m["name"])
            fwhere = f"{where}.{m['name']}"
            if fname in pyfields or fname.startswith("_"):
                fname = fname + "_" if not fname.startswith("_") else "f" + fname
            t, notes = self.type_expr(mod, {k: v for k, v in m.items() if k not in ("tag", "name", "optional",
                                                                                      "default", "_ext", "table")},
                                      fwhere, f"{py}_{_pyname(m['name'])}", deps)
            kw: list[str] = []
            if "tag" in m:
                mode, num, cls = self.tag_of(mod, m, fwhere)
                kw.append(f"{mode}={num}")
                if cls != "context":
                    kw.append(f"tag_class={cls!r}")
            optional = bool(m.get("optional")) or (m["_ext"] and kind != "CHOICE")
            if "default" in m:
                kw.append(f"default={self.default_expr(mod, m, fwhere)}")
            elif optional:
                kw.append("optional=True")
            open_ref = None
            if m.get("type") == "ANY DEFINED BY":
                open_ref = m.get("value")
            elif isinstance(m.get("table"), list) and len(m["table"]) == 2 and t == "_s.Any":
                refs = m["table"][1]
                if len(refs) == 1 and not refs[0].startswith((".", "@")):
                    open_ref = refs[0]
            if open_ref is not None and kind != "CHOICE":
                ref = _snake(open_ref.lstrip("@"))
                if ref not in pyfields:
                    msg = f"{fwhere}: open type defined by {open_ref}, which is not an earlier component"
                    if self.strict:
                        raise CompileError(msg)
                    self.warnings.append(msg + "; kept as raw TLV")
                else:
                    key = f"{py}.{fname}"
                    reg = self.registry_from_table(mod, m, fwhere)
                    self.registries.append((key, reg))
                    kw.append(f"defined_by={ref!r}")
                    kw.append(f"registry=OPEN_TYPES[{key!r}]")
                    deps.add("OPEN_TYPES")
            # consecutive OPTIONAL/DEFAULT components whose tags clash cannot be told apart when decoding
            if kind != "CHOICE":
                ts = self.tag_set(mod, m, fwhere) if "tag" not in m else self.tag_set(mod, {"type": "NULL",
                                                                                        "tag": m["tag"]}, fwhere)
                if prev_optional_tags is None or (ts is not None and prev_optional_tags & ts) or \
                        (ts is None and prev_optional_tags):
                    msg = f"{fwhere}: its tag clashes with that of an OPTIONAL component before it"
                    if self.strict:
                        raise CompileError(msg)
                    self.warnings.append(msg + "; the model decodes only what the first can be")
                if optional or "default" in m:
                    prev_optional_tags = None if ts is None or prev_optional_tags is None else prev_optional_tags | ts
                else:
                    prev_optional_tags = set()
            comment = f"  # {'; '.join(notes)}" if notes else ""
            if kind == "CHOICE" and (optional or "default" in m):
                kw = [k for k in kw if not k.startswith(("optional", "default"))]
            value_type = "object" if any(k.startswith("registry=") for k in kw) else self.py_type(t)
            if "optional=True" in kw and value_type not in ("object", "None"):
                value_type += " | None"
            default = f" = _s.field({', '.join(kw)})" if kw else ""
            lines.append(f"    {fname}: _a.Annotated[{value_type}, {t}]{default}{comment}")
            pyfields.append(fname)
        if not mems:
            lines.append("    pass")
        if kind == "SET":
            lines.append(f"_a.set_type({py})")
        self.defs[py] = (lines, deps)

    def registry_from_table(self, mod: _Module, mem: _Node, where: str) -> str:
        table = mem.get("table")
        if not (isinstance(table, list) and len(table) == 2):
            return "{}"
        set_name, refs = table
        try:
            m, s = self.lookup(mod, set_name, "sets")
        except CompileError:
            return "{}"
        field_name = "&" + mem["type"].partition(".&")[2]
        # the class field the @ref component holds: find it in the SEQUENCE's sibling with that name
        parent_key_field = None
        cls_name = mem["type"].partition(".&")[0]
        m_cls = None
        try:
            m_cls, c = self.lookup(mod, cls_name, "classes")
            for cm in m_cls.classes[c].get("members", []):
                if cm.get("type") != "OpenType" and cm.get("name", "").startswith("&") and parent_key_field is None:
                    parent_key_field = cm["name"]
                    key_type = cm.get("type")
        except CompileError:
            return "{}"
        entries: list[str] = []
        for obj in m.sets[s].get("members", []):
            if not isinstance(obj, dict) or parent_key_field not in obj or field_name not in obj:
                continue
            key = obj[parent_key_field]
            if key_type == "OBJECT IDENTIFIER":
                key_py = repr(self.oid_value(m, key, where))
            else:
                key_py = repr(self.int_value(m, key, where))
            tnode = obj[field_name]
            if not isinstance(tnode, dict):
                continue
            t, _ = self.member_type(m, tnode, where, f"_{_pyname(s)}_{len(entries)}", set())
            entries.append(f"{key_py}: {t}")
        return "{" + ", ".join(entries) + "}"

    def compile_values(self) -> None:
        for mod in self.mods.values():
            for name, v in mod.values.items():
                where = f"{mod.name}.{name}"
                try:
                    if v.get("type") == "OBJECT IDENTIFIER":
                        val = repr(self.oid_value(mod, v.get("value"), where))
                    elif v.get("type") == "INTEGER" and isinstance(v.get("value"), int):
                        val = repr(v["value"])
                    else:
                        continue
                except CompileError:
                    continue  # a value this compiler does not need; types referring to it fail on their own
                py = self.pyname_of(mod, name)
                self.constants.append(f"{py} = {val}")

    def run(self) -> str:
        self.used.update({"OPEN_TYPES"})
        self.compile_values()
        for mod in self.mods.values():
            for name in mod.types:
                try:
                    self.compile_named(mod, name)
                except CompileError as exc:
                    if not self.omit:
                        raise
                    self.warnings.append(f"{mod.name}.{name} left out: {exc}")
        order: list[str] = []
        done: set[str] = {"OPEN_TYPES"}

        def visit(n: str, stack: tuple[str, ...]) -> None:
            if n in done:
                return
            if n in stack:
                raise CompileError(f"recursive types are not supported: {' -> '.join(stack + (n,))}")
            for d in sorted(self.defs[n][1]):
                visit(d, stack + (n,))
            done.add(n)
            order.append(n)

        for n in list(self.defs):
            visit(n, ())
        out = [
            f'"""estcodec models compiled from the ASN.1 modules {", ".join(self.mods)} by estcodec.asn1.',
            "",
            "Generated source: edit the ASN.1 and compile again. SIZE constraints of strings and value constraints",
            'are noted, not enforced. OPEN_TYPES maps "Type.component" to the registry (value -> type) of an '
            'open type."""',
            "from estcodec import asn1 as _a",
            "from estcodec import schema as _s",
            "",
            "OPEN_TYPES: dict = {}",
            "",
        ]
        out += self.constants
        out.append("")
        # open-type registries: empty before the classes that refer to them, filled once every type exists
        out += [f"OPEN_TYPES[{key!r}] = {{}}" for key, _ in self.registries]
        out.append("")
        for n in order:
            lines = self.defs[n][0]
            if lines[0].startswith("class ") and out[-1] != "":
                out.append("")
            out += lines
            if lines[0].startswith("class "):
                out.append("")
        out.append("")
        out += [f"OPEN_TYPES[{key!r}].update({reg})" for key, reg in self.registries if reg != "{}"]
        names = [repr(n) for n in order if not n.startswith("_")]
        out.append("__all__ = [")
        out += textwrap.wrap(", ".join(names), 116, initial_indent="    ", subsequent_indent="    ",
                             break_on_hyphens=False, break_long_words=False)
        out.append("]")
        out.append("__warnings__ = " + repr(self.warnings))
        return "\n".join(out) + "\n"


def _generate(sources: Iterable[str] | str | _Node, strict: bool, omit: bool = False) -> tuple[str, list[str]]:
    parsed = _parse(sources)
    c = _Compiler(parsed, strict, omit)
    try:
        return c.run(), c.warnings
    except CompileError:
        raise
    except (KeyError, TypeError, IndexError, AttributeError, ValueError, RecursionError) as exc:
        # a form of the parser's output this compiler does not know: refused, not a crash
        raise CompileError(f"{c.current or 'ASN.1'}: construct not understood ({type(exc).__name__}: {exc})") from None
