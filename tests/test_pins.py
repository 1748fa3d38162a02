"""Pins: every requirement file pins exactly; environment.yml (Binder) installs exactly the student set."""

from __future__ import annotations

import re

import yaml

from conftest import REPO

REQUIREMENT_FILES = ("requirements.txt", "grader/requirements.txt", "requirements-dev.txt")


def _requirements(relative: str = "requirements.txt") -> dict[str, str]:
    pins = {}
    for line in (REPO / relative).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[\w+\])?==([\w.]+)", line).groups()
            pins[name.lower()] = version
    return pins


def test_every_requirement_is_pinned_exactly():
    every = [_requirements(f) for f in REQUIREMENT_FILES]
    names = [name for pins in every for name in pins]
    assert len(names) == len(set(names)), "a package is pinned in two requirement files"
    pins = _requirements()
    assert pins["dbt-core"].startswith("1.11.") and pins["dbt-duckdb"].startswith("1.11.")
    assert pins["duckdb"].startswith("1.5.")
    assert {"jupyterlab", "duckdb", "pandas", "jupysql", "matplotlib", "nbgrader"} <= set(pins)
    assert {"pytest", "playwright", "ruff"}.isdisjoint(pins), "test tools do not belong in the student set"


def test_environment_yml_carries_the_same_pins():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    env_pins = {}
    for spec in pip:
        name, version = spec.split("==")
        env_pins[name.lower()] = version
    assert env_pins == _requirements()
