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
from pathlib import Path

from .contract import SubmissionResult
from .layout import ASSIGNMENT, COURSE_ID, ENV_GRADEBOOK_URL, gradebook_url  # noqa: F401  (re-exported)

URL_ENV = ENV_GRADEBOOK_URL


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


def _timestamp(text: str | None):
    if not text:
        return None
    from nbgrader.utils import parse_utc

    try:
        return parse_utc(text)
    except Exception:
        return None


def write_result(gb, result: SubmissionResult, timestamp: str | None = None) -> None:
    """One submission's autograder scores into the gradebook, in one transaction."""
    import warnings

    from nbgrader.api import MissingEntry
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
        warnings.simplefilter("ignore", SAWarning)
        _write_result(gb, result, timestamp, MissingEntry)


def _write_result(gb, result: SubmissionResult, timestamp, MissingEntry) -> None:
    try:
        gb.update_or_create_student(result.student)
        submission = gb.update_or_create_submission(ASSIGNMENT, result.student,
                                                    timestamp=_timestamp(timestamp))
        known = {(nb.name, g.name): g for nb in submission.notebooks for g in nb.grades}
        for row in result.rows:
            grade = known.get((row.notebook, row.grade_id))
            if grade is None:
                raise MissingEntry(f"{row.notebook}/{row.grade_id} is not a graded cell of the "
                                   f"assignment in this gradebook (regenerate the assignment)")
            grade.auto_score = None if row.status == "manual" else (row.score or 0.0)
            # as nbgrader's SaveAutoGrades: a grader's earlier score or no autograder score -> review
            grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        raise


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


def scores(db) -> dict[str, dict[str, dict]]:
    """student -> notebook -> {score, max_score, needs_manual_grade}: what an LMS gets.

    A grade's score is nbgrader's: the manual score where a grader gave one, else the
    autograder's, plus extra credit.
    """
    out: dict[str, dict[str, dict]] = {}
    with open_gradebook(db) as gb:
        for student in gb.students:
            out.setdefault(student.id, {})
        for submission in gb.assignment_submissions(ASSIGNMENT):
            per = out.setdefault(submission.student_id, {})
            for notebook in submission.notebooks:
                total = top = 0.0
                manual = False
                for grade in notebook.grades:
                    base = grade.manual_score if grade.manual_score is not None else (grade.auto_score or 0.0)
                    total += base + (grade.extra_credit or 0.0)
                    top += grade.max_score or 0.0
                    manual = manual or bool(grade.needs_manual_grade)
                per[notebook.name] = {"score": total, "max_score": top, "needs_manual_grade": manual}
    return out


def students(db) -> dict[str, dict]:
    """student id -> {first_name, last_name, email, lms_user_id} as nbgrader knows them."""
    with open_gradebook(db) as gb:
        return {s.id: {"first_name": s.first_name or "", "last_name": s.last_name or "",
                       "email": s.email or "", "lms_user_id": getattr(s, "lms_user_id", None) or ""}
                for s in gb.students}
