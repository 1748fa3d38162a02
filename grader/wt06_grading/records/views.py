"""The grade table and the feedback pages, written from the class record (class_record.py).

Both are views of the gradebook: ``write_table`` writes ``grades.csv`` (one row per
graded cell of every notebook graded so far, a grader's scores included, plus note
rows), ``write_feedback`` one page per graded notebook of each student into
``feedback/<student>/wt06/``. ``make grade`` writes them for the students it graded;
``make feedback`` (``wt06-grade feedback``) writes them for everyone from the gradebook,
which is how hand grading in formgrader reaches grades.csv and the students' pages.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

from wt06_grading.foundation.layout import ASSIGNMENT
from wt06_grading.records.class_record import REMOVED_NOTE, ClassRecord, StudentView
from wt06_grading.records.feedback import page, with_course_total

COLUMNS = ["student", "assignment", "notebook", "question", "score", "max", "status", "reason", "comment"]


def table_rows(record: ClassRecord) -> list[list[str]]:
    rows = []
    for student in record.students:
        for notebook in student.graded:
            for cell in notebook.cells:
                score = "" if cell.score is None else f"{cell.score:g}"  # empty: waiting for a grader
                rows.append([student.student, ASSIGNMENT, notebook.name, cell.grade_id, score,
                             f"{cell.max_score:g}", cell.status, cell.reason, cell.comment])
        for notebook, sentence, look in student.all_notes:
            rows.append([student.student, ASSIGNMENT, notebook or "(submission)", "(note)", "", "",
                         "needs a look" if look else "note", sentence, ""])
        if student.removed:
            folder = f"{record.submitted.name}/{student.student}/" if record.submitted else student.student
            rows.append([student.student, ASSIGNMENT, "(submission)", "(note)", "", "", "no longer submitted",
                         REMOVED_NOTE.format(folder=folder), ""])
    return rows


def write_table(record: ClassRecord, path: Path) -> Path:
    """grades.csv: one row per graded cell and per note, students in order."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(table_rows(record))
    os.replace(tmp, path)
    return path


def _graders_input(notebook) -> bool:
    """Whether a grader scored or commented a cell of this notebook (the worker cannot know it)."""
    return any(c.manual_score is not None or c.comment for c in notebook.cells)


def write_student_feedback(student: StudentView, out: Path, *, rendered: dict[str, bytes] | None = None,
                           again: bool = True) -> list[Path]:
    """``feedback/<student>/wt06/<notebook>.html`` for every graded notebook of ``student``.

    A page is rendered from the autograded notebook (``autograded/<student>/wt06/``) and the
    record (a notebook graded as not submitted: from the release's blank notebook).
    ``rendered``: pages the grading worker made of the notebooks just graded, used
    as they are (course total set) unless a grader scored or commented a cell there;
    ``again=False``: an existing page of a notebook not graded now only gets its course
    total set. Pages of notebooks not graded (or without an autograded notebook) are removed.
    """
    import nbformat

    source = Path(out) / "autograded" / student.student / ASSIGNMENT
    target = Path(out) / "feedback" / student.student / ASSIGNMENT
    written = []
    for notebook in student.notebooks.values():
        page_path = target / f"{notebook.name}.html"
        graded = source / f"{notebook.name}.ipynb"
        if not graded.is_file():  # graded as not submitted: the page shows the blank notebook
            graded = Path(out) / "release" / ASSIGNMENT / f"{notebook.name}.ipynb"
        if not notebook.graded or not graded.is_file():
            page_path.unlink(missing_ok=True)
            continue
        data = None
        if not _graders_input(notebook):
            if rendered and notebook.name in rendered:
                data = with_course_total(rendered[notebook.name], student)
            elif not again and page_path.is_file():
                data = with_course_total(page_path.read_bytes(), student)
        if data is None:
            try:
                executed = nbformat.read(graded, as_version=4)
            except Exception:  # noqa: BLE001 (an autograded notebook edited by hand into nonsense)
                continue
            data = page(executed, notebook, student, title=notebook.name)
        target.mkdir(parents=True, exist_ok=True)
        tmp = page_path.with_name(f".{page_path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, page_path)
        written.append(page_path)
    if target.is_dir() and not any(target.iterdir()):
        shutil.rmtree(target.parent, ignore_errors=True)
    return written


def write_feedback(record: ClassRecord, out: Path, students: list[str] | None = None) -> int:
    """Every page of ``students`` (default: everyone in the record); the number written."""
    return sum(len(write_student_feedback(s, out)) for s in record.students
               if students is None or s.student in students)
