"""Shared fixtures. Tests never write into the repository's data/ or dbt_project/.

The location settings (wt06.foundation.paths) are pointed at a per-session temporary folder before
any test runs, and each test that changes a warehouse or a project gets its own copy.

What is expensive to build is built once and shared (fixtures/shared.py): the incident
warehouse and the public incidents, the grading incidents and the reference results live
in a cache keyed by their inputs' digest (``.pytest_cache/d/wt06``), reused by later
sessions; each process (each xdist worker) works on copies of them in its own scratch
folder, so no two processes ever hold the same DuckDB file, and nothing another worker
does lands in the folder the attack harness watches.

Both cores: ``make test`` runs pytest-xdist with ``--dist loadgroup``. Tests that share
a module- or session-scoped fixture of their module are kept on one worker (a group per
module and fixture, given at collection; ``pytest_xdist_make_scheduler`` below schedules
by these groups, since xdist 3.8's own grouping has no effect under pytest 9), so a shared
fixture is computed once; the attack suite is one group (its batches share one grader HOME
and one warm course); the browser tests are one group (one chromium).

The fast lane's guard: a test that is not marked slow and takes more than 20 seconds
(``WT06_FAST_TEST_SECONDS``) fails, saying to mark it slow or make it fast. What counts is
its setup and call, less the time spent building what every test shares and less what a
loaded machine (the other worker, other sessions) adds: the time the test's own process
waited for a CPU (Linux's schedstat) and, for the processes it waits for, the larger of
the processor time they used and the wall time during which no task on the machine was
kept waiting for a CPU (Linux's pressure stall information). On a quiet machine that is
the wall time; a test that sleeps is counted in full there.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The browser fixtures are imported here, not defined in a tests/browser/conftest.py
# (which would shadow this module, imported by name as `conftest`), and not imported into
# each browser test module: one fixture definition, so one Playwright and one chromium for
# the session (Playwright's sync API cannot start twice in a process).
from fixtures.lab import lab_session, run_all_in_lab  # noqa: F401
from fixtures.shared import BUILD_SECONDS, ENV_CACHE, ENV_SESSION, cpu_pressure_seconds, run_queue_seconds

REPO = Path(__file__).resolve().parent.parent
FAST_TEST_SECONDS = float(os.environ.get("WT06_FAST_TEST_SECONDS") or 20)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")  # "gw0", "gw1"... under xdist
_OWNER: list[Path] = []  # the session folder, if this process made it (and removes it)


def pytest_configure(config):
    from fixtures import shared

    session = os.environ.get(ENV_SESSION)
    if not (session and "PYTEST_XDIST_WORKER" in os.environ):
        # the controller (or a plain run): make the session's folders; xdist workers,
        # started after this hook, inherit the environment and so share them
        session = tempfile.mkdtemp(prefix="wt06-tests-")
        _OWNER.append(Path(session))
        os.environ[ENV_SESSION] = session
        cache = config.cache.mkdir("wt06") if getattr(config, "cache", None) is not None else Path(session) / "cache"
        os.environ[ENV_CACHE] = str(os.environ.get(ENV_CACHE) or cache)
        digest = shared.warehouse_digest()
        os.environ["WT06_TESTS_INCIDENTS"] = str(Path(os.environ[ENV_CACHE]) / f"incidents-{digest}")
        shared.prune(Path(os.environ[ENV_CACHE]), f"incidents-{digest}")
        # JupyterLab's screenshots land in build/artifacts: made now, not mid-session (a
        # folder appearing at the top level while an attack batch runs would be reported)
        (Path(os.environ.get("WT06_ARTIFACTS_DIR") or REPO / "build" / "artifacts")).mkdir(parents=True,
                                                                                           exist_ok=True)
    cache = Path(os.environ[ENV_CACHE])
    scratch = Path(session) / WORKER  # this process's own: copies of the shared builds, work folders
    scratch.mkdir(parents=True, exist_ok=True)
    os.environ["WT06_WORK_DIR"] = str(scratch / "work")
    os.environ["WT06_WAREHOUSE"] = str(scratch / "warehouse.duckdb")  # public incidents sit beside it
    os.environ.pop("WT06_AS_OF", None)
    os.environ.pop("WT06_DATA_DIR", None)
    os.environ.pop("WT06_PROJECT_DIR", None)
    os.environ["DO_NOT_TRACK"] = "1"
    # One course secret and one grading cache: every test course grades on the same secret
    # incidents, built once (and reference results computed once), across sessions too.
    os.environ["WT06_COURSE_SECRET"] = shared.course_secret(cache)
    os.environ["WT06_GRADING_CACHE"] = str(scratch / "grading-cache")


def pytest_unconfigure(config):
    for folder in _OWNER:
        shutil.rmtree(folder, ignore_errors=True)


# ----- durations per test file ---------------------------------------------------------------
_FILE_SECONDS: collections.Counter = collections.Counter()


def pytest_runtest_logreport(report):
    if report.when in ("setup", "call", "teardown"):
        _FILE_SECONDS[report.nodeid.split("::", 1)[0]] += report.duration


def pytest_terminal_summary(terminalreporter):
    """After pytest's slowest tests: the seconds each test file took (setup, call and
    teardown of its tests, summed over the workers), so a file that grows shows."""
    if "PYTEST_XDIST_WORKER" in os.environ or not _FILE_SECONDS:
        return
    terminalreporter.write_sep("=", "seconds per test file (setup, call and teardown, summed over workers)")
    for path, seconds in _FILE_SECONDS.most_common():
        if seconds >= 0.5:
            terminalreporter.write_line(f"{seconds:8.1f}  {path}")


# ----- xdist groups and the fast lane's time limit ------------------------------------------
def _local_shared_fixtures(item) -> list[str]:
    """Module- or session-scoped fixtures defined in the item's own module that it uses."""
    info = getattr(item, "_fixtureinfo", None)
    module = item.nodeid.split("::", 1)[0]
    names = []
    for name, defs in (info.name2fixturedefs.items() if info else []):
        if any(d.scope in ("module", "session") and d.baseid == module for d in defs):
            names.append(name)
    return sorted(names)


