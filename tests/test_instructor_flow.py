"""The instructor guide, followed with the real grader on a small class (docs/instructors.md, 4-5b).

One class, graded once, asserted on at each step: week 1 grades notebook 01, week 2
notebook 02, week 3 notebook 06; two postmortems are graded by hand in formgrader (a real
Jupyter server, its HTTP API), `make feedback` writes the pages and the table again, a
regrade keeps the hand grades, a student withdraws, the roster comes from the LMSs' own
exports and both LMS files are written. After each step every view (grades.csv, the
feedback pages, the report, the LMS files) is compared with the gradebook. The commands
are `wt06-grade`'s, which the Makefile's recipes run (test_docs_commands.py checks them).

The class: full_marks and partly_right submit notebooks 01, 02 and 06; the copied pair
(copy_original, copy_renamed: the second renames every alias) submit notebook 01 only.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import nbformat
import pytest

from fixtures.formgrader import grade, serve, submissions
from fixtures.lms_formats import canvas_problems, moodle_problems
from fixtures.views import scores, table, views_agree
from wt06_grading.cli import main
from wt06_grading.definition.rehearsal import COPY_PAIR, students
from wt06_grading.foundation import layout
from wt06_grading.records import class_record

pytestmark = pytest.mark.slow
WEEKS = ["01_detect_staleness", "02_pipeline_logs", "06_agent_lens"]
CLASS = ["full_marks", "partly_right", *COPY_PAIR]
COMMENTS = {"full_marks": (5.0, "Clear and complete; the impact misses the signups."),
            "partly_right": (3.5, "The root cause names the wrong revision.")}


def _canvas_export() -> str:
    rows = ["Student,ID,SIS User ID,SIS Login ID,Section,WT-06: The Data Is Stale (88),Current Score",
            "    Points Possible,,,,,47,(read only)"]
    rows += [f'"{s.title()}, Student",{100 + i},SIS-{i},{s},Section 1,,' for i, s in enumerate(CLASS)]
    return "\n".join(rows) + "\n"


def _moodle_export() -> str:
    rows = ['"First name",Surname,"ID number",Institution,Department,"Email address","Course total"']
    rows += [f"Student,{s.title()},{s},,,{s}@example.edu,-" for s in CLASS]
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    """The class, graded in three weeks, as the steps leave it."""
    root = tmp_path_factory.mktemp("flow")
    course = root / "course"
    course.mkdir()
    shutil.copy(layout.GRADER / "nbgrader_config.py", course / "nbgrader_config.py")  # formgrader's, as in grader/
    makers = students(root / "unused.duckdb")
    for student in CLASS:
        folder = course / "submitted" / student / "wt06"
        folder.mkdir(parents=True)
        for name, notebook in makers[student]().items():
            if name.removesuffix(".ipynb") in WEEKS:
                nbformat.write(notebook, folder / name)
    (root / "canvas.csv").write_text(_canvas_export())
    (root / "moodle.csv").write_text(_moodle_export())
    return course, root, {}


def _grade(course: Path, *args: str) -> int:
    return main(["grade", "--course", str(course), "--jobs", "2", "--timeout", "60", *args])


@pytest.fixture(scope="module")
def weeks(flow, capsys_module):
    course, root, state = flow
    url = layout.gradebook_url(course)
    codes = [_grade(course, "--notebooks", week) for week in WEEKS]
    state["codes"] = codes
    state["err"] = capsys_module()  # what the three runs printed
    return course, root, url, state


@pytest.fixture(scope="module")
def capsys_module():
    """What the commands printed to stderr (the progress display), collected by the steps."""
    import contextlib

    buffer = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text):
            buffer.write(text)
            return len(text)

    with contextlib.redirect_stderr(Tee()):
        yield buffer.getvalue


def test_weeks_add_up_and_never_remove_an_earlier_week(weeks):
    course, _, url, state = weeks
    # week 1 clean; weeks 2 and 3: the copied pair did not submit those notebooks (a look)
    assert state["codes"] == [0, 1, 1]
    rows = table(course / "grades.csv")
    assert {nb for (_, nb, _) in rows} == set(WEEKS)
    assert {s for (s, nb, _) in rows if nb == "01_detect_staleness"} == set(CLASS)
    for student in CLASS:  # week 1's pages and autograded notebooks survived weeks 2 and 3
        assert (course / "feedback" / student / "wt06" / "01_detect_staleness.html").is_file()
        assert (course / "autograded" / student / "wt06" / "01_detect_staleness.ipynb").is_file()
    assert rows[("full_marks", "06_agent_lens", "postmortem")]["status"] == "manual"
    totals = views_agree(course, url, lms=False)
    assert totals["full_marks"] == sum(v["score"] for v in scores(url)["full_marks"].values())
    err = state["err"]
    assert "wt06-grade: grading notebooks 01_detect_staleness" in err and "graded 1 of 4" in err
    assert "preparing the course" in err and "opening the gradebook" in err


def test_the_report_flags_the_copied_pair_and_nobody_else(weeks):
    course = weeks[0]
    assert main(["report", "--course", str(course)]) == 0
    page = (course / "report.html").read_text()
    section = page.split("<h2>Similar answers</h2>", 1)[1].split("<h2>", 1)[0]
    assert section.count("copy_original, copy_renamed") == 2  # dashboard_gap and mart_staleness
    assert "full_marks" not in section and "partly_right" not in section


def test_two_postmortems_graded_in_formgrader_reach_every_view(weeks):
    course, _, url, _ = weeks
    with serve(course) as (session, base):
        found = submissions(session, base, "06_agent_lens")
        assert {"full_marks", "partly_right"} <= set(found)
        page = session.get(f"{base}/formgrader/submissions/{found['full_marks']['id']}/", timeout=60).text
        assert "BEGIN MARK SCHEME" in page  # the scheme above the answer, for the grader
        for student, (score, comment) in COMMENTS.items():
            grade(session, base, student, "06_agent_lens", "postmortem", score, comment)
    assert main(["feedback", "--course", str(course)]) == 0
    rows = table(course / "grades.csv")
    for student, (score, comment) in COMMENTS.items():
        row = rows[(student, "06_agent_lens", "postmortem")]
        assert (float(row["score"]), row["status"], row["comment"]) == (score, "graded", comment)
        page = (course / "feedback" / student / "wt06" / "06_agent_lens.html").read_text()
        assert f"{score:g} / 6" in page and comment in page and "MARK SCHEME" not in page
    views_agree(course, url, lms=False)


def test_a_regrade_keeps_the_hand_grades_final(weeks):
    course, _, url, _ = weeks
    before = scores(url)
    # status 1: the copied pair's notes (notebooks 02 and 06 not submitted) still ask for a look
    assert _grade(course, "--notebooks", "06_agent_lens", "--student", "full_marks,partly_right", "--force") == 1
    record = class_record.load(course)
    assert not any(c.grade_id == "postmortem" for s in record.students for c in s.waiting)
    assert scores(url) == before
    views_agree(course, url, lms=False)


def test_a_withdrawal_the_roster_and_both_lms_files(weeks):
    course, root, url, _ = weeks
    shutil.rmtree(course / "submitted" / "copy_renamed")
    assert _grade(course) in (0, 1)  # nothing new: everything reused
    assert main(["roster", str(root / "canvas.csv"), "--course", str(course)]) == 0
    truth = views_agree(course, url)  # the Canvas file included
    canvas = list(csv.DictReader(io.StringIO(_canvas_export().replace("    Points", "Points"))))
    assert canvas_problems(course / "grades-canvas.csv", canvas) == []
    with (course / "grades-canvas.csv").open() as handle:
        exported = {r[3]: r[5] for r in list(csv.reader(handle))[2:]}
    assert "copy_renamed" not in exported and exported["copy_original"] == f"{truth['copy_original']:g}"
    with (course / "grades.csv").open() as handle:
        notes = [r["status"] for r in csv.DictReader(handle) if r["student"] == "copy_renamed"]
    assert "no longer submitted" in notes
    assert main(["roster", str(root / "moodle.csv"), "--course", str(course)]) == 0
    assert main(["export-grades", "--lms", "moodle", "--course", str(course)]) == 0
    moodle = list(csv.DictReader(io.StringIO(_moodle_export())))
    assert moodle_problems(course / "grades-moodle.csv", moodle, "Email address") == []
    with (course / "grades-moodle.csv").open() as handle:
        rows = {r["ID number"]: r["WT-06: The Data Is Stale"] for r in csv.DictReader(handle)}
    assert {s: float(v) for s, v in rows.items()} == {s: truth[s] for s in CLASS if s != "copy_renamed"}
