"""Replay ``dbt source freshness`` over an incident's history, and judge a configuration.

A freshness configuration is only as good as what it would have said on every day: no
error on a normal day (a false alarm teaches people to ignore it), an error soon after
the loader stops. Running dbt once per day of the history would take minutes, so this
module asks dbt only for what it knows best, the *effective* configuration of every
source table (the project parsed in-process: source- and table-level settings,
``config:`` or top-level keys, ``freshness: null``, ``filter``), and then computes what
``dbt source freshness`` would report at each moment with dbt's own rules:

* a table is checked only if its freshness has ``warn_after`` or ``error_after``;
* age = the moment - ``max(loaded_at_field)`` over the rows (matching ``filter``) that
  had been loaded by that moment; no row at all counts as infinitely old;
* ``error`` if the age exceeds ``error_after``, else ``warn`` if it exceeds
  ``warn_after``, else ``pass`` (strictly greater, as dbt compares);
* a checked table without ``loaded_at_field`` is a runtime error (DuckDB has no
  metadata-based freshness).

Before a table's first row ever the table did not exist yet: it is not judged. The
moments are 09:00 on every day from the day after the first load to the warehouse's
clock.

Besides the incident's own history, the replay works out each table failing alone: if
the loader stopped delivering that table only (after its newest row), how many days after
its first missed load would the daily check error on it? ``judge`` requires every loader
table that normally never goes more than ``detect_within_days`` days without rows to error
within that many days; a table that legitimately goes quiet for longer may stay unchecked.
Everything takes plain paths and returns JSON-able results, so the grader can call the
same functions on its own incidents.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import duckdb

from wt06.foundation.tables import LANDING_TABLES
from wt06.incident import clock
from wt06.incident.scenario import ALL_LOADER_TABLES, canonical_gap_limits
from wt06.incident.warehouse import open_plain, read_clock
from wt06.pipeline import dbt_runner

CHECK_TIME = time(9, 0)  # when the daily freshness job runs
DETECT_WITHIN_DAYS = 4  # the course's goal: a loader outage errors within this many days
STOP_ALONE_HORIZON_DAYS = 60  # how far a single table's outage is followed


def watched_tables(detect_within_days: float = DETECT_WITHIN_DAYS) -> list[str]:
    """The loader tables whose rows never stop for longer than ``detect_within_days`` days in
    normal operation (their longest gap between load days on the course's incident, which
    no incident exceeds): each must error within that many days if it alone stops."""
    limits = canonical_gap_limits()
    return sorted(t for t, gap in limits.items() if t != ALL_LOADER_TABLES and gap <= detect_within_days)


def _seconds(threshold) -> float | None:
    """A dbt ``Time`` (count + period) in seconds, or None when unset."""
    if threshold is None or not threshold:
        return None
    return timedelta(**{threshold.period.plural(): threshold.count}).total_seconds()


def effective_config(project: Path, work: Path) -> dict[str, dict]:
    """table -> its freshness settings as dbt resolves them, from the parsed manifest.

    Parsing needs no warehouse; it uses a folder of its own under ``work``, so parsing
    the same project again (for another incident) reuses dbt's partial-parse state.
    """
    folder = Path(work) / "dbt-parse"
    manifest = dbt_runner.parse_project(Path(project), folder / "warehouse.duckdb", folder)
    tables = {}
    for source in sorted(manifest.sources.values(), key=lambda s: s.name):
        freshness = source.freshness
        tables[source.name] = {
            "source": source.source_name,
            "relation": f"{source.schema}.{source.identifier}",
            "checked": bool(source.has_freshness),
            "loaded_at_field": source.loaded_at_field,
            "loaded_at_query": getattr(source, "loaded_at_query", None),
            "warn_after_hours": _hours(_seconds(freshness.warn_after) if freshness else None),
            "error_after_hours": _hours(_seconds(freshness.error_after) if freshness else None),
            "filter": freshness.filter if freshness else None,
        }
    return tables


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def status_at(age_hours: float, config: dict) -> str:
    """dbt's verdict for a table ``age_hours`` old (FreshnessThreshold.status)."""
    error, warn = config["error_after_hours"], config["warn_after_hours"]
    if error is not None and age_hours > error:
        return "error"
    if warn is not None and age_hours > warn:
        return "warn"
    return "pass"


