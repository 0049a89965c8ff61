"""The package's layout: no import cycle, and imports flow one way through the layers.

The graph is read statically (``ast``) from every module, so a test run needs no torch import and
sees every edge, also those a test run would never execute.

What counts as an edge:

* module-level imports AND imports inside functions. A deferred (function-level) import still makes
  one module need the other at run time; it only hides a cycle from the import system (the
  probes -> sync -> runner -> probes cycle of commit 3dbdda8 was exactly that), so it is an edge.
* NOT imports under ``if TYPE_CHECKING:``. They never run, so they cannot close a cycle, and a type
  named in an annotation (with ``from __future__ import annotations``) is documentation of the
  interface, not a dependency of the code: ``provenance`` describes a ``model.Network`` this
  way without importing the model layer.
* ``chaoslib/__init__.py`` (the lazy public API) is the facade above every layer; its names are
  loaded with ``importlib`` on first use, so it has no static edges.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from chaoslib.book.sphinx_ext import API_LAYERS

PACKAGE = "chaoslib"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / PACKAGE

# Lowest first. A module may import modules of its own layer or below, never above. One table for the
# architecture: the API reference's sections are the same layers, in the same order.
LAYERS: list[tuple[str, tuple[str, ...]]] = [(title.lower(), prefixes) for title, prefixes in API_LAYERS]


def module_name(path: Path, package_dir: Path, package: str = PACKAGE) -> str:
    parts = list(path.relative_to(package_dir).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in the tree, at any depth, except in ``if TYPE_CHECKING:`` bodies."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:  # the `else:` branch does run
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph(package_dir: Path = PACKAGE_DIR, package: str = PACKAGE) -> dict[str, set[str]]:
    """module -> the package's modules it imports (static, see the module docstring).

    ``from a.b import c`` is an edge to ``a.b.c`` when that is a module of the package, else to
    ``a.b``; relative imports are resolved against the importing module.
    """
    files = {module_name(p, package_dir, package): p for p in sorted(package_dir.rglob("*.py"))}
    packages = {name for name, p in files.items() if p.name == "__init__.py"}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        base = name if name in packages else name.rsplit(".", 1)[0]
        for node in _imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    anchor = base.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    source = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in files else source
                    for alias in node.names
                ]
            for target in targets:
                # `import chaoslib.a.b` names the module a.b; keep the longest known prefix
                while target and target not in files:
                    target = target.rsplit(".", 1)[0] if "." in target else ""
                if target and target != name and target.split(".")[0] == package:
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One import cycle per tangle: the shortest closed path ``[a, b, ..., a]`` through each
    :func:`tangles` component."""
    return [_cycle_through(graph, set(c)) for c in tangles(graph)]


def tangles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Modules that import each other through some path: the strongly connected components with
    more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return components


