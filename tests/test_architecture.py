"""The layers of the package, read from the source with `ast` (nothing is imported, so no side effects).

A module may import modules of its own layer and of the layers below it, never above; and no chain
of imports, at module level or inside functions, leads back to where it started. The layers, lowest
first, are written down once, here; a module in no layer fails the test, so a new one must be placed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "actcli"

LAYERS = [
    ("leaves", ["actcli.errors", "actcli.bounds", "actcli.config", "actcli.records", "actcli.files", "actcli.jsonout",
                "actcli.numerics", "actcli.machine", "actcli.stats"]),
    ("registry", ["actcli.activations"]),
    ("functions", ["actcli", "actcli.formula", "actcli.lookup", "actcli.derive", "actcli.chain", "actcli.theory",
                   "actcli.clipping"]),
    ("training", ["actcli.idx", "actcli.data", "actcli.shared", "actcli.devices", "actcli.initialisation", "actcli.model", "actcli.mlp",
                  "actcli.usermodel", "actcli.networks", "actcli.train", "actcli.propagation", "actcli.depthlab"]),
    ("experiment", ["actcli.experiment", "actcli.executors"]),
    ("rendering", ["actcli.tables", "actcli.plots", "actcli.profiles", "actcli.depthplots", "actcli.markdown"]),
    ("cli", ["actcli.cli", "actcli.__main__"]),
]

# Inside a package, its modules in order: each may import only those before it (as its docstring says).
ORDERS = {
    "actcli.formula": ["timelimit", "symbols", "grammar", "compile", "differentiate", "properties", "activation"],
    "actcli.experiment": ["tasks", "schema", "folder", "running", "summary", "planning"],
}


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name, for __init__.py)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that `name` imports anywhere in its source (inside functions too)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from . import x`: x is a submodule where there is one, else a name in the package
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in known else prefix for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:    # actcli.formula.grammar.parse → actcli.formula.grammar
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def layer_of(name: str) -> int:
    for i, (_, members) in enumerate(LAYERS):
        if any(name == m or (m != "actcli" and name.startswith(m + ".")) for m in members):
            return i
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in {Path(__file__).name}")


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports(name, path, set(mods)) for name, path in mods.items()}


def test_every_module_has_a_layer():
    for name in modules():
        layer_of(name)


def test_no_module_imports_a_layer_above_its_own():
    wrong = [f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
             for a, targets in graph().items() for b in sorted(targets) if layer_of(b) > layer_of(a)]
    assert wrong == []


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Each import circle once, as the path that closes it (depth-first search, three colours)."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(g.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(g):
        if node not in state:
            visit(node)
    return found


def test_no_import_circle():
    assert [" → ".join(c) for c in cycles(graph())] == []


@pytest.mark.parametrize("package", sorted(ORDERS))
def test_a_package_s_modules_import_only_those_before_them(package):
    order = ORDERS[package]
    members = {f"{package}.{m}" for m in order}
    assert {m for m in modules() if m.startswith(package + ".")} == members, "ORDERS lists every module"
    g = graph()
    wrong = [f"{a} imports {b}" for a in sorted(members) for b in sorted(g[a] & members)
             if order.index(b.rpartition(".")[2]) > order.index(a.rpartition(".")[2])]
    assert wrong == []


def test_the_registry_imports_only_leaves():
    leaves = {m for m in LAYERS[0][1]}
    assert graph()["actcli.activations"] <= leaves


@pytest.mark.parametrize("source, circle", [
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": set()}, None),
])
def test_the_circle_finder_finds_circles(source, circle):
    assert cycles(source) == ([circle] if circle else [])


def test_the_reader_sees_lazy_and_relative_imports(tmp_path):
    """Run on a module written here: an import inside a function, `from .. import x`, `from .m import y`."""
    pkg = tmp_path / "actcli" / "sub"
    pkg.mkdir(parents=True)
    (pkg / "mod.py").write_text("from .. import errors\nfrom .other import thing\n"
                                "def f():\n    from ..formula.grammar import parse\n    import actcli.stats\n")
    known = {"actcli", "actcli.errors", "actcli.sub", "actcli.sub.mod", "actcli.sub.other", "actcli.formula",
             "actcli.formula.grammar", "actcli.stats"}
    assert imports("actcli.sub.mod", pkg / "mod.py", known) == {
        "actcli.errors", "actcli.sub.other", "actcli.formula.grammar", "actcli.stats"}
