"""Run a singular freshness test across many warehouse states, and judge it.

A test that should fail when the dashboard's marts are older than the SLA is only right
if it does so in every state, not on one lucky pair: right after a full rebuild, just
inside and just past the SLA, with **each** mart stale alone (the others fresh), with
**each** mart empty alone (an empty mart is not fresh), with every mart rebuilt at a
different time, with another value of the SLA variable, and when run twice in a row (a
test with memory gives itself away). Every single fault of a dashboard mart is in the
matrix, so a test that reads one mart only fails the state where the other is the stale
one. Each state is reached with real dbt runs on a copy of the incident, at moments of the
story's clock; what the test *should* say follows from the state and the SLA, not from a
reference answer.

Callable with plain paths; returns JSON-able results (the grader runs the same function
on its own incidents).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from wt06.incident import clock
from wt06.incident.warehouse import read_clock
from wt06.incident.workcopy import copy_project, copy_warehouse
from wt06.pipeline import dbt_runner
from wt06.project import FRESHNESS_TEST, SLA_VAR, dashboard_marts, mart_sla_hours

MARGIN = timedelta(minutes=5)


def _status(result: dbt_runner.DbtResult, test: str) -> str:
    if result.ran_nothing:
        return "not run"
    status = result.status_of(test)
    if status is None:
        return "error" if not result.success else "not run"
    return status


def run_states(warehouse: Path, project: Path, work: Path, *, test: str = FRESHNESS_TEST) -> dict:
    """Put a copy of ``warehouse`` through the states and run ``test`` in each.

    ``project`` holds the test (``tests/<test>.sql``); it is copied, never changed.
    Returns ``{"test", "sla_hours", "states": [{"state", "as_of", "expected", "status"}],
    "passed"}``: passed when every status is the expected one.
    """
    work = Path(work)
    project_copy = copy_project(Path(project), work / "states" / "dbt_project")
    copy = copy_warehouse(Path(warehouse), work / "states" / "warehouse.duckdb")
    sla = mart_sla_hours(project_copy)
    marts = dashboard_marts(project_copy)
    now = read_clock(copy) or clock.as_of()
    states: list[dict] = []

    def dbt(command: str, at: datetime) -> dbt_runner.DbtResult:
        # --vars at run time: the test's SQL is rendered with the other SLA, and the
        # project is not parsed again for it (see dbt_runner, "One parse per project contents")
        return dbt_runner.invoke(command, as_of=at, warehouse=copy, project=project_copy,
                                 work=work / "states", record=False, vars_at_runtime=True)

    def expect(label: str, at: datetime, expected: str, sla_hours: float | None = None) -> None:
        command = f"dbt test --select {test}"
        if sla_hours is not None:
            command += f" --vars '{{{SLA_VAR}: {sla_hours:g}}}'"
        result = dbt(command, at)
        state = {"state": label, "as_of": clock.format_ts(at), "expected": expected, "status": _status(result, test)}
        if state["status"] == "error":  # what dbt said (a compile error in the test, a database error)
            state["detail"] = (result.error or dbt_runner.readable_log(result.log))[-300:]
        states.append(state)

    def oldest_age(at: datetime) -> float:
        con = duckdb.connect(str(copy))
        try:
            refreshed = min(con.execute(f"select max(_refreshed_at) from {m}").fetchone()[0] for m in marts)
        finally:
            con.close()
        return (at - refreshed).total_seconds() / 3600

    try:
        stale = "fail" if oldest_age(now) > sla else "pass"
        expect("the incident as it stands", now, stale)
        expect("the same state, tested again", now, stale)

        rebuilt = now
        if not dbt("dbt run", rebuilt).success:
            raise RuntimeError("the full rebuild failed")
        expect("right after a full rebuild", rebuilt, "pass")
        expect("right after a full rebuild, tested again", rebuilt, "pass")
        expect("just inside the SLA", rebuilt + timedelta(hours=sla) - MARGIN, "pass")
        expect("just past the SLA", rebuilt + timedelta(hours=sla) + MARGIN, "fail")

        # Each mart stale alone: every other mart rebuilt, this one last rebuilt more than
        # the SLA ago (a test that reads one mart only passes here for the other one).
        at = rebuilt
        for mart in marts:
            at += timedelta(hours=sla) + timedelta(hours=1)
            others = [m for m in marts if m != mart]
            if others:
                dbt(f"dbt run --select {' '.join(others)}", at)
            expect(f"{mart} alone past the SLA (every other mart just rebuilt)", at, "fail")
        at += timedelta(hours=1)
        dbt(f"dbt run --select {marts[-1]}", at)
        expect("every mart rebuilt, at different times, all within the SLA", at, "pass")

        # Another SLA (handed to dbt at run time, so the project is not parsed again).
        later = at + timedelta(hours=sla)
        age = oldest_age(later)
        expect("the SLA variable set above the marts' age", later, "pass", sla_hours=round(age + sla))
        expect("the SLA variable set below the marts' age", later, "fail", sla_hours=max(1, round(age / 2)))

        # Each mart empty alone, the others fresh: an empty mart holds no fresh data.
        for index, mart in enumerate(marts):
            if index:  # the mart emptied before is rebuilt: one fault at a time
                dbt(f"dbt run --select {marts[index - 1]}", at)
            con = duckdb.connect(str(copy))
            try:
                con.execute(f"delete from {mart}")
            finally:
                con.close()
            expect(f"{mart} empty (every other mart fresh)", at, "fail")
    finally:
        dbt_runner.release()
    passed = all(s["status"] == s["expected"] for s in states)
    return {"test": test, "sla_hours": sla, "states": states, "passed": passed}


def describe(outcome: dict) -> str:
    """One line per state that went wrong (empty when every state is right)."""
    wrong = [s for s in outcome["states"] if s["status"] != s["expected"]]
    return "\n".join(f"{s['state']} (at {s['as_of']}): the test says {s['status']!r}, it should "
                     f"{'fail' if s['expected'] == 'fail' else 'pass'}"
                     + (f" (dbt: {' '.join(s['detail'].split())[:200]})" if s.get("detail") else "") for s in wrong)
