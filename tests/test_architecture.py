"""The import graph of ``simulation/``: no cycles, and every module imports only its own layer or lower ones.

Every ``import simulation...`` / ``from simulation... import`` statement counts, wherever it is:
at the top of a file, inside a function, under ``if TYPE_CHECKING``. ``from simulation.a import b``
points at ``simulation/a/b.py`` when that file exists, else at ``simulation/a.py`` or
``simulation/a/__init__.py``. (Parent packages' ``__init__`` files that Python runs on the way are
not counted: they are not what the statement asks for.)
"""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from pathlib import Path

import networkx as nx
import pytest

# Layers, bottom first. A module is named by its path under simulation/ without ".py"
# ("config/schema", "__init__" is simulation/__init__.py); exact names win over patterns.
LAYERS: list[tuple[str, tuple[str, ...], str]] = [
    ("config", ("config", "config/*", "display", "provenance"),
     "inputs and plain helpers: validated config, shared display constants, versions; know nothing of the model"),
    ("world", ("population", "kernels", "state", "signals", "mechanisms/base"),
     "the economy's arrays, the mutable state, the signals record and the kernel helpers mechanisms share"),
    ("mechanisms", ("mechanisms/*",),
     "one module per mechanism, working on the world's arrays; the model calls them in order"),
    ("model", ("metrics", "agents", "agency", "states", "mesa_api", "model"),
     "the Mesa model: builds the world, steps the states and the mechanisms, records the tables"),
    ("run", ("runner", "rundir", "figures"),
     "one run: results and summary, its folder (the one run writer) and its figures"),
    ("studies", ("calibration", "validation", "compare", "sweep/*"),
     "many runs: calibration against published figures, the test set of the record, two runs compared, sweeps "
     "and their analysis"),
    ("view", ("viz/*",),
     "the browser view: reads a model, never imported by it"),
    ("entry", ("cli", "__main__", "__init__", "warmup"),
     "entry points: the command line, the package's public API, the sweep fork server's preload"),
]

PACKAGE = Path(__file__).resolve().parent.parent / "simulation"


def module_name(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").as_posix()


def layer_of(name: str) -> int | None:
    for exact in (True, False):
        for i, (_, patterns, _) in enumerate(LAYERS):
            for pat in patterns:
                if ("*" not in pat) == exact and (pat == name if exact else fnmatchcase(name, pat)):
                    return i
    return None


def _file_of(parts: list[str]) -> Path | None:
    """``simulation/<parts>.py`` or ``simulation/<parts>/__init__.py``, if either exists."""
    base = PACKAGE.joinpath(*parts)
    for cand in (base.with_name(base.name + ".py") if parts else None, base / "__init__.py"):
        if cand is not None and cand.is_file():
            return cand
    return None


def imports_of(path: Path) -> list[tuple[int, str, Path | None]]:
    """``(line, dotted name, file or None if unresolved)`` of every import of ``simulation`` in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path).split("/")[:-1]  # for relative imports
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "simulation":
                    found.append((node.lineno, alias.name, _file_of(parts[1:])))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]  # level 1: this package
                parts = ["simulation", *base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "simulation":
                parts = node.module.split(".")
            else:
                continue
            for alias in node.names:
                sub = _file_of([*parts[1:], alias.name])  # a module of that package
                target = sub if sub is not None else _file_of(parts[1:])
                found.append((node.lineno, ".".join(parts) + f" import {alias.name}", target))
    return found


def graph() -> tuple[nx.DiGraph, list[str]]:
    """The import graph between module names (edges carry the line); unresolved imports."""
    g, unresolved = nx.DiGraph(), []
    for path in sorted(PACKAGE.rglob("*.py")):
        src = module_name(path)
        g.add_node(src)
        for line, name, target in imports_of(path):
            if target is None:
                unresolved.append(f"simulation/{src}.py:{line}: {name}")
            elif module_name(target) != src:
                g.add_edge(src, module_name(target), line=line)
    return g, unresolved


def test_every_import_resolves_and_every_module_has_a_layer():
    g, unresolved = graph()
    assert not unresolved, "imports of modules that do not exist:\n" + "\n".join(unresolved)
    missing = sorted(n for n in g if layer_of(n) is None)
    assert not missing, f"modules not placed in LAYERS (tests/test_architecture.py): {missing}"


def test_no_import_cycles():
    g, _ = graph()
    cycles = []
    for scc in sorted((sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1), key=lambda c: c[0]):
        cycle = nx.find_cycle(g.subgraph(scc))
        path = " -> ".join(f"{a} (line {g.edges[a, b]['line']})" for a, b in cycle) + f" -> {cycle[0][0]}"
        cycles.append(f"modules {', '.join(scc)} import each other, e.g. {path}")
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_modules_import_only_their_layer_or_lower():
    g, _ = graph()
    wrong = []
    for a, b, data in sorted(g.edges(data=True)):
        la, lb = layer_of(a), layer_of(b)
        if la is not None and lb is not None and lb > la:
            wrong.append(f"simulation/{a}.py:{data['line']} ({LAYERS[la][0]}) imports {b} ({LAYERS[lb][0]}, higher)")
    assert not wrong, "imports against the layer order:\n" + "\n".join(wrong)


@pytest.mark.parametrize(("name", "layer"), [("config/schema", "config"), ("mechanisms/base", "world"),
                                             ("mechanisms/market", "mechanisms"), ("sweep/loop", "studies"),
                                             ("__init__", "entry"), ("viz/__init__", "view")])
def test_layer_table_places_modules(name, layer):
    assert LAYERS[layer_of(name)][0] == layer
