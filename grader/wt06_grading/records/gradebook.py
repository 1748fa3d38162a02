"""nbgrader's gradebook, wherever it lives: writing results, reading scores, comparing.

The course gradebook is SQLite (``grader/gradebook.db``) unless ``WT06_GRADEBOOK_URL``
names another database nbgrader can use (its ``db_url``), e.g.
``postgresql+psycopg://grader@db.example.edu/wt06``, where several TAs can grade
postmortems in formgrader while autograding writes. Everything goes through nbgrader's
own ``Gradebook`` API, so formgrader, ``nbgrader export`` and these functions agree.

Only the grading driver writes autograder results (``write_result``); like nbgrader's
``SaveAutoGrades`` it sets ``auto_score`` and ``needs_manual_grade`` and never touches a
grader's ``manual_score``, ``extra_credit`` or comments, so a TA's work survives a regrade.
SQLAlchemy updates only the columns that changed, so a TA saving a manual score on the
same row at the same moment loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from wt06_grading.foundation.contract import SubmissionResult
from wt06_grading.foundation.failures import GraderFailure
from wt06_grading.foundation.layout import ASSIGNMENT, COURSE_ID, ENV_GRADEBOOK_URL, gradebook_url  # noqa: F401  (re-exported)


def _url(db) -> str:
    return db if isinstance(db, str) and "://" in db else f"sqlite:///{Path(db)}"


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


@contextlib.contextmanager
def open_gradebook(db):
    """nbgrader's Gradebook on a URL or a SQLite path (closed afterwards)."""
    from nbgrader.api import Gradebook

    if shutil.which("alembic") is None:  # nbgrader runs it by name to stamp a new database
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    gb = Gradebook(_url(db), course_id=COURSE_ID)
    try:
        yield gb
    finally:
        gb.close()


def check(db) -> None:
    """Raise GraderFailure, with the fix, unless the gradebook ``db`` can be opened and read."""
    try:
        with open_gradebook(db) as gb:
            gb.students  # noqa: B018 (one query: the database answers and has nbgrader's tables)
    except Exception as exc:  # noqa: BLE001 (no server, no database, no role, a wrong URL, no driver)
        raise GraderFailure(f"the gradebook {redact(_url(db))} cannot be opened ({type(exc).__name__}: "
                            f"{' '.join(str(exc).split())[:300]}), so nothing was graded: start the database, "
                            "create its role and database (grader/README.md, \"The gradebook\"), or fix "
                            "WT06_GRADEBOOK_URL") from None


def _timestamp(text: str | None):
    if not text:
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except Exception:
        return None


def write_result(gb, result: SubmissionResult, timestamp: str | None = None,
                 changed: dict[tuple[str, str], bool] | None = None) -> None:
    """One submission's autograder scores into the gradebook, in one transaction.

    ``changed``: (notebook, grade id) -> whether the student's answer in a cell graded by
    hand differs from the one a grader last saw (recording.py compares the autograded
    notebooks); a cell missing from it counts as changed.
    """
    import warnings

    from nbgrader.api import MissingEntry
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
        warnings.simplefilter("ignore", SAWarning)
        _write_result(gb, result, timestamp, MissingEntry, changed or {})


def _write_result(gb, result: SubmissionResult, timestamp, MissingEntry, changed) -> None:
    try:
        gb.update_or_create_student(result.student)
        submission = gb.update_or_create_submission(ASSIGNMENT, result.student,
                                                    timestamp=_timestamp(timestamp))
        known = {(nb.name, g.name): g for nb in submission.notebooks for g in nb.grades}
        written = set()
        for row in result.rows:
            grade = known.get((row.notebook, row.grade_id))
            if grade is None:
                raise MissingEntry(f"{row.notebook}/{row.grade_id} is not a graded cell of the "
                                   f"assignment in this gradebook (regenerate the assignment)")
            written.add(row.notebook)
            before = grade.auto_score
            grade.auto_score = None if row.status == "manual" else (row.score or 0.0)
            grade.needs_manual_grade = _needs_grader(grade, before, changed.get((row.notebook, row.grade_id), True))
        for (notebook, _), grade in known.items():  # a 0-point cell (a mark scheme) waits for nobody
            if notebook in written and not (grade.max_score or 0) and grade.manual_score is None:
                grade.auto_score, grade.needs_manual_grade = 0.0, False
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise


def _needs_grader(grade, auto_before: float | None, answer_changed: bool) -> bool:
    """Whether a person must (again) look at this cell after autograding wrote it.

    * graded by hand (no autograder score): until a grader scores it; once scored, again
      only if the student's answer changed since (a second look);
    * autograded: never, unless a grader overrode the score and the autograder's score
      has changed since (nbgrader flags every override; we keep an unchanged one final).
    """
    if grade.auto_score is None:
        return grade.manual_score is None or answer_changed
    if grade.manual_score is None:
        return False
    return auto_before is None or abs(auto_before - grade.auto_score) > 1e-9 or bool(grade.needs_manual_grade)


def dump(db) -> list[tuple]:
    """Every grade and comment of every submission, sorted: equal dumps, equal gradebooks."""
    rows = []
    with open_gradebook(db) as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    rows.append(("grade", submission.student_id, notebook.name, grade.name,
                                 grade.auto_score, grade.manual_score, grade.extra_credit,
                                 grade.needs_manual_grade))
                for comment in notebook.comments:
                    rows.append(("comment", submission.student_id, notebook.name, comment.name,
                                 comment.auto_comment, comment.manual_comment))
                rows.append(("notebook", submission.student_id, notebook.name, notebook.flagged,
                             notebook.late_submission_penalty))
            rows.append(("submission", submission.student_id, str(submission.timestamp)))
    return sorted(rows, key=repr)


