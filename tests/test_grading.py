"""Autograding: SQL-aware stubs, behavioural hidden checks, isolation, bad submissions, merging."""

from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from fixtures.submissions import BROKEN, WHOLE, solved, write_class


from wt06_grading.batch import grade_class  # noqa: E402
from wt06_grading.gradebook import dump  # noqa: E402

FIRST_TWO = ["01_detect_staleness", "02_pipeline_logs"]
TIMEOUT = 20  # seconds a cell may run in these tests (the infinite loop's cost)


def _table(result) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    with result.table.open() as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["student"], []).append(row)
    return rows


def _total(rows) -> tuple[float, float]:
    scored = [r for r in rows if r["score"] != ""]
    return sum(float(r["score"]) for r in scored), sum(float(r["max"]) for r in scored)


def _status(rows, question) -> tuple[str, str]:
    (row,) = [r for r in rows if r["question"] == question]
    return row["status"], row["reason"]


def _notes(rows) -> list[str]:
    return [r["reason"] for r in rows if r["question"] == "(note)"]


def _course(tmp: Path, students: list[str], warehouse: Path) -> Path:
    course = tmp / "course"
    write_class(course / "submitted", students, warehouse)
    return course


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def whole_class(incident_warehouse, tmp_path_factory):
    """The four whole-assignment fixtures, graded with two workers."""
    course = _course(tmp_path_factory.mktemp("whole"), WHOLE, incident_warehouse)
    protected = {p: _digest(p) for p in (REPO / "data", REPO / "dbt_project", REPO / "grader" / "source",
                                         REPO / "notebooks")}
    result = grade_class(course, jobs=2, cell_timeout=TIMEOUT, progress=False)
    return course, result, _table(result), protected


@pytest.fixture(scope="module")
def broken_class(incident_warehouse, tmp_path_factory):
    """Submissions that go wrong, graded on notebooks 01 and 02 with two workers."""
    course = _course(tmp_path_factory.mktemp("broken"), BROKEN, incident_warehouse)
    result = grade_class(course, jobs=2, only=FIRST_TWO, cell_timeout=TIMEOUT, progress=False)
    return course, result, _table(result)


@pytest.mark.slow
def test_full_marks_blank_partly_right_and_hard_coded(whole_class):
    _, result, table, _ = whole_class
    assert _total(table["full_marks"]) == (33, 39)  # the postmortem (6) waits for the instructor
    assert _status(table["full_marks"], "postmortem")[0] == "manual"
    assert _total(table["blank"]) == (0, 39)
    assert all(r["status"] in ("failed", "manual") for r in table["blank"] if r["question"] != "(note)")
    # partly right: typed-in dates and selectors, a wrong column, revenue with returns,
    # a command that skips staging, a monitor rule that sees the future
    assert _total(table["partly_right"]) == (18, 39)
    for question in ("test_dashboard_gap", "test_green_runs_since_refresh", "test_phantom_successes",
                     "test_scheduler_command"):
        status, reason = _status(table["partly_right"], question)
        assert status == "failed" and reason.startswith("hidden check:"), (question, reason)
    assert _status(table["partly_right"], "test_smoking_gun")[1].startswith("hidden check: smoking_gun_column")
    assert "AssertionError" in _status(table["partly_right"], "test_phantom_alert")[1]
    assert result.exit_code == 0 and result.needs_look == []


@pytest.mark.slow
def test_hard_coded_answers_pass_visible_tests_and_fail_hidden_checks(whole_class):
    _, _, table, _ = whole_class
    rows = table["hard_coded"]
    # only the answers that are values by nature survive (a column name, a selector,
    # a set of models, a command, the freshness config)
    assert _total(rows) == (10, 39)
    for question in ("test_mart_staleness", "test_dashboard_gap", "test_green_runs_since_refresh",
                     "test_phantom_successes", "test_root_cause", "test_missing_by_day",
                     "test_missing_revenue", "test_freshness_test"):
        status, reason = _status(rows, question)
        assert status == "failed" and reason.startswith("hidden check: On another incident") or \
            question == "test_freshness_test" and "right after a full dbt run" in reason, (question, reason)


@pytest.mark.slow
def test_feedback_explains_without_showing_hidden_tests(whole_class):
    course, _, _, _ = whole_class
    html = (course / "feedback" / "hard_coded" / "wt06" / "03_phantom_successes.html").read_text()
    assert "HiddenCheckFailed" in html and "On another incident" in html
    assert "BEGIN HIDDEN TESTS" not in html and "checks.py" not in html
    assert "hidden tests ran here" in html
    assert "Traceback (most recent call last)" not in html


@pytest.mark.slow
def test_grading_writes_nothing_into_the_course_sources(whole_class):
    _, _, _, protected = whole_class
    for folder, before in protected.items():
        assert _digest(folder) == before, f"grading changed {folder}"


