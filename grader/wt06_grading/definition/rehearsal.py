"""A rehearsal class: fixture submissions generated from the course's own notebooks
(never hand-edited JSON), for ``make fixtures``, the benchmarks and the test suite.

Each fixture student starts from the released (student) notebooks and changes them the
way a real student would: answers copied from the instructor's solutions, answers typed
in as literals, a cell that loops forever, a kernel that dies, an edited test cell...
``write_class(folder, names)`` writes the chosen students in nbgrader's layout
(``<folder>/<student>/wt06/*.ipynb``); ``python -m wt06_grading.definition.rehearsal <folder>``
writes the whole class, for ``make grade``.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import nbformat

from wt06.incident.warehouse import connect
from wt06_grading.definition.questions import provided_answers
from wt06_grading.definition.reference import solution_cells
from wt06_grading.foundation.layout import ASSIGNMENT, GRADER, RELEASE_NOTEBOOKS, SOURCE, submitted_dir
from wt06_grading.foundation.markers import split_magic

RELEASE = RELEASE_NOTEBOOKS
NB = sorted(path.stem for path in SOURCE.glob("*.ipynb"))  # the course's notebooks, in course order


def blank(name: str):
    return nbformat.read(RELEASE / f"{name}.ipynb", as_version=4)


def _cell(notebook, grade_id: str):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def answer(notebook, grade_id: str, source: str):
    """Replace the content of an answer cell, keeping a cell magic line the stub kept."""
    cell = _cell(notebook, grade_id)
    first = cell.source.split("\n", 1)[0]
    if first.startswith("%%") and not source.startswith("%%"):
        source = first + "\n" + source
    cell.source = source
    return notebook


def solved(name: str):
    notebook = blank(name)
    for grade_id, (owner, source) in solution_cells().items():
        if owner == name:
            _cell(notebook, grade_id).source = source.strip("\n")
    return notebook


def insert_after(notebook, grade_id: str, source: str):
    index = notebook.cells.index(_cell(notebook, grade_id))
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return notebook


# ----- hard-coded answers: the canonical results typed in as literals ------------------
def _literal(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return f"timestamp '{value:%Y-%m-%d %H:%M:%S}'"
    if isinstance(value, date):
        return f"date '{value.isoformat()}'"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def typed_in(sql: str, warehouse: Path) -> str:
    """The rows ``sql`` returns on the canonical incident, as a VALUES list."""
    con = connect(warehouse)
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    values = ",\n    ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
    return f"select * from (values\n    {values}\n) as typed_in({', '.join(columns)})"


HARD_CODED_TEST = """-- {{ ref('fct_revenue_daily') }} was last rebuilt on Thursday evening
select 'fct_revenue_daily' as mart
where timestamp '2024-02-08 18:14:39' < timestamp '2024-02-12 09:00:00' - interval 25 hour"""


def _composed(queries: dict[str, str], name: str) -> str:
    """A saved query with the saved queries it selects from as CTEs (as jupysql composes it)."""
    others = [n for n in queries if n != name and n in queries[name]]
    if not others:
        return queries[name]
    return "with " + ", ".join(f"{n} as ({queries[n]})" for n in others) + "\n" + queries[name]


def hard_coded(name: str, warehouse: Path):
    notebook = solved(name)
    queries = {}
    for owner, source in solution_cells().values():
        if owner == name and source.startswith("%%sql"):
            (ref,) = provided_answers(source)
            queries[ref.name] = split_magic(source)[1].strip()
    for grade_id, (owner, source) in solution_cells().items():
        if owner == name and source.startswith("%%sql"):
            (ref,) = provided_answers(source)
            answer(notebook, grade_id, typed_in(_composed(queries, ref.name), warehouse))
    if name == "05_fix_and_prevent":
        answer(notebook, "freshness_test", HARD_CODED_TEST)
    return notebook


# ----- partly right: plausible mistakes ------------------------------------------------
PARTLY_WRONG = {
    "01_detect_staleness": {"dashboard_gap": "select distinct order_date from stg_orders\n"
                                             "where order_date > date '2024-02-08' order by order_date"},
    "02_pipeline_logs": {
        "green_runs_since_refresh": "select run_id, started_at, status, exit_code from raw.raw_pipeline_runs\n"
                                    "where status = 'success' and exit_code = 0\n"
                                    "  and started_at > timestamp '2024-02-08 18:14:39' order by started_at",
        "smoking_gun": 'smoking_gun_column = "duration_seconds"'},
    "03_phantom_successes": {
        "phantom_successes": "select run_id, started_at, models_run, duration_seconds\n"
                             "from raw.raw_pipeline_runs where models_run = 'staging.*' order by started_at"},
    "04_blast_radius": {
        "missing_revenue": "select sum(amount) as missing_revenue from stg_orders\n"
                           "where order_date > (select max(order_date) from fct_revenue_daily)"},
    "05_fix_and_prevent": {"scheduler_command": "scheduler_command = 'dbt run --select \"marts.*\"'"},
    "06_agent_lens": {"phantom_alert": "select run_id, started_at from raw.raw_pipeline_runs\n"
                                       "where status = 'success' and models_run <> 'all' order by started_at"},
}


def partly_right(name: str):
    notebook = solved(name)
    for grade_id, source in PARTLY_WRONG.get(name, {}).items():
        answer(notebook, grade_id, source)
    return notebook


# ----- a copied pair: one student's own answers, and a copy with new names and layout ----
# Answers unlike the model answers (so similarity is not the course's shared solution); the
# copy renames every alias and CTE, changes case, whitespace and literal notation, adds a
# comment. The report must cluster these two and nobody else (similarity.py).
OWN_ANSWERS = {
    "mart_staleness": """with revenue as (
    select 'fct_revenue_daily' as mart, max(r.order_date) as newest_date, max(r._refreshed_at) as last_refreshed_at
    from fct_revenue_daily as r
),
signups as (
    select 'fct_daily_signups' as mart, max(s.signup_date) as newest_date, max(s._refreshed_at) as last_refreshed_at
    from fct_daily_signups as s
),
both_marts as (select * from revenue union all select * from signups)
select b.mart, b.newest_date, b.last_refreshed_at,
       round(epoch(as_of() - b.last_refreshed_at) / 3600.0, 1) as hours_stale
