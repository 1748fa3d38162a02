"""The instructor's commands: what they say, and the exit status, when they cannot run."""

from __future__ import annotations

import io

from wt06_grading.batch import ClassResult, print_summary
from wt06_grading.cli import main
from wt06_grading.foundation.contract import Note
from wt06_grading.records.class_record import CellView, ClassRecord, NotebookView, StudentView


def _student(name: str, score: float, look: bool) -> StudentView:
    cell = CellView("n1", "q1", "Q1", 2.0, False, score, score, None, "passed" if score == 2 else "failed")
    notes = [Note("", "x", True)] if look else []
    return StudentView(name, {"n1": NotebookView("n1", [cell], True)}, True, notes)


def test_export_grades_without_a_gradebook_says_to_grade_first(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WT06_GRADEBOOK_URL", raising=False)
    assert main(["export-grades", "--lms", "canvas", "--course", str(tmp_path)]) == 2
    assert "no gradebook at" in capsys.readouterr().err and not (tmp_path / "grades-canvas.csv").exists()


def test_report_on_an_ungraded_course_writes_a_page_that_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WT06_GRADEBOOK_URL", raising=False)
    assert main(["report", "--course", str(tmp_path)]) == 0
    assert "make grade</code> first" in (tmp_path / "report.html").read_text()


def test_feedback_on_an_ungraded_course_says_to_grade_first(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WT06_GRADEBOOK_URL", raising=False)
    assert main(["feedback", "--course", str(tmp_path)]) == 2
    assert "grade the class first" in capsys.readouterr().err


def test_a_large_class_summary_gives_totals_not_thousands_of_lines():
    students = [_student(f"s{i:04d}", float(i % 3), i % 50 == 0) for i in range(300)]
    out = io.StringIO()
    print_summary(ClassResult(ClassRecord(["n1"], students, {}, None)), stream=out)
    text = out.getvalue()
    assert len(text.splitlines()) < 10
    assert "300 submissions; scores out of 2: lowest 0" in text and "highest 2" in text
    assert "Needs a manual look: s0000, s0050" in text
