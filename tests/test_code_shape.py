"""The code keeps the shape the project promises: short functions, no import cycles, and no
reference-study names outside the reference preset and the demo generator.

These read the source with ``ast``; nothing is imported or run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "spinedlr"
MAX_LINES = 100
REFERENCE_NAME = re.compile(r"(radscore_)?(disc|muscle)(_[A-Za-z0-9_]+)?")
NAMES_ALLOWED_IN = ("presets/", "demo/", "segment/sample_data.py", "grading/")
"""The reference preset, the demo generator, the loader of the shared real sample (whose
label names are those of its files, not the reference study's), and the Pfirrmann grading
study, whose unit is a disc by definition (its features name the disc they measure)."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), filename=str(path)) for name, path in MODULES.items()}


def test_no_function_is_longer_than_100_lines():
    long = [f"{MODULES[m].relative_to(PACKAGE)}:{node.lineno} {node.name} "
            f"({node.end_lineno - node.lineno + 1} lines)"
            for m, tree in TREES.items() for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_LINES]
    assert not long, "\n".join(long)


def _imports(module: str, tree: ast.Module) -> set[str]:
    """spinedlr modules this module imports, at any depth (a lazy import is still a cycle)."""
    is_package = MODULES[module].name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(pkg[:len(pkg) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found |= {t for t in targets if t in MODULES and t != module}
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_among_spinedlr_modules():
    graph = {m: _imports(m, t) for m, t in TREES.items()}
    assert not _cycles(graph), _cycles(graph)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _docstrings(tree: ast.Module) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def test_reference_study_names_live_only_in_its_preset_and_the_demo():
    found = []
    for m, tree in TREES.items():
        rel = MODULES[m].relative_to(PACKAGE).as_posix()
        if rel.startswith(NAMES_ALLOWED_IN):
            continue
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docs and REFERENCE_NAME.fullmatch(node.value)):
                found.append(f"{rel}:{node.lineno} {node.value!r}")
    assert not found, "\n".join(found)
