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

One parse per project contents: the first command that needs dbt's manifest parses the
project (``dbt parse``, which reuses dbt's partial-parse state), and later commands on
the same project files, profile and parse-shaping flags (``--vars``, ``--target``,
``--profile``) hand that parsed manifest to ``dbtRunner``, as dbt's own programmatic API
allows. dbt then skips reading, hashing and re-serialising the project on every call
(about 0.3 s of a 0.4 s ``dbt test`` here). A file written into the project changes its
digest, so the next command parses again; a project dbt cannot parse is run without a
manifest, so dbt reports the parse error exactly as it would. The key is the project's
*contents*, not its folder: a copy of the same project elsewhere reuses the parse (dbt
reads a node's SQL from the manifest, and seeds from the running project's folder), and
the profile as far as it shapes the parse (adapter, schema, and the database name DuckDB
takes from the warehouse file's name; not the file's folder, threads or settings). So a
process that parses the course's project once (the grading sandbox's zygote does, before
it forks) serves every copy of it. ``vars_at_runtime=True`` hands ``--vars`` to dbt at run
time on the parse without them: dbt renders model and test SQL at run time, so the SQL
sees the new values; only a ``config()`` that reads a variable keeps the parsed value.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shlex
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from wt06.errors import DataError, DbtCommandError
from wt06.foundation import paths
from wt06.incident import clock
from wt06.incident.warehouse import read_clock, record_invocation, warehouse_busy_error, write_clock
from wt06.project import manifest_models
from wt06.settings import telemetry_off

telemetry_off()  # before dbt is imported anywhere


def _memoise_dbts_pure_work() -> None:
    """Turn on dbt's in-process caches of pure work (``dbt_common.tests.enable_test_caching``).

    Each dbt command otherwise scans every installed module for dbt plugins (about 80 ms)
    and parses the same Jinja templates and blocks again; dbt keeps these caches for its
    own test suite, keyed by the template text. Installed modules do not change while a
    process runs, and a template's parse depends on its text alone.
    """
    from dbt_common.tests import enable_test_caching

    enable_test_caching()

_SELECT_FLAGS = {"--select", "-s", "--models", "-m"}
_REFUSED = {
    "init": "it asks questions interactively",
    "deps": "it downloads packages, and the course works offline",
    "docs serve": "it starts a web server that never returns",
}
# Subcommands that execute nodes: selecting none of them means nothing was checked.
_EXECUTING = ("run", "build", "test", "seed", "snapshot", "source freshness")
# Subcommands that read the manifest and leave it as they found it: they get the cached
# parse. (`show` and `compile --inline` add a node of their own; `parse` is the parse.)
_MANIFEST_READERS = ("run", "build", "test", "seed", "snapshot", "source freshness", "ls", "list", "compile")
# Flags whose values shape the parse itself: part of the manifest's key, and given to the parse.
_PARSE_FLAGS = {"--vars", "--target", "-t", "--profile"}
_MANIFEST_LIMIT = 8  # parsed manifests kept per process (a few MB each)
PROFILE_FOLDER = "profiles"
_SKIPPED_PARTS = {"target", "logs", "dbt_packages", "__pycache__"}


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
        if self.models_not_run:  # counted, not named: which ones is for the student to find
            text += f"; {len(self.models_not_run)} of the project's {len(self.project_models)} models not run"
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
    vars_at_runtime: bool = False,
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

    _memoise_dbts_pure_work()
    flags = ["--project-dir", str(project), "--profiles-dir", str(profiles)]
    settings = _settings(work, quiet)
    started = time.perf_counter()
    manifest = None
    if subcommand_of(args) in _MANIFEST_READERS and "--inline" not in args:
        parse_flags = _parse_flags(args, skip=("--vars",) if vars_at_runtime else ())
        manifest = parsed_manifest(project, profiles, work, parse_flags)
    if manifest is not None:
        # dbt would write the whole manifest.json again after every command (most of a
        # 0.3 s `dbt test`): the parse wrote it once; run_results.json is written below.
        settings["write_json"] = False
    buffer = io.StringIO()
    INVOCATIONS["count"] += 1
    with warnings.catch_warnings(), contextlib.redirect_stdout(buffer), \
            contextlib.redirect_stderr(buffer):
        warnings.simplefilter("ignore")
        outcome = dbtRunner(manifest=manifest).invoke([*args, *flags], **settings)
    elapsed = time.perf_counter() - started
    if manifest is not None:
        _write_results(outcome.result, work / "dbt" / "target")

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
        project_models=_models_of(manifest) if manifest is not None else _project_models(work),
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
        args = parse_command(result.command)
        record_invocation(warehouse, result, subcommand=subcommand_of(args), selector=selector_of(args),
                          origin=origin, scheduler_run_id=scheduler_run_id)
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


def _write_results(result, target: Path) -> None:
    """dbt's run_results.json (or sources.json) for a command run on a cached parse."""
    writer = getattr(result, "write", None)
    if writer is None or not hasattr(result, "results"):
        return
    name = "sources.json" if type(result).__name__.startswith("Freshness") else "run_results.json"
    try:
        target.mkdir(parents=True, exist_ok=True)
        writer(str(target / name))
    except (OSError, TypeError, ValueError):  # an artifact for the curious, never a reason to fail
        pass


