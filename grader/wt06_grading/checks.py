"""The hidden checks: which answer each graded test cell judges, and how.

Each check names the test cell (its nbgrader grade_id) it decides, the answer it reads
(a saved query, a project file or a Python literal; see answers.py), the task the
checker runs for it on prepared incidents, and how the student's result is compared
with the reference answer's result on the same incidents. Comparisons happen here, in
the grader's process; the checker only reports what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from .answers import Answer, SavedQueries, file_answer, query_answer, value_answer

CANONICAL = "canonical"
FRESHNESS_TEST = "assert_marts_fresh"
SCENARIO_WORDS = {CANONICAL: "the course's incident"}


def scenario_words(name: str) -> str:
    return SCENARIO_WORDS.get(name, "another incident (other dates, run ids and number of phantom runs)")


@dataclass(frozen=True)
class Check:
    test_id: str
    kind: str  # query | value | selector | command | source_freshness | singular_test
    answer: str  # saved query name, answer cell grade_id, or project file path
    variable: str = ""
    columns: tuple[str, ...] = ()
    ordered: bool = True
    tolerance: float = 0.0
    replay: bool = False
    hint: str = ""
    all_scenarios: bool = True  # False: the canonical incident and one variant only


CHECKS: tuple[Check, ...] = (
    Check("test_mart_staleness", "query", "mart_staleness",
          columns=("mart", "newest_date", "last_refreshed_at", "hours_stale"), ordered=False,
          tolerance=0.051, hint="Measure against as_of(), and type no date into the query."),
    Check("test_dashboard_gap", "query", "dashboard_gap", columns=("order_date",),
          hint="Compare the two tables; do not type the dates in."),
    Check("test_green_runs_since_refresh", "query", "green_runs_since_refresh",
          columns=("run_id", "started_at", "status", "exit_code"),
          hint="Compare with the marts' last _refreshed_at and with as_of(), not with fixed dates or run ids."),
    Check("test_smoking_gun", "value", "smoking_gun", variable="smoking_gun_column",
          hint="Which column says what each run built?"),
    Check("test_marts_selector", "selector", "marts_selector", variable="marts_selector",
          hint="The selector must pick every mart model and nothing else."),
    Check("test_phantom_successes", "query", "phantom_successes",
          columns=("run_id", "started_at", "models_run", "duration_seconds"),
          hint="Is a run id, a date or the selector typed into the query? Phantom runs are green runs "
               "whose models_run is not 'all', whatever selector they used."),
    Check("test_root_cause", "query", "root_cause",
          columns=("last_full_run", "last_full_run_finished_at", "first_phantom_run",
                   "first_phantom_started_at", "selector"),
          hint="Find the runs from the log itself; type no run id or date."),
    Check("test_affected_marts", "value", "affected_marts", variable="affected_marts",
          hint="Which downstream models did the scheduler never build?"),
    Check("test_missing_by_day", "query", "missing_by_day",
          columns=("day", "revenue_missing", "signups_missing"), tolerance=0.005,
          hint="Revenue counts completed orders only; compare staging with the marts day by day."),
    Check("test_missing_revenue", "query", "missing_revenue", columns=("missing_revenue",),
          tolerance=0.005, hint="Compute it from the data, as missing_by_day does."),
    Check("test_scheduler_command", "command", "scheduler_command", variable="scheduler_command",
          all_scenarios=False, hint="The scheduler's command must build every model."),
    Check("test_source_freshness", "source_freshness", "models/staging/_sources.yml",
          all_scenarios=False,
          hint="Every raw table needs loaded_at_field and thresholds: fresh raw data must not error, "
               "raw data three days old must."),
    Check("test_freshness_test", "singular_test", f"tests/{FRESHNESS_TEST}.sql",
          all_scenarios=False,
          hint="Compare the marts' _refreshed_at with {{ current_timestamp() }} and the SLA variable; "
               "type no date in."),
    Check("test_phantom_alert", "query", "phantom_alert", columns=("run_id", "started_at"),
          replay=True,
          hint="At each moment the rule may only see runs that had finished by as_of()."),
)

BY_TEST = {c.test_id: c for c in CHECKS}


@dataclass
class Verdict:
    passed: bool
    message: str = ""


@dataclass
class Tasks:
    """What the checker must run for one notebook's answers, and answers with no task."""

    tasks: list[dict] = field(default_factory=list)
    unanswered: dict[str, str] = field(default_factory=dict)  # test_id -> problem
    values: dict[str, object] = field(default_factory=dict)  # test_id -> literal answers


def build_tasks(checks, saved: SavedQueries, files: dict, python: dict,
                scenarios: list[str]) -> Tasks:
    out = Tasks()
    dbt_scenarios = scenarios[:2]
    for check in checks:
        answer: Answer
        if check.kind == "query":
            answer = query_answer(saved, check.answer)
        elif check.kind in ("source_freshness", "singular_test"):
            answer = file_answer(files, check.answer)
        else:
            answer = value_answer(python, check.answer, check.variable)
        if not answer.ok:
            out.unanswered[check.test_id] = answer.problem
            continue
        task = {"id": check.test_id, "kind": check.kind,
                "scenarios": scenarios if check.all_scenarios else dbt_scenarios}
        if check.kind == "query":
            task.update(sql=answer.value, replay=check.replay)
        elif check.kind == "value":
            out.values[check.test_id] = answer.value
            continue
        elif check.kind == "selector":
            if not isinstance(answer.value, str):
                out.unanswered[check.test_id] = f"{check.variable} must be a string"
                continue
            task.update(selector=answer.value)
        elif check.kind == "command":
            if not isinstance(answer.value, str):
                out.unanswered[check.test_id] = f"{check.variable} must be a string"
                continue
            task.update(command=answer.value)
        elif check.kind == "source_freshness":
            task.update(files={check.answer: answer.value})
        elif check.kind == "singular_test":
            task.update(files={check.answer: answer.value}, test_name=FRESHNESS_TEST)
        out.tasks.append(task)
    return out


