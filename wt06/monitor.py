"""An automated data-health monitor: every check of the investigation, in one call.

The orchestrator watches *pipeline* health (did the job crash?). This monitor watches
what the dashboard's users care about, from the data itself, at any moment of the story:

* ``mart_staleness``: hours since each mart was rebuilt, against the SLA;
* ``phantom_success``: runs that exited 0 without rebuilding the marts;
* ``duration_anomaly``: a run in the last day far shorter than the runs before it;
* ``blast_radius``: marts not rebuilt since the first phantom run.

The phantom-success rule is the student's (notebook 06 asks for it): ``check`` and
``replay`` take it as SQL that returns the phantom runs known at ``as_of()``. Every
check sees only what was known at its as-of moment (runs that had finished, data that
had landed), so ``replay`` can ask "what would the monitor have said at 06:01 on
Friday?" and find when it would first have alerted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from .warehouse import set_clock

ANOMALY_RATIO = 0.5  # a run shorter than half its recent baseline is suspicious
BASELINE_RUNS = 5  # ...the baseline being the median of the previous five runs

# Relations with a _refreshed_at column are the marts dbt stamps on every build.
MARTS_SQL = """
select table_name from information_schema.columns
where column_name = '_refreshed_at' and table_schema = 'main'
order by table_name
"""

# Each finished run against the median of the five runs before it.
DURATIONS_SQL = f"""
select
    run_id, started_at, finished_at, duration_seconds,
    median(duration_seconds) over (
        order by started_at rows between {BASELINE_RUNS} preceding and 1 preceding
    ) as baseline_seconds,
    duration_seconds < {ANOMALY_RATIO} * baseline_seconds as is_duration_anomaly
from raw.raw_pipeline_runs
where finished_at <= as_of()  -- what the monitor can know at its moment
order by started_at
"""
RECENT_HOURS = 24  # a duration anomaly alerts for a day


@dataclass
class Alert:
    check: str
    message: str


@dataclass
class MonitorReport:
    """What the monitor saw at one moment, and what it would have alerted on."""

    as_of: datetime
    sla_hours: float
    mart_staleness: pd.DataFrame
    phantom_runs: pd.DataFrame
    durations: pd.DataFrame
    affected_marts: list[str]
    alerts: list[Alert] = field(default_factory=list)

    @property
    def alerting(self) -> set[str]:
        return {a.check for a in self.alerts}

    def __repr__(self) -> str:
        head = f"Monitor at {self.as_of:%a %Y-%m-%d %H:%M}: "
        if not self.alerts:
            return head + "all checks pass."
        return head + f"{len(self.alerts)} alert(s)\n" + "\n".join(
            f"  [{a.check}] {a.message}" for a in self.alerts)


def _mart_staleness(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    marts = [name for (name,) in con.execute(MARTS_SQL).fetchall()]
    parts = [f"select '{m}' as mart, max(_refreshed_at) as last_refreshed_at from main.{m}"
             for m in marts]
    return con.execute(f"""
        select mart, last_refreshed_at,
               round(date_diff('second', last_refreshed_at, as_of()) / 3600, 1) as hours_since_refresh
        from ({' union all '.join(parts)}) order by mart""").df()


def check(con: duckdb.DuckDBPyConnection, *, sla_hours: float, phantom_rule: str) -> MonitorReport:
    """Run every check at the connection's current as_of(); ``phantom_rule`` is SQL."""
    as_of = con.execute("select as_of()").fetchone()[0]
    staleness = _mart_staleness(con)
    phantoms = con.execute(phantom_rule).df()
    durations = con.execute(DURATIONS_SQL).df()
    recent = durations[durations["finished_at"] > pd.Timestamp(as_of) - pd.Timedelta(hours=RECENT_HOURS)]
    anomalies = recent[recent["is_duration_anomaly"].fillna(False).astype(bool)]
    affected = []
    if not phantoms.empty:
        first = phantoms["started_at"].min()
        affected = sorted(staleness.loc[staleness["last_refreshed_at"] < first, "mart"])

    alerts = []
    stale = staleness[staleness["hours_since_refresh"] > sla_hours]
    for row in stale.itertuples():
        alerts.append(Alert("mart_staleness", f"{row.mart} last rebuilt {row.hours_since_refresh:.1f} h "
                                              f"ago (SLA {sla_hours:g} h)"))
    if not phantoms.empty:
        alerts.append(Alert("phantom_success", f"{len(phantoms)} run(s) exited 0 without building "
                                               f"the marts: {', '.join(phantoms['run_id'])}"))
    if not anomalies.empty:
        row = anomalies.iloc[-1]
        alerts.append(Alert("duration_anomaly", f"{row.run_id} took {row.duration_seconds} s against a "
                                                f"baseline of {row.baseline_seconds:g} s"))
    if affected:
        alerts.append(Alert("blast_radius", f"not rebuilt since the first phantom run: {', '.join(affected)}"))
    return MonitorReport(as_of, sla_hours, staleness, phantoms, durations, affected, alerts)


def replay(con: duckdb.DuckDBPyConnection, moments: list[datetime], *, sla_hours: float,
           phantom_rule: str) -> pd.DataFrame:
    """Run the monitor at each moment; one row per moment and check (restores the clock)."""
    original = con.execute("select as_of()").fetchone()[0]
    rows = []
    try:
        for moment in moments:
            set_clock(con, moment)
            report = check(con, sla_hours=sla_hours, phantom_rule=phantom_rule)
            oldest = report.mart_staleness["hours_since_refresh"].max()
            for name in ("mart_staleness", "phantom_success", "duration_anomaly", "blast_radius"):
                rows.append({"as_of": moment, "check": name, "alerting": name in report.alerting,
                             "mart_hours_since_refresh": oldest})
    finally:
        set_clock(con, original)
    return pd.DataFrame(rows)


def first_alerts(replayed: pd.DataFrame) -> dict[str, datetime | None]:
    """For each check, the first replayed moment at which it alerted (None: never)."""
    firing = replayed[replayed["alerting"]]
    return {name: (firing.loc[firing["check"] == name, "as_of"].min()
                   if (firing["check"] == name).any() else None)
            for name in replayed["check"].unique()}
