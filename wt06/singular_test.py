"""Run a singular freshness test across many warehouse states, and judge it.

A test that should fail when the dashboard's marts are older than the SLA is only right
if it does so in every state, not on one lucky pair: right after a full rebuild, just
inside and just past the SLA, with one mart stale and the other fresh, with an empty
mart (an empty mart is not fresh), with another value of the SLA variable, and when run
twice in a row (a test with memory gives itself away). Each state is reached with real
dbt runs on a copy of the incident, at moments of the story's clock; what the test
*should* say follows from the state and the SLA, not from a reference answer.

Callable with plain paths; returns JSON-able results (the grader runs the same function
on its own incidents).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from . import clock, dbt_runner
from .project import FRESHNESS_TEST, SLA_VAR, dashboard_marts, mart_sla_hours
from .warehouse import read_clock
from .workcopy import copy_project, copy_warehouse

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

        later = rebuilt + timedelta(hours=sla) + timedelta(hours=1)
        first, *others = marts
        emptied = others[-1] if others else first
        dbt(f"dbt run --select {first}", later)
        expect(f"only {first} rebuilt: the other mart is stale", later, "fail")
        for other in others:
            dbt(f"dbt run --select {other}", later + timedelta(hours=1))
        both = later + timedelta(hours=1)
        expect("both marts rebuilt at different times, both within the SLA", both, "pass")

        con = duckdb.connect(str(copy))
        try:
            con.execute(f"delete from {emptied}")
        finally:
            con.close()
        expect("an empty mart (rebuilt from nothing)", both, "fail")
        expect("an empty mart, tested again", both, "fail")

        # Another SLA (dbt re-parses when variables change: these come last, together).
        dbt(f"dbt run --select {emptied}", both)
        age = oldest_age(both + timedelta(hours=sla))
        at = both + timedelta(hours=sla)
        expect("the SLA variable set above the marts' age", at, "pass", sla_hours=round(age + sla))
        expect("the SLA variable set below the marts' age", at, "fail", sla_hours=max(1, round(age / 2)))
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
