"""``singular_test``: the student's dbt singular test, judged on many warehouse states.

One stale/fresh pair can be passed by a test with memory (it fails the first time it
runs in a warehouse, passes afterwards) or by luck. So on each incident the test is
judged on several states, in an order that a memorising test cannot follow:

* on the student's own incident, real ``dbt test`` runs: the incident as it is (the
  marts are days old: it must *fail*) and the incident rebuilt by ``dbt run`` at the
  story's now (it must *pass*), so dbt's own verdict counts (severity, config);
* the compiled test (compiled once, its "now" re-set per state) on: the rebuilt
  incident just inside the SLA (pass) and just past it (fail), one mart rebuilt and the
  other left stale (fail), one mart rebuilt but empty (fail: an empty mart is not fresh),
  and the stale and rebuilt states again (the same answers again).

On grading incidents the SLA variable is set to another value, so a threshold typed in
instead of ``var("mart_freshness_sla_hours")`` fails there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .base import Incident, Kind, Param, Verdict, where
from .running import LOCKED_DOWN, Workspace, later

SENTINEL = "1999-12-31 23:59:59"  # the clock the test is compiled at, replaced per state
SLA_VAR = "mart_freshness_sla_hours"
MARTS = ("fct_revenue_daily", "fct_daily_signups")


def _sla_hours(project: Path) -> float:
    import yaml

    return float(yaml.safe_load((project / "dbt_project.yml").read_text())["vars"][SLA_VAR])


def _status(run: dict) -> str:
    nodes = [status for _, kind, status in run.get("nodes", []) if kind == "test"]
    if not run.get("nodes"):
        return "not run: " + (run.get("error") or "dbt selected no test")[:200]
    return nodes[0] if len(nodes) == 1 else f"{len(nodes)} tests ran"


def _compiled(space: Workspace, test: str, sla: float) -> str | None:
    vars_ = json.dumps({SLA_VAR: sla})
    run = space.dbt(["dbt", "compile", "--select", test, "--vars", vars_], as_of=SENTINEL)
    if not run["success"]:
        return None
    found = sorted((space.folder / "dbt" / "target" / "compiled").rglob(f"{test}.sql"))
    return found[0].read_text() if found else None


def _replace_table(warehouse: Path, table: str, rows: list[tuple]) -> None:
    """Replace every row of ``table`` (file access is off, so rows travel through Python)."""
    import duckdb

    con = duckdb.connect(str(warehouse), config=LOCKED_DOWN)
    try:
        con.execute(f"delete from {table}")
        if rows:
            con.executemany(f"insert into {table} values ({', '.join('?' for _ in rows[0])})", rows)
    finally:
        con.close()


def _fails(warehouse: Path, sql: str, moment: str) -> str:
    """'fail' if the compiled test returns a row at ``moment``, 'pass' if not, or the error."""
    import duckdb

    con = duckdb.connect(str(warehouse), config=LOCKED_DOWN)
    try:
        count = con.execute(f"select count(*) from ({sql.replace(SENTINEL, moment)}) as t").fetchone()[0]
        return "fail" if count else "pass"
    except duckdb.Error as exc:
        return "error: " + " ".join(str(exc).split())[:200]
    finally:
        con.close()


class SingularTest(Kind):
    name = "singular_test"
    answer_type = "file"
    params = (Param("sla_shift_hours", (int, float), 5, "how far the SLA moves on grading incidents"),)
    default_incidents = ("canonical", "skipped_marts")

    def task(self, question, answer):
        test = Path(question.answer.name).stem
        return {"files": {question.answer.name: answer}, "test": test,
                "sla_shift_hours": question.params["sla_shift_hours"]}

    def run(self, task: dict, incidents: list[Incident], workspace: Path) -> dict:
        return {incident.id: self._run_one(task, incident, workspace) for incident in incidents}

    def _run_one(self, task: dict, incident: Incident, workspace: Path) -> dict:
        test, files = task["test"], task["files"]
        stale = Workspace(workspace, incident, files, slot="a")
        try:
            sla = _sla_hours(stale.project) + (0 if incident.is_canonical else task["sla_shift_hours"])
            vars_ = ["--vars", json.dumps({SLA_VAR: sla})]
            rebuilt = stale.folder / "rebuilt.duckdb"
            shutil.copy(incident.rebuilt, rebuilt)
            states = {}
            if incident.is_canonical:  # dbt's own verdict, severity and config included
                states["stale"] = _status(stale.dbt(["dbt", "test", "--select", test, *vars_]))
                kept = stale.folder / "stale.duckdb"
                shutil.copy(stale.warehouse, kept)
                shutil.copy(rebuilt, stale.warehouse)  # the same path: dbt keeps its parse
                states["rebuilt"] = _status(stale.dbt(["dbt", "test", "--select", test, *vars_]))
                shutil.copy(kept, stale.warehouse)
            sql = _compiled(stale, test, sla)
            if sql is None:
                return {"story": incident.story, "states": states}
            now = incident.now
            mixed, empty = stale.folder / "mixed.duckdb", stale.folder / "empty.duckdb"
            shutil.copy(rebuilt, mixed)
            shutil.copy(rebuilt, empty)
            _replace_table(mixed, MARTS[1], stale.sql(f"select * from {MARTS[1]}"))
            _replace_table(empty, MARTS[0], [])
            checks = [("stale, again" if incident.is_canonical else "stale", stale.warehouse, now),
                      ("inside the SLA", rebuilt, later(now, sla - 1)),
                      ("past the SLA", rebuilt, later(now, sla + 1)),
                      ("one mart stale", mixed, now), ("one mart empty", empty, now),
                      ("rebuilt, again" if incident.is_canonical else "rebuilt", rebuilt, now)]
            for label, warehouse, moment in checks:
                states[label] = _fails(warehouse, sql, moment)
            return {"story": incident.story, "states": states}
        finally:
            stale.remove()

    EXPECTED = {"stale": "fail", "rebuilt": "pass", "inside the SLA": "pass", "past the SLA": "fail",
                "one mart stale": "fail", "one mart empty": "fail", "stale, again": "fail",
                "rebuilt, again": "pass"}
    WORDS = {"stale": "the marts days old", "rebuilt": "right after a full dbt run",
             "inside the SLA": "an hour before the marts' age reaches the SLA",
             "past the SLA": "an hour after the marts' age passes the SLA",
             "one mart stale": "one mart rebuilt, the other days old", "one mart empty": "a rebuilt mart with no rows",
             "stale, again": "the marts days old (a second time)", "rebuilt, again": "right after a full run (a second time)"}

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        for incident, expected in reference.items():
            got = student.get(incident) or {}
            place = where(expected["story"])
            if "error" in got:
                return Verdict(False, f"On {place}: {got['error']}")
            states = got.get("states", {})
            for label, want in self.EXPECTED.items():
                if label not in expected.get("states", {}):
                    continue
                have = states.get(label, "not run: dbt could not compile your test")
                if have != want:
                    return Verdict(False, f"On {place}, with {self.WORDS[label]}, your test says {have!r}: "
                                          f"it should {want}. {question.hint}".strip())
        return Verdict(True)
