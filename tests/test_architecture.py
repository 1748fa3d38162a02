"""The packages' shape: no import cycles (imports inside functions count), the student
runtime independent of the grader, and our own modules imported at the top of a module
except where a module says why not.

A cycle hidden by an import inside a function still couples two modules both ways; a
``from .x import y`` inside a function hides it from a reader and from this test's
first pass, so both kinds of import are read here.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"wt06": ROOT / "wt06", "wt06_grading": ROOT / "grader" / "wt06_grading"}
# Modules allowed to import our own modules inside functions, and why.
LAZY = {
    "wt06_grading.cli": "each command imports what it runs, so --help answers in 0.05 s, not 4 s",
    "wt06_grading.sandbox.bwrap": "the zygote's side: what it imports is what every job inherits",
    "wt06_grading.sandbox.checker": "a job entry point: it imports the check kinds only in the job",
    "wt06_grading.sandbox.runner": "a job entry point: it imports the course helpers only in the job",
    "wt06_grading.sandbox.zygote": "preloads chosen modules before its first fork, by name",
}


def _module(path: Path, package: str, root: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str):
    """(imported module or name, inside a function?) for every import of ours in ``path``."""
    tree = ast.parse(path.read_text())
    inner = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
             for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if path.name == "__init__.py" else base[:-1]
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            names = [name] + [f"{name}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for imported in names:
            if imported.split(".")[0] in PACKAGES:
                yield imported, id(node) in inner


def _graph() -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    edges, lazy = {}, {}
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            module = _module(path, package, root)
            edges[module] = set()
            for imported, inside in _imports(path, module):
                edges[module].add(imported)
                if inside:
                    lazy.setdefault(module, []).append(imported)
    modules = set(edges)
    return {m: {t for t in targets if t in modules and t != m} for m, targets in edges.items()}, lazy


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_in_either_package():
    graph, _ = _graph()
    assert _cycles(graph) == [], "modules that import each other (directly or round a loop)"


def test_the_student_runtime_never_imports_the_grader():
    graph, _ = _graph()
    assert not [(m, t) for m, targets in graph.items() if m.startswith("wt06.") or m == "wt06"
                for t in targets if t.startswith("wt06_grading")]


def test_own_modules_are_imported_at_the_top_except_where_a_module_says_why():
    _, lazy = _graph()
    unexplained = {m: sorted(set(names)) for m, names in lazy.items() if m not in LAZY}
    assert not unexplained, ("imports of our own modules inside functions: move them to the top of the "
                             f"module, or add the module to LAZY with the reason: {unexplained}")


def test_the_checks_would_see_a_cycle_and_a_hidden_import(tmp_path):
    """The helpers above find what they are for (a test that cannot fail is no test)."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    source = tmp_path / "demo.py"
    source.write_text("from .top import x\n\ndef f():\n    from .inner import y\n    return y\n")
    assert sorted(_imports(source, "wt06.demo")) == [
        ("wt06.inner", True), ("wt06.inner.y", True), ("wt06.top", False), ("wt06.top.x", False)]


# What only the tests may use: their fixtures and helpers (tests/fixtures, conftest).
TEST_ONLY = {"fixtures", "conftest"} | {p.stem for p in (ROOT / "tests").rglob("test_*.py")}
TOOLING = ["wt06", "grader", "bench", "tools", "docs"]


def _imports_of_tests(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else \
            [a.name for a in node.names] if isinstance(node, ast.Import) else []
        found += [n for n in names if n.split(".")[0] in TEST_ONLY]
    return found


def test_no_tool_or_package_imports_from_the_tests():
    """``make fixtures``, the benchmark and ``make docs-images`` run without tests/ on the
    path: what they share with the tests lives with them (tools/, the grader's rehearsal)."""
    found = {str(p.relative_to(ROOT)): _imports_of_tests(p) for folder in TOOLING
             for p in sorted((ROOT / folder).rglob("*.py")) if _imports_of_tests(p)}
    assert not found, found
    assert "PYTHONPATH=tests" not in (ROOT / "Makefile").read_text()


def test_the_tests_import_check_sees_an_import_from_the_tests(tmp_path):
    script = tmp_path / "tool.py"
    script.write_text("import json\nfrom fixtures.lab import LabSession\nimport conftest\n")
    assert _imports_of_tests(script) == ["fixtures.lab", "conftest"]