def _settings(work: Path, quiet: bool = True) -> dict:
    """dbtRunner keyword arguments: target and logs in the work folder, no colours, no tracking."""
    # No dbt.log: dbt would format every debug event of every command into it (a third of a
    # `dbt test`'s time here); what a command says is in DbtResult.log, and echo shows it.
    return {"target_path": str(work / "dbt" / "target"), "log_path": str(work / "dbt" / "logs"),
            "use_colors": False, "use_colors_file": False, "quiet": quiet, "printer_width": 80,
            "send_anonymous_usage_stats": False, "log_level_file": "none"}


def _parse_flags(args: Sequence[str], skip: Sequence[str] = ()) -> list[str]:
    """The flags of ``args`` that shape the parse (``--vars '{...}'``, ``--target dev``), in order."""
    picked, words = [], list(args)
    for index, word in enumerate(words):
        name = word.split("=", 1)[0]
        if name not in _PARSE_FLAGS or name in skip:
            continue
        if "=" in word:
            picked.append(word)
        elif index + 1 < len(words):
            picked += [word, words[index + 1]]
    return picked


def project_digest(project: Path) -> str:
    """A digest of the project's files (names and bytes).

    Left out: dbt's own output folders, and ``profiles.yml``, which dbt never reads from
    here (``profile_for`` writes the profile it runs with; ``_profile_key`` covers it).
    """
    digest = hashlib.sha256()
    root = Path(project)
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if _SKIPPED_PARTS & set(relative.parts) or relative.as_posix() in (".user.yml", "profiles.yml") \
                or not path.is_file():
            continue
        digest.update(f"{relative.as_posix()}\0".encode())
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


_RUNTIME_ONLY = {"settings", "threads", "config_options", "keep_open", "retries"}