from both_marts as b
order by b.mart""",
    "dashboard_gap": """with staged as (select distinct order_date from stg_orders),
mart as (select order_date from fct_revenue_daily)
select s.order_date
from staged as s left join mart as m on m.order_date = s.order_date
where m.order_date is null
order by s.order_date""",
}
COPIED_ANSWERS = {
    "mart_staleness": """-- my own work
WITH Rev AS (
  SELECT 'fct_revenue_daily' AS mart, MAX(x.order_date) AS newest_date, MAX(x._refreshed_at) AS last_refreshed_at
  FROM FCT_REVENUE_DAILY x),
sig AS (SELECT 'fct_daily_signups' AS mart, MAX(y.signup_date) AS newest_date,
        MAX(y._refreshed_at) AS last_refreshed_at FROM fct_daily_signups y),
all_of_them AS (SELECT * FROM Rev UNION ALL SELECT * FROM sig)
SELECT z.mart, z.newest_date, z.last_refreshed_at, ROUND(EPOCH(as_of() - z.last_refreshed_at) / 3600, 1) AS hours_stale
FROM all_of_them z ORDER BY z.mart""",
    "dashboard_gap": """WITH Stg AS (SELECT DISTINCT Order_Date FROM STG_ORDERS),
     Fct AS (SELECT order_date FROM fct_revenue_daily)
SELECT a.order_date FROM Stg a LEFT JOIN Fct b ON b.order_date = a.order_date
WHERE b.order_date IS NULL ORDER BY a.order_date""",
}


def copied(name: str, renamed: bool):
    """Notebook ``name`` solved, with the pair's answers (the original, or the renamed copy)."""
    notebook = solved(name)
    for grade_id, source in (COPIED_ANSWERS if renamed else OWN_ANSWERS).items():
        if any(c.metadata.get("nbgrader", {}).get("grade_id") == grade_id for c in notebook.cells):
            answer(notebook, grade_id, source)
    return notebook


