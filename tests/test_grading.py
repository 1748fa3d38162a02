"""Grading a class end to end: the fixture submissions, graded in the sandbox.

Every expected score is computed from the course's own questions (their points), never
typed: a fixture fails exactly the questions its changes break.

Grade once, assert many: two classes are graded once each and read by several tests: the
whole-assignment fixtures (two workers), and on notebooks 01 and 02 the broken submissions
together with two honest ones (two workers). The honest ones and a broken one are graded
again alone, once sequentially and once without the sandbox, to compare.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from wt06_grading.batch import grade_class
from wt06_grading.definition.questions import load
from wt06_grading.definition.rehearsal import BROKEN, PARTLY_WRONG, WHOLE, write_class
from wt06_grading.foundation import layout
from wt06_grading.records.gradebook import dump

FIRST_TWO = ["01_detect_staleness", "02_pipeline_logs"]
TIMEOUT = 20  # seconds a cell may run in the broken class's notebooks (the infinite loop's cost)
WHOLE_TIMEOUT = 60  # make grade's default: notebook 05 replays dbt for ~20 s, more on a loaded machine
COURSE = load()


def _points(notebooks=None, without=()) -> float:
    """Points of the automatically graded questions of ``notebooks``, minus those ``without``."""
    return sum(q.points for q in COURSE.questions
               if (notebooks is None or q.notebook in notebooks) and q.id not in without)


def _cell_number(notebook: str, grade_id: str) -> int:
    """The 1-based position of a graded cell in the student notebook (as grading notes count)."""
    cells = nbformat.read(REPO / "notebooks" / f"{notebook}.ipynb", as_version=4).cells
    return 1 + next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _answer_question(answer_cell: str) -> str:
    return next(q.id for q in COURSE.questions if q.answer_cell == answer_cell)


def _table(result) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    with result.table.open() as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["student"], []).append(row)
    return rows


def _total(rows) -> tuple[float, float]:
    scored = [r for r in rows if r["score"] != "" and r["question"] != "(note)"]
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


def _rows_of(table: Path, students) -> list[list[str]]:
    """The grade table's rows (header first) of ``students`` only."""
    with table.open(newline="") as handle:
        rows = list(csv.reader(handle))
    return [rows[0]] + [r for r in rows[1:] if r[0] in students]


def _dump_of(gradebook: Path, students) -> list[tuple]:
    return [row for row in dump(gradebook) if row[1] in students]


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def whole_class(incident_warehouse, grading_cache, tmp_path_factory):
    """The four whole-assignment fixtures, graded with two workers."""
    course = _course(tmp_path_factory.mktemp("whole"), WHOLE, incident_warehouse)
    protected = {p: _digest(p) for p in (REPO / "data" / "raw", REPO / "dbt_project", layout.SOURCE,
                                         REPO / "notebooks")}
    result = grade_class(course, jobs=2, cell_timeout=WHOLE_TIMEOUT, progress=False)
    return course, result, _table(result), protected


HONEST = ["full_marks", "partly_right"]


@pytest.fixture(scope="module")
def broken_class(incident_warehouse, grading_cache, tmp_path_factory):
    """Submissions that go wrong, and two honest ones, graded on notebooks 01 and 02 (two workers)."""
    course = _course(tmp_path_factory.mktemp("broken"), BROKEN + HONEST, incident_warehouse)
    result = grade_class(course, jobs=2, only=FIRST_TWO, cell_timeout=TIMEOUT, progress=False)
    return course, result, _table(result)


@pytest.mark.slow
def test_full_marks_blank_and_partly_right(whole_class):
    _, result, table, _ = whole_class
    manual = sum(m.points for m in COURSE.manual)
    assert _total(table["full_marks"]) == (_points(), _points())  # the postmortem waits for a grader
    assert _status(table["full_marks"], "postmortem")[0] == "manual"
    assert _total(table["blank"]) == (0, _points() + manual)
    assert all(r["status"] == "failed" for r in table["blank"] if r["question"] != "(note)")
    wrong = {_answer_question(cell) for changes in PARTLY_WRONG.values() for cell in changes}
    if "test_phantom_alert" in wrong:  # the monitor's phantom rule is the saved phantom_alert query
        wrong.add("test_monitor_rules")
    assert _total(table["partly_right"])[0] == _points(without=wrong)
    for question in wrong - {"test_phantom_alert"}:
        status, reason = _status(table["partly_right"], question)
        assert status == "failed" and ("hidden check:" in reason or "Error" in reason), (question, reason)
    assert result.exit_code == 0 and result.needs_look == []


@pytest.mark.slow
def test_typed_in_answers_fail_on_other_incidents_visible_or_hidden(whole_class):
    _, _, table, _ = whole_class
    rows = table["hard_coded"]
    # the monitor's rules are the saved rule queries, typed in too
    typed = {q.id for q in COURSE.questions if q.kind in ("query", "monitor_rules")} | {"test_freshness_test"}
    assert _total(rows)[0] == _points(without=typed)
    for question in typed:
        status, reason = _status(rows, question)
        # caught in the notebook (the practice incident, a moved clock, the test's states) or by a
        # hidden check on a secret incident; either way the reason says what went wrong
        assert status == "failed" and len(reason) > 20, (question, reason)
    assert any("another incident" in _status(rows, q)[1] for q in typed)


