"""Run a student's answers against prepared incidents and report what happened.

Run as a separate process, ``python -I checker.py < job.json > results.json``, so a
sandbox can wrap it like the grading kernel, and so nothing the student's kernel did
can reach it: it starts fresh, before that kernel ever runs. It judges nothing: it
reports raw results (the rows a query returned, what dbt did), and the grader compares
them with the reference answers' results, computed by this same program.

Student SQL runs with DuckDB's file access disabled (``enable_external_access=false``,
which cannot be turned back on), on read-only or throw-away copies of the warehouses,
with a time limit. dbt runs in this process with the same DuckDB setting.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
import tempfile
import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

QUERY_SECONDS = 20
MAX_ROWS = 500
LOCKED_DOWN = {"enable_external_access": False}


def _plain(value):
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


def _query(warehouse: str, sql: str, moment: str) -> dict:
    """Rows of ``sql`` on a read-only warehouse with as_of() = moment, or the error."""
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{warehouse}' as wh (read_only)")
        con.execute("use wh")
        con.execute(f"create temp macro as_of() as timestamp '{moment}'")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
        timer = threading.Timer(QUERY_SECONDS, con.interrupt)
        timer.start()
        try:
            cursor = con.execute(sql)
            columns = [d[0].lower() for d in cursor.description or []]
            rows = cursor.fetchmany(MAX_ROWS + 1)
        finally:
            timer.cancel()
        return {"columns": columns, "rows": [[_plain(v) for v in row] for row in rows[:MAX_ROWS]],
                "truncated": len(rows) > MAX_ROWS}
    except duckdb.InterruptException:
        return {"error": f"the query ran longer than {QUERY_SECONDS} s and was stopped"}
    except duckdb.Error as exc:
        return {"error": " ".join(str(exc).split())[:400]}
    finally:
        con.close()


def _lock_down_profile(path: Path) -> None:
    """The project's own profile, with DuckDB's file access off for everything dbt runs."""
    import yaml

    profiles = yaml.safe_load(path.read_text())
    for profile in profiles.values():
        for output in profile["outputs"].values():
            output["config_options"] = dict(LOCKED_DOWN)
    path.write_text(yaml.safe_dump(profiles))


def _project_copy(pristine: str, folder: Path, files: dict[str, str]) -> Path:
    project = folder / "dbt_project"
    shutil.copytree(pristine, project, ignore=shutil.ignore_patterns("target", "logs"))
    _lock_down_profile(project / "profiles.yml")
    for relative, text in files.items():
        target = (project / relative).resolve()
        if project.resolve() not in target.parents:
            raise ValueError(f"{relative} is outside the project")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return project


def _dbt(command, *, warehouse: Path, project: Path, work: Path, as_of: str) -> dict:
    from wt06 import dbt_runner
    from wt06.errors import CourseError

    try:
        result = dbt_runner.invoke(command, as_of=as_of, warehouse=warehouse, project=project,
                                   work=work, record=False, origin="grader")
    except CourseError as exc:
        return {"success": False, "error": str(exc), "nodes": [], "models_run": [], "listed": []}
    finally:
        dbt_runner.release()
    return {"success": result.success, "error": result.error, "nodes": result.nodes,
            "models_run": result.models_run, "listed": result.listed,
            "log_tail": result.log[-1500:] if not result.success else ""}


def _state(warehouse: Path) -> dict:
    con = duckdb.connect(str(warehouse), config=LOCKED_DOWN)
    try:
        row = con.execute("""
            select (select max(order_date) from stg_orders),
                   (select max(order_date) from fct_revenue_daily),
                   (select max(signup_date) from fct_daily_signups),
                   (select max(_refreshed_at) from fct_revenue_daily),
                   (select max(_refreshed_at) from fct_daily_signups)""").fetchone()
    finally:
        con.close()
    keys = ["staging_newest", "revenue_newest", "signups_newest", "revenue_refreshed", "signups_refreshed"]
    return dict(zip(keys, (_plain(v) for v in row)))


def _later(moment: str, hours: float) -> str:
    return (datetime.fromisoformat(moment) + timedelta(hours=hours)).isoformat(sep=" ")


def run_task(task: dict, scenarios: dict, pristine: str, scratch: Path) -> dict:
    kind = task["kind"]
    out = {}
    for name in task["scenarios"]:
        scenario = scenarios[name]
        folder = Path(tempfile.mkdtemp(dir=scratch))
        if kind == "query":
            moments = scenario["moments"] if task.get("replay") else [scenario["now"]]
            out[name] = {m: _query(scenario["warehouse"], task["sql"], m) for m in moments}
            continue
        warehouse = folder / "warehouse.duckdb"
        shutil.copy(scenario["warehouse"], warehouse)
        project = _project_copy(pristine, folder, task.get("files", {}))
        dbt = dict(warehouse=warehouse, project=project, work=folder, as_of=scenario["now"])
        if kind == "selector":
            out[name] = _dbt(["dbt", "ls", "--resource-type", "model", "--output", "name",
                              "--select", task["selector"]], **dbt)
        elif kind == "command":
            out[name] = {"run": _dbt(task["command"], **dbt), "state": _state(warehouse)}
        elif kind == "source_freshness":
            out[name] = {"now": _dbt("dbt source freshness", **dbt),
                         "later": _dbt("dbt source freshness", **{**dbt, "as_of": _later(scenario["now"], 72)})}
        elif kind == "singular_test":
            select = f"dbt test --select {task['test_name']}"
            stale = _dbt(select, **dbt)
            rebuilt = _dbt("dbt run", **dbt)
            out[name] = {"stale": stale, "fresh": _dbt(select, **dbt), "rebuild_ok": rebuilt["success"]}
        shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> int:
    job = json.load(sys.stdin)
    results = {}
    with tempfile.TemporaryDirectory(prefix="wt06-checker-") as scratch, \
            contextlib.redirect_stdout(io.StringIO()):  # whatever runs here cannot print a verdict
        for task in job["tasks"]:
            try:
                results[task["id"]] = run_task(task, job["scenarios"], job["project"], Path(scratch))
            except Exception as exc:  # one broken answer must not stop the others
                results[task["id"]] = {"checker_error": f"{type(exc).__name__}: {exc}"[:400]}
    sys.stdout.write(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
