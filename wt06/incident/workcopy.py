"""Working copies of the incident: the one place that copies a dbt project or a warehouse.

A notebook, a test or a grading job never works on the course's own files: it gets a
copy of the dbt project (without dbt's build products) and of the warehouse file. The
copy of a warehouse refuses to replace a file another kernel still holds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from wt06.errors import WarehouseBusy
from wt06.incident.warehouse import warehouse_busy_error

# What a dbt project folder holds that is dbt's output or a user's local state, not the project.
PROJECT_BUILD_PRODUCTS = ("target", "logs", ".user.yml", "__pycache__", "dbt_packages")


def copy_project(source: Path, dest: Path) -> Path:
    """Copy the dbt project ``source`` to ``dest`` (replacing it), without build products."""
    dest = Path(dest)
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns(*PROJECT_BUILD_PRODUCTS))
    return dest


def copy_warehouse(source: Path, dest: Path) -> Path:
    """Copy a warehouse file to ``dest``; refuse if ``dest`` is open in another process."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():  # refuse to pull the file from under another kernel
        try:
            duckdb.connect(str(dest)).close()
        except duckdb.Error as exc:
            busy = warehouse_busy_error(dest, str(exc))
            if busy:
                raise WarehouseBusy(f"This notebook is already running in another kernel: {busy} ") from None
            raise
    for stale in (dest, dest.with_name(dest.name + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copy(source, dest)
    return dest
