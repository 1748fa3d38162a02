"""Run dbt in this Python process against a chosen warehouse, and record every run.

Why in-process: DuckDB lets one process write a database file. A notebook kernel that
holds a connection makes a ``dbt`` subprocess fail with "Could not set lock"; dbt run
through ``dbtRunner`` in the same process shares DuckDB's instance of the file instead.
It is also ~10x cheaper than a subprocess (most of a CLI call is importing dbt).

dbt is given its settings directly, never through the process's environment (which
other code in the kernel shares): the project and a profile pointing at the chosen
warehouse (written into the work folder) as command-line flags, target and log folders
in the work folder (the project may be read-only), no colours, no usage tracking, as
``dbtRunner.invoke`` keyword arguments. The story's clock lives in the warehouse itself
(its ``as_of()`` macro, which the project's ``duckdb__current_timestamp`` reads), so a
run "at" a moment sets that macro first. The outcome is written to
``audit.dbt_invocations`` in the warehouse, so students can query their own runs next
to the orchestrator's log.

A run, build, test or freshness check that selected nothing is reported as a failure
(``ran_nothing``): dbt exits 0 when it has nothing to do, and a check that ran nothing
proves nothing.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from . import clock, paths
from .errors import DataError, DbtCommandError
from .project import manifest_models
from .settings import telemetry_off
from .warehouse import read_clock, record_invocation, warehouse_busy_error, write_clock

telemetry_off()  # before dbt is imported anywhere

_SELECT_FLAGS = {"--select", "-s", "--models", "-m"}
_REFUSED = {
    "init": "it asks questions interactively",
    "deps": "it downloads packages, and the course works offline",
    "docs serve": "it starts a web server that never returns",
}
# Subcommands that execute nodes: selecting none of them means nothing was checked.
_EXECUTING = ("run", "build", "test", "seed", "snapshot", "source freshness")
PROFILE_FOLDER = "profiles"


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
    ran_nothing: bool = False  # an executing command whose selection matched no node

    @property
    def subcommand(self) -> str:
        return subcommand_of(parse_command(self.command))

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

    def status_of(self, name: str) -> str | None:
        """The status dbt gave the node ``name`` (None: it did not run)."""
        return next((status for n, _, status in self.nodes if n == name), None)

    @property
    def selector(self) -> str | None:
        return selector_of(parse_command(self.command))

    def summary(self) -> str:
        if self.ran_nothing:
            return (f"{self.command}  ->  NOTHING RAN (exit code {self.exit_code}): the selection "
                    "matched no node, so nothing was built or checked. Not a pass.")
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


def subcommand_of(args: Sequence[str]) -> str:
    """'run', 'test', 'source freshness', ...: the (two-word for source/docs) subcommand."""
    if args and args[0] in ("source", "docs") and len(args) > 1 and not args[1].startswith("-"):
        return f"{args[0]} {args[1]}"
    return args[0] if args else ""


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


def profile_for(project: Path, warehouse: Path, folder: Path) -> Path:
    """Write the project's profile with its DuckDB path set to ``warehouse``; return its folder.

    The project's own profiles.yml (what a terminal `dbt` reads) points at the course's
    warehouse; every in-process run gets a copy naming the file it must work on. The
    file is rewritten only when it changes, so dbt's partial parsing stays valid.
    """
    source = Path(project) / "profiles.yml"
    try:
        profiles = yaml.safe_load(source.read_text()) or {}
        name = yaml.safe_load((Path(project) / "dbt_project.yml").read_text())["profile"]
        outputs = profiles[name]["outputs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise DataError(f"Cannot read the dbt profile in {source}: {exc}.") from None
    for output in outputs.values():
        output["path"] = str(Path(warehouse).resolve())
    text = yaml.safe_dump({name: profiles[name]}, sort_keys=True)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "profiles.yml"
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)
    return folder


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

    ``as_of`` moves the warehouse's clock to that moment first (and leaves it there);
    without it dbt runs at the warehouse's own clock. ``echo`` prints dbt's own log (its
    per-model lines and summary) after the run; otherwise nothing is printed, so a
    grading cell stays silent. A warehouse held by another process raises WarehouseBusy
    with one sentence on what to do.
    """
    args = parse_command(command)
    text = command.strip() if isinstance(command, str) else shlex.join(["dbt", *args])
    warehouse = Path(warehouse) if warehouse else paths.warehouse_path()
    project = Path(project).resolve() if project else paths.project_dir()
    work = Path(work) if work else paths.work_dir()
    if not (project / "dbt_project.yml").is_file():
        raise DbtCommandError(f"No dbt project at {project} (dbt_project.yml is missing).")
    (work / "dbt").mkdir(parents=True, exist_ok=True)
    moment = set_warehouse_clock(warehouse, as_of)
    profiles = profile_for(project, warehouse, work / "dbt" / PROFILE_FOLDER)

    from dbt.cli.main import dbtRunner  # imported late: it costs ~2 s
    from dbt_common.invocation import get_invocation_id

    flags = ["--project-dir", str(project), "--profiles-dir", str(profiles)]
    settings = {"target_path": str(work / "dbt" / "target"), "log_path": str(work / "dbt" / "logs"),
                "use_colors": False, "use_colors_file": False, "quiet": quiet, "printer_width": 80,
                "send_anonymous_usage_stats": False}
    buffer = io.StringIO()
    started = time.perf_counter()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buffer), \
            contextlib.redirect_stderr(buffer):
        warnings.simplefilter("ignore")
        outcome = dbtRunner().invoke([*args, *flags], **settings)
    elapsed = time.perf_counter() - started

    error = None
    if outcome.exception is not None:
        error = " ".join(str(outcome.exception).split())
    exit_code = 0 if outcome.success else (2 if outcome.exception is not None else 1)
    nodes = _nodes(outcome.result)
    ran_nothing = bool(outcome.success) and not nodes and subcommand_of(args) in _EXECUTING
    result = DbtResult(
        command=text, success=bool(outcome.success) and not ran_nothing, exit_code=exit_code,
        nodes=nodes, elapsed_seconds=round(elapsed, 3),
        invocation_id=get_invocation_id(), invoked_at=moment, error=error,
        log=buffer.getvalue(),
        project_models=_project_models(work),
        listed=[str(x) for x in outcome.result] if isinstance(outcome.result, list) else [],
        ran_nothing=ran_nothing,
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


def set_warehouse_clock(warehouse: Path, as_of=None) -> datetime:
    """Move the warehouse's clock to ``as_of`` (if given) and return the clock dbt will see.

    A warehouse that has no clock yet (a file being built) gets the course's as-of.
    """
    if as_of is not None:
        moment = clock.as_of(as_of)
        write_clock(warehouse, moment)
        return moment
    current = read_clock(warehouse)
    if current is None:
        current = clock.as_of()
        write_clock(warehouse, current)
    return current


def parse_project(project: Path, warehouse: Path, work: Path):
    """dbt's parsed manifest of ``project`` (a dbt Manifest object), parsed in-process.

    The effective configuration of every node as dbt itself resolves it (inheritance
    from dbt_project.yml, source- and table-level config, ``config:`` or top-level keys).
    """
    from dbt.cli.main import dbtRunner

    (work / "dbt").mkdir(parents=True, exist_ok=True)
    profiles = profile_for(Path(project), Path(warehouse), work / "dbt" / PROFILE_FOLDER)
    buffer = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buffer), \
            contextlib.redirect_stderr(buffer):
        warnings.simplefilter("ignore")
        outcome = dbtRunner().invoke(
            ["parse", "--project-dir", str(Path(project).resolve()), "--profiles-dir", str(profiles)],
            target_path=str(work / "dbt" / "target"), log_path=str(work / "dbt" / "logs"),
            use_colors=False, quiet=True, send_anonymous_usage_stats=False)
    if not outcome.success or outcome.result is None:
        reason = " ".join(str(outcome.exception or buffer.getvalue()[-600:]).split())
        raise DbtCommandError(f"dbt could not parse the project {project}: {reason}")
    return outcome.result


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
