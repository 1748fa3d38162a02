"""Connections to a DuckDB warehouse file, its clock, clear lock errors, the dbt audit log.

The connection is deliberately plain (``duckdb.connect(path)``, no config, not
read-only): dbt-duckdb running in the same process opens the file with the same
settings, so DuckDB hands both the same database instance and nobody hits a lock.

The story's clock lives in the file: ``as_of()``, a SQL macro stored in the warehouse,
returns the as-of timestamp, so queries say ``as_of()`` where they would say ``now()``,
and the dbt project's ``current_timestamp()`` reads the same macro (from a notebook or a
terminal). The build sets it to the scenario's "now"; ``connect`` sets it to the as-of
clock; the dbt runner moves it when it runs dbt "at" another moment. It is stored, not
temporary: jupysql runs queries on cursors, which do not see a connection's temporary
macros; every notebook works on its own copy of the warehouse, so each copy carries its
own clock.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import duckdb

from wt06.errors import WarehouseBusy, WarehouseMissing
from wt06.incident import clock

AUDIT_SCHEMA = "audit"
INVOCATIONS_TABLE = f"{AUDIT_SCHEMA}.dbt_invocations"
INVOCATIONS_DDL = f"""
create table if not exists {INVOCATIONS_TABLE} (
    invocation_id varchar,
    invoked_at timestamp,        -- the as-of clock when the command ran
    command varchar,             -- as typed, e.g. dbt run --select "staging.*"
    subcommand varchar,
    selector varchar,            -- the --select value, null for a full run
    models_run varchar[],        -- models dbt actually executed
    models_count integer,
    status varchar,              -- success / error / nothing ran
    exit_code integer,           -- 0 success, 1 a node failed, 2 dbt could not run
    elapsed_seconds double,      -- wall-clock time of the local run
    origin varchar,              -- who ran it: scheduler replay, notebook, grader
    scheduler_run_id varchar     -- the orchestrator run this replays, if any
)
"""


def warehouse_busy_error(path: Path, text: str) -> WarehouseBusy | None:
    """The WarehouseBusy to raise if ``text`` is DuckDB's lock error, else None."""
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    pid = re.search(r"PID (\d+)", text)
    holder = f" (process {pid.group(1)})" if pid else ""
    return WarehouseBusy(
        f"The warehouse {path} is open in another process{holder}, probably another "
        "notebook's kernel or a terminal. Shut that kernel down (Kernel > Shut Down "
        "Kernel) or close the other program, then run this cell again."
    )


def require_built(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise WarehouseMissing(
            f"The incident warehouse {path} has not been built yet: run 'make warehouse' "
            "in a terminal (it takes about half a minute), then run this cell again."
        )
    return path


def connect(path: Path, *, as_of=None) -> duckdb.DuckDBPyConnection:
    """Open ``path`` read-write with ``as_of()`` set to the as-of clock (argument, else
    WT06_AS_OF, else the course scenario's now); raise WarehouseBusy if locked."""
    con = open_plain(path)
    set_clock(con, clock.as_of(as_of))
    return con


def set_clock(con: duckdb.DuckDBPyConnection, moment: datetime) -> None:
    """(Re)define the ``as_of()`` macro on this connection's database."""
    con.execute(f"create or replace macro main.as_of() as {clock.sql_literal(moment)}")


def open_plain(path: Path) -> duckdb.DuckDBPyConnection:
    """A plain connection; read-only where the file cannot be written (a read-only mount)."""
    try:
        if Path(path).exists() and not os.access(path, os.W_OK):
            return duckdb.connect(str(path), read_only=True)
        return duckdb.connect(str(path))
    except duckdb.Error as exc:
        busy = warehouse_busy_error(Path(path), str(exc))
        if busy:
            raise busy from None
        raise


def read_clock(path: Path) -> datetime | None:
    """The warehouse's own clock (its ``as_of()`` macro), or None if it has none yet."""
    con = open_plain(path)
    try:
        return con.execute("select main.as_of()").fetchone()[0]
    except duckdb.Error:
        return None
    finally:
        con.close()


def write_clock(path: Path, moment: datetime) -> None:
    """Set the warehouse's clock: what ``as_of()`` and dbt's current_timestamp() return."""
    con = open_plain(path)
    try:
        set_clock(con, moment)
    finally:
        con.close()


def record_invocation(warehouse: Path, result, *, subcommand: str, selector: str | None, origin: str,
                      scheduler_run_id: str | None) -> None:
    """Append one dbt invocation to ``audit.dbt_invocations`` (``result``: a dbt_runner.DbtResult;
    its subcommand and selector as the runner read them from its command)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
        con.execute(INVOCATIONS_DDL)
        con.execute(
            f"insert into {INVOCATIONS_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [result.invocation_id, result.invoked_at, result.command, subcommand,
             selector, result.models_run, len(result.models_run),
             "nothing ran" if result.ran_nothing else "success" if result.success else "error",
             result.exit_code,
             result.elapsed_seconds, origin, scheduler_run_id],
        )
    finally:
        con.close()