def compare(first, second) -> list[str]:
    """What differs between two gradebooks (empty: they hold the same grades)."""
    a, b = set(dump(first)), set(dump(second))
    return [f"only in the first: {row}" for row in sorted(a - b, key=repr)] + \
           [f"only in the second: {row}" for row in sorted(b - a, key=repr)]


def students(db) -> dict[str, dict]:
    """student id -> {first_name, last_name, email, lms_user_id} as nbgrader knows them."""
    with open_gradebook(db) as gb:
        return {s.id: {"first_name": s.first_name or "", "last_name": s.last_name or "",
                       "email": s.email or "", "lms_user_id": getattr(s, "lms_user_id", None) or ""}
                for s in gb.students}


# --------------------------------------------------------------------------- reading it whole
@dataclass
class CellDef:
    """A graded cell of the assignment, as the gradebook defines it."""

    notebook: str
    grade_id: str
    max_score: float
    cell_type: str  # code | markdown
    task: bool  # an nbgrader task cell (here: a mark scheme, 0 points)
    manual: bool = False  # graded by hand: a graded cell that is also an answer (the postmortem)


@dataclass
class BookGrade:
    auto_score: float | None
    manual_score: float | None
    extra_credit: float | None
    needs_manual_grade: bool

    @property
    def score(self) -> float | None:
        """nbgrader's score: the manual score where a grader gave one, else the autograder's,
        plus extra credit; None when neither exists (not graded yet)."""
        base = self.manual_score if self.manual_score is not None else self.auto_score
        return None if base is None else base + (self.extra_credit or 0.0)


@dataclass
class BookSubmission:
    student: str
    timestamp: str | None
    grades: dict[tuple[str, str], BookGrade] = field(default_factory=dict)  # (notebook, grade id)
    comments: dict[tuple[str, str], str] = field(default_factory=dict)  # a grader's comments only


@dataclass
class Book:
    """What the gradebook holds about the assignment, read in a few queries."""

    cells: list[CellDef]
    students: dict[str, dict]  # id -> first_name, last_name, email, lms_user_id
    submissions: dict[str, BookSubmission]

    @property
    def notebooks(self) -> list[str]:
        return list(dict.fromkeys(c.notebook for c in self.cells))

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells)


def read(db, students: list[str] | None = None) -> Book:
    """The assignment's gradebook state: cells, students, every grade and comment
    (of ``students`` only, if given)."""
    with open_gradebook(db) as gb:
        return read_open(gb, students)


def read_open(gb, only: list[str] | None = None) -> Book:
    from nbgrader.api import (
        Assignment,
        BaseCell,
        Comment,
        Grade,
        MissingEntry,
        Notebook,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    cells: list[CellDef] = []
    try:
        assignment = gb.find_assignment(ASSIGNMENT)
    except MissingEntry:
        assignment = None
    if assignment is not None:
        for notebook in sorted(assignment.notebooks, key=lambda n: n.name):
            answers = {c.name for c in notebook.solution_cells}
            defined = [(c, False) for c in notebook.grade_cells] + [(c, True) for c in notebook.task_cells]
            for cell, task in sorted(defined, key=lambda item: item[0].name):  # class_record.py orders them
                cells.append(CellDef(notebook.name, cell.name, float(cell.max_score or 0.0),
                                     str(cell.cell_type), task, not task and cell.name in answers))
    people = gb.db.query(Student) if only is None else gb.db.query(Student).filter(Student.id.in_(list(only)))
    students = {s.id: {"first_name": s.first_name or "", "last_name": s.last_name or "",
                       "email": s.email or "", "lms_user_id": getattr(s, "lms_user_id", None) or ""}
                for s in people}
    submissions: dict[str, BookSubmission] = {}

    def scoped(query):
        query = query.filter(Assignment.name == ASSIGNMENT)
        return query if only is None else query.filter(SubmittedAssignment.student_id.in_(list(only)))

    for student, stamp in scoped(gb.db.query(SubmittedAssignment.student_id, SubmittedAssignment.timestamp)
                                 .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)):
        submissions[student] = BookSubmission(student, str(stamp) if stamp else None)
    base = (SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
    rows = scoped(gb.db.query(SubmittedAssignment.student_id, Notebook.name, BaseCell.name, Grade.auto_score,
                        Grade.manual_score, Grade.extra_credit, Grade.needs_manual_grade)
            .select_from(Grade).join(*base)
            .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
            .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
            .join(BaseCell, Grade.cell_id == BaseCell.id))
    for student, notebook, name, auto, manual, extra, needs in rows:
        submissions[student].grades[(notebook, name)] = BookGrade(auto, manual, extra, bool(needs))
    comments = scoped(gb.db.query(SubmittedAssignment.student_id, Notebook.name, BaseCell.name, Comment.manual_comment)
                .select_from(Comment).join(SubmittedNotebook, Comment.notebook_id == SubmittedNotebook.id)
                .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                .join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
                .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
                .join(BaseCell, Comment.cell_id == BaseCell.id)
                .filter(Comment.manual_comment.isnot(None)))
    for student, notebook, name, text in comments:
        if text and text.strip():
            submissions[student].comments[(notebook, name)] = text.strip()
    return Book(cells, students, submissions)

