"""The class analytics page: self-contained, plots included, objectives read from the README."""

from __future__ import annotations

import re

from conftest import REPO
from wt06_grading.contract import GradeRow, SubmissionResult  # noqa: E402
from wt06_grading.report import build, learning_objectives  # noqa: E402


def _result(student: str, passed: bool, seconds: float, look: str = "") -> SubmissionResult:
    reason = "" if passed else "hidden check: On another incident your query returns 4 row(s); expected 5"
    rows = [GradeRow("01_detect_staleness", "test_mart_staleness", 2, 2.0 if passed else 0.0,
                     "passed" if passed else "failed", reason),
            GradeRow("01_detect_staleness", "test_dashboard_gap", 2, 2.0, "passed"),
            GradeRow("06_agent_lens", "postmortem", 6, None, "manual", "to be graded by hand")]
    notes = [("01_detect_staleness", look, True)] if look else []
    return SubmissionResult(student, rows, notes, {}, {}, seconds, "tcp://127.0.0.1:1")


def test_objectives_come_from_the_readme_table():
    objectives = learning_objectives()
    readme = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", readme, re.M)
    assert [(o.number, o.text) for o in objectives] == [(n, t.strip()) for n, t in rows]
    staleness = next(o for o in objectives if "querying the data" in o.text)
    assert staleness.covers("01_detect_staleness", "test_mart_staleness")
    assert not staleness.covers("02_pipeline_logs", "test_mart_staleness")
    assert any(o.covers("06_agent_lens", "postmortem") for o in objectives)


def test_the_page_is_self_contained_and_says_what_matters():
    results = [_result("ann", True, 12.0), _result("bob", False, 30.5, look="the kernel died in cell #3"),
               _result("cid", False, 14.0)]
    page = build(results, book={"ann": {"01_detect_staleness": {"score": 4, "max_score": 4,
                                                                 "needs_manual_grade": False},
                                        "06_agent_lens": {"score": 5, "max_score": 6,
                                                          "needs_manual_grade": False}}})
    assert page.count("<img") == 4 and page.count("data:image/png;base64,") == 4
    assert not re.search(r"(src|href)=['\"](https?:|//)", page)  # nothing fetched from a network
    assert "Score distribution" in page and "Pass rate per learning objective" in page
    assert "2. Detect staleness by querying the data" in page
    assert re.search(r"<td class='n'>2</td><td class=''>test_mart_staleness</td><td class=''>hidden check: On another "
                     r"incident your query returns 4 row", page)  # two alike failures, grouped
    assert "the kernel died in cell #3" in page and "bob" in page
    assert "2 submission(s) have cells waiting for a grader" in page  # ann's postmortem was graded
    assert "30.5" in page  # the slowest submission's time
    assert "<script" not in build([_result("<script>x</script>", True, 1.0)])


def test_an_empty_class_says_to_grade_first():
    assert "run <code>make grade</code> first" in build([])
