"""LMS files: built from the gradebook (a view, manual scores included) and the roster the LMS exported,
checked against the rules of Canvas's and Moodle's own importers (fixtures/lms_formats.py)."""

from __future__ import annotations

import csv
import io

import pytest

from fixtures.fake_worker import tiny_gradebook
from fixtures.lms_formats import canvas_problems, moodle_problems
from wt06.errors import CourseError
from wt06_grading.cli import main
from wt06_grading.foundation.contract import GradeRow, SubmissionResult
from wt06_grading.records import class_record
from wt06_grading.records.gradebook import open_gradebook, write_result
from wt06_grading.records.lms import export_grades
from wt06_grading.records.roster import RosterError, import_roster

CANVAS_EXPORT = (
    "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,WT-06: The Data Is Stale (4321),Quiz 1 (77),"
    "Current Score,Final Score\n"
    "    Points Possible,,,,,8,10,(read only),(read only)\n"
    '"Lovelace, Ada",4242,S-001,ada,Section A,,9,,\n'
    '"Bo, Bo",5151,S-002,bo,Section A,,7,,\n'
    '"Submission, No",6161,S-003,nosub,Section B,,,,\n'
    '"Gone, Ge",7171,S-004,gone,Section B,,,,\n'
    '"Student, Test",9999,,,Section A,,,,\n')
MOODLE_EXPORT = (
    '"First name",Surname,"ID number",Institution,Department,"Email address","Assignment: Quiz (Real)",'
    '"Last downloaded from this course"\n'
    "Ada,Lovelace,ada,,,ada@example.edu,9.00,1700000000\n"
    "Bo,Bo,bo,,,bo@example.edu,-,1700000000\n"
    "No,Submission,nosub,,,nosub@example.edu,-,1700000000\n"
    "Ge,Gone,gone,,,gone@example.edu,-,1700000000\n")
ROWS = [GradeRow("n1", "q1", 2.0, 2.0, "passed"), GradeRow("n1", "q2", 1.0, 0.0, "failed", "hidden check: no"),
        GradeRow("n2", "m1", 2.0, None, "manual"), GradeRow("n2", "q3", 3.0, 3.0, "passed")]


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A graded tiny class: ada (postmortem graded by hand), bo (waiting), gone (folder removed),
    extra (graded, not in the LMS's roster)."""
    monkeypatch.delenv("WT06_GRADEBOOK_URL", raising=False)
    course = tmp_path / "course"
    course.mkdir()
    url = tiny_gradebook(f"sqlite:///{course / 'gradebook.db'}")
    with open_gradebook(url) as gb:
        for student in ("ada", "bo", "gone", "extra"):
            write_result(gb, SubmissionResult(student, ROWS, [], {}, {}, 1.0, "w"))
        grade = gb.find_grade("m1", "n2", "wt06", "ada")
        grade.manual_score, grade.needs_manual_grade = 1.5, False  # as formgrader saves it
        gb.db.commit()
    for student in ("ada", "bo", "extra"):
        (course / "submitted" / student / "wt06").mkdir(parents=True)
    (tmp_path / "canvas.csv").write_text(CANVAS_EXPORT, encoding="utf-8")
    (tmp_path / "moodle.csv").write_text(MOODLE_EXPORT, encoding="utf-8")
    return course


def _read(path):
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _canvas_roster() -> list[dict]:
    return list(csv.DictReader(io.StringIO(CANVAS_EXPORT.lstrip("\ufeff"))))


def test_a_canvas_export_is_imported_and_the_canvas_file_follows_its_importer(course, tmp_path):
    done = import_roster(tmp_path / "canvas.csv", course)
    assert done.roster.lms == "canvas" and done.roster.match == "SIS Login ID"  # the column matching the folders
    assert done.unmatched_gradebook == ["extra"]
    with open_gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        ada = gb.find_student("ada")
        assert (ada.first_name, ada.last_name, ada.lms_user_id) == ("Ada", "Lovelace", "4242")
    out = export_grades(course, "canvas", tmp_path / "grades-canvas.csv")
    rows = _read(out.path)
    assert canvas_problems(out.path, _canvas_roster()) == []
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "WT-06: The Data Is Stale (4321)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "8"]
    by_login = {r[3]: r for r in rows[2:]}
    assert by_login["ada"] == ["Lovelace, Ada", "4242", "S-001", "ada", "Section A", "6.5"]  # 2 + 0 + 1.5 + 3
    assert by_login["bo"][-1] == "5" and by_login["nosub"][-1] == ""  # waiting; no submission: no change
    assert "gone" not in by_login and "extra" not in by_login
    record = class_record.load(course)
    assert {r[3]: float(r[5]) for r in rows[2:] if r[5]} == \
        {s.student: s.score for s in record.current if s.student in by_login}  # the gradebook's totals
    assert out.removed == ["gone"] and out.not_in_roster == ["extra"] and out.waiting_for_grader == ["bo"]
    assert out.without_submission == ["nosub"]
    kept = export_grades(course, "canvas", tmp_path / "all.csv", include_removed=True)
    assert "gone" in {r[3] for r in _read(kept.path)[2:]} and canvas_problems(kept.path, _canvas_roster()) == []


def test_a_moodle_export_is_imported_and_the_moodle_file_follows_its_importer(course, tmp_path):
    done = import_roster(tmp_path / "moodle.csv", course)
    assert done.roster.lms == "moodle" and done.roster.match == "ID number"
    out = export_grades(course, "moodle", tmp_path / "grades-moodle.csv")
    roster = list(csv.DictReader(io.StringIO(MOODLE_EXPORT)))
    assert out.identify_by == "Email address"
    assert moodle_problems(out.path, roster, out.identify_by) == []
    rows = _read(out.path)
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", "WT-06: The Data Is Stale"]
    assert ["Ada", "Lovelace", "ada", "ada@example.edu", "6.5"] in rows
    assert ["No", "Submission", "nosub", "nosub@example.edu", "-"] in rows  # "-": no grade, never a 0
    assert not any(r[2] in ("gone", "extra") for r in rows)


def test_the_lms_files_need_the_lmss_own_roster(course, tmp_path):
    with pytest.raises(CourseError, match="make roster FILE="):
        export_grades(course, "canvas", tmp_path / "x.csv")
    import_roster(tmp_path / "moodle.csv", course)
    with pytest.raises(CourseError, match="imported from a Moodle export"):
        export_grades(course, "canvas", tmp_path / "x.csv")
    (tmp_path / "bad.csv").write_text("name,score\nada,3\n")
    with pytest.raises(RosterError, match="neither a Canvas gradebook export"):
        import_roster(tmp_path / "bad.csv", course)
    with pytest.raises(RosterError, match="no column 'Login'"):
        import_roster(tmp_path / "canvas.csv", course, match="Login")
    with pytest.raises(ValueError, match="canvas, moodle"):
        export_grades(course, "blackboard", tmp_path / "x.csv")


def test_the_commands_say_what_they_did(course, tmp_path, capsys):
    assert main(["export-grades", "--lms", "canvas", "--course", str(course)]) == 2
    assert "make roster FILE=" in capsys.readouterr().err
    assert main(["roster", str(tmp_path / "canvas.csv"), "--course", str(course)]) == 0
    said = capsys.readouterr().out
    assert "imported 4 students" in said and "'SIS Login ID'" in said and "extra" in said
    assert main(["export-grades", "--lms", "canvas", "--course", str(course)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {course / 'grades-canvas.csv'}: 3 students" in said
    assert "no longer submitted, left out (--include-removed keeps them): gone" in said
    assert "grade by hand in formgrader, so their totals may rise: bo" in said