@pytest.mark.slow
def test_bad_submissions_get_a_fixed_score_and_a_reason(broken_class):
    _, result, table = broken_class
    expected = {
        "infinite_loop": (7, "cell #14 ran longer than the time limit"),
        "kernel_crash": (4, "the kernel died in cell #3"),
        "edited_setup": (9, "locked cell(s) edited and restored before grading: setup"),
        "deleted_tests": (9, "locked cell(s) deleted and restored before grading: test_mart_staleness, test_dashboard_gap"),
        "edited_tests": (7, "locked cell(s) edited and restored before grading: test_dashboard_gap"),
        "malformed_json": (4, "02_pipeline_logs.ipynb is not a valid notebook"),
        "renamed": (9, "submitted as 01_detect_staleness-Copy1.ipynb; graded as 01_detect_staleness.ipynb"),
        "missing": (4, "02_pipeline_logs.ipynb was not submitted"),
        "empty": (0, "empty submission"),
        "huge_output": (9, "the submitted notebook was 50 MB"),
    }
    assert sorted(table) == sorted(expected)
    for student, (score, reason) in expected.items():
        rows = table[student]
        assert _total(rows) == (score, 9), student
        assert any(note.startswith(reason) for note in _notes(rows)), (student, _notes(rows))
    assert result.exit_code == 1
    assert sorted(result.needs_look) == sorted(set(expected) - {"huge_output"})


@pytest.mark.slow
def test_runaway_output_is_cut_in_the_autograded_notebook(broken_class):
    course, _, _ = broken_class
    graded = course / "autograded" / "huge_output" / "wt06" / "01_detect_staleness.ipynb"
    assert graded.stat().st_size < 1_000_000
    feedback = course / "feedback" / "huge_output" / "wt06" / "01_detect_staleness.html"
    assert feedback.stat().st_size < 2_000_000


@pytest.mark.slow
def test_parallel_grading_merges_to_the_same_gradebook_as_sequential(incident_warehouse, tmp_path):
    students = ["full_marks", "kernel_crash", "malformed_json"]
    sequential = _course(tmp_path / "one", students, incident_warehouse)
    parallel = _course(tmp_path / "two", students, incident_warehouse)
    first = grade_class(sequential, jobs=1, only=FIRST_TWO, cell_timeout=TIMEOUT, progress=False)
    second = grade_class(parallel, jobs=2, only=FIRST_TWO, cell_timeout=TIMEOUT, progress=False)
    assert dump(sequential / "gradebook.db") == dump(parallel / "gradebook.db")
    assert len(dump(parallel / "gradebook.db")) > 40
    assert first.table.read_text() == second.table.read_text()


def test_stubs_stay_valid_in_each_cells_language():
    from wt06_grading.stubs import cell_language

    assert cell_language("%%sql --save x\nselect 1") == "sql"
    assert cell_language("%%project_file models/staging/_sources.yml\nversion: 2") == "yaml"
    assert cell_language("%%project_file tests/t.sql\nselect 1") == "sql"
    assert cell_language("x = 1") == "python"
    released = nbformat.read(REPO / "notebooks" / "05_fix_and_prevent.ipynb", as_version=4)
    for cell in released.cells:
        if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            assert "no answer yet" in cell.source
            if cell.source.startswith("%%project_file models"):
                import yaml

                yaml.safe_load(cell.source.split("\n", 1)[1])  # still valid YAML
            if cell.source.startswith("%%project_file tests"):
                assert "select error('no answer yet" in cell.source


def test_answers_are_read_from_the_file_as_submitted():
    from wt06_grading.answers import notebook_answers, query_answer, value_answer

    notebook = solved("04_blast_radius")
    saved, files, python = notebook_answers(notebook)
    composed = query_answer(saved, "missing_revenue").value
    assert composed.startswith("WITH missing_by_day AS (") and "sum(revenue_missing)" in composed
    assert value_answer(python, "affected_marts", "affected_marts").value == {"fct_revenue_daily", "fct_daily_signups"}
    python["affected_marts"] = "affected_marts = set(downstream.listed) - {'x'}"
    assert "plain value" in value_answer(python, "affected_marts", "affected_marts").problem


def test_the_checker_runs_student_sql_without_file_access(incident_warehouse, tmp_path):
    from wt06_grading.hidden import run_checker

    scenario = {"canonical": {"warehouse": str(incident_warehouse), "now": "2024-02-12 09:00:00",
                              "moments": []}}
    secret = tmp_path / "instructor-only.txt"
    secret.write_text("the answers")
    tasks = [
        {"id": "read", "kind": "query", "scenarios": ["canonical"],
         "sql": f"select * from read_text('{secret}')"},
        {"id": "test", "kind": "singular_test", "scenarios": ["canonical"], "test_name": "assert_marts_fresh",
         "files": {"tests/assert_marts_fresh.sql":
                   f"select * from read_text('{secret}') union all select 'x', 'y', 0, now(), now()"}},
    ]
    results = run_checker(tasks, scenario)
    read = results["read"]["canonical"]["2024-02-12 09:00:00"]
    assert "Permission Error" in read["error"]
    assert "Permission Error" in results["test"]["canonical"]["stale"]["log_tail"]
