"""The packages' shape: layers that import only downwards, no import cycles (imports inside
functions count), the student runtime independent of the grader, and our own modules
imported at the top of a module except where a module says why not.

``LAYERS`` is the architecture of both packages, bottom first (grader/README.md draws
it): a module may import its own layer and the layers below it, never one above. Every
module is in exactly one layer, so a new module is placed on purpose.

A cycle hidden by an import inside a function still couples two modules both ways; a
``from .x import y`` inside a function hides it from a reader and from this test's
first pass, so both kinds of import are read here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

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


# package -> layers, bottom first: (layer, its folders and modules; "kinds" covers kinds and kinds.*)
LAYERS = {
    # the student runtime: a folder per layer, and at the root the modules a released
    # notebook's cells name (a notebook saved against an earlier release still imports them)
    "wt06": [
        ("foundation", ["foundation", "settings", "errors", "story"]),
        ("the incident", ["incident", "project"]),
        ("the dbt pipeline", ["pipeline", "incidents"]),
        ("checks", ["freshness", "singular_test", "monitor", "orchestrator"]),
        ("notebook helpers", ["lab", "plots", "notebook"]),
        ("commands", ["publish", "cli", "__main__"]),
    ],
    # the grader's layers are its folders (grader/README.md): a module is placed by where it is saved
    "wt06_grading": [
        ("foundation", ["foundation"]),
        ("check kinds", ["kinds"]),
        ("records", ["records"]),
        ("course definition", ["definition"]),
        ("sandbox", ["sandbox"]),
        ("one submission", ["submission"]),
        ("driver", ["driver"]),
        ("commands", ["batch", "cli", "__main__"]),
    ],
}


def _layer(module: str) -> tuple[str, int] | None:
    """(package, layer index) of a module of ours; None for a package's own __init__."""
    package, _, rest = module.partition(".")
    if not rest:
        return None
    top = rest.split(".")[0]
    for index, (_, names) in enumerate(LAYERS[package]):
        if top in names:
            return package, index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in tests/test_architecture.py "
                         "(and to the picture in grader/README.md) where it belongs")


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


def _upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module from a layer above its own, as a sentence."""
    found = []
    for module, targets in sorted(graph.items()):
        mine = _layer(module)
        for target in sorted(targets):
            theirs = _layer(target)
            if mine and theirs and mine[0] == theirs[0] and theirs[1] > mine[1]:
                layers = LAYERS[mine[0]]
                found.append(f"{module} ({layers[mine[1]][0]}) imports {target} ({layers[theirs[1]][0]})")
    return found


def test_every_module_is_in_one_layer_and_imports_only_its_own_layer_or_below():
    for package, layers in LAYERS.items():
        placed = [name for _, names in layers for name in names]
        assert len(placed) == len(set(placed)), f"a module of {package} is in two layers"
    upward = _upward(_graph()[0])
    assert not upward, "imports against the layers (move the code, or the module's layer): " + "; ".join(upward)


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
    assert _layer("wt06_grading.kinds.query") == ("wt06_grading", 1)
    assert _upward({"wt06_grading.records.gradebook": {"wt06_grading.submission.worker",
                                                        "wt06_grading.foundation.layout"}}) == [
        "wt06_grading.records.gradebook (records) imports wt06_grading.submission.worker (one submission)"]
    with pytest.raises(AssertionError, match="in no layer"):
        _layer("wt06_grading.brand_new")
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


def _notebook_imports(text: str) -> set[str]:
    """The wt06 modules a notebook's source names: ``wt06.x`` and ``from wt06 import x, y``."""
    named = set(re.findall(r"\bwt06\.(\w+)", text))
    for names in re.findall(r"from wt06 import ([\w, ]+)", text):
        named |= {name.split(" as ")[0].strip() for name in names.split(",")}
    return named


def test_the_student_runtimes_root_is_what_the_course_notebooks_import_and_the_commands():
    """A notebook (released or instructor) names ``wt06.<module>``: that module stays at the
    package's root, where a notebook saved against an earlier release finds it; everything
    else is in the folder of its layer."""
    named = set().union(*(_notebook_imports(path.read_text()) for folder in ("notebooks", "grader/source/wt06")
                          for path in (ROOT / folder).glob("*.ipynb")))
    root = {path.stem for path in (ROOT / "wt06").glob("*.py")} - {"__init__", "__main__", "cli", "publish"}
    assert named == root, ("wt06's root holds the modules the notebooks import, and the commands: "
                           f"imported but in a folder: {sorted(named - root)}; at the root but not "
                           f"imported: {sorted(root - named)}")


def test_the_root_rule_reads_both_forms_of_import():
    assert _notebook_imports("from wt06 import plots, monitor as m\nfrom wt06.notebook import start\n") == \
        {"plots", "monitor", "notebook"}
