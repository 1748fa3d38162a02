"""One set of pins: environment.yml (Binder) installs exactly what requirements.txt pins."""

from __future__ import annotations

import re

import yaml

from conftest import REPO


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([\w.]+)", line).groups()
            pins[name.lower()] = version
    return pins


def test_every_requirement_is_pinned_exactly():
    pins = _requirements()
    assert pins["dbt-core"].startswith("1.11.") and pins["dbt-duckdb"].startswith("1.11.")
    assert pins["duckdb"].startswith("1.5.")
    assert {"jupyterlab", "duckdb", "pandas", "jupysql", "matplotlib", "nbgrader"} <= set(pins)


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