def _cycle_through(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """The shortest closed path inside one strongly connected component, from its first module."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:  # breadth-first from start until an edge leads back to it
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & component):
                if w == start:
                    chain = [v]
                    while chain[-1] != start:
                        chain.append(parents[chain[-1]])
                    return [*reversed(chain), start]
                if w not in parents and w != start:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def layer_of(module: str) -> int | None:
    for level, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return level
    return None


def layering_violations(graph: dict[str, set[str]]) -> list[str]:
    """Imports that go up a layer, and modules that belong to no layer."""
    problems = []
    for module in sorted(graph):
        if module == PACKAGE:
            continue
        level = layer_of(module)
        if level is None:
            problems.append(f"{module} belongs to no layer: add it to API_LAYERS in chaoslib/book/sphinx_ext.py")
            continue
        for target in sorted(graph[module]):
            target_level = layer_of(target)
            if target == PACKAGE:
                problems.append(f"{module} imports the package top ({PACKAGE}); import the defining module")
            elif target_level is not None and target_level > level:
                below, above = LAYERS[level][0], LAYERS[target_level][0]
                problems.append(f"{module} ({below}) imports {target} ({above}), a higher layer")
    return problems


# --- the package as it is -------------------------------------------------------------------------


def test_graph_sees_the_package():
    graph = import_graph()
    # a graph reader that found nothing would pass every check below
    assert "chaoslib.dynamics.runner" in graph
    assert "chaoslib.model.albert_map" in graph["chaoslib.dynamics.runner"] or any(
        t.startswith("chaoslib.") for t in graph["chaoslib.dynamics.runner"]
    )
    assert sum(len(v) for v in graph.values()) > 30


def test_no_import_cycles():
    graph = import_graph()
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (deferred imports count):\n" + "\n".join(
        f"{' -> '.join(cycle)}   (modules tangled: {', '.join(tangle)})"
        for cycle, tangle in zip(cycles, tangles(graph), strict=True)
    )


def test_imports_flow_one_way_through_the_layers():
    problems = layering_violations(import_graph())
    assert not problems, "\n".join(problems)


def test_import_chaoslib_is_light():
    import subprocess
    import sys

    code = (
        "import sys, chaoslib; heavy = [m for m in ('torch', 'transformers', 'xarray') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", f"`import chaoslib` imports {out.strip()}"


def test_public_api_names_exist_where_declared():
    import chaoslib

    assert chaoslib.__all__ == sorted(chaoslib._API)
    graph = import_graph()
    for name, module in chaoslib._API.items():
        assert module in graph, f"chaoslib.{name} points at {module}, which is not a module"
        tree = ast.parse((PACKAGE_DIR.parent / (module.replace(".", "/") + ".py")).read_text())
        defined = {
            n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        } | {
            t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)
        }
        assert name in defined, f"chaoslib.{name}: {module} defines no {name}"


# --- the checks themselves can fail ---------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "chaoslib" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "chaoslib"


def test_a_deferred_import_cycle_is_found(tmp_path):
    # the shape of commit 3dbdda8: probes -> sync -> runner -> probes, the last one inside a function
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "probes.py": "from chaoslib.sync import token_spread\n",
            "sync.py": "from chaoslib import runner\n",
            "runner.py": "def run():\n    from chaoslib.probes import Probe\n    return Probe\n",
            "other.py": "import chaoslib.sync\n",
        },
    )
    graph = import_graph(pkg)
    assert graph["chaoslib.runner"] == {"chaoslib.probes"}
    assert find_cycles(graph) == [["chaoslib.probes", "chaoslib.sync", "chaoslib.runner", "chaoslib.probes"]]
    assert tangles(graph) == [["chaoslib.probes", "chaoslib.runner", "chaoslib.sync"]]


def test_type_checking_imports_and_relative_imports(tmp_path):
    pkg = _write(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "a/x.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from chaoslib.b import y\n"
            "else:\n    from . import z\n",
            "a/z.py": "from ..b.y import f\n",
            "b/__init__.py": "",
            "b/y.py": "from chaoslib.a import x\n",
        },
    )
    graph = import_graph(pkg)
    assert graph["chaoslib.a.x"] == {"chaoslib.a.z"}  # the TYPE_CHECKING import is no edge
    assert graph["chaoslib.a.z"] == {"chaoslib.b.y"}
    assert find_cycles(graph) == [["chaoslib.a.x", "chaoslib.a.z", "chaoslib.b.y", "chaoslib.a.x"]]


def test_an_upward_import_is_a_violation():
    graph = {
        "chaoslib.store": {"chaoslib.errors"},
        "chaoslib.data.corpus": {"chaoslib.store"},
        "chaoslib.model.loading": {"chaoslib.data.corpus", "chaoslib.dynamics.runner"},
        "chaoslib.dynamics.runner": set(),
        "chaoslib.errors": set(),
        "chaoslib.newthing": set(),
    }
    problems = layering_violations(graph)
    assert problems == [
        "chaoslib.model.loading (model) imports chaoslib.dynamics.runner (dynamics), a higher layer",
        "chaoslib.newthing belongs to no layer: add it to API_LAYERS in chaoslib/book/sphinx_ext.py",
    ]


@pytest.mark.parametrize("foundation", LAYERS[0][1])
def test_foundation_modules_import_only_foundation(foundation):
    graph = import_graph()
    for module, targets in graph.items():
        if module == foundation or module.startswith(foundation + "."):
            above = [t for t in targets if layer_of(t) != 0]
            assert not above, f"{module} (foundation) imports {above}"
