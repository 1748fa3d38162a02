"""The benchmark (`make bench`) runs end to end in its quick mode and writes valid results.

A smoke test only: timings are the benchmark's business (it judges its targets on a quiet
machine), never a test's. What is checked is that every section ran, that the results
file has what the README's Performance section is made from, and that the class the
benchmark generates is graded as its fixtures should be.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from conftest import REPO

# The sections that need no grading course: the grading sections are the grading tests'
# business (tests/test_grading.py, tests/test_scale.py), and building a course for them
# would cost the suite minutes for a smoke test.
SECTIONS = {"dbt", "build", "monitor"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--only", ",".join(sorted(SECTIONS)),
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=1800)
    return done, out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.slow
def test_quick_benchmark_writes_its_sections_and_a_table(quick_run):
    done, out = quick_run
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads(out.read_text())
    assert set(results["sections"]) == SECTIONS
    assert not {name: s["error"] for name, s in results["sections"].items() if "error" in s}
    assert results["machine"]["cores"] >= 1
    assert all(_number(x) for x in results["load_before"] + results["load_after"])
    assert {"python", "dbt-core", "duckdb", "nbgrader", "pandas"} <= {k for k, v in results["versions"].items() if v}
    assert _number(results["headline"]["dbt_ratio"]) and _number(results["headline"]["monitor_exponent"])
    assert [t["id"] for t in results["targets"]] == list(results["headline"])
    assert "| target | goal | measured | met |" in done.stdout


@pytest.mark.slow
def test_the_monitor_replays_the_reference_rules_at_every_size(quick_run):
    _, out = quick_run
    monitor = json.loads(out.read_text())["sections"]["monitor"]
    assert [s["factor"] for s in monitor["sizes"]] == [1, 10]
    small, large = monitor["sizes"]
    assert large["rows_total"] > 5 * small["rows_total"] and large["moments"] == small["moments"]
    assert all(s["detected_at"]["phantom"] for s in monitor["sizes"]), "the reference phantom rule detects"
