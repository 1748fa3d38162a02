"""Where the course's files live, and how to point the course at copies of them.

Grading runs every submission against its own copy of the warehouse and the dbt project,
and tests build scenario variants in temporary folders, so each location is read from an
environment variable at call time, with the repository's folder as the default. Nothing
else in the package hard-codes a path.
"""

from __future__ import annotations

import os
from pathlib import Path

from wt06.settings import ENV_DATA_DIR, ENV_INCIDENTS_DIR, ENV_PROJECT_DIR, ENV_WAREHOUSE, ENV_WORK_DIR  # noqa: F401

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # wt06/ (this file is in its foundation/)


def repo_root() -> Path:
    """The course checkout: the folder holding ``dbt_project/`` next to this package.

    Falls back to the nearest parent of the working directory that has a
    ``dbt_project/`` folder, for an installed (non-editable) copy of the package.
    """
    candidate = _PACKAGE_DIR.parent
    if (candidate / "dbt_project").is_dir():
        return candidate
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "dbt_project").is_dir():
            return folder
    return candidate


def _setting(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """The raw CSVs, the landing folders, ``scenario.json`` and the built warehouse."""
    return _setting(ENV_DATA_DIR, repo_root() / "data")


def project_dir() -> Path:
    """The dbt project in its incident state (or a per-submission copy of it)."""
    return _setting(ENV_PROJECT_DIR, repo_root() / "dbt_project")


def warehouse_path() -> Path:
    """The built incident warehouse, ``data/warehouse.duckdb`` unless overridden."""
    return _setting(ENV_WAREHOUSE, data_dir() / "warehouse.duckdb")


def work_dir() -> Path:
    """Scratch space: per-notebook warehouse copies, dbt's target and log folders."""
    return _setting(ENV_WORK_DIR, data_dir() / "work")


def incidents_dir() -> Path:
    """The public incidents' inputs (practice and drills), always the course's own.

    Not moved by WT06_DATA_DIR, which points the course at another *canonical* incident
    (a grading variant); the practice incident stays the same wherever that points. A
    grading job, which sees no checkout, is pointed at its copy by WT06_INCIDENTS_DIR.
    """
    return _setting(ENV_INCIDENTS_DIR, repo_root() / "data" / "incidents")


def public_warehouse(name: str) -> Path:
    """A public incident's built warehouse: next to the incident warehouse, ``<name>.duckdb``."""
    return warehouse_path().with_name(f"{name}.duckdb")
