"""Set up a notebook kernel for the course in one call: ``course = start("01_detect_staleness")``.

Each notebook works on its own fresh copy of the incident (warehouse and dbt project)
under the work folder, made anew whenever the setup cell runs. So:

* Run All from a fresh kernel always starts from the incident, and running it twice
  gives the same answers (a fix applied in notebook 05 never leaks into notebook 01);
* several notebooks can be open at once: each kernel holds its own file, so nobody
  meets DuckDB's one-writer lock;
* grading points the work folder at a per-submission temporary folder.

The kernel holds one plain DuckDB connection, handed to jupysql (``%%sql`` cells) and
shared with dbt running in-process (``course.dbt(...)``). SQL errors and the course's
own errors are shown as one readable message instead of a Python traceback.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

for _name, _value in {"PLOOMBER_STATS_ENABLED": "false",  # jupysql's telemetry
                      "PLOOMBER_VERSION_CHECK_DISABLED": "true",
                      "DO_NOT_TRACK": "1"}.items():
    os.environ.setdefault(_name, _value)

import duckdb  # noqa: E402
import pandas as pd  # noqa: E402

from . import clock, dbt_runner, paths  # noqa: E402
from .errors import DataError, NoAnswerYet, SQLError, WarehouseBusy  # noqa: E402
from .project import mart_sla_hours  # noqa: E402
from .warehouse import connect, require_built, warehouse_busy_error  # noqa: E402

_current: "Session | None" = None


@dataclass
class Session:
    """One notebook's working copy of the incident, and the tools to work on it."""

    name: str
    folder: Path
    as_of: datetime
    con: duckdb.DuckDBPyConnection = field(repr=False)
    written: set[str] = field(default_factory=set)  # project files written by %%project_file

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"

    @property
    def project(self) -> Path:
        """This notebook's copy of the dbt project: write your fixes here."""
        return self.folder / "dbt_project"

    @property
    def sla_hours(self) -> float:
        """The marts' freshness SLA, from dbt_project.yml (vars: mart_freshness_sla_hours)."""
        return mart_sla_hours(self.project)

    # ----- SQL ---------------------------------------------------------------------
    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run a query on the notebook's warehouse and return a DataFrame."""
        try:
            return self.con.execute(query, params or []).df()
        except duckdb.Error as exc:
            raise SQLError(_sql_message(exc)) from None

    def value(self, query: str, params: list | None = None):
        """The single value a query returns."""
        frame = self.sql(query, params)
        if frame.shape != (1, 1):
            raise SQLError(f"expected one value, the query returned {frame.shape[0]} rows "
                           f"and {frame.shape[1]} columns")
        return frame.iat[0, 0]

    def saved_sql(self, name: str) -> str:
        """The text of the query an ``%%sql --save <name>`` cell saved."""
        from sql.store import store

        if name not in list(store):  # jupysql's store raises UsageError for `in`
            raise NoAnswerYet(f"no answer yet: run the cell that saves the query '{name}' "
                              f"(its first line is %%sql --save {name}).")
        text = str(store[name])
        if "no answer yet" in text:
            raise NoAnswerYet(f"no answer yet: write the query '{name}' in its answer cell.")
        return text

    def saved(self, name: str) -> pd.DataFrame:
        """Run the saved query ``name`` again and return its rows as a DataFrame."""
        return self.sql(self.saved_sql(name))

    # ----- dbt ---------------------------------------------------------------------
    def dbt(self, command: str, *, echo: bool = True) -> dbt_runner.DbtResult:
        """Run a dbt command (as typed in a terminal) on this notebook's working copy."""
        return dbt_runner.invoke(command, as_of=self.as_of, warehouse=self.warehouse,
                                 project=self.project, work=self.folder, echo=echo,
                                 origin="notebook")

    def expect_columns(self, frame: pd.DataFrame, **kinds: str) -> None:
        """Assert ``frame`` has each column, holding the kind of value named.

        ``kinds`` maps a column to "time" (a date or timestamp), "number" or "text"; the
        AssertionError names the column and what it holds instead.
        """
        checks = {"time": pd.api.types.is_datetime64_any_dtype,
                  "number": pd.api.types.is_numeric_dtype,
                  "text": lambda s: pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s)}
        for column, kind in kinds.items():
            assert column in frame.columns, (
                f"the query must return a column named {column}; it returns {list(frame.columns)}")
            if len(frame):
                assert checks[kind](frame[column]), (
                    f"the column {column} should hold {'dates or timestamps' if kind == 'time' else kind + 's'}, "
                    f"not {frame[column].dtype}")

    def require(self, *names: str) -> None:
        """Raise NoAnswerYet unless every answer variable ``names`` has been defined."""
        from IPython import get_ipython

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
        missing = [n for n in names if n not in namespace]
        if missing:
            raise NoAnswerYet(f"no answer yet: {', '.join(missing)} is not defined; "
                              "answer the question above and run the cells after it.")

    def file_text(self, relative: str) -> str:
        """A project file an answer cell wrote in this session (else NoAnswerYet)."""
        path = self.project / relative
        if relative not in self.written or not path.is_file():
            raise NoAnswerYet(f"no answer yet: run the answer cell that writes {relative} "
                              "(its first line is %%project_file " + relative + ").")
        return path.read_text()

    def md(self, text: str) -> None:
        """Show prose whose numbers were computed in the cell (so they never drift)."""
        from IPython.display import Markdown, display

        display(Markdown(text))

    def show_file(self, relative: str) -> None:
        """Print a file of this notebook's dbt project with line numbers."""
        path = self.project / relative
        if not path.is_file():
            print(f"{relative} does not exist in {self.project}")
            return
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            print(f"{number:3d}  {line}")

    def set_clock(self, moment) -> None:
        """Move this notebook's as-of clock (used by the replay in notebook 06)."""
        from .warehouse import set_clock

        self.as_of = clock.as_of(moment)
        set_clock(self.con, self.as_of)

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            dbt_runner.release()


