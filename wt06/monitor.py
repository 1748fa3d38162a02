"""A data-health monitor, designed by the student and replayed over incidents.

The orchestrator watches *pipeline* health (did the job crash?). A monitor watches what
the dashboard's users care about, from the data, on a schedule of its own. Its rules
are the student's (notebook 06):

``phantom``    SQL returning the runs, known at ``as_of()``, that the orchestrator showed
               as green but that did not rebuild the dashboard (alerts when it returns a row);
``duration``   SQL returning the runs, known at ``as_of()``, whose duration is an anomaly
               against a baseline (alerts while a flagged run finished in the last day; a
               baseline that learns the incident as the new normal falls silent);
``staleness_hours``  a threshold on the age of the newest data the dashboard shows (the
               newest loaded row that the last run rebuilding the dashboard's marts could
               see): alerts past it.

``replay`` evaluates the rules at every moment of an incident (each run's end and 09:00
every day), seeing only what was known then; ``metrics`` turns that into time to detect,
false alarms and whether a rule still alerts at the end, against what really happened
(``Scenario.truth()``); ``judge`` compares a student's metrics with the reference rules'.
Plain paths in, JSON out: the grader calls the same functions on its own incidents.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from pathlib import Path

import duckdb

from wt06.foundation.tables import FULL_RUN, LANDING_TABLES, RUN_LOG
from wt06.incident import clock
from wt06.incident.warehouse import read_clock, set_clock
from wt06.incident.workcopy import copy_warehouse
from wt06.pipeline import dbt_runner
from wt06.project import dashboard_marts

RULES = ("phantom", "duration", "staleness")
RULE_KEYS = {"phantom": "phantom", "duration": "duration", "staleness": "staleness_hours"}
RECENT_HOURS = 24  # a duration anomaly alerts for a day after the run
CHECK_TIME = time(9, 0)
SLACK_HOURS = {"phantom": 0.0, "duration": 0.0, "staleness": 24.0}  # later than the reference by

_SELECTIONS: dict[tuple[str, str], set[str]] = {}  # (project, models_run) -> models


def rules_problems(rules) -> list[str]:
    """What is wrong with a rules dict before anything runs (empty: usable)."""
    if not isinstance(rules, dict):
        return ["the rules must be a dict with keys " + ", ".join(RULE_KEYS.values())]
    problems = [f"the rules have no {key!r}" for key in RULE_KEYS.values() if key not in rules]
    for key in ("phantom", "duration"):
        if key in rules and not (isinstance(rules[key], str) and rules[key].strip()):
            problems.append(f"rules[{key!r}] must be a SQL query (text)")
    hours = rules.get("staleness_hours")
    if "staleness_hours" in rules and (isinstance(hours, bool) or not isinstance(hours, (int, float))
                                       or hours <= 0):
        problems.append("rules['staleness_hours'] must be a positive number of hours")
    return problems


def _selection(project: Path, work: Path, models_run: str) -> set[str]:
    """The models a run-log ``models_run`` value built (dbt ls; 'all' is every model).

    ``dbt ls`` needs no warehouse: it runs against a file that is never opened, in a
    folder of its own, so repeated calls reuse dbt's partial-parse state.
    """
    key = (str(Path(project).resolve()), models_run)
    if key not in _SELECTIONS:
        command = "dbt ls --resource-type model --output name"
        if models_run != FULL_RUN:
            command += f' --select "{models_run}"'
        folder = Path(work) / "dbt-ls"
        listed = dbt_runner.invoke(command, warehouse=folder / "warehouse.duckdb", project=project,
                                   work=folder, record=False)
        _SELECTIONS[key] = set(listed.listed)
    return _SELECTIONS[key]


def moments_of(con, now: datetime) -> list[datetime]:
    """Each run's end and 09:00 every day, from the first run in the log to ``now``."""
    finishes = [f for (f,) in con.execute(
        f"select finished_at from {RUN_LOG} where finished_at <= ? order by 1", [now]).fetchall()]
    if not finishes:
        return [now]
    moments = set(finishes) | {now}
    day = datetime.combine(finishes[0].date() + timedelta(days=1), CHECK_TIME)
    while day <= now:
        moments.add(day)
        day += timedelta(days=1)
    return sorted(moments)


