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

SECTIONS = {"prepare", "dbt", "build", "course", "class", "monitor"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run([sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=3600)
    return done, out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@pytest.mark.slow
def test_quick_benchmark_writes_every_section_and_a_table(quick_run):
    done, out = quick_run
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads(out.read_text())
    assert set(results["sections"]) == SECTIONS
    assert not {name: s["error"] for name, s in results["sections"].items() if "error" in s}
    assert results["machine"]["cores"] >= 1
    assert all(_number(x) for x in results["load_before"] + results["load_after"])
    assert {"python", "dbt-core", "duckdb", "nbgrader", "pandas"} <= {k for k, v in results["versions"].items() if v}
    assert all(_number(v) for v in results["headline"].values()), results["headline"]
    assert [t["id"] for t in results["targets"]] == list(results["headline"])
    assert "| target | goal | measured | met |" in done.stdout


@pytest.mark.slow
def test_the_benchmark_class_is_graded_as_its_fixtures(quick_run):
    _, out = quick_run
    results = json.loads(out.read_text())
    roster = results["sections"]["prepare"]["roster"]
    full = results["sections"]["course"]["grade_one"]["total"]
    for jobs in ("1", "2"):
        totals = results["sections"]["class"]["by_jobs"][jobs]["totals"]
        assert set(totals) == {s["student"] for s in roster}
        for student in roster:
            score, top = totals[student["student"]]
            if student["kind"] == "full_marks":
                assert [score, top] == full  # the students' comments change no answer
            else:
                assert score < full[0]
