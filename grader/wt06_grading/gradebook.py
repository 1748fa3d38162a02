"""Merging per-submission gradebooks, and comparing gradebooks.

nbgrader's SQLite gradebook is not safe for concurrent writers (nbgrader issue 174). So
parallel workers each grade into a private copy of the gradebook, and one process then
merges every student's results into the course gradebook, one after another. ``dump``
gives a gradebook's grades in a comparable form, so tests can show the merged result
equals grading sequentially into one gradebook.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from nbgrader.api import Gradebook

from .contract import SubmissionResult
from .layout import ASSIGNMENT, COURSE_ID


def record(db_url: str, result: SubmissionResult, timestamp=None) -> None:
    """Write one graded submission into the gradebook: an automatic score for every graded cell.

    Only ``auto_score`` and ``needs_manual_grade`` are written, for the course's own grade
    ids: a manual score or extra credit a grader gave stays, and nothing in a submission
    can name another cell or student.
    """
    with warnings.catch_warnings(), Gradebook(db_url, course_id=COURSE_ID) as gb:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
        gb.update_or_create_student(result.student)
        kwargs = {"timestamp": timestamp} if timestamp else {}
        gb.update_or_create_submission(ASSIGNMENT, result.student, **kwargs)
        for row in result.rows:
            grade = gb.find_grade(row.grade_id, row.notebook, ASSIGNMENT, result.student)
            grade.auto_score = row.score
            grade.needs_manual_grade = row.score is None or grade.manual_score is not None
        gb.db.commit()


def merge_student(source_db: Path, target_db: Path, student: str) -> None:
    """Copy ``student``'s submission (timestamp, scores, comments, flags) into the target."""
    with Gradebook(f"sqlite:///{source_db}", course_id=COURSE_ID) as source, \
            Gradebook(f"sqlite:///{target_db}", course_id=COURSE_ID) as target:
        theirs = source.find_submission(ASSIGNMENT, student)
        target.update_or_create_student(student)
        mine = target.update_or_create_submission(ASSIGNMENT, student, timestamp=theirs.timestamp)
        for notebook in theirs.notebooks:
            into = target.find_submission_notebook(notebook.name, ASSIGNMENT, student)
            into.flagged = notebook.flagged
            into.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                copy = target.find_grade(grade.name, notebook.name, ASSIGNMENT, student)
                copy.auto_score, copy.manual_score = grade.auto_score, grade.manual_score
                copy.extra_credit, copy.needs_manual_grade = grade.extra_credit, grade.needs_manual_grade
            for comment in notebook.comments:
                copy = target.find_comment(comment.name, notebook.name, ASSIGNMENT, student)
                copy.auto_comment, copy.manual_comment = comment.auto_comment, comment.manual_comment
        mine.timestamp = theirs.timestamp
        target.db.commit()


def dump(db: Path) -> list[tuple]:
    """Every grade and comment of every submission, sorted: equal dumps, equal gradebooks."""
    rows = []
    with Gradebook(f"sqlite:///{db}", course_id=COURSE_ID) as gb:
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
