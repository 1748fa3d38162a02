"""Shared fixtures. Tests never write into the repository's data/ or dbt_project/.

The location settings (wt06.paths) are pointed at a per-session temporary folder before
any test runs, and each test that changes a warehouse or a project gets its own copy.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

# The browser fixtures are imported here, not defined in a tests/browser/conftest.py
# (which would shadow this module, imported by name as `conftest`), and not imported into
# each browser test module: one fixture definition, so one Playwright and one chromium for
# the session (Playwright's sync API cannot start twice in a process).
from fixtures.lab import lab_session, run_all_in_lab  # noqa: F401

REPO = Path(__file__).resolve().parent.parent


_SCRATCH = Path(tempfile.mkdtemp(prefix="wt06-tests-"))


def pytest_configure(config):
    scratch = _SCRATCH
    os.environ["WT06_WORK_DIR"] = str(scratch / "work")
    os.environ["WT06_WAREHOUSE"] = str(scratch / "warehouse.duckdb")  # public incidents build beside it
    os.environ.pop("WT06_AS_OF", None)
    os.environ.pop("WT06_DATA_DIR", None)
    os.environ.pop("WT06_PROJECT_DIR", None)
    os.environ["DO_NOT_TRACK"] = "1"
    # One course secret and one grading cache for the session: every test course grades on
    # the same secret incidents, built once (and reference results computed once).
    os.environ["WT06_COURSE_SECRET"] = secrets.token_hex(16)
    os.environ["WT06_GRADING_CACHE"] = str(scratch / "grading-cache")


def pytest_unconfigure(config):
    shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(scope="session")
def incident_warehouse() -> Path:
    """The canonical incident, built once per test session by the real build."""
    from wt06 import paths
    from wt06.build import build_warehouse

    return build_warehouse(paths.warehouse_path())


@pytest.fixture(scope="session")
def public_incident():
    """name -> the built public incident (practice, drills), built once per session on demand."""
    from wt06 import incidents

    return incidents.ensure_built


@pytest.fixture
def warehouse_copy(incident_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the incident warehouse that a test may change."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(incident_warehouse, copy)
    return copy


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A private copy of the incident dbt project."""
    from wt06.workcopy import copy_project

    return copy_project(REPO / "dbt_project", tmp_path / "dbt_project")


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of the data folder's inputs (CSVs and scenario.json)."""
    copy = tmp_path / "data"
    shutil.copytree(REPO / "data", copy, ignore=shutil.ignore_patterns("work", "incidents", "*.duckdb*", ".*"))
    return copy


def apply_reference_fix(project: Path) -> None:
    """Write the instructor notebook's freshness config and singular test into a project copy."""
    from wt06_grading.reference import project_files as reference_project_files

    for relative, text in reference_project_files().items():
        (project / relative).write_text(text)


def scalar(path: Path, sql: str, as_of=None):
    """One value from a fresh connection to ``path`` (closed afterwards)."""
    from wt06.warehouse import connect

    con = connect(path, as_of=as_of)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def rows(path: Path, sql: str, as_of=None) -> list[tuple]:
    from wt06.warehouse import connect

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
