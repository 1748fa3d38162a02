"""Hand grading in the course's own flow: formgrader on this course, the mark scheme beside the
answer, grades that reach the student, and stock nbgrader refusing to overwrite any of it.

A course folder of its own (the course's nbgrader configuration and instructor notebooks;
the assignment registered in its gradebook by nbgrader) holds two students' notebook 06 as
grading writes it (engine.write_result, the driver's own writer), so no grading runs here:
what is tested is what happens around the grades. Formgrader runs in a real Jupyter server
started the way ``make formgrade`` starts it, and is driven through its HTTP API, as its
pages drive it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import REPO
from fixtures.formgrader import grade, recipe, serve, submissions
from wt06_grading.batch import mark_schemes
from wt06_grading.definition.rehearsal import solved
from wt06_grading.driver import engine
from wt06_grading.foundation import layout
from wt06_grading.foundation.contract import GradeRow, SubmissionResult, graded_cells
from wt06_grading.records import autograde_guard, class_record
from wt06_grading.records.gradebook import open_gradebook
from wt06_grading.records.views import write_feedback, write_table

pytestmark = pytest.mark.slow  # nbgrader registers the assignment (a subprocess) and a Jupyter server starts

NB = "06_agent_lens"
SCHEME_LINE = "Six points, one per line"  # from the instructor's mark scheme (never in a student's page)
COMMENT = "A clear timeline; the impact lacks the missing revenue figure."


def _graded(student: str, postmortem: str) -> SubmissionResult:
    """Notebook 06 as grading returns it: the autograded notebook and its rows."""
    notebook = solved(NB)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "postmortem")
    cell.source = postmortem
    release = nbformat.read(REPO / "notebooks" / f"{NB}.ipynb", as_version=4)
    rows = [GradeRow(NB, c.grade_id, c.points, c.points, "passed") for c in graded_cells(NB, release)
            if c.grade_id != "postmortem"]
    rows.append(GradeRow(NB, "postmortem", 6.0, None, "manual", "to be graded by hand (nbgrader formgrader)"))
    return SubmissionResult(student, rows, [], {NB: nbformat.writes(notebook).encode()}, {}, 1.0, "w")


def _write(course: Path, result: SubmissionResult) -> None:
    with open_gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        engine.write_result(result, course, gb, None, mark_schemes=mark_schemes(course / "source" / "wt06"))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from wt06_grading.definition.release import generate

    course = tmp_path_factory.mktemp("hand") / "course"
    course.mkdir()
    shutil.copy(layout.GRADER / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(layout.SOURCE, course / "source" / "wt06")
    generate(course, db_url=f"sqlite:///{course / 'gradebook.db'}")  # what make grade does first
    for student in ("ann", "ben"):
        _write(course, _graded(student, f"**Summary.** {student}'s own postmortem. The marts froze."))
        folder = course / "submitted" / student / "wt06"
        folder.mkdir(parents=True)
        nbformat.write(solved(NB), folder / f"{NB}.ipynb")
    return course


@pytest.fixture(scope="module")
def formgrader(course):
    """``make formgrade``'s server, started in the course folder (its recipe says `cd grader && ...`)."""
    line = recipe()
    assert line.startswith("cd grader && ../.venv/bin/jupyter server") and "--ServerApp.default_url=/formgrader" in line
    assert ("--allow-root" in line) == (os.geteuid() == 0)  # jupyter refuses root without it
    with serve(course) as (session, base):
        yield session, base


def _submissions(session, base) -> dict[str, dict]:
    return submissions(session, base, NB)


def test_formgrader_lists_the_course_and_shows_the_mark_scheme_above_the_answer(formgrader):
    session, base = formgrader
    assignments = session.get(f"{base}/formgrader/api/assignments", timeout=30).json()
    assert "wt06" in [a["name"] for a in assignments]
    found = _submissions(session, base)
    assert sorted(found) == ["ann", "ben"] and all(s["needs_manual_grade"] for s in found.values())
    page = session.get(f"{base}/formgrader/submissions/{found['ann']['id']}/", timeout=60).text
    assert SCHEME_LINE in page and "ann's own postmortem" in page
    assert page.index(SCHEME_LINE) < page.index("ann's own postmortem")  # the scheme, then the answer
    grades = session.get(f"{base}/formgrader/api/grades", params={"submission_id": found["ann"]["id"]},
                         timeout=30).json()
    scheme = next(g for g in grades if g["name"] == "postmortem_mark_scheme")
    assert scheme["max_score"] == 0 and scheme["needs_manual_grade"] is False  # 0 points wait for nobody
    waiting = [g["name"] for g in grades if g["needs_manual_grade"]]
    assert waiting == ["postmortem"]


