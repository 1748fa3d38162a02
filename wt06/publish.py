"""Publish the public incidents' expected results, from the instructor notebooks.

``make release`` (``wt06-grade release``) publishes: every instructor notebook is executed
on the practice incident (its reference answers are the solutions), and each declared
``query`` question's result there is written to ``data/incidents/practice/expected.json``
with how it is compared (columns, order, tolerance: from the question's declaration in
the hidden-test region; a ``moments: replay`` rule at every replay moment). A ``value``
question graded on other stories is run on those stories' public drills, its value
written to each drill's ``expected.json``. The reference monitor rules (notebook 06) are
replayed over the public incidents and their metrics written beside them. Students'
visible checks compare with these files; nothing here is used for grading.

The questions come declared and validated, defaults filled in, from the grader's one
reading of the instructor notebooks (``wt06-grade release`` passes them: questions.py);
this package, which ships to students, reads no declaration itself. ``execute`` is also
what the course's tests use to run the instructor notebooks on other incidents.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from wt06 import incidents, monitor
from wt06.errors import DataError
from wt06.foundation import paths
from wt06.settings import ENV_AS_OF, ENV_DATA_DIR, ENV_WAREHOUSE, ENV_WORK_DIR

PUBLISHED_KINDS = ("query", "value")  # the kinds whose expected results the public incidents carry


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


def _dump_cell(names: list[str], replayed: list[str], values: list[str], out: Path) -> str:
    """A cell that writes the notebook's answers as JSON: each saved query's rows (at every
    replay moment for ``replayed``), each value variable, the monitor's rules."""
    return (
        "import json as _json\n"
        "from wt06 import incidents as _incidents, results as _results\n"
        "_out = {}\n"
        f"for _name in {names!r}:\n"
        "    try:\n"
        "        _out[_name] = _results.from_frame(course.saved(_name))\n"
        "    except Exception as _exc:\n"
        "        _out[_name] = {'error': str(_exc)}\n"
        "_now = course.as_of\n"
        f"for _name in {replayed!r}:\n"
        "    _at = {}\n"
        "    try:\n"
        "        for _moment in _incidents.replay_moments(course.con, _now):\n"
        "            course.set_clock(_moment)\n"
        "            _at[str(_moment)] = _results.from_frame(course.saved(_name))\n"
        "        _out['__moments__:' + _name] = _at\n"
        "    except Exception as _exc:\n"
        "        _out['__moments__:' + _name] = {'error': str(_exc)}\n"
        "    finally:\n"
        "        course.set_clock(_now)\n"
        f"for _name in {values!r}:\n"
        "    _out['__value__:' + _name] = _results.plain(globals()[_name]) if _name in globals() else None\n"
        "_out['__monitor_rules__'] = globals().get('monitor_rules')\n"
        f"open({str(out)!r}, 'w').write(_json.dumps(_out))\n"
    )


def _value_drills(declared: list[dict]) -> dict[str, list[str]]:
    """value answer -> the public incidents whose published value a visible check compares
    with: the drills of every story the question's hidden check grades on."""
    out = {}
    for question in declared:
        if question["kind"] != "value":
            continue
        stories = [s for s in question["incidents"] if s != incidents.CANONICAL]
        drills = [d for story in stories if story in incidents.STORIES for d in incidents.STORIES[story].drills]
        if drills:
            out[question["answer"]["name"]] = drills
    return out


def _run_on(path: Path, name: str, tmp: Path, names, replayed, values) -> dict:
    """Execute an instructor notebook on the public incident ``name``; its dumped answers."""
    incident = incidents.ensure_built(name)
    warehouse = tmp / f"{name}.duckdb"
    shutil.copy(incident.warehouse, warehouse)
    out = tmp / f"{path.stem}-{name}.json"
    env = incident_env(incident.data_dir, warehouse, tmp / "work")
    executed = execute(path, env, extra_cells=[_dump_cell(names, replayed, values, out)])
    problems = errors_in(executed, kinds=("solution",))
    if problems or not out.is_file():
        raise DataError(f"{path.name} does not run on {incidents.LABELS.get(name, name)}: "
                        + ("; ".join(problems) or "it stopped before its last cell"))
    return json.loads(out.read_text())