def daily_moments(first_load: datetime, until: datetime) -> list[datetime]:
    """09:00 on every day after ``first_load``'s, up to ``until``."""
    moment = datetime.combine(first_load.date() + timedelta(days=1), CHECK_TIME)
    moments = []
    while moment <= until:
        moments.append(moment)
        moment += timedelta(days=1)
    return moments


def replay(warehouse: Path, project: Path, work: Path, *, until: datetime | str | None = None,
           moments: list | None = None) -> dict:
    """What ``dbt source freshness`` would report at 09:00 on every day of the incident.

    Returns ``{"moments": [...], "tables": {table: {"config": {...}, "statuses": [...],
    "ages_hours": [...], "stop_alone_days": ...}}}``, all plain JSON. ``stop_alone_days``:
    if that table alone stopped after its newest row, the days from its first missed load
    (a day after that row) to the first 09:00 check that errors on it (None: never).
    """
    warehouse, work = Path(warehouse), Path(work)
    config = effective_config(project, work)
    con = open_plain(warehouse)
    try:
        until = clock.as_of(until) if until is not None else (read_clock(warehouse) or clock.as_of())
        loads: dict[str, list[datetime]] = {}
        for table, settings in config.items():
            loads[table] = _loaded_at(con, settings)
        if moments is None:
            firsts = [min(v) for v in loads.values() if v and not isinstance(v, str)]
            moments = daily_moments(min(firsts), until) if firsts else []
        moments = [clock.as_of(m) for m in moments]
    finally:
        con.close()

    tables = {}
    for table, settings in config.items():
        statuses, ages = [], []
        rows = loads[table]
        first = min(rows) if rows and not isinstance(rows, str) else None
        for moment in moments:
            if not settings["checked"]:
                statuses.append("not checked"), ages.append(None)
                continue
            if isinstance(rows, str):  # dbt cannot compute it either
                statuses.append("runtime error"), ages.append(None)
                continue
            if first is None or first > moment:
                statuses.append("no data yet"), ages.append(None)
                continue
            newest = max(r for r in rows if r <= moment)
            age = (moment - newest).total_seconds() / 3600
            statuses.append(status_at(age, settings)), ages.append(round(age, 2))
        tables[table] = {"config": settings, "statuses": statuses, "ages_hours": ages,
                         "stop_alone_days": _stop_alone_days(rows, settings, until)}
    return {"moments": [clock.format_ts(m) for m in moments], "tables": tables}


def _stop_alone_days(rows, settings: dict, until: datetime) -> float | None:
    """Days from a table's first missed load to its first error, if it alone stopped after
    its newest row by ``until`` (None: it would never error, or it has no rows)."""
    if not settings["checked"] or isinstance(rows, str) or settings["error_after_hours"] is None:
        return None
    delivered = [r for r in rows if r <= until]
    if not delivered:
        return None
    last = max(delivered)
    for day in range(1, STOP_ALONE_HORIZON_DAYS + 1):
        moment = datetime.combine(last.date() + timedelta(days=day), CHECK_TIME)
        if moment > last and status_at((moment - last).total_seconds() / 3600, settings) == "error":
            return round((moment - (last + timedelta(days=1))).total_seconds() / 86400, 2)
    return None


