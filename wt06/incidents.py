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
* ``quiet_days_drill``: the course's story again, with a long midweek outage, two quiet
  days in it, and a broken job that still builds the intermediate layer (so what the
  scheduler left out differs from the course's incident).

Each story a hidden check grades on has public drills here (``STORIES``): a visible
check runs on them, and the notebook names them, so nothing a hidden check asks is a
surprise. Notebook 06 replays a monitor's rules over the course's incident and these three.
Inputs live in ``data/incidents/<name>/`` (committed CSVs, written by ``make data``);
``make warehouse`` builds each next to the incident warehouse (``<name>.duckdb``), and a
missing one is built on first use.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wt06.errors import DataError
from wt06.foundation import paths
from wt06.foundation.tables import FULL_RUN, RUN_LOG
from wt06.incident.scenario import LOADER_OUTAGE, SKIPPED_MARTS, Scenario, ScenarioParams, load_scenario
from wt06.incident.warehouse import require_built
from wt06.pipeline.build import build_warehouse

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
        phantom_runs=7, broken_selector="staging.* intermediate.*", first_run_number=88, customers=19,
        orders=33, events=44, push_orders_per_day=4, story=SKIPPED_MARTS, quiet_days=2),
}
DRILLS = tuple(name for name in PUBLIC if name != PRACTICE)

# How a notebook, a visible check's message and a hidden check's verdict name each public incident.
LABELS = {
    PRACTICE: "the practice incident",
    "loader_outage_drill": "the loader-outage drill",
    "quiet_days_drill": "the quiet-days drill",
}


@dataclass(frozen=True)
class Story:
    """A kind of incident the course grades on: how to name it, and its public drills."""

    name: str
    description: str  # what happened, in words a verdict can use (no data of any incident)

    @property
    def drills(self) -> tuple[str, ...]:
        """The public incidents of this story (a visible check runs on at least one)."""
        return tuple(name for name, params in PUBLIC.items() if params.story == self.name)


# The stories a hidden check may grade on, one line each. A verdict on a secret incident
# names its story with ``description`` and never its data (dates, run ids, counts).
STORIES: dict[str, Story] = {
    SKIPPED_MARTS: Story(
        SKIPPED_MARTS,
        "an incident where the scheduler's job stopped building the marts while the loader kept "
        "delivering (other dates, run ids, selector and number of phantom runs)"),
    LOADER_OUTAGE: Story(
        LOADER_OUTAGE,
        "an incident where the loader stopped delivering while every scheduled run built everything"),
}


def describe(story: str) -> str:
    """One line naming a kind of incident (for messages); the student's own is "your incident"."""
    if story == CANONICAL:
        return "your incident"
    return STORIES[story].description if story in STORIES else "another incident"


def story_of(name: str) -> str:
    """The story of a public incident (or of the course's own)."""
    return CANONICAL if name == CANONICAL else PUBLIC[name].story


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
    return build_warehouse(warehouse(name), data_dir=data_dir(name),
                           work=paths.work_dir() / "build" / name, say=say)


def ensure_built(name: str) -> Incident:
    """The incident, building its warehouse first if it is missing."""
    path = warehouse(name)
    if not path.is_file():
        if name == CANONICAL:
            require_built(path)
        build(name)
    return Incident(name, path, data_dir(name))


def replay_moments(con, now) -> list:
    """The moments a rule is replayed at: the first phantom run's start, every later run's
    finish, and now (just ``[now]`` when no run ever left a model out). The grader replays
    ``moments: replay`` questions at the same moments on its own incidents."""
    first = con.execute(f"select min(started_at) from {RUN_LOG} where models_run <> ?", [FULL_RUN]).fetchone()[0]
    if first is None:
        return [now]
    finishes = [r for (r,) in con.execute(
        f"select finished_at from {RUN_LOG} where started_at >= ? order by 1", [first]).fetchall()]
    return [first, *finishes, now]


def expected(name: str = PRACTICE) -> dict:
    """The published expected results of a public incident (question -> result)."""
    path = data_dir(name) / EXPECTED_FILE
    if not path.is_file():
        raise DataError(f"{path} is missing: the practice incident's expected results are "
                        "written by 'make release' in the course repository.")
    return json.loads(path.read_text())


def build_all(*, as_of=None, say: Callable[[str], None] = lambda _: None) -> list[Path]:
    """Build the incident warehouse and, next to it, every public incident's."""
    built = [build_warehouse(as_of=as_of, say=say)]
    for name in PUBLIC:
        say(f"-- the {name} incident")
        built.append(build(name, say=say))
    return built


def reset(*, as_of=None, say: Callable[[str], None] = lambda _: None) -> list[Path]:
    """Throw away every notebook's working copy and rebuild every warehouse."""
    work = paths.work_dir()
    if work.exists():
        shutil.rmtree(work)
        say(f"removed the notebooks' working copies in {work}")
    return build_all(as_of=as_of, say=say)
