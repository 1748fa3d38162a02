"""What kinds use to run a student's answer inside the checker: SQL and dbt, locked down.

Student SQL runs on a read-only attachment of an incident's warehouse, with DuckDB's
file access disabled and the setting locked (``enable_external_access=false``,
``lock_configuration``), so a query can read neither instructor files nor another
incident's warehouse, with a time limit and a row limit. dbt runs in-process (warm in
the zygote) on a throw-away copy of the warehouse and of the pristine project whose
profile carries the same DuckDB lock-down, so a model, test or macro cannot read files
either.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

from wt06.errors import CourseError
from wt06.foundation.results import plain
from wt06.pipeline import dbt_runner

QUERY_SECONDS = 20
MAX_ROWS = 500
LOCKED_DOWN = {"enable_external_access": False}


def query(warehouse: str, sql: str, moment: str) -> dict:
    """Rows of ``sql`` on a read-only ``warehouse`` with as_of() = ``moment``, or the error."""
    import duckdb

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
        return {"columns": columns, "rows": [[plain(v) for v in row] for row in rows[:MAX_ROWS]],
                "truncated": len(rows) > MAX_ROWS}
    except duckdb.InterruptException:
        return {"error": f"the query ran longer than {QUERY_SECONDS} s and was stopped"}
    except duckdb.Error as exc:
        return {"error": " ".join(str(exc).split())[:400]}
    finally:
        con.close()


def later(moment: str, hours: float) -> str:
    return (datetime.fromisoformat(moment) + timedelta(hours=hours)).isoformat(sep=" ")


def _lock_down_profile(path: Path) -> None:
    """dbt's connections turn DuckDB's file access off, and lock the setting.

    As ``settings`` (SET statements on each connection), not ``config_options``: the
    setting then belongs to the database, and the course's own code may open the same
    file beside dbt (same configuration) and is locked down with it. DuckDB refuses to
    turn file access back on while a database is open, so no model, test or macro can.
    """
    import yaml

    profiles = yaml.safe_load(path.read_text())
    for profile in profiles.values():
        if not isinstance(profile, dict) or "outputs" not in profile:
            continue
        for output in profile["outputs"].values():
            output["settings"] = dict(LOCKED_DOWN)
    path.write_text(yaml.safe_dump(profiles))


class Workspace:
    """Fresh copies of an incident's warehouse and the pristine project, in a folder of their own.

    dbt parses a project once per contents in a process (wt06.pipeline.dbt_runner): the zygote
    parsed the pristine project before forking this job, so an unchanged project is not
    parsed at all and a student's new or changed file is parsed alone.
    """

    def __init__(self, root: Path, incident, files: dict[str, str] | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(dir=root))
        self.warehouse = self.folder / "warehouse.duckdb"
        shutil.copy(incident.warehouse, self.warehouse)
        self.project = self.folder / "dbt_project"
        shutil.copytree(incident.project, self.project, ignore=shutil.ignore_patterns("target", "logs"))
        _lock_down_profile(self.project / "profiles.yml")
        for relative, text in (files or {}).items():
            target = (self.project / relative).resolve()
            if self.project.resolve() not in target.parents:
                raise ValueError(f"{relative} is outside the project")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.now = incident.now

    def dbt(self, command, *, as_of: str | None = None) -> dict:
        """Run dbt in-process on this workspace; what it did, as plain data."""
        def run():
            try:
                return dbt_runner.invoke(command, as_of=as_of or self.now, warehouse=self.warehouse,
                                         project=self.project, work=self.folder, record=False, quiet=True,
                                         origin="grader")
            finally:
                dbt_runner.release()

        try:
            result = run()
        except CourseError as exc:
            return {"success": False, "error": str(exc), "nodes": [], "models_run": [], "listed": []}
        return {"success": result.success, "error": result.error, "nodes": [list(n) for n in result.nodes],
                "models_run": result.models_run, "listed": result.listed,
                "log_tail": result.log[-1500:] if not result.success else ""}

    def sql(self, statement: str, params: list | None = None) -> list[tuple]:
        import duckdb

        con = duckdb.connect(str(self.warehouse), config=LOCKED_DOWN)
        try:
            return con.execute(statement, params or []).fetchall()
        finally:
            con.close()

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