def _loaded_at(con, settings: dict) -> list[datetime] | str:
    """Every loaded-at value of a table (matching its filter), or why there are none."""
    if not settings["checked"]:
        return []
    if settings["loaded_at_query"]:
        return "a loaded_at_query cannot be replayed at past moments; use loaded_at_field"
    if not settings["loaded_at_field"]:
        return "no loaded_at_field: dbt cannot compute freshness for it on DuckDB"
    where = f"where {settings['filter']}" if settings["filter"] else ""
    try:
        found = con.execute(f"select {settings['loaded_at_field']} from {settings['relation']} "
                            f"{where}").fetchall()
    except duckdb.Error as exc:
        return f"dbt's freshness query fails: {' '.join(str(exc).split())}"
    return sorted(v for (v,) in found if v is not None)


def judge(replayed: dict, truth: dict, *, detect_within_days: float = DETECT_WITHIN_DAYS) -> dict:
    """Judge a replay against what really happened (``Scenario.truth()``).

    * false alarms: an ``error`` (or runtime error) at a moment when the loader was
      delivering (every moment before a loader outage starts; every moment of an
      incident with no loader outage);
    * detection (loader outage only): the first moment at which a loader table errors,
      which must come within ``detect_within_days`` of the first load the loader missed;
    * each table failing alone (every incident): every table of ``watched_tables`` must
      error within ``detect_within_days`` of its first missed load if it alone stopped.
    """
    start = clock.parse(truth["incident_start"])
    outage = truth["story"] == "loader_outage"
    loader = {t.name for t in LANDING_TABLES}
    false_alarms, detected = [], None
    for index, text in enumerate(replayed["moments"]):
        moment = clock.parse(text)
        errors = sorted(t for t, r in replayed["tables"].items()
                        if r["statuses"][index] in ("error", "runtime error"))
        if outage and moment >= start:
            if detected is None and set(errors) & loader:
                detected = moment
        elif errors:
            false_alarms.append({"moment": text, "tables": errors})
    problems = []
    if false_alarms:
        first = false_alarms[0]
        problems.append(f"{len(false_alarms)} false alarm(s) on days the loader was delivering, "
                        f"the first at {first['moment']} ({', '.join(first['tables'])})")
    delay_days = None
    if outage:
        if detected is None:
            problems.append("the loader stopped and no table ever errored")
        else:
            delay_days = round((detected - start).total_seconds() / 86400, 2)
            if delay_days > detect_within_days:
                problems.append(f"the loader stopped and the first error came {delay_days:g} days "
                                f"later, past the {detect_within_days:g} days allowed")
    missed_alone = []
    for table in watched_tables(detect_within_days):
        replayed_table = replayed["tables"].get(table)
        if replayed_table is None:
            continue
        days = replayed_table.get("stop_alone_days")
        if days is None or days > detect_within_days:
            missed_alone.append({"table": table, "days": days})
            late = "would never error on it" if days is None else f"would error on it only {days:g} days later"
            problems.append(f"if {table} alone stopped receiving rows, your configuration {late} (a table "
                            f"that never goes more than {detect_within_days:g} days without rows must "
                            f"error within {detect_within_days:g} days)")
    return {"passed": not problems, "problems": problems, "false_alarms": false_alarms,
            "detected_at": clock.format_ts(detected) if detected else None,
            "detection_delay_days": delay_days, "missed_alone": missed_alone, "story": truth["story"]}


def check(warehouse: Path, project: Path, work: Path, truth: dict, *,
          detect_within_days: float = DETECT_WITHIN_DAYS) -> dict:
    """Replay and judge in one call (what the grader runs on each incident)."""
    replayed = replay(warehouse, project, work, until=truth["now"])
    return {"replay": replayed, "verdict": judge(replayed, truth, detect_within_days=detect_within_days)}


def table_view(replayed: dict):
    """The replay as a DataFrame: one row per moment, one column per table (its status)."""
    import pandas as pd

    frame = pd.DataFrame({t: r["statuses"] for t, r in replayed["tables"].items()},
                         index=pd.to_datetime(replayed["moments"]))
    frame.index.name = "dbt source freshness at"
    return frame