# ----- comparing results ---------------------------------------------------------------
def _cell(value):
    """One value in a comparable form: a midnight timestamp equals its date."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in " T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.time() == time(0):
            return moment.date().isoformat()
        return moment.replace(microsecond=0).isoformat(sep=" ")
    return value


def _cells(result: dict, columns: tuple[str, ...]) -> list[tuple]:
    index = [result["columns"].index(c) for c in columns]
    return [tuple(_cell(row[i]) for i in index) for row in result["rows"]]


def _close(a, b, tolerance: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= max(tolerance, 1e-6)
    return a == b


def _same_rows(mine: list, theirs: list, tolerance: float) -> bool:
    return len(mine) == len(theirs) and all(
        len(x) == len(y) and all(_close(a, b, tolerance) for a, b in zip(x, y))
        for x, y in zip(mine, theirs))


def compare_query(check: Check, student: dict, reference: dict) -> Verdict:
    for scenario, moments in reference.items():
        for moment, expected in moments.items():
            got = student.get(scenario, {}).get(moment)
            where = scenario_words(scenario)
            when = f" at as_of() = {moment}" if check.replay else ""
            if got is None or "error" in got:
                reason = got["error"] if got else "no result"
                return Verdict(False, f"On {where}{when} your query failed: {reason}")
            missing = [c for c in check.columns if c not in got["columns"]]
            if missing:
                return Verdict(False, f"Your query does not return the column(s) {', '.join(missing)}.")
            mine = _cells(got, check.columns)
            theirs = _cells(expected, check.columns)
            if not check.ordered:
                mine, theirs = sorted(mine, key=repr), sorted(theirs, key=repr)
            if not _same_rows(mine, theirs, check.tolerance):
                return Verdict(False, f"On {where}{when} your query returns {len(mine)} row(s); they differ "
                                      f"from the correct answer ({len(theirs)} row(s)). {check.hint}")
    return Verdict(True)


def _normalise_value(value):
    if isinstance(value, (set, frozenset, list, tuple)):
        return sorted(str(v).strip() for v in value)
    return str(value).strip()


def compare_value(check: Check, student, reference) -> Verdict:
    if _normalise_value(student) == _normalise_value(reference):
        return Verdict(True)
    return Verdict(False, f"{check.variable} = {student!r} is not right. {check.hint}")


def _statuses(run: dict) -> list[str]:
    return [status for _, _, status in run.get("nodes", [])]


def compare_dbt(check: Check, student: dict, reference: dict) -> Verdict:
    for scenario, expected in reference.items():
        got = student.get(scenario)
        where = scenario_words(scenario)
        if got is None:
            return Verdict(False, f"Nothing was run on {where}.")
        if check.kind == "selector":
            if not got["success"]:
                return Verdict(False, f"dbt could not use the selector: {got['error']}")
            if sorted(got["listed"]) != sorted(expected["listed"]):
                return Verdict(False, f"The selector picks {', '.join(got['listed']) or 'nothing'}. {check.hint}")
        elif check.kind == "command":
            run, state = got["run"], got["state"]
            if not run["success"]:
                return Verdict(False, f"On {where} the command failed: {run['error'] or 'a model failed'}")
            left_out = sorted(set(expected["run"]["models_run"]) - set(run["models_run"]))
            if left_out:
                return Verdict(False, f"On {where} the command leaves out {', '.join(left_out)}. {check.hint}")
            if state["revenue_newest"] != state["staging_newest"]:
                return Verdict(False, f"On {where} the marts are still behind staging after the command.")
        elif check.kind == "source_freshness":
            now, later = _statuses(got["now"]), _statuses(got["later"])
            tables = len(_statuses(expected["now"]))
            if len(now) < tables:
                return Verdict(False, f"dbt checked the freshness of {len(now)} of the {tables} raw tables "
                                      f"on {where}: {got['now'].get('error') or check.hint}")
            if any(s not in ("pass", "warn") for s in now):
                return Verdict(False, f"On {where}, at the story's now (raw data a few hours old) source "
                                      f"freshness reports {sorted(set(now))}: it should not error. {check.hint}")
            if any(s != "error" for s in later):
                return Verdict(False, f"On {where}, three days later with no new data, source freshness "
                                      f"reports {sorted(set(later))}: it should error. {check.hint}")
        elif check.kind == "singular_test":
            stale, fresh = _statuses(got["stale"]), _statuses(got["fresh"])
            if stale != ["fail"]:
                return Verdict(False, f"On {where} the marts are days old, yet your test says "
                                      f"{stale or got['stale'].get('error')}: it should fail. {check.hint}")
            if fresh != ["pass"]:
                return Verdict(False, f"On {where}, right after a full dbt run, your test says "
                                      f"{fresh or got['fresh'].get('error')}: it should pass. {check.hint}")
    return Verdict(True)


def judge(check: Check, student_result, reference_result) -> Verdict:
    """The verdict for one check, from the checker's results for the student and the reference."""
    if isinstance(student_result, dict) and "checker_error" in student_result:
        return Verdict(False, f"Your answer could not be checked: {student_result['checker_error']}")
    if check.kind == "query":
        return compare_query(check, student_result, reference_result)
    if check.kind == "value":
        return compare_value(check, student_result, reference_result)
    return compare_dbt(check, student_result, reference_result)
