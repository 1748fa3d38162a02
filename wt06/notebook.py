"""Set up a notebook kernel for the course in one call: ``course = start("01_detect_staleness")``.

Each notebook works on its own fresh copy of the incident (warehouse and dbt project)
under the work folder, made anew whenever the setup cell runs. So:

* Run All from a fresh kernel always starts from the incident, and running it twice
  gives the same answers (a fix applied in notebook 05 never leaks into notebook 01);
* several notebooks can be open at once: each kernel holds its own file, so nobody
  meets DuckDB's one-writer lock;
* grading points the work folder at a per-submission temporary folder.

The parts, one job each: ``workcopy`` (the copies), ``session`` (``course``),
``assertions`` (visible checks), ``jupysql_setup`` (``%%sql``), ``magics``
(``%%project_file``, leftover placeholders), ``display`` (errors, prose, charts).
"""

from __future__ import annotations

import os
from pathlib import Path

from wt06.settings import telemetry_off

telemetry_off()  # before jupysql or dbt is imported

from wt06.foundation import paths  # noqa: E402
from wt06.incident import clock  # noqa: E402
from wt06.incident.warehouse import connect, read_clock, require_built  # noqa: E402
from wt06.incident.workcopy import copy_project, copy_warehouse  # noqa: E402
from wt06.lab.display import markdown, setup_plots, show_errors_briefly  # noqa: E402,F401
from wt06.lab.jupysql_setup import setup_jupysql  # noqa: E402
from wt06.lab.magics import register  # noqa: E402
from wt06.lab.session import Session  # noqa: E402
from wt06.pipeline import dbt_runner  # noqa: E402
from wt06.settings import ENV_AS_OF  # noqa: E402

_current: Session | None = None


def _fresh_copy(name: str) -> Path:
    """Copy the built incident into ``<work>/<name>/`` (keeping dbt's parse cache)."""
    source = require_built(paths.warehouse_path())
    folder = paths.work_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    copy_warehouse(source, folder / "warehouse.duckdb")
    (folder / "practice.duckdb").unlink(missing_ok=True)
    copy_project(paths.project_dir(), folder / "dbt_project")
    return folder


def start(name: str, *, as_of=None) -> Session:
    """Give this kernel a fresh copy of the incident and everything the notebook uses."""
    global _current
    if _current is not None:
        _current.close()
        _current = None
    # nbgrader's Validate button and autograde run the notebook in a second kernel while
    # the student's may still be open: give that run a copy of its own.
    execution = os.environ.get("NBGRADER_EXECUTION")
    folder = _fresh_copy(f"{name}-{execution}" if execution else name)
    # the clock: an argument, else WT06_AS_OF, else the incident warehouse's own
    if as_of is None and not os.environ.get(ENV_AS_OF):
        moment = read_clock(folder / "warehouse.duckdb") or clock.as_of()
    else:
        moment = clock.as_of(as_of)
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
        setup_jupysql(shell, session.con)
        register(shell, session)
        show_errors_briefly(shell)
        setup_plots(shell)
    print(f"WT-06 {name}: a fresh copy of the incident in {_shown(folder)}. "
          f"The story's clock: {clock.describe(moment)}; in SQL it is as_of().")
    return session


def _shown(folder: Path) -> str:
    try:
        return str(folder.relative_to(Path.cwd().parent))
    except ValueError:
        return str(folder)


__all__ = ["start", "Session", "dbt_runner"]
