"""Build the incident warehouse by replaying the incident with real dbt commands.

The end state is not typed in: it is what dbt does when it is run the way the scheduler
ran it. The run log (``raw_pipeline_runs.csv``) drives the replay:

1. land the history (every raw row up to the freeze) and the run log before the last
   full run;
2. replay, in time order, each landing day (the loader at ~17:30) and each scheduler
   run from the last full run on, at that run's own clock: ``dbt run`` for a full run,
   ``dbt run --select "<selector>"`` for the partial ones; after each run the
   orchestrator appends its row to the run log.

The staging views then see the last landing day while the mart tables still hold the
last full run's snapshot. Every file is checked before anything is written; the build
writes a new file beside the old one and moves it into place only when every step
worked, so a failure leaves the previous warehouse as it was.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

import duckdb

from . import clock, dbt_runner, paths
from .clock import describe
from .errors import BuildError, CourseError, DataError
from .ingest import create_raw_tables, landing_files, load_rows, read_raw_csv
from .scenario import LANDING_DIR, RAW_DIR
from .tables import CUSTOMERS, EVENTS, FULL_RUN, ORDERS, PIPELINE_RUNS
from .warehouse import set_clock


def scheduler_command(models_run: str) -> str:
    """The dbt command a run-log row stands for, with its selector quoted for a shell."""
    return "dbt run" if models_run == FULL_RUN else f'dbt run --select "{models_run}"'


@dataclass
class Step:
    at: datetime
    label: str
    source: Path
    action: Callable[[duckdb.DuckDBPyConnection], str]


def _history_step(data_dir: Path, runs_before: list[tuple]) -> list[Step]:
    files = [(t, data_dir / RAW_DIR / f"{t.name}.csv") for t in (CUSTOMERS, ORDERS, EVENTS)]
    parsed = [(table, read_raw_csv(path, table)) for table, path in files]

    def load(con) -> str:
        counts = {table.name: load_rows(con, table, rows) for table, rows in parsed}
        counts[PIPELINE_RUNS.name] = load_rows(con, PIPELINE_RUNS, runs_before)
        return ", ".join(f"{n} {name}" for name, n in counts.items())

    last = max(row[-1] for _, rows in parsed for row in rows)
    return [Step(last, "land the history", data_dir / RAW_DIR, load)]


def _landing_steps(data_dir: Path) -> list[Step]:
    root = data_dir / LANDING_DIR
    days = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    steps = []
    for day_dir in days:
        parsed = [(table, read_raw_csv(path, table)) for table, path in landing_files(day_dir)]
        loaded_at = max((row[-1] for _, rows in parsed for row in rows), default=None)
        if loaded_at is None:
            raise DataError(f"{day_dir} has no rows at all: a landing day needs data.")

        def land(con, parsed=parsed) -> str:
            counts = {table.name: load_rows(con, table, rows) for table, rows in parsed}
            return ", ".join(f"{n} {name}" for name, n in counts.items())

        steps.append(Step(loaded_at, f"land {day_dir.name}", day_dir, land))
    return steps


def _run_steps(run_rows: list[tuple], log_file: Path, warehouse: Path, project: Path,
               work: Path) -> list[Step]:
    names = PIPELINE_RUNS.column_names
    steps = []
    for row in run_rows:
        run = dict(zip(names, row))
        command = scheduler_command(run["models_run"])

        def replay(con, run=run, row=row, command=command) -> str:
            result = dbt_runner.invoke(
                command, as_of=run["finished_at"], warehouse=warehouse, project=project,
                work=work, quiet=True, origin="scheduler replay",
                scheduler_run_id=run["run_id"],
            )
            if not result.success:
                raise BuildError(result.summary())
            load_rows(con, PIPELINE_RUNS, [row])  # the orchestrator logs the finished run
            return f"{command} -> {len(result.models_run)} models: {', '.join(result.models_run)}"

        steps.append(Step(run["started_at"], f"replay {run['run_id']}", log_file, replay))
    return steps


def plan(data_dir: Path, warehouse: Path, project: Path, work: Path) -> list[Step]:
    """Read and check every input file, and order the incident's steps in time."""
    log_file = data_dir / RAW_DIR / f"{PIPELINE_RUNS.name}.csv"
    runs = sorted(read_raw_csv(log_file, PIPELINE_RUNS), key=lambda r: r[2])  # started_at
    full = [i for i, r in enumerate(runs) if r[PIPELINE_RUNS.column_names.index("models_run")] == FULL_RUN]
    if not full:
        raise DataError(f"{log_file} has no full run (models_run = '{FULL_RUN}'): nothing to replay from.")
    first_replayed = full[-1]
    steps = _history_step(data_dir, runs[:first_replayed])
    steps += sorted(
        _landing_steps(data_dir) + _run_steps(runs[first_replayed:], log_file, warehouse, project, work),
        key=lambda s: s.at,
    )
    return steps


def build_warehouse(
    dest: Path | None = None,
    *,
    data_dir: Path | None = None,
    project: Path | None = None,
    work: Path | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Path:
    """Build the incident warehouse at ``dest`` (default: the course's warehouse path)."""
    dest = Path(dest) if dest else paths.warehouse_path()
    data_dir = Path(data_dir) if data_dir else paths.data_dir()
    project = Path(project) if project else paths.project_dir()
    work = Path(work) if work else paths.work_dir() / "build"
    dest.parent.mkdir(parents=True, exist_ok=True)
    aside = dest.with_name(f".{dest.name}.building-{os.getpid()}")
    _remove(aside)

    step_label, step_source = "check the input files", data_dir
    try:
        steps = plan(data_dir, aside, project, work)
        con = duckdb.connect(str(aside))
        try:
            create_raw_tables(con)
            for step in steps:
                step_label, step_source = step.label, step.source
                outcome = step.action(con)
                say(f"{describe(step.at)}  {step.label}: {outcome}")
            step_label, step_source = "set the clock", data_dir
            set_clock(con, clock.as_of(data_dir=data_dir))  # as_of() for anyone querying the file directly
        finally:
            con.close()
            dbt_runner.release()
        os.replace(aside, dest)
    except CourseError as exc:
        raise BuildError(
            f"Building the warehouse failed at step '{step_label}' ({step_source}): {exc} "
            f"The previous warehouse{'' if dest.exists() else ' (none)'} was left as it was."
        ) from None
    except Exception as exc:  # an unexpected failure still names the step and file
        raise BuildError(
            f"Building the warehouse failed at step '{step_label}' ({step_source}): "
            f"{type(exc).__name__}: {exc}. The previous warehouse was left as it was."
        ) from exc
    finally:
        _remove(aside)
    return dest


def _remove(database: Path) -> None:
    for path in (database, database.with_name(database.name + ".wal")):
        if path.exists():
            path.unlink()


def reset(say: Callable[[str], None] = lambda _: None) -> Path:
    """Throw away every notebook's working copy and rebuild the incident warehouse."""
    work = paths.work_dir()
    if work.exists():
        shutil.rmtree(work)
        say(f"removed the notebooks' working copies in {work}")
    return build_warehouse(say=say)