def _sql_message(exc: BaseException) -> str:
    text = str(exc)
    for prefix in ("Invalid Input Error: ",):
        text = text.replace(prefix, "")
    return text


def _fresh_copy(name: str) -> Path:
    """Copy the built incident into ``<work>/<name>/`` (keeping dbt's parse cache)."""
    source = require_built(paths.warehouse_path())
    folder = paths.work_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "warehouse.duckdb"
    if copy.exists():  # refuse to pull the file from under another kernel
        try:
            duckdb.connect(str(copy)).close()
        except duckdb.Error as exc:
            busy = warehouse_busy_error(copy, str(exc))
            if busy:
                raise WarehouseBusy(
                    f"This notebook is already running in another kernel: {busy} "
                ) from None
            raise
    for stale in (copy, folder / "warehouse.duckdb.wal"):
        stale.unlink(missing_ok=True)
    shutil.copy(source, copy)
    shutil.rmtree(folder / "dbt_project", ignore_errors=True)
    shutil.copytree(paths.project_dir(), folder / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    return folder


def _show_errors_briefly(shell) -> None:
    """Show SQL errors and course errors as one message, not a traceback wall."""
    from IPython.core.error import UsageError

    def handler(shell, etype, value, tb, tb_offset=None):
        cause = value.__cause__ if isinstance(value, UsageError) else None
        error = cause if isinstance(cause, duckdb.Error) else value
        if isinstance(error, duckdb.Error):
            message = _sql_message(error)
            kind = NoAnswerYet if "no answer yet" in message else SQLError
            lines = [f"{kind.__name__}: {message}"]
            shell._showtraceback(kind, message, lines)
            return lines
        return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)

    shell.set_custom_exc((duckdb.Error, UsageError), handler)


def _setup_jupysql(shell, con) -> None:
    if "sql" not in shell.extension_manager.loaded:
        from unittest import mock

        # jupysql looks for settings in the nearest pyproject.toml, finds the course
        # package's (which has none for it) and prints a hint about the 'toml' package.
        with mock.patch("sql.util.find_path_from_root", return_value=None):
            shell.run_line_magic("load_ext", "sql")
    shell.user_ns["_wt06_connection"] = con
    shell.run_line_magic("sql", "_wt06_connection --alias warehouse")
    for setting in ("SqlMagic.displaylimit = 30", "SqlMagic.feedback = 0",
                    "SqlMagic.displaycon = False"):
        shell.run_line_magic("config", setting)


def _register_project_file(shell, session: Session) -> None:
    """``%%project_file <path>``: %%writefile into this notebook's copy of the dbt project.

    The path is relative to the project, so the cell works in every working copy (and in
    grading, on a per-submission copy). YAML is checked before anything is written, and
    an answer cell still holding its placeholder writes nothing.
    """
    import yaml

    def project_file(line: str, cell: str) -> None:
        relative = line.strip()
        target = (session.project / relative).resolve()
        if not relative or session.project.resolve() not in target.parents:
            raise DataError("write %%project_file followed by a path inside the dbt project, "
                            "e.g. %%project_file tests/assert_marts_fresh.sql")
        if "no answer yet" in cell.lower():
            raise NoAnswerYet(f"no answer yet: write the content of {relative} in this cell.")
        if target.suffix in (".yml", ".yaml"):
            try:
                yaml.safe_load(cell)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" (line {mark.line + 2} of the cell)" if mark else ""
                raise DataError(f"{relative} is not valid YAML{where}: "
                                f"{getattr(exc, 'problem', exc)}. Nothing was written.") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(cell)
        session.written.add(relative)
        print(f"Wrote {relative} in this notebook's copy of the dbt project.")

    shell.register_magic_function(project_file, magic_kind="cell", magic_name="project_file")


def _setup_plots(shell) -> None:
    import matplotlib

    shell.run_line_magic("matplotlib", "inline")
    matplotlib.rcParams.update({"figure.figsize": (9, 4), "figure.dpi": 100,
                                "axes.grid": True, "grid.alpha": 0.3,
                                "axes.spines.top": False, "axes.spines.right": False})


def start(name: str, *, as_of=None) -> Session:
    """Give this kernel a fresh copy of the incident and everything the notebook uses."""
    global _current
    if _current is not None:
        _current.close()
        _current = None
    moment = clock.as_of(as_of)
    # nbgrader's Validate button and autograde run the notebook in a second kernel while
    # the student's may still be open: give that run a copy of its own.
    execution = os.environ.get("NBGRADER_EXECUTION")
    folder = _fresh_copy(f"{name}-{execution}" if execution else name)
    session = Session(name=name, folder=folder, as_of=moment,
                      con=connect(folder / "warehouse.duckdb", as_of=moment))
    _current = session
    try:
        from IPython import get_ipython
    except ImportError:
        shell = None
    else:
        shell = get_ipython()
    if shell is not None:
        _setup_jupysql(shell, session.con)
        _register_project_file(shell, session)
        _show_errors_briefly(shell)
        _setup_plots(shell)
    print(f"WT-06 {name}: a fresh copy of the incident in {_shown(folder)}. "
          f"The story's clock: {clock.describe(moment)}; in SQL it is as_of().")
    return session


def _shown(folder: Path) -> str:
    try:
        return str(folder.relative_to(Path.cwd().parent))
    except ValueError:
        return str(folder)