GROUPS_FILE = "xdist-groups.json"  # in the session folder: node id -> group, for the scheduler


# The longest units of work go first, so that neither worker is left with one at the end
# (xdist hands units out in collection order): the attack suite, the Dask scale test, the
# Binder build, then the rest in file order.
FIRST = ("tests/attacks/", "tests/test_scale.py", "tests/test_binder.py")


def _first(item) -> int:
    return next((i for i, prefix in enumerate(FIRST) if item.nodeid.startswith(prefix)), len(FIRST))


def pytest_collection_modifyitems(config, items):
    items.sort(key=_first)  # stable: the order within a file stays
    groups = {}
    for item in items:
        marked = [m.args[0] if m.args else m.kwargs.get("name", "default") for m in item.iter_markers("xdist_group")]
        if marked:
            groups[item.nodeid] = "_".join(sorted(map(str, marked)))
            continue
        path = Path(str(item.fspath))
        if (REPO / "tests" / "attacks") in path.parents:
            group = "attacks"
        elif item.get_closest_marker("browser"):
            group = "browser"
        else:
            shared_here = _local_shared_fixtures(item)
            group = f"{item.nodeid.split('::', 1)[0]}::{'+'.join(shared_here)}" if shared_here else None
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
            groups[item.nodeid] = group
    if "PYTEST_XDIST_WORKER" in os.environ:  # every worker collects the same: the last write wins
        target = Path(os.environ[ENV_SESSION]) / GROUPS_FILE
        tmp = target.with_name(f".{GROUPS_FILE}.{WORKER}")
        tmp.write_text(json.dumps(groups))
        os.replace(tmp, target)


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` by the groups above. xdist 3.8 marks a group by appending it to
    the node id, which pytest 9 ignores (it keeps node ids elsewhere), so every test would
    be a unit of its own; this scheduler reads the groups the workers wrote instead."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Grouped(LoadScopeScheduling):
        groups: dict | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                path = Path(os.environ[ENV_SESSION]) / GROUPS_FILE
                self.groups = json.loads(path.read_text()) if path.is_file() else {}
            return self.groups.get(nodeid, nodeid)

    return Grouped(config, log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    item._wt06_builds, item._wt06_waited, item._wt06_cpu = BUILD_SECONDS[0], run_queue_seconds(), _cpu()
    item._wt06_pressure = cpu_pressure_seconds()
    yield


def _cpu() -> float:
    """Processor seconds of this process and of its finished, waited-for children."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if item.get_closest_marker("slow") or call.when not in ("setup", "call"):
        return
    if call.when == "setup":
        item._wt06_setup = report.duration
        return
    wall = getattr(item, "_wt06_setup", 0.0) + report.duration
    built = BUILD_SECONDS[0] - getattr(item, "_wt06_builds", 0.0)
    waited = run_queue_seconds() - getattr(item, "_wt06_waited", 0.0)
    cpu = _cpu() - getattr(item, "_wt06_cpu", 0.0)
    pressure = cpu_pressure_seconds() - getattr(item, "_wt06_pressure", 0.0)
    spent = max(min(wall - waited, cpu), wall - waited - pressure) - built
    if report.passed and spent > FAST_TEST_SECONDS:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid} took {spent:.1f} s ({wall:.1f} s of setup and call, {waited:.1f} s of it "
                           f"waiting for a busy CPU, {pressure:.1f} s with some task on the machine waiting for "
                           f"one, {cpu:.1f} s of processor time; {built:.1f} s building what every test shares "
                           f"not counted), more than the fast lane allows ({FAST_TEST_SECONDS:g} s): "
                           "mark it @pytest.mark.slow or make it fast.")


@pytest.fixture(scope="session")
def incident_warehouse() -> Path:
    """The canonical incident (and the public ones beside it), built by the real build once
    per inputs (shared by sessions and workers) and copied into this process's scratch."""
    from fixtures.shared import ensure_incidents
    from wt06 import incidents
    from wt06.foundation import paths

    built = ensure_incidents(Path(os.environ["WT06_TESTS_INCIDENTS"]) / "warehouse.duckdb")
    mine = paths.warehouse_path()
    for name in ["warehouse", *incidents.PUBLIC]:
        target = mine.with_name(f"{name}.duckdb")
        if not target.is_file():
            shutil.copy(built.with_name(f"{name}.duckdb"), target.with_name(f".{target.name}.copy"))
            os.replace(target.with_name(f".{target.name}.copy"), target)
    return mine


@pytest.fixture(scope="session")
def public_incident(incident_warehouse):
    """name -> the built public incident (practice, drills), built with the warehouse."""
    from wt06 import incidents

    return incidents.ensure_built


@pytest.fixture(scope="session")
def grading_cache(incident_warehouse, tmp_path_factory) -> Path:
    """This process's grading cache, holding the course's grading incidents and the
    sandboxed reference results: computed once into the shared cache (under a lock, by
    whichever worker comes first), then copied here. Request it before grading a class."""
    from fixtures.shared import ensure_reference

    mine = Path(os.environ["WT06_GRADING_CACHE"])
    shared = Path(os.environ[ENV_CACHE]) / "grading"
    os.environ["WT06_GRADING_CACHE"] = str(shared)
    try:
        ensure_reference(tmp_path_factory.mktemp("reference-course"))
    finally:
        os.environ["WT06_GRADING_CACHE"] = str(mine)
    shutil.copytree(shared, mine, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".*"))
    return mine


@pytest.fixture
def warehouse_copy(incident_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the incident warehouse that a test may change."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(incident_warehouse, copy)
    return copy


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A private copy of the incident dbt project."""
    from wt06.incident.workcopy import copy_project

    return copy_project(REPO / "dbt_project", tmp_path / "dbt_project")


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of the data folder's inputs (CSVs and scenario.json)."""
    copy = tmp_path / "data"
    shutil.copytree(REPO / "data", copy, ignore=shutil.ignore_patterns("work", "incidents", "*.duckdb*", ".*"))
    return copy


def apply_reference_fix(project: Path) -> None:
    """Write the instructor notebook's freshness config and singular test into a project copy."""
    from wt06_grading.definition.reference import project_files as reference_project_files

    for relative, text in reference_project_files().items():
        (project / relative).write_text(text)


def scalar(path: Path, sql: str, as_of=None):
    """One value from a fresh connection to ``path`` (closed afterwards)."""
    from wt06.incident.warehouse import connect

    con = connect(path, as_of=as_of)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def rows(path: Path, sql: str, as_of=None) -> list[tuple]:
    from wt06.incident.warehouse import connect

    con = connect(path, as_of=as_of)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of its own (Debian's package), on 127.0.0.1, for the session.

    Skips, saying why, only when PostgreSQL is not installed; .ci/run installs it, and
    sets WT06_REQUIRE_POSTGRES=1 so that a missing server fails instead of skipping.
    """
    from fixtures.postgres import PostgresServer, binaries

    bin_dir = binaries()
    if bin_dir is None:
        if os.environ.get("WT06_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is not installed (apt-get install postgresql); CI requires it")
        pytest.skip("PostgreSQL is not installed: apt-get install postgresql (Debian) to run this test")
    server = PostgresServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()
