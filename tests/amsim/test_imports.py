"""amsim's modules import in a fresh interpreter, and their imports form no cycle.

The import graph is read from the source with `ast`, imports inside functions
included (a lazy import hides a cycle from Python, not from the next reader).
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "amsim"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def _target(name: str) -> str | None:
    """'amsim.x.y' -> 'amsim.x' when x is a module of the package; 'amsim' -> the package."""
    parts = name.split(".")
    if parts[0] != "amsim":
        return None
    if len(parts) > 1 and parts[1] in MODULES:
        return f"amsim.{parts[1]}"
    return "amsim"


def amsim_imports(path: Path) -> set[str]:
    """The amsim modules (or 'amsim', the package) that the file at `path` imports anywhere."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {t for a in node.names if (t := _target(a.name))}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x / from .x import y
                base = "amsim" + (f".{node.module}" if node.module else "")
            else:
                base = node.module or ""
            if base == "amsim":  # from amsim import network -> the module amsim.network
                out |= {_target(f"amsim.{a.name}") for a in node.names}
            elif (t := _target(base)):
                out.add(t)
    return out


def import_graph() -> dict[str, set[str]]:
    graph = {f"amsim.{m}": amsim_imports(PACKAGE / f"{m}.py") for m in MODULES}
    graph["amsim"] = amsim_imports(PACKAGE / "__init__.py")
    return {k: v - {k} for k, v in graph.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle [a, b, ..., a] of the directed graph, or None (depth-first search)."""
    state = {}  # 1: on the current path, 2: finished

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cyc := visit(nxt, path + [nxt])):
                return cyc
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cyc := visit(start, [start])):
            return cyc
    return None


def test_cycle_detector_finds_a_cycle_and_reads_lazy_and_package_imports(tmp_path):
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    src = tmp_path / "m.py"
    src.write_text("import numpy\nfrom amsim import network, RetrievalResult\n"
                   "def f():\n    from amsim.io import load_network\n    import amsim.dynamics as d\n")
    assert amsim_imports(src) == {"amsim.network", "amsim", "amsim.io", "amsim.dynamics"}


def test_no_amsim_module_imports_one_that_imports_it_back():
    graph = import_graph()
    assert "amsim.memory" in graph["amsim.io"]  # the graph is read (io builds on memory)
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_in_a_fresh_interpreter(module):
    r = subprocess.run([sys.executable, "-c", f"import amsim.{module}"], capture_output=True, text=True,
                       cwd=PACKAGE.parent, timeout=120)
    assert r.returncode == 0, r.stderr
