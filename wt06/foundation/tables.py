"""The raw tables the incident is made of: their columns, types and keys.

One description serves the scenario generator (column order of the CSVs it writes), the
loader (DuckDB DDL and per-value validation with file and line numbers) and the tests
(the dbt sources must declare the same columns).
"""

from __future__ import annotations

from dataclasses import dataclass

RAW_SCHEMA = "raw"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # how a timestamp is written: in the CSVs, scenario.json, messages


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # DuckDB type
    kind: str  # how a CSV value is checked: int, text, date, timestamp, decimal, json


@dataclass(frozen=True)
class RawTable:
    name: str
    key: str
    columns: tuple[Column, ...]
    description: str

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def qualified(self) -> str:
        return f"{RAW_SCHEMA}.{self.name}"

    def ddl(self) -> str:
        cols = ",\n  ".join(f"{c.name} {c.sql_type}" for c in self.columns)
        return f"create table if not exists {self.qualified} (\n  {cols}\n)"


LOADED_AT = Column("_loaded_at", "TIMESTAMP", "timestamp")

CUSTOMERS = RawTable(
    "raw_customers",
    key="customer_id",
    description="Customers of the shop, one row per signup.",
    columns=(
        Column("customer_id", "INTEGER", "int"),
        Column("name", "VARCHAR", "text"),
        Column("email", "VARCHAR", "text"),
        Column("signup_date", "DATE", "date"),
        Column("plan", "VARCHAR", "text"),
        LOADED_AT,
    ),
)

ORDERS = RawTable(
    "raw_orders",
    key="order_id",
    description="Orders, one row per order.",
    columns=(
        Column("order_id", "INTEGER", "int"),
        Column("customer_id", "INTEGER", "int"),
        Column("order_date", "DATE", "date"),
        Column("amount", "DECIMAL(10, 2)", "decimal"),
        Column("status", "VARCHAR", "text"),
        LOADED_AT,
    ),
)

EVENTS = RawTable(
    "raw_events",
    key="event_id",
    description="Product analytics events: signups, purchases and pageviews.",
    columns=(
        Column("event_id", "INTEGER", "int"),
        Column("customer_id", "INTEGER", "int"),
        Column("event_type", "VARCHAR", "text"),
        Column("event_date", "DATE", "date"),
        Column("properties", "VARCHAR", "json"),
        LOADED_AT,
    ),
)

PIPELINE_RUNS = RawTable(
    "raw_pipeline_runs",
    key="run_id",
    description="The orchestrator's audit log: one row per scheduled or manual dbt job run.",
    columns=(
        Column("run_id", "VARCHAR", "text"),
        Column("run_date", "DATE", "date"),
        Column("started_at", "TIMESTAMP", "timestamp"),
        Column("finished_at", "TIMESTAMP", "timestamp"),
        Column("status", "VARCHAR", "text"),
        Column("exit_code", "INTEGER", "int"),
        Column("models_run", "VARCHAR", "text"),
        Column("duration_seconds", "INTEGER", "int"),
        Column("triggered_by", "VARCHAR", "text"),
        LOADED_AT,
    ),
)

JOB_REVISIONS = RawTable(
    "raw_job_revisions",
    key="revision_id",
    description=("The orchestrator's change history of the scheduled dbt job: one row per "
                 "saved revision, with the whole definition as it stood after the change."),
    columns=(
        Column("revision_id", "VARCHAR", "text"),
        Column("changed_at", "TIMESTAMP", "timestamp"),
        Column("changed_by", "VARCHAR", "text"),
        Column("message", "VARCHAR", "text"),
        Column("cron", "VARCHAR", "text"),
        Column("command", "VARCHAR", "text"),
        Column("retries", "INTEGER", "int"),
        Column("alert_channel", "VARCHAR", "text"),
        LOADED_AT,
    ),
)

RAW_TABLES: dict[str, RawTable] = {
    t.name: t for t in (CUSTOMERS, ORDERS, EVENTS, PIPELINE_RUNS, JOB_REVISIONS)
}

# The tables the shop's loader delivers every day; the run log is written by the
# orchestrator itself, one row when each run finishes.
LANDING_TABLES: tuple[RawTable, ...] = (CUSTOMERS, ORDERS, EVENTS)

# models_run value of a run that built every model (the scheduler's intended command).
FULL_RUN = "all"

# The run log and the job history as SQL names (what notebooks and checks query).
RUN_LOG = PIPELINE_RUNS.qualified
JOB_HISTORY = JOB_REVISIONS.qualified
