"""Binder (repo2docker) builds the course from the root environment.yml, postBuild and start.

repo2docker reads root config only when there is no binder/ (or .binder/) folder; the
pins of environment.yml are checked against requirements.txt in tests/test_pins.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from conftest import REPO

INSTRUCTOR_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list")


def _tracked_mode(path: str) -> str | None:
    """The file mode git records (what a clone, and so Binder, gets), or None outside git."""
    try:
        out = subprocess.run(["git", "ls-files", "-s", path], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.split()[0] if out else None


def test_there_is_no_binder_folder_to_hide_the_root_config():
    skip = {".venv", ".git", "node_modules"}
    found = [Path(root) / d for root, dirs, _ in os.walk(REPO)
             for d in dirs if d in ("binder", ".binder")]
    found = [p for p in found if not skip & set(p.relative_to(REPO).parts)]
    assert found == [], f"repo2docker would ignore the root environment.yml and postBuild: {found}"
    assert (REPO / "environment.yml").is_file()


@pytest.mark.parametrize("script", ["postBuild", "start"])
def test_the_scripts_are_executable_bash_that_stops_at_the_first_error(script):
    path = REPO / script
    lines = path.read_text().splitlines()
    assert lines[0] in ("#!/usr/bin/env bash", "#!/bin/bash")
    assert os.access(path, os.X_OK)
    mode = _tracked_mode(script)
    assert mode in (None, "100755"), f"git records {script} as {mode}: git update-index --chmod=+x {script}"
    if script == "postBuild":
        code = [line for line in lines if line.strip() and not line.startswith("#")]
        assert re.match(r"set -e\b|set -euo pipefail", code[0]), "postBuild must start with set -e"
    else:
        assert lines[-1] == 'exec "$@"', "start must hand over to the command repo2docker passes"


def test_start_sets_the_same_telemetry_settings_as_the_makefile():
    exported = dict(re.findall(r"^export (\w+) := (\S+)$", (REPO / "Makefile").read_text(), re.M))
    started = dict(re.findall(r"^export (\w+)=(\S+)$", (REPO / "start").read_text(), re.M))
    assert started == exported == {"DO_NOT_TRACK": "1", "PLOOMBER_STATS_ENABLED": "false",
                                   "PLOOMBER_VERSION_CHECK_DISABLED": "true"}


def test_the_readme_badge_opens_an_existing_notebook_in_jupyterlab():
    from wt06_grading.definition.export import binder_url

    url = binder_url()
    found = re.fullmatch(r"https://mybinder\.org/v2/gh/[^/]+/[^/]+/HEAD\?urlpath=lab/tree/(\S+)", url)
    assert found, url
    assert (REPO / found.group(1)).is_file(), f"the badge opens {found.group(1)}, which does not exist"


def _postbuild_env(venv: Path, home: Path) -> dict:
    """The clean clone's venv first on PATH; no course settings of the test session.

    Jupyter's per-user folders point into the test's folder, so nothing is written into the
    real home, and the test can check that postBuild changes nothing at the user level.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WT06_", "JUPYTER_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", VIRTUAL_ENV=str(venv),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"))
    return env


def _disabled_and_locked(listing: str) -> tuple[set[str], set[str]]:
    """Plugins ``jupyter labextension list`` reports disabled, and those it reports locked."""
    disabled = listing.split("Disabled extensions:", 1)[1] if "Disabled extensions:" in listing else ""
    locked = re.search(r"\(plugins: ([^)]*) locked\)", listing)
    return (set(re.findall(r"@jupyter/nbgrader:[\w-]+", disabled)),
            set(re.findall(r"@jupyter/nbgrader:[\w-]+", locked.group(1) if locked else "")))


@pytest.mark.slow
def test_postbuild_builds_a_working_course_from_a_clean_clone(tmp_path):
    """Clone HEAD, install the pins into a fresh venv, run postBuild twice, check the result.

    This tests the last commit, as Binder (and CI, on its clean clone) would build it:
    uncommitted changes in the working tree are not part of the clone.
    """
    clone, venv = tmp_path / "clone", tmp_path / "clone" / ".venv"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", clone / "requirements.txt"], check=True, timeout=1200)
    env = _postbuild_env(venv, tmp_path / "home")
    for attempt in ("first", "second"):  # safe to run again
        result = subprocess.run(["bash", "postBuild"], cwd=clone, env=env, capture_output=True,
                                text=True, timeout=900)
        assert result.returncode == 0, f"{attempt} run:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"

    warehouse = clone / "data" / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute("select max(order_date) from fct_revenue_daily").fetchone()[0] == date(2024, 2, 8)
    finally:
        con.close()
    where = subprocess.run([venv / "bin" / "python", "-c", "import wt06; print(wt06.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip() == str(clone / "wt06" / "__init__.py")

    lab = subprocess.run([venv / "bin" / "jupyter", "labextension", "list"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    disabled, locked = _disabled_and_locked(lab.stdout + lab.stderr)
    assert set(INSTRUCTOR_PLUGINS) <= disabled, lab.stdout + lab.stderr
    assert set(INSTRUCTOR_PLUGINS) <= locked, lab.stdout + lab.stderr
    server = subprocess.run([venv / "bin" / "jupyter", "server", "extension", "list"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, check=True)
    for extension in ("formgrader", "course_list"):
        assert re.search(rf"nbgrader\.server_extensions\.{extension} \S*disabled",
                         server.stdout + server.stderr), server.stdout + server.stderr
    assert (venv / "etc" / "jupyter" / "labconfig" / "page_config.json").is_file()
    assert not (tmp_path / "home" / "config" / "labconfig").exists(), "postBuild wrote user-level config"