@pytest.mark.slow
def test_feedback_explains_without_showing_hidden_checks(whole_class):
    course, _, _, _ = whole_class
    page = (course / "feedback" / "hard_coded" / "wt06" / "03_phantom_successes.html").read_text()
    assert "HiddenCheckFailed" in page and "another incident" in page
    assert "BEGIN HIDDEN TESTS" not in page and "question:" not in page and "kind: query" not in page
    assert "Traceback (most recent call last)" not in page
    assert str(course) not in page and str(REPO) not in page, "no path of the grader's machine"
    verdicts = [line for line in page.splitlines() if "HiddenCheckFailed" in line]
    assert verdicts and not any("/wt06/" in line or "wt06-job" in line for line in verdicts)


@pytest.mark.slow
def test_grading_writes_nothing_into_the_course_sources(whole_class):
    _, _, _, protected = whole_class
    for folder, before in protected.items():
        assert _digest(folder) == before, f"grading changed {folder}"


@pytest.mark.slow
def test_bad_submissions_get_a_fixed_score_and_a_reason(broken_class):
    _, result, table = broken_class
    full = _points(FIRST_TWO)
    first = _points(FIRST_TWO[:1])
    gap = next(q.points for q in COURSE.questions if q.answer_cell == "dashboard_gap")
    expected = {
        "infinite_loop": (full - gap, f"cell #{_cell_number(FIRST_TWO[0], 'dashboard_gap')} ran longer than the "
                                      "time limit"),
        "kernel_crash": (first, "the kernel died in cell #3"),
        "edited_setup": (full, "locked cell(s) edited and restored before grading: setup"),
        "deleted_tests": (full, "locked cell(s) deleted and restored before grading: test_mart_staleness, "
                                "test_dashboard_gap"),
        "edited_tests": (full - gap, "locked cell(s) edited and restored before grading: test_dashboard_gap"),
        "malformed_json": (first, "02_pipeline_logs.ipynb is not a valid notebook"),
        "renamed": (full, "submitted as 01_detect_staleness-Copy1.ipynb; graded as 01_detect_staleness.ipynb"),
        "missing": (first, "02_pipeline_logs.ipynb was not submitted"),
        "empty": (0, "empty submission"),
        "huge_output": (full, "the submitted notebook was 50 MB"),
    }
    assert sorted(table) == sorted([*expected, *HONEST])
    for student, (score, reason) in expected.items():
        rows = table[student]
        assert _total(rows) == (score, full), student
        assert any(note.startswith(reason) for note in _notes(rows)), (student, _notes(rows))
    assert result.exit_code == 1
    assert sorted(result.needs_look) == sorted(set(expected) - {"huge_output"})
    assert _total(table["full_marks"]) == (full, full) and not _notes(table["full_marks"])


@pytest.mark.slow
def test_runaway_output_is_cut_in_the_graded_notebook(broken_class):
    course, _, _ = broken_class
    graded = course / "autograded" / "huge_output" / "wt06" / "01_detect_staleness.ipynb"
    assert graded.stat().st_size < 1_000_000
    assert (course / "feedback" / "huge_output" / "wt06" / "01_detect_staleness.html").stat().st_size < 2_000_000


@pytest.mark.slow
def test_parallel_grading_gives_the_same_gradebook_as_sequential(broken_class, incident_warehouse, tmp_path):
    """Three of the class graded alone on one worker: the same rows as in the class on two."""
    parallel, second, _ = broken_class
    students = ["full_marks", "kernel_crash", "malformed_json"]
    sequential = _course(tmp_path / "one", students, incident_warehouse)
    first = grade_class(sequential, jobs=1, only=FIRST_TWO, cell_timeout=TIMEOUT, progress=False)
    assert dump(sequential / "gradebook.db") == _dump_of(parallel / "gradebook.db", students)
    assert len(dump(sequential / "gradebook.db")) > 20
    assert _rows_of(first.table, students) == _rows_of(second.table, students)
    assert len({r.worker for r in second.results}) == 2  # the class was spread over both workers


def test_student_sql_in_the_checker_cannot_read_files(incident_warehouse, tmp_path):
    from wt06_grading.kinds.running import query

    secret = tmp_path / "instructor-only.txt"
    secret.write_text("the answers")
    for sql in (f"select * from read_text('{secret}')", f"attach '{incident_warehouse}' as other",
                "set enable_external_access = true", "install httpfs"):
        result = query(str(incident_warehouse), sql, "2024-02-12 09:00:00")
        assert "error" in result and "the answers" not in str(result), sql


@pytest.mark.slow
def test_the_sandbox_changes_no_honest_score(broken_class, incident_warehouse, tmp_path):
    """Three of the class graded again without the sandbox: the same rows, and a note on each."""
    _, boxed, _ = broken_class
    students = ["full_marks", "partly_right", "kernel_crash"]
    open_ = grade_class(_course(tmp_path / "open", students, incident_warehouse), only=FIRST_TWO,
                        cell_timeout=TIMEOUT, sandbox=False, progress=False)
    rows = _rows_of(open_.table, students)
    reason = rows[0].index("reason")
    without_note = [row for row in rows if "WITHOUT the sandbox" not in row[reason]]
    assert _rows_of(boxed.table, students) == without_note
    assert all("WITHOUT the sandbox" in "".join(_notes(rows)) for rows in _table(open_).values())
    assert sorted(_table(open_)) == sorted(students)
