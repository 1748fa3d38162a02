"""Run dbt in this Python process against a chosen warehouse, and record every run.

Why in-process: DuckDB lets one process write a database file. A notebook kernel that
holds a connection makes a ``dbt`` subprocess fail with "Could not set lock"; dbt run
through ``dbtRunner`` in the same process shares DuckDB's instance of the file instead.
It is also ~10x cheaper than a subprocess (most of a CLI call is importing dbt).

Every invocation gets the same settings whatever the caller's working directory:
absolute project/profile paths, target and log folders in a writable work folder (the
project may be read-only), no usage tracking, no colours, and the story's clock in
``WT06_AS_OF`` (read by the project's ``duckdb__current_timestamp`` override). The
outcome is written to ``audit.dbt_invocations`` in the warehouse, so students can query
their own runs next to the orchestrator's log.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Sequence

from . import clock, paths
from .errors import DbtCommandError
from .project import manifest_models
from .warehouse import record_invocation, warehouse_busy_error

ENV_DBT_WAREHOUSE = "WT06_DBT_WAREHOUSE"  # the file profiles.yml points dbt at

_SELECT_FLAGS = {"--select", "-s", "--models", "-m"}
_REFUSED = {
    "init": "it asks questions interactively",
    "deps": "it downloads packages, and the course works offline",
    "docs serve": "it starts a web server that never returns",
}

os.environ.setdefault("DO_NOT_TRACK", "1")  # before dbt is imported anywhere


@dataclass
class DbtResult:
    """What one dbt invocation did, in the terms the course talks about."""

    command: str
    success: bool
    exit_code: int
    nodes: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type, status)
    elapsed_seconds: float = 0.0
    invocation_id: str = ""
    invoked_at: datetime | None = None
    error: str | None = None
    log: str = ""
    project_models: list[str] = field(default_factory=list)  # every model in the project
    listed: list[str] = field(default_factory=list)  # what `dbt ls` printed

    @property
    def subcommand(self) -> str:
        return parse_command(self.command)[0]

    @property
    def models_run(self) -> list[str]:
        """Models dbt actually executed (selected and not skipped), sorted by name."""
        return sorted(n for n, kind, status in self.nodes
                      if kind == "model" and status not in ("skipped", "no-op"))

    @property
    def models_not_run(self) -> list[str]:
        """For run/build: the project's models this invocation left out."""
        if self.subcommand not in ("run", "build"):
            return []
        return sorted(set(self.project_models) - set(self.models_run))

    @property
    def failures(self) -> list[str]:
        return sorted(n for n, _, status in self.nodes
                      if status in ("error", "fail", "runtime error"))

    @property
    def selector(self) -> str | None:
        return selector_of(parse_command(self.command))

    def summary(self) -> str:
        status = "success" if self.success else "FAILED"
        text = f"{self.command}  ->  {status} (exit code {self.exit_code})"
        if self.models_run:
            text += f"; {len(self.models_run)} models run: {', '.join(self.models_run)}"
        if self.models_not_run:
            text += f"; not run: {', '.join(self.models_not_run)}"
        if self.failures:
            text += f"; failed: {', '.join(self.failures)}"
        if self.error:
            text += f"; error: {self.error}"
        return text

    def __repr__(self) -> str:
        return self.summary()


def parse_command(command: str | Sequence[str]) -> list[str]:
    """``'dbt run --select "staging.*"'`` -> ``['run', '--select', 'staging.*']``.

    Quotes are read as a shell reads them, so a quoted selector arrives intact.
    """
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise DbtCommandError(f"Cannot read the command {command!r}: {exc}.") from None
    else:
        words = [str(w) for w in command]
    if not words or words[0] != "dbt":
        raise DbtCommandError(
            f"{command!r} is not a dbt command: write it as you would type it in a "
            "terminal, starting with 'dbt', e.g. 'dbt run --select \"staging.*\"'."
        )
    args = words[1:]
    if not args:
        raise DbtCommandError("'dbt' alone does nothing: add a subcommand such as 'run'.")
    for refused, why in _REFUSED.items():
        if " ".join(args).startswith(refused):
            raise DbtCommandError(f"'dbt {refused}' is not available in the course: {why}.")
    return args


def selector_of(args: Sequence[str]) -> str | None:
    """The node selection of a parsed command (all --select values), or None."""
    picked, take = [], False
    for word in args:
        if take and not word.startswith("-"):
            picked.append(word)
            continue
        take = word in _SELECT_FLAGS
        if "=" in word and word.split("=", 1)[0] in _SELECT_FLAGS:
            picked.append(word.split("=", 1)[1])
    return " ".join(picked) if picked else None


