"""The house's rules, checked on the source: data flows one way (no import cycles), and the CI gate's import
pulls in no plotting stack.

The cycle check walks every import statement in the AST, at module level, inside functions and under
`if TYPE_CHECKING:` alike: moving an import into a function hides a cycle from Python, not from this test.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "ripsaw"


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The ripsaw modules `module` imports anywhere in its source, resolved to modules (not names)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from ripsaw.x import y`: y is a module when ripsaw/x/y.py exists, else a name defined in ripsaw.x.
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        targets.update(n for n in names if n in known and n != module)
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "ripsaw"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from ripsaw import b\n")
    (pkg / "b.py").write_text("def f():\n    from ripsaw.a import thing\n")
    known = {"ripsaw": pkg / "__init__.py", "ripsaw.a": pkg / "a.py", "ripsaw.b": pkg / "b.py"}
    graph = {m: _imports(m, p, known) for m, p in known.items()}
    assert _cycles(graph) == [["ripsaw.a", "ripsaw.b"]]


def test_no_import_cycles() -> None:
    known = _modules()
    graph = {module: _imports(module, path, known) for module, path in known.items()}
    assert sum(len(edges) for edges in graph.values()) > 100  # the walk sees the real graph
    assert _cycles(graph) == []


def test_importing_the_gate_loads_no_plotting_stack() -> None:
    code = "import json, sys, ripsaw.gate; print(json.dumps(sorted(sys.modules)))"
    loaded = set(
        json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    )
    assert not loaded & {"matplotlib", "pandas", "jinja2", "plotly"}
