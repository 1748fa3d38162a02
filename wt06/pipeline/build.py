"""Build the incident warehouse by replaying the incident with real dbt commands.

The end state is not typed in: it is what dbt does when it is run the way the scheduler
ran it. The run log (``raw_pipeline_runs.csv``) drives the replay:

1. land the history as it stood when the replay starts (every raw row written by then,
   and the run log before the last full run that precedes the first landing day);
2. replay, in time order, each landing day (the loader at ~17:30; a quiet day lands
   nothing), each row written later (a revision of the scheduled job) and each
   scheduler run from that full run on, at the run's own clock (the warehouse's
   ``as_of()``, which dbt's current_timestamp() reads): ``dbt run`` for a full run,
   ``dbt run --select "<selector>"`` for the partial ones; after each run the
   orchestrator appends its row to the run log.

In the course's incident the staging views then see the last landing day while the
mart tables still hold the last full run's snapshot. Every file is checked before anything is written; the build
writes a new file beside the old one and moves it into place only when every step
worked, so a failure leaves the previous warehouse as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from wt06.errors import BuildError, CourseError, DataError
from wt06.foundation import paths
from wt06.foundation.tables import CUSTOMERS, EVENTS, FULL_RUN, JOB_REVISIONS, ORDERS, PIPELINE_RUNS
from wt06.incident import clock
from wt06.incident.clock import describe
from wt06.incident.ingest import create_raw_tables, landing_files, load_rows, read_raw_csv
from wt06.incident.scenario import FULL_COMMAND, LANDING_DIR, LOAD_TIME, RAW_DIR, load_scenario
from wt06.incident.warehouse import set_clock
from wt06.pipeline import dbt_runner

# raw/ files landed as history (the run log is replayed run by run instead)
HISTORY_TABLES = (CUSTOMERS, ORDERS, EVENTS, JOB_REVISIONS)


def scheduler_command(models_run: str) -> str:
    """The dbt command a run-log row stands for, with its selector quoted for a shell."""
    return FULL_COMMAND if models_run == FULL_RUN else f'dbt run --select "{models_run}"'


@dataclass
class Step:
    at: datetime
    label: str
    source: Path
    action: Callable[[duckdb.DuckDBPyConnection], str]


def _split(rows: list[tuple], moment: datetime) -> tuple[list[tuple], list[tuple]]:
    """Rows loaded by ``moment`` (their last value is _loaded_at), and the later ones."""
    return [r for r in rows if r[-1] <= moment], [r for r in rows if r[-1] > moment]


def _history_steps(data_dir: Path, runs_before: list[tuple], replay_start: datetime) -> list[Step]:
    """Land raw/ as it stood when the replay starts; rows written later land at their time."""
    parsed = [(t, read_raw_csv(data_dir / RAW_DIR / f"{t.name}.csv", t)) for t in HISTORY_TABLES]
    now = [(table, _split(rows, replay_start)[0]) for table, rows in parsed]

    def load(con) -> str:
        counts = {table.name: load_rows(con, table, rows) for table, rows in now}
        counts[PIPELINE_RUNS.name] = load_rows(con, PIPELINE_RUNS, runs_before)
        return ", ".join(f"{n} {name}" for name, n in counts.items())

    steps = [Step(replay_start - timedelta(seconds=1), "land the history", data_dir / RAW_DIR, load)]
    for table, rows in parsed:
        for row in _split(rows, replay_start)[1]:
            def later(con, table=table, row=row) -> str:
                return f"{load_rows(con, table, [row])} {table.name}"

            steps.append(Step(row[-1], f"record {row[0]}", data_dir / RAW_DIR / f"{table.name}.csv", later))
    return steps


def _landing_days(data_dir: Path) -> list[Path]:
    root = data_dir / LANDING_DIR
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _landing_steps(data_dir: Path) -> list[Step]:
    steps = []
    for day_dir in _landing_days(data_dir):
        try:
            day = date.fromisoformat(day_dir.name)
        except ValueError:
            raise DataError(f"{day_dir} is not a landing day: its name must be a date "
                            "(YYYY-MM-DD).") from None
        parsed = [(table, read_raw_csv(path, table)) for table, path in landing_files(day_dir)]
        # a quiet day (the loader ran and found nothing) lands at its usual time
        loaded_at = max((row[-1] for _, rows in parsed for row in rows),
                        default=datetime.combine(day, LOAD_TIME))

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
    """Read and check every input file, and order the incident's steps in time.

    The replay starts at the last full run before the first landing day (the last full
    run of the log when nothing lands afterwards, as in a loader outage); everything
    written before it is landed first, everything after it at its own time.
    """
    log_file = data_dir / RAW_DIR / f"{PIPELINE_RUNS.name}.csv"
    runs = sorted(read_raw_csv(log_file, PIPELINE_RUNS), key=lambda r: r[2])  # started_at
    models_run = PIPELINE_RUNS.column_names.index("models_run")
    landing = _landing_steps(data_dir)
    first_landing = min((s.at for s in landing), default=None)
    full = [i for i, r in enumerate(runs) if r[models_run] == FULL_RUN
            and (first_landing is None or r[2] < first_landing)]
    if not full:
        raise DataError(f"{log_file} has no full run (models_run = '{FULL_RUN}') before the "
                        "first landing day: nothing to replay from.")
    first_replayed = full[-1]
    replay_start = runs[first_replayed][2]
    steps = _history_steps(data_dir, runs[:first_replayed], replay_start)
    steps = steps[:1] + sorted(
        steps[1:] + landing + _run_steps(runs[first_replayed:], log_file, warehouse, project, work),
        key=lambda s: s.at,
    )
    return steps


def build_warehouse(
    dest: Path | None = None,
    *,
    data_dir: Path | None = None,
    project: Path | None = None,
    work: Path | None = None,
    as_of=None,
    say: Callable[[str], None] = lambda _: None,
) -> Path:
    """Build the incident warehouse at ``dest`` (default: the course's warehouse path).

    Its clock (``as_of()``, which dbt reads too) ends at ``as_of`` if given, else at the
    scenario's own "now" (``data_dir/scenario.json``).
    """
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
            now = clock.as_of(as_of) if as_of is not None else load_scenario(data_dir).story_now
            set_clock(con, now)  # the story's now, for dbt and anyone querying the file
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
