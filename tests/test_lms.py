"""LMS export: the columns Canvas and Moodle import, scores from the gradebook with manual grades."""

from __future__ import annotations

import csv

import pytest

from fixtures.fake_worker import tiny_gradebook
from wt06_grading.contract import GradeRow, SubmissionResult  # noqa: E402
from wt06_grading.gradebook import open_gradebook, write_result  # noqa: E402
from wt06_grading.lms import export_grades  # noqa: E402


@pytest.fixture
def book(tmp_path):
    url = tiny_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    rows = [GradeRow("n1", "q1", 2.0, 2.0, "passed"), GradeRow("n1", "q2", 1.0, 0.0, "failed"),
            GradeRow("n2", "m1", 2.0, None, "manual"), GradeRow("n2", "q3", 3.0, 3.0, "passed")]
    with open_gradebook(url) as gb:
        gb.update_or_create_student("nosub", first_name="No", last_name="Submission")
        gb.update_or_create_student("ada", first_name="Ada", last_name="Lovelace", email="ada@example.edu",
                                    lms_user_id="4242")
        for student in ("ada", "bo"):
            write_result(gb, SubmissionResult(student, rows, [], {}, {}, 1.0, "w"))
        gb.find_grade("m1", "n2", "wt06", "ada").manual_score = 1.5  # a TA graded ada's postmortem
        gb.find_grade("m1", "n2", "wt06", "ada").needs_manual_grade = False
        gb.db.commit()
    return url


def _read(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_canvas_csv_has_its_import_columns_points_possible_and_manual_scores(book, tmp_path):
    done = export_grades(book, "canvas", tmp_path / "canvas.csv", title="WT-06")
    rows = _read(done.path)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "WT-06"]
    assert rows[1] == ["Points Possible", "", "", "", "", "8"]
    by_sis = {r[2]: r for r in rows[2:]}
    assert by_sis["ada"] == ["Lovelace, Ada", "4242", "ada", "ada", "", "6.5"]  # 2 + 0 + 1.5 + 3
    assert by_sis["bo"][-1] == "5"  # bo's postmortem is not graded yet
    assert by_sis["nosub"][-1] == ""  # no submission: left empty, not 0
    assert done.waiting_for_grader == ["bo"] and done.without_submission == ["nosub"]


def test_moodle_csv_has_an_identity_column_and_a_real_grade_column(book, tmp_path):
    rows = _read(export_grades(book, "moodle", tmp_path / "moodle.csv", title="WT-06").path)
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", "WT-06 (Real)"]
    assert ["Ada", "Lovelace", "ada", "ada@example.edu", "6.5"] in rows
    assert len(rows) == 4


def test_an_unknown_lms_is_refused(book, tmp_path):
    with pytest.raises(ValueError, match="canvas, moodle"):
        export_grades(book, "blackboard", tmp_path / "x.csv")
