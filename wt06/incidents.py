"""The public incidents: the practice incident and the monitoring drills.

Fixed, shipped variants of the two stories, never used for grading (grading incidents
are drawn from a course secret by the grader):

* ``practice``: the same story as the course's incident with other dates, another
  broken selector, a weekday outage, a quiet day and manual re-runs. Visible tests re-run
  a student's saved query on it and compare with its published expected results
  (``data/incidents/practice/expected.json``, written by ``make release`` from the
  instructor notebooks' reference answers), so a hard-coded answer is caught in the
  notebook.
* ``loader_outage_drill``: the loader stops for a week while the scheduler keeps
  running full runs (a quiet day before it).
* ``quiet_days_drill``: the course's story again, with a long midweek outage and two
  quiet days in it.

Notebook 06 replays a monitor's rules over the course's incident and these three.
Inputs live in ``data/incidents/<name>/`` (committed CSVs, written by ``make data``);
``make warehouse`` builds each next to the incident warehouse (``<name>.duckdb``), and a
missing one is built on first use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import paths
from .errors import DataError
from .scenario import LOADER_OUTAGE, SKIPPED_MARTS, Scenario, ScenarioParams, load_scenario

CANONICAL = "canonical"
PRACTICE = "practice"
EXPECTED_FILE = "expected.json"

PUBLIC: dict[str, ScenarioParams] = {
    PRACTICE: ScenarioParams(
        seed=4101, first_day="2023-09-04", freeze_day="2023-10-10", outage_days=2, full_runs=9,
        phantom_runs=3, broken_selector="stg_*", first_run_number=230, customers=21, orders=34,
        events=46, push_orders_per_day=6, story=SKIPPED_MARTS, quiet_days=1),
    "loader_outage_drill": ScenarioParams(
        seed=4102, first_day="2023-04-03", freeze_day="2023-05-12", outage_days=7, full_runs=12,
        phantom_runs=0, first_run_number=512, customers=23, orders=37, events=50,
        push_orders_per_day=5, story=LOADER_OUTAGE, quiet_days=1),
    "quiet_days_drill": ScenarioParams(
        seed=4103, first_day="2024-05-06", freeze_day="2024-06-11", outage_days=5, full_runs=7,
        phantom_runs=7, broken_selector="path:models/staging", first_run_number=88, customers=19,
        orders=33, events=44, push_orders_per_day=4, story=SKIPPED_MARTS, quiet_days=2),
}
DRILLS = tuple(name for name in PUBLIC if name != PRACTICE)


@dataclass(frozen=True)
class Incident:
    """A built incident a check can run on: plain paths, and what really happened."""

    name: str
    warehouse: Path
    data_dir: Path

    @property
    def scenario(self) -> Scenario:
        return load_scenario(self.data_dir)

    @property
    def truth(self) -> dict:
        return self.scenario.truth()

    def as_json(self) -> dict:
        return {"name": self.name, "warehouse": str(self.warehouse), "truth": self.truth}


def data_dir(name: str) -> Path:
    if name == CANONICAL:
        return paths.data_dir()
    if name not in PUBLIC:
        raise DataError(f"unknown public incident {name!r}: choose one of {', '.join(PUBLIC)}.")
    return paths.incidents_dir() / name


def warehouse(name: str) -> Path:
    return paths.warehouse_path() if name == CANONICAL else paths.public_warehouse(name)


def write_inputs(say: Callable[[str], None] = lambda _: None) -> list[Path]:
    """Write every public incident's CSVs and scenario.json (``make data``)."""
    written = []
    for name, params in PUBLIC.items():
        files = Scenario(params).write(data_dir(name))
        written += files
        say(f"wrote the {name} incident to {data_dir(name)} ({len(files)} files)")
    return written


def build(name: str, say: Callable[[str], None] = lambda _: None) -> Path:
    """(Re)build a public incident's warehouse with the real build."""
    from .build import build_warehouse

    return build_warehouse(warehouse(name), data_dir=data_dir(name),
                           work=paths.work_dir() / "build" / name, say=say)


def ensure_built(name: str) -> Incident:
    """The incident, building its warehouse first if it is missing."""
    path = warehouse(name)
    if not path.is_file():
        if name == CANONICAL:
            from .warehouse import require_built

            require_built(path)
        build(name)
    return Incident(name, path, data_dir(name))


def expected(name: str = PRACTICE) -> dict:
    """The published expected results of a public incident (question -> result)."""
    path = data_dir(name) / EXPECTED_FILE
    if not path.is_file():
        raise DataError(f"{path} is missing: the practice incident's expected results are "
                        "written by 'make release' in the course repository.")
    return json.loads(path.read_text())