def _profile_key(profiles: Path) -> str:
    """The profile as far as it shapes dbt's parse: a warehouse file's folder does not, its name does."""
    try:
        data = yaml.safe_load((Path(profiles) / "profiles.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return ""
    shaped = {}
    for name, profile in sorted(data.items()) if isinstance(data, dict) else []:
        if not isinstance(profile, dict):
            continue
        outputs = {}
        for target, output in sorted((profile.get("outputs") or {}).items()):
            if isinstance(output, dict):
                output = {k: v for k, v in output.items() if k not in _RUNTIME_ONLY}
                if isinstance(output.get("path"), str) and output["path"] != ":memory:":
                    output["path"] = Path(output["path"]).stem  # DuckDB's database name
                outputs[target] = output
        shaped[name] = {"target": profile.get("target"), "outputs": outputs}
    return yaml.safe_dump(shaped, sort_keys=True)


_MANIFESTS: dict[tuple, object] = {}  # parse key -> dbt Manifest, oldest first
PARSES = {"count": 0}  # full or partial parses this process made (make bench reports them)
INVOCATIONS = {"count": 0}  # dbt commands this process ran (make bench reports them)


def parsed_manifest(project: Path, profiles: Path, work: Path, parse_flags: Sequence[str] = ()):
    """dbt's parsed manifest of ``project`` as it is now, parsed once per contents (or None).

    Keyed by the project's file digest, the profile as it shapes the parse (which names
    the database every relation is in) and the parse-shaping flags; None when dbt cannot
    parse the project (the caller lets dbt report why).
    """
    key = (project_digest(project), _profile_key(profiles), tuple(parse_flags))
    if key in _MANIFESTS:
        _MANIFESTS[key] = _MANIFESTS.pop(key)  # most recently used last
        return _MANIFESTS[key]
    try:
        manifest = _parse(project, profiles, work, parse_flags)
    except DbtCommandError:
        return None
    _MANIFESTS[key] = manifest
    while len(_MANIFESTS) > _MANIFEST_LIMIT:
        _MANIFESTS.pop(next(iter(_MANIFESTS)))
    return manifest


PARSE_WAREHOUSES = "/wt06-dbt-parse"  # a folder that never exists: dbt parses without opening the file


def _parse(project: Path, profiles: Path, work: Path, parse_flags: Sequence[str] = ()):  # noqa: D401
    """``dbt parse`` of ``project`` in ``work/dbt/parse`` (dbt's partial-parse state stays there).

    The parse runs on a profile whose warehouse lives in a folder that does not exist:
    parsing opens no database, and only the file's *name* (DuckDB's database name) shapes
    the manifest, so moving a warehouse does not make dbt parse the project in full again.

    A new parse folder starts from the parse of the course's *own* project (the incident
    as shipped), never from another folder's edits: dbt's partial parsing of a project
    edited one way and then back can keep settings a file no longer has (seen here: a
    source's freshness outlived its removal), while the course's own project is where
    every copy starts, and what its students and the grader change only adds to. That
    state is kept in memory (for every later parse in this process) and in ``work``'s
    ``.dbt-parse/`` (for the next process working there): nothing is written outside the
    work folder the caller named.
    """
    from dbt.cli.main import dbtRunner

    folder = Path(work) / "dbt" / "parse"
    parse_profiles = folder / PROFILE_FOLDER
    parse_profiles.mkdir(parents=True, exist_ok=True)
    profile = yaml.safe_load((Path(profiles) / "profiles.yml").read_text()) or {}
    for entry in profile.values():
        for output in (entry.get("outputs") or {}).values() if isinstance(entry, dict) else []:
            if isinstance(output, dict) and isinstance(output.get("path"), str) and output["path"] != ":memory:":
                output["path"] = f"{PARSE_WAREHOUSES}/{Path(output['path']).name}"
    text = yaml.safe_dump(profile, sort_keys=True)
    if not (parse_profiles / "profiles.yml").is_file() or (parse_profiles / "profiles.yml").read_text() != text:
        (parse_profiles / "profiles.yml").write_text(text)
    state = folder / "target" / PARTIAL_PARSE
    seed_key = hashlib.sha256(f"{_profile_key(parse_profiles)}\0{list(parse_flags)}".encode()).hexdigest()[:20]
    if not state.is_file():
        seed = _course_parse(Path(work), seed_key)
        if seed is not None:
            state.parent.mkdir(parents=True, exist_ok=True)
            state.write_bytes(seed)
    buffer = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buffer), \
            contextlib.redirect_stderr(buffer):
        warnings.simplefilter("ignore")
        outcome = dbtRunner().invoke(
            ["parse", *parse_flags, "--project-dir", str(Path(project).resolve()), "--profiles-dir",
             str(parse_profiles)],
            **{**_settings(folder.parent), "target_path": str(folder / "target"), "log_path": str(folder / "logs")})
    PARSES["count"] += 1
    if not outcome.success or outcome.result is None:
        reason = " ".join(str(outcome.exception or buffer.getvalue()[-600:]).split())
        raise DbtCommandError(f"dbt could not parse the project {project}: {reason}")
    if state.is_file() and project_digest(project) == _course_digest():
        _keep_course_parse(Path(work), seed_key, state.read_bytes())
    return outcome.result


PARTIAL_PARSE = "partial_parse.msgpack"
_COURSE_PARSES: dict[str, bytes] = {}  # seed key -> the parse state of the course's own project


def _course_digest() -> str | None:
    try:
        return project_digest(paths.project_dir())
    except OSError:
        return None


def _seed_file(work: Path, seed_key: str) -> Path:
    return work / ".dbt-parse" / f"{seed_key}.msgpack"


def _course_parse(work: Path, seed_key: str) -> bytes | None:
    if seed_key in _COURSE_PARSES:
        return _COURSE_PARSES[seed_key]
    try:
        return _seed_file(work, seed_key).read_bytes()
    except OSError:
        return None


def _keep_course_parse(work: Path, seed_key: str, data: bytes) -> None:
    path = _seed_file(work, seed_key)
    if _COURSE_PARSES.get(seed_key) == data and path.is_file():
        return
    _COURSE_PARSES[seed_key] = data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:  # a read-only work folder: the memory copy serves this process
        pass


def parse_project(project: Path, warehouse: Path, work: Path):
    """dbt's parsed manifest of ``project`` (a dbt Manifest object), parsed in-process.

    The effective configuration of every node as dbt itself resolves it (inheritance
    from dbt_project.yml, source- and table-level config, ``config:`` or top-level keys).
    Shared with ``invoke``: the same project contents are parsed once.
    """
    (work / "dbt").mkdir(parents=True, exist_ok=True)
    project = Path(project).resolve()
    profiles = profile_for(project, Path(warehouse), work / "dbt" / PROFILE_FOLDER)
    manifest = parsed_manifest(project, profiles, work)
    if manifest is None:
        return _parse(project, profiles, work)  # raises DbtCommandError with dbt's reason
    return manifest


def _models_of(manifest) -> list[str]:
    return sorted(node.name for node in manifest.nodes.values()
                  if getattr(node.resource_type, "value", node.resource_type) == "model")


def _project_models(work: Path) -> list[str]:
    try:
        return sorted(manifest_models(work / "dbt" / "target"))
    except (OSError, ValueError, KeyError):
        return []  # dbt stopped before writing a manifest (e.g. a parse error)


def close_logs() -> None:
    """Close the log files dbt's event loggers hold open (dbt.log in the last work folder).

    dbt closes them only when its next invocation replaces them, by dropping them: a
    process that forks after a dbt call must close them first, or a child that reuses the
    file descriptor number (for a DuckDB file, say) has it closed under it when dbt drops
    the inherited logger.
    """
    try:
        from dbt_common.events.event_manager_client import cleanup_event_logger, get_event_manager
    except ImportError:
        return
    for logger in list(getattr(get_event_manager(), "loggers", [])):
        python_logger = getattr(logger, "_python_logger", None)
        for handler in list(getattr(python_logger, "handlers", [])):
            handler.close()
            python_logger.removeHandler(handler)
    cleanup_event_logger()


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