def _builds(con, project: Path, work: Path) -> list[tuple[datetime, datetime]]:
    """(start, end) of every logged run whose selection rebuilt all the dashboard's marts."""
    marts = set(dashboard_marts(project))
    runs = con.execute(f"select started_at, finished_at, models_run from {RUN_LOG} "
                       "where status = 'success' order by finished_at").fetchall()
    return [(s, f) for s, f, models in runs if marts <= _selection(project, work, models)]


def data_age_hours(con, builds: list[tuple[datetime, datetime]], moment: datetime) -> float | None:
    """Age of the newest data the dashboard shows at ``moment`` (None: nothing built yet)."""
    done = [start for start, end in builds if end <= moment]
    if not done:
        return None
    union = " union all ".join(f"select max(_loaded_at) as t from {t.qualified} where _loaded_at <= $1"
                               for t in LANDING_TABLES)
    newest = con.execute(f"select max(t) from ({union})", [max(done)]).fetchone()[0]
    return None if newest is None else (moment - newest).total_seconds() / 3600


def replay(warehouse: Path, project: Path, work: Path, rules: dict, *,
           now: datetime | str | None = None) -> dict:
    """Evaluate the rules at every moment of an incident, on a copy of its warehouse.

    Returns ``{"moments": [...], "alerts": {rule: [bool, ...]}, "data_age_hours": [...],
    "errors": {rule: message}}``.
    """
    problems = rules_problems(rules)
    if problems:
        raise ValueError("; ".join(problems))
    work = Path(work)
    tag = hashlib.sha256(str(Path(warehouse).resolve()).encode()).hexdigest()[:10]
    copy = copy_warehouse(Path(warehouse), work / "monitor" / f"{Path(warehouse).stem}-{tag}.duckdb")
    now = clock.as_of(now) if now is not None else (read_clock(copy) or clock.as_of())
    con = duckdb.connect(str(copy))
    alerts = {rule: [] for rule in RULES}
    ages, errors = [], {}
    try:
        builds = _builds(con, Path(project), work)
        finished = dict(con.execute(f"select run_id, finished_at from {RUN_LOG}").fetchall())
        moments = moments_of(con, now)
        for moment in moments:
            set_clock(con, moment)
            for rule in ("phantom", "duration"):
                if rule in errors:
                    alerts[rule].append(False)
                    continue
                try:
                    cursor = con.execute(rules[rule])
                    names = [d[0] for d in cursor.description]
                    rows = cursor.fetchall()
                except duckdb.Error as exc:
                    errors[rule] = f"at {clock.format_ts(moment)}: {' '.join(str(exc).split())}"
                    alerts[rule].append(False)
                    continue
                if rule == "phantom":
                    alerts[rule].append(bool(rows))
                elif "run_id" not in names:
                    errors[rule] = "the duration rule must return a run_id column"
                    alerts[rule].append(False)
                else:
                    recent = moment - timedelta(hours=RECENT_HOURS)
                    ids = [row[names.index("run_id")] for row in rows]
                    alerts[rule].append(any(finished.get(i) is not None and recent < finished[i] <= moment
                                            for i in ids))
            age = data_age_hours(con, builds, moment)
            ages.append(None if age is None else round(age, 2))
            alerts["staleness"].append(age is not None and age > float(rules["staleness_hours"]))
    finally:
        con.close()
        dbt_runner.release()
    return {"moments": [clock.format_ts(m) for m in moments], "alerts": alerts,
            "data_age_hours": ages, "errors": errors}


def data_ages(warehouse: Path, project: Path, work: Path) -> dict:
    """The age of the dashboard's newest data at every moment of an incident (no rules):
    ``{"moments": [...], "data_age_hours": [...]}``, to choose a staleness threshold."""
    quiet = {"phantom": "select 1 as run_id where false", "duration": "select 1 as run_id where false",
             "staleness_hours": float("inf")}
    replayed = replay(warehouse, project, work, quiet)
    return {"moments": replayed["moments"], "data_age_hours": replayed["data_age_hours"]}