def publish_expected(source: Path, questions: list[dict], *, say=print) -> Path:
    """Execute the instructor notebooks on the public incidents; write their expected results.

    ``questions``: every declared question as plain data, as the grader validated them and
    as the course bundle carries them (questions.Question.as_plain: ``notebook``, ``kind``,
    ``answer: {type, name}``, ``incidents``, ``params`` with the kind's defaults filled in).

    On the practice incident: every ``query`` question's rows (at every replay moment for a
    ``moments: replay`` question). On the drills of the stories a ``value`` question's
    hidden check grades on: that value (the notebook runs there as the grader re-runs it on
    its own incidents). The reference monitor rules, replayed over every public incident.
    """
    source = Path(source)
    queries, rules = {}, None
    values: dict[str, dict] = {}  # public incident -> answer -> value
    with tempfile.TemporaryDirectory(prefix="wt06-publish-") as tmp:
        tmp = Path(tmp)
        for path in sorted(source.glob("*.ipynb")):
            every = [q for q in questions if q["notebook"] == path.stem and q["kind"] in PUBLISHED_KINDS]
            declared = [q for q in every if q["kind"] == "query"]
            names = sorted({q["answer"]["name"] for q in declared})
            replayed = sorted({q["answer"]["name"] for q in declared if q["params"]["moments"] == "replay"})
            drills = _value_drills(every)
            for name in sorted({incidents.PRACTICE, *(d for ds in drills.values() for d in ds)}):
                wanted = sorted(a for a, ds in drills.items() if name in ds)
                if name != incidents.PRACTICE and not wanted:
                    continue
                dumped = _run_on(path, name, tmp, names if name == incidents.PRACTICE else [],
                                 replayed if name == incidents.PRACTICE else [], wanted)
                for answer in wanted:
                    if dumped.get(f"__value__:{answer}") is None:
                        raise DataError(f"{path.name}: the reference answer {answer} is not set on "
                                        f"{incidents.LABELS.get(name, name)}")
                    values.setdefault(name, {})[answer] = dumped[f"__value__:{answer}"]
                if name != incidents.PRACTICE:
                    say(f"ran {path.name} on {incidents.LABELS.get(name, name)}")
                    continue
                for question in declared:
                    answer, params = question["answer"]["name"], question["params"]
                    result = dumped[answer]
                    if "error" in result:
                        raise DataError(f"{path.name}: the reference query {answer} fails on "
                                        f"the practice incident: {result['error']}")
                    columns = list(params["columns"])
                    spec = {"result": {"columns": columns, "rows": _select(result, columns)},
                            "ordered": params["ordered"], "tolerance": float(params["tolerance"])}
                    if answer in replayed:
                        at = dumped[f"__moments__:{answer}"]
                        if "error" in at:
                            raise DataError(f"{path.name}: the reference query {answer} fails on the "
                                            f"practice incident at a replay moment: {at['error']}")
                        spec["moments"] = {moment: {"columns": columns, "rows": _select(rows, columns)}
                                           for moment, rows in at.items()}
                    queries[answer] = spec
                rules = dumped.get("__monitor_rules__") or rules
                say(f"ran {path.name} on the practice incident")
    written = _write(incidents.PRACTICE, {"queries": queries})
    for name in incidents.PUBLIC:
        if name in values or "values" in _read(name):
            _write(name, {"values": values.get(name, {})})
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


def _read(name: str) -> dict:
    path = incidents.data_dir(name) / incidents.EXPECTED_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _select(result: dict, columns: list[str]) -> list[list]:
    index = [result["columns"].index(c) for c in columns]
    return [[row[i] for i in index] for row in result["rows"]]


def _write(name: str, update: dict) -> Path:
    path = incidents.data_dir(name) / incidents.EXPECTED_FILE
    current = json.loads(path.read_text()) if path.is_file() else {}
    current.update(update)
    current["_about"] = ("Expected results on this public incident, written by 'make release' "
                         "(wt06-grade release) from the instructor notebooks' reference "
                         "answers. For visible checks only; never used for grading.")
    path.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    return path


