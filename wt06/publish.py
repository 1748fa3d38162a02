"""Publish the public incidents' expected results, from the instructor notebooks.

``make release`` runs ``python -m wt06 publish``: every instructor notebook is executed
on the practice incident (its reference answers are the solutions), and each declared
``query`` question's result there is written to ``data/incidents/practice/expected.json``
with how it is compared (columns, order, tolerance: from the question's declaration in
the hidden-test region). The reference monitor rules (notebook 06) are replayed over the
public incidents and their metrics written beside them. Students' visible checks compare
with these files; nothing here is used for grading.

The helpers that read notebooks (``declarations``, ``execute``) are also what the
course's tests use to run the instructor notebooks on other incidents.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from . import incidents, monitor, paths
from .errors import DataError
from .settings import ENV_AS_OF, ENV_DATA_DIR, ENV_WAREHOUSE, ENV_WORK_DIR

# nbgrader's hidden-test delimiters, spelled in two parts: this file ships to students,
# and the student export refuses any file that contains a delimiter whole.
_HIDDEN = "HIDDEN " + "TESTS"
HIDDEN_BEGIN, HIDDEN_END = f"### BEGIN {_HIDDEN}", f"### END {_HIDDEN}"
QUERY_KINDS = ("query",)
RESULTS_NAME = "_wt06_published.json"


def declaration(source: str) -> dict | None:
    """The ``question:`` declared in a test cell's hidden region (None: none there)."""
    if HIDDEN_BEGIN not in source:
        return None
    region = source.split(HIDDEN_BEGIN, 1)[1].split(HIDDEN_END, 1)[0]
    lines = []
    for line in region.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            raise DataError(f"a hidden-test region holds code, not a declaration: {stripped!r}")
        lines.append(stripped[2:] if stripped.startswith("# ") else stripped[1:])
    if not lines:
        return None
    loaded = yaml.safe_load("\n".join(lines))
    if not isinstance(loaded, dict) or "question" not in loaded:
        raise DataError("a hidden-test region must declare 'question:' (a YAML mapping)")
    return loaded["question"]


def declarations(notebook_path: Path) -> dict[str, dict]:
    """grade_id of each graded test cell -> its declaration."""
    import nbformat

    found = {}
    for cell in nbformat.read(notebook_path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.cell_type == "code":
            question = declaration(cell.source)
            if question is not None:
                found[meta["grade_id"]] = question
    return found


def execute(notebook_path: Path, env: dict, *, extra_cells: list[str] = (), timeout: int = 600):
    """Execute a notebook (in its folder) with ``env`` added; return the executed notebook."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(notebook_path, as_version=4)
    for source in extra_cells:
        notebook.cells.append(nbformat.v4.new_code_cell(source))
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(Path(notebook_path).parent)}})
    client.execute(env={**os.environ, **env})
    return notebook


def errors_in(notebook, *, kinds=("solution",)) -> list[str]:
    """Errors raised by the cells of the given nbgrader kinds (solution, grade, any)."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        if "any" not in kinds and not any(meta.get(kind) for kind in kinds):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index} ({meta.get('grade_id', 'no id')}): "
                             f"{output['ename']}: {output['evalue']}")
    return found


def incident_env(data_dir: Path, warehouse: Path, work: Path) -> dict:
    """Settings that point a notebook's ``start()`` at another incident."""
    env = {ENV_DATA_DIR: str(data_dir), ENV_WAREHOUSE: str(warehouse), ENV_WORK_DIR: str(work)}
    env[ENV_AS_OF] = ""  # the incident's own clock
    return env


def _dump_cell(names: list[str], out: Path) -> str:
    return (
        "import json as _json\n"
        "from wt06 import results as _results\n"
        f"_out = {{}}\n"
        f"for _name in {names!r}:\n"
        "    try:\n"
        "        _out[_name] = _results.from_frame(course.saved(_name))\n"
        "    except Exception as _exc:\n"
        "        _out[_name] = {'error': str(_exc)}\n"
        "_out['__monitor_rules__'] = globals().get('monitor_rules')\n"
        f"open({str(out)!r}, 'w').write(_json.dumps(_out))\n"
    )


def publish_expected(source: Path, *, say=print) -> Path:
    """Execute the instructor notebooks on the practice incident; write expected results."""
    source = Path(source)
    practice = incidents.ensure_built(incidents.PRACTICE)
    queries, rules = {}, None
    with tempfile.TemporaryDirectory(prefix="wt06-publish-") as tmp:
        tmp = Path(tmp)
        for path in sorted(source.glob("*.ipynb")):
            declared = {gid: q for gid, q in declarations(path).items() if q.get("kind") in QUERY_KINDS}
            warehouse = tmp / "practice.duckdb"
            shutil.copy(practice.warehouse, warehouse)
            out = tmp / f"{path.stem}.json"
            names = sorted({q["answer"] for q in declared.values()})
            env = incident_env(practice.data_dir, warehouse, tmp / "work")
            executed = execute(path, env, extra_cells=[_dump_cell(names, out)])
            problems = errors_in(executed, kinds=("solution",))
            if problems or not out.is_file():
                raise DataError(f"{path.name} does not run on the practice incident: "
                                + ("; ".join(problems) or "it stopped before its last cell"))
            dumped = json.loads(out.read_text())
            for question in declared.values():
                result = dumped[question["answer"]]
                if "error" in result:
                    raise DataError(f"{path.name}: the reference query {question['answer']} fails on "
                                    f"the practice incident: {result['error']}")
                queries[question["answer"]] = {
                    "result": {"columns": list(question["columns"]),
                               "rows": _select(result, list(question["columns"]))},
                    "ordered": bool(question.get("ordered", True)),
                    "tolerance": float(question.get("tolerance", 0.0)),
                }
            rules = dumped.get("__monitor_rules__") or rules
            say(f"ran {path.name} on the practice incident")
    written = _write(incidents.PRACTICE, {"queries": queries})
    if rules:
        project, work = paths.project_dir(), Path(tempfile.mkdtemp(prefix="wt06-monitor-"))
        try:
            for name in incidents.PUBLIC:
                incident = incidents.ensure_built(name).as_json()
                reference = monitor.evaluate(rules, [incident], project, work)[name]
                _write(name, {"monitor_rules": reference})
                say(f"replayed the reference monitor rules on the {name} incident")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return written


def _select(result: dict, columns: list[str]) -> list[list]:
    index = [result["columns"].index(c) for c in columns]
    return [[row[i] for i in index] for row in result["rows"]]


def _write(name: str, update: dict) -> Path:
    path = incidents.data_dir(name) / incidents.EXPECTED_FILE
    current = json.loads(path.read_text()) if path.is_file() else {}
    current.update(update)
    current["_about"] = ("Expected results on this public incident, written by 'make release' "
                         "(python -m wt06 publish) from the instructor notebooks' reference "
                         "answers. For visible checks only; never used for grading.")
    path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    return path