def metrics(replayed: dict, truth: dict) -> dict[str, dict]:
    """Per rule: false alarms (alerts before the incident started), when it first alerted
    after the start, hours to detect, and whether it still alerts at the end."""
    start = clock.parse(truth["incident_start"])
    moments = [clock.parse(m) for m in replayed["moments"]]
    out = {}
    for rule in RULES:
        flags = replayed["alerts"][rule]
        false_alarms = sum(1 for m, f in zip(moments, flags) if f and m < start)
        detected = next((m for m, f in zip(moments, flags) if f and m >= start), None)
        out[rule] = {
            "false_alarms": false_alarms,
            "detected_at": clock.format_ts(detected) if detected else None,
            "hours_to_detect": round((detected - start).total_seconds() / 3600, 2) if detected else None,
            "alerting_at_end": bool(flags[-1]) if flags else False,
            "error": replayed["errors"].get(rule),
        }
    return out


def evaluate(rules: dict, incidents: list[dict], project: Path, work: Path) -> dict[str, dict]:
    """Replay the rules on each incident (``{"name", "warehouse", "truth"}``): name -> metrics."""
    results = {}
    for incident in incidents:
        replayed = replay(Path(incident["warehouse"]), project, Path(work), rules,
                          now=incident["truth"]["now"])
        results[incident["name"]] = metrics(replayed, incident["truth"])
    return results


def judge(student: dict[str, dict], reference: dict[str, dict], *,
          slack_hours: dict | None = None, words: dict | None = None) -> dict:
    """Is each rule at least as good as the reference's, on every incident?

    * no more false alarms than the reference's rule;
    * where the reference detects, detect too, at most ``slack_hours[rule]`` later;
    * where the reference still alerts at the end, still alert (no learned "new normal").
    ``words`` maps an incident name to how messages call it (the grader hides names).
    """
    slack = {**SLACK_HOURS, **(slack_hours or {})}
    words = words or {}
    problems = []
    for name, ref in reference.items():
        mine = student.get(name)
        where = words.get(name, name)
        if mine is None:
            problems.append(f"no result on {where}")
            continue
        for rule in RULES:
            m, r = mine[rule], ref[rule]
            if m.get("error"):
                problems.append(f"{rule} rule on {where}: {m['error']}")
                continue
            if m["false_alarms"] > r["false_alarms"]:
                problems.append(f"{rule} rule on {where}: {m['false_alarms']} false alarm(s) before "
                                "anything went wrong")
            if r["detected_at"] is not None and m["detected_at"] is None:
                problems.append(f"{rule} rule on {where}: never alerts, yet this incident is "
                                "one it can catch")
                continue
            if r["detected_at"] is not None and m["hours_to_detect"] > r["hours_to_detect"] + slack[rule]:
                problems.append(f"{rule} rule on {where}: alerts {m['hours_to_detect']:g} h after the "
                                "incident began, later than it could")
            if r["alerting_at_end"] and not m["alerting_at_end"]:
                problems.append(f"{rule} rule on {where}: silent again before the incident is over "
                                "(has it learned the incident as the new normal?)")
    return {"passed": not problems, "problems": problems}


def as_table(results: dict[str, dict], reference: dict[str, dict] | None = None):
    """Metrics as a DataFrame: one row per incident and rule, the reference's beside them."""
    import pandas as pd

    rows = []
    for name, by_rule in results.items():
        for rule in RULES:
            row = {"incident": name, "rule": rule,
                   "hours_to_detect": by_rule[rule]["hours_to_detect"],
                   "false_alarms": by_rule[rule]["false_alarms"],
                   "alerting_at_end": by_rule[rule]["alerting_at_end"]}
            ref = (reference or {}).get(name)
            if ref:
                row.update({"reference_hours_to_detect": ref[rule]["hours_to_detect"],
                            "reference_false_alarms": ref[rule]["false_alarms"],
                            "reference_alerting_at_end": ref[rule]["alerting_at_end"]})
            rows.append(row)
    return pd.DataFrame(rows).set_index(["incident", "rule"])