# ----- the class -------------------------------------------------------------------------
def _truncated(notebook) -> bytes:
    text = nbformat.writes(notebook).encode()
    return text[: len(text) // 2]


def _huge(notebook) -> object:
    notebook = insert_after(notebook, "setup", 'print("x" * 50_000_000)')
    noisy = notebook.cells[notebook.cells.index(_cell(notebook, "setup")) + 1]
    noisy.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x" * 50_000_000)]
    return notebook


def students(warehouse: Path) -> dict[str, dict[str, object]]:
    """student -> {file name: notebook node or raw bytes}. Lazy: each value is built on demand."""
    def every(make):
        return lambda: {f"{n}.ipynb": make(n) for n in NB}

    def pair(first, second):
        return lambda: {f"{NB[0]}.ipynb": first(), f"{NB[1]}.ipynb": second()}

    return {
        # whole assignment
        "full_marks": every(solved),
        "blank": every(blank),
        "partly_right": every(partly_right),
        "hard_coded": every(lambda n: hard_coded(n, warehouse)),
        # submissions that go wrong (notebooks 01 and 02)
        "infinite_loop": pair(lambda: _edit(solved(NB[0]), "dashboard_gap", "while True:\n    pass"),
                              lambda: solved(NB[1])),
        "kernel_crash": pair(lambda: solved(NB[0]),
                             lambda: insert_after(solved(NB[1]), "setup", "import os\nos._exit(1)")),
        "edited_setup": pair(lambda: _edit(solved(NB[0]), "setup",
                                           'from wt06.notebook import start\n\n'
                                           'course = start("01_detect_staleness", as_of="2024-02-09 07:00")'),
                             lambda: solved(NB[1])),
        "deleted_tests": pair(lambda: _without_tests(solved(NB[0])), lambda: solved(NB[1])),
        "edited_tests": pair(lambda: _edit(answer(solved(NB[0]), "dashboard_gap", "select 1 as order_date"),
                                           "test_dashboard_gap", "pass"),
                             lambda: solved(NB[1])),
        "malformed_json": lambda: {f"{NB[0]}.ipynb": solved(NB[0]), f"{NB[1]}.ipynb": _truncated(solved(NB[1]))},
        "renamed": lambda: {f"{NB[0]}-Copy1.ipynb": solved(NB[0]), f"{NB[1]}.ipynb": solved(NB[1])},
        "missing": lambda: {f"{NB[0]}.ipynb": solved(NB[0])},
        "empty": lambda: {},
        "huge_output": pair(lambda: _huge(solved(NB[0])), lambda: solved(NB[1])),
        # a copied pair (notebook 01): similar answers
        "copy_original": lambda: {f"{NB[0]}.ipynb": copied(NB[0], renamed=False)},
        "copy_renamed": lambda: {f"{NB[0]}.ipynb": copied(NB[0], renamed=True)},
    }


WHOLE = ["full_marks", "blank", "partly_right", "hard_coded"]
COPY_PAIR = ["copy_original", "copy_renamed"]
BROKEN = ["infinite_loop", "kernel_crash", "edited_setup", "deleted_tests", "edited_tests",
          "malformed_json", "renamed", "missing", "empty", "huge_output"]


def _edit(notebook, grade_id, source):
    _cell(notebook, grade_id).source = source
    return notebook


def _without_tests(notebook):
    notebook.cells = [c for c in notebook.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    return notebook


def write_class(folder: Path, names: list[str], warehouse: Path) -> Path:
    makers = students(warehouse)
    for name in names:
        target = Path(folder) / name / ASSIGNMENT
        target.mkdir(parents=True, exist_ok=True)
        for filename, content in makers[name]().items():
            data = content if isinstance(content, bytes) else nbformat.writes(content).encode()
            (target / filename).write_bytes(data)
    return Path(folder)


# ----- a generated class of any size (scale tests, benchmarks) ----------------------------
MIXED_KINDS = ["full", "partial", "hard_coded", "malformed", "full", "blank", "crash", "partial",
               "deleted_tests", "empty", "renamed", "full"]


def _kind(kind: str, name: str, warehouse: Path) -> dict[str, object]:
    """One notebook's files for a kind of submission (broken kinds break this notebook)."""
    if kind == "empty":
        return {}
    notebook = {"full": solved, "partial": partly_right, "blank": blank, "malformed": solved,
                "crash": solved, "deleted_tests": solved, "renamed": solved,
                "hard_coded": lambda n: hard_coded(n, warehouse)}[kind](name)
    if kind == "malformed":
        return {f"{name}.ipynb": _truncated(notebook)}
    if kind == "crash":
        return {f"{name}.ipynb": insert_after(notebook, "setup", "import os\nos._exit(1)")}
    if kind == "deleted_tests":
        return {f"{name}.ipynb": _without_tests(notebook)}
    if kind == "renamed":
        return {f"{name}-Copy1.ipynb": notebook}
    return {f"{name}.ipynb": notebook}


def mixed_class(folder: Path, size: int, warehouse: Path, notebooks=tuple(NB)) -> dict[str, str]:
    """Write ``size`` submissions cycling through MIXED_KINDS (full, partly right, hard-coded,
    blank and broken ones) for ``notebooks``; returns student -> kind. Students are named
    ``s007-hard_coded``, so a grade table shows what each was."""
    made: dict[str, dict[str, bytes]] = {}
    kinds = {}
    for i in range(size):
        kind = MIXED_KINDS[i % len(MIXED_KINDS)]
        if kind not in made:
            made[kind] = {}
            for name in notebooks:
                for filename, content in _kind(kind, name, warehouse).items():
                    made[kind][filename] = content if isinstance(content, bytes) else \
                        nbformat.writes(content).encode()
        student = f"s{i:03d}-{kind}"
        target = Path(folder) / student / ASSIGNMENT
        target.mkdir(parents=True, exist_ok=True)
        for filename, data in made[kind].items():
            (target / filename).write_bytes(data)
        kinds[student] = kind
    return kinds


if __name__ == "__main__":
    from wt06.foundation import paths

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else submitted_dir(GRADER)
    write_class(out, WHOLE + BROKEN + COPY_PAIR, paths.warehouse_path())
    print(f"wrote {len(WHOLE + BROKEN + COPY_PAIR)} fixture submissions to {out}")