def _dbt_settings(warehouse: Path, project: Path, work: Path, as_of: datetime, quiet: bool) -> dict:
    return {
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROJECT_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "DBT_TARGET_PATH": str(work / "dbt" / "target"),
        "DBT_LOG_PATH": str(work / "dbt" / "logs"),
        "DBT_USE_COLORS": "false",
        "DBT_USE_COLORS_FILE": "false",
        "DBT_QUIET": "true" if quiet else "false",
        "DBT_PRINTER_WIDTH": "80",
        ENV_DBT_WAREHOUSE: str(warehouse),
        clock.ENV_AS_OF: clock.format_ts(as_of),
    }


@contextlib.contextmanager
def _environment(settings: dict):
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _nodes(result) -> list[tuple[str, str, str]]:
    nodes = []
    for item in getattr(result, "results", None) or []:
        node = getattr(item, "node", None)
        if node is None:
            continue
        kind = getattr(getattr(node, "resource_type", None), "value", "node")
        status = getattr(getattr(item, "status", None), "value", str(item.status))
        nodes.append((node.name, kind, str(status)))
    return nodes


_LOG_TIME = re.compile(r"^\d\d:\d\d:\d\d  ", re.MULTILINE)


def readable_log(log: str) -> str:
    """dbt's log without its wall-clock prefix (the story runs on its own clock)."""
    return _LOG_TIME.sub("", log).rstrip()


def invoke(
    command: str | Sequence[str],
    *,
    as_of=None,
    warehouse: Path | None = None,
    project: Path | None = None,
    work: Path | None = None,
    echo: bool = False,
    quiet: bool = False,
    record: bool = True,
    origin: str = "notebook",
    scheduler_run_id: str | None = None,
) -> DbtResult:
    """Run one dbt command in-process and return what it did.

    ``echo`` prints dbt's own log (its per-model lines and summary) after the run;
    otherwise nothing is printed, so a grading cell stays silent. A warehouse held by
    another process raises WarehouseBusy with one sentence on what to do.
    """
    args = parse_command(command)
    text = command.strip() if isinstance(command, str) else shlex.join(["dbt", *args])
    moment = clock.as_of(as_of)
    warehouse = Path(warehouse) if warehouse else paths.warehouse_path()
    project = Path(project) if project else paths.project_dir()
    work = Path(work) if work else paths.work_dir()
    if not (project / "dbt_project.yml").is_file():
        raise DbtCommandError(f"No dbt project at {project} (dbt_project.yml is missing).")
    (work / "dbt").mkdir(parents=True, exist_ok=True)

    from dbt.cli.main import dbtRunner  # imported late: it costs ~2 s
    from dbt_common.invocation import get_invocation_id

    buffer = io.StringIO()
    started = time.perf_counter()
    with _environment(_dbt_settings(warehouse, project, work, moment, quiet)), \
            warnings.catch_warnings(), contextlib.redirect_stdout(buffer), \
            contextlib.redirect_stderr(buffer):
        warnings.simplefilter("ignore")
        outcome = dbtRunner().invoke(args)
    elapsed = time.perf_counter() - started

    error = None
    if outcome.exception is not None:
        error = " ".join(str(outcome.exception).split())
    exit_code = 0 if outcome.success else (2 if outcome.exception is not None else 1)
    result = DbtResult(
        command=text, success=bool(outcome.success), exit_code=exit_code,
        nodes=_nodes(outcome.result), elapsed_seconds=round(elapsed, 3),
        invocation_id=get_invocation_id(), invoked_at=moment, error=error,
        log=buffer.getvalue(),
        project_models=_project_models(work),
        listed=[str(x) for x in outcome.result] if isinstance(outcome.result, list) else [],
    )
    busy = warehouse_busy_error(warehouse, f"{error or ''} {result.log}")
    if busy:
        raise busy
    if echo:
        print(readable_log(result.log) or result.summary())
        print(f"\n=> {result.summary()}")
    if record and warehouse.exists():
        record_invocation(warehouse, result, origin=origin, scheduler_run_id=scheduler_run_id)
    return result


def _project_models(work: Path) -> list[str]:
    try:
        return sorted(manifest_models(work / "dbt" / "target"))
    except (OSError, ValueError, KeyError):
        return []  # dbt stopped before writing a manifest (e.g. a parse error)


def release() -> None:
    """Close the DuckDB connection dbt-duckdb keeps open after a run.

    dbt-duckdb caches one connection per process (``DuckDBConnectionManager._ENV``); while
    it is open no other process can open the file. Call this before handing the file on.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager
    except ImportError:
        return
    with manager._LOCK:
        if manager._ENV is not None:
            manager._ENV.close()
            manager._ENV = None