def _grade(session, base, student: str, score: float, comment: str) -> None:
    grade(session, base, student, NB, "postmortem", score, comment)


def test_hand_grades_reach_the_table_and_the_students_page_and_stay_final(formgrader, course):
    session, base = formgrader
    _grade(session, base, "ann", 5.0, COMMENT)
    _grade(session, base, "ben", 4.0, "Good.")
    submission = _submissions(session, base)["ann"]["id"]  # a comment on an answer cell: its question's row
    comments = session.get(f"{base}/formgrader/api/comments", params={"submission_id": submission}, timeout=30).json()
    answer = next(c for c in comments if c["name"] == "phantom_alert")
    assert session.put(f"{base}/formgrader/api/comment/{answer['id']}",
                       data=json.dumps({"manual_comment": "Nice use of as_of()."}), timeout=30).ok
    record = class_record.load(course)
    ann = record.student("ann").notebooks[NB]
    postmortem = next(c for c in ann.cells if c.grade_id == "postmortem")
    assert (postmortem.score, postmortem.status, postmortem.comment) == (5.0, "graded", COMMENT)
    assert not record.student("ann").waiting
    assert write_feedback(record, course) == 2
    page = (course / "feedback" / "ann" / "wt06" / f"{NB}.html").read_text()
    assert "5 / 6" in page and COMMENT in page and "graded by your instructor" in page
    assert f"Your grade for this notebook: {ann.score:g} / {ann.max_score:g}" in page
    assert (f'<span class="wt06-course-total">{record.student("ann").score:g} / '
            f'{record.student("ann").max_score:g} (1 of 6 notebooks graded)</span>') in page
    assert SCHEME_LINE not in page and "MARK SCHEME" not in page  # the scheme stays the graders'
    assert "to be graded by hand to be graded by hand" not in page
    assert "<script" not in page.lower() and "mathjax" not in page.lower()
    table = write_table(record, course / "grades.csv").read_text()
    assert f"ann,wt06,{NB},postmortem,5,6,graded," in table and COMMENT in table
    assert f"ann,wt06,{NB},test_phantom_alert,3,3,passed,,Nice use of as_of()." in table
    assert "Nice use of as_of()." in page
    # a regrade of the same answer keeps the grade final; a changed answer asks for a second look
    _write(course, _graded("ann", "**Summary.** ann's own postmortem. The marts froze."))
    _write(course, _graded("ben", "**Summary.** ben rewrote everything after the deadline."))
    again = class_record.load(course)
    assert not again.student("ann").waiting
    (ben,) = again.student("ben").waiting
    assert ben.status == "review" and ben.score == 4.0 and "answer changed" in ben.reason


def test_stock_autograde_and_feedback_refuse_before_touching_any_file(course):
    before = {p: p.read_bytes() for p in (course / "autograded").rglob("*") if p.is_file()}
    write_feedback(class_record.load(course), course)
    pages = {p: p.read_bytes() for p in (course / "feedback").rglob("*") if p.is_file()}
    assert before and pages
    for command, sentence in ((["autograde", "wt06", "--force"], autograde_guard.AUTOGRADE),
                              (["generate_feedback", "wt06", "--force"], autograde_guard.FEEDBACK)):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *command], cwd=course, capture_output=True,
                              text=True, timeout=300, env=layout.tool_env())
        assert done.returncode == 1, done.stderr[-2000:]
        assert sentence in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert {p: p.read_bytes() for p in (course / "autograded").rglob("*") if p.is_file()} == before
    assert {p: p.read_bytes() for p in (course / "feedback").rglob("*") if p.is_file()} == pages


def test_formgrader_from_the_repository_root_finds_the_course(tmp_path):
    """`make lab` starts Jupyter at the repository's root: its nbgrader_config.py points at grader/."""
    code = ("from nbgrader.apps.baseapp import NbGrader\n"
            "app = NbGrader(); app.load_config_file()\n"
            "from nbgrader.coursedir import CourseDirectory\n"
            "print(CourseDirectory(config=app.config).root)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip().splitlines()[-1] == str(layout.GRADER), done.stderr[-2000:]
