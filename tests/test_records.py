"""The gradebook is the one record: grades.csv, the feedback pages, the report and the LMS files
are views of it, whatever subset, student or rerun came last.

A tiny class graded by the test suite's fake worker (fixtures/fake_worker.py, milliseconds
a submission) through the real engine: week 1 grades notebook n1, week 2 notebook n2, a
grader scores a hand-graded cell and comments it, a regrade, a student withdraws. After
each step, every view is compared with the gradebook (``views_agree``). The real grader
walks the same path in test_instructor_flow.py.
"""

from __future__ import annotations

import csv
import shutil

import pytest

from fixtures.fake_worker import FakeWorker, tiny_bundle, tiny_gradebook, write_submission
from fixtures.views import scores, table, views_agree
from wt06_grading.driver import engine
from wt06_grading.records import class_record
from wt06_grading.records.gradebook import open_gradebook
from wt06_grading.records.lms import export_grades
from wt06_grading.records.report import build
from wt06_grading.records.roster import import_roster
from wt06_grading.records.views import write_feedback

pytestmark = pytest.mark.slow  # a LocalCluster per run

CANVAS = ("Student,ID,SIS User ID,SIS Login ID,Section,WT-06: The Data Is Stale\n"
          "Points Possible,,,,,8\n"
          '"Right, Ann",101,S1,ann,A,\n"Wrong, Ben",102,S2,ben,A,\n"Gone, Cal",103,S3,cal,A,\n')


@pytest.fixture
def course(tmp_path, monkeypatch):
    monkeypatch.setenv("WT06_FAKE_LOG", str(tmp_path))
    monkeypatch.delenv("WT06_GRADEBOOK_URL", raising=False)
    url = tiny_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    write_submission(tmp_path / "submitted", "ann", {"n1.ipynb": "right", "n2.ipynb": "right"})
    write_submission(tmp_path / "submitted", "ben", {"n1.ipynb": "wrong", "n2.ipynb": "right"})
    write_submission(tmp_path / "submitted", "cal", {"n1.ipynb": "right", "n2.ipynb": "wrong"})
    (tmp_path / "canvas.csv").write_text(CANVAS)
    return tmp_path, url


def _run(course, url, only=None, **options):
    return engine.run(tiny_bundle(only=only), submitted=course / "submitted", out=course, gradebook_url=url,
                      worker_class=FakeWorker, progress=False, jobs=1, **options)


def test_weeks_a_hand_grade_a_regrade_and_a_withdrawal_keep_every_view_on_the_gradebook(course):
    tmp, url = course
    week1 = _run(tmp, url, only=["n1"])
    assert sorted(week1.graded_now) == ["ann", "ben", "cal"]
    first = table(week1.table)
    assert {nb for (_, nb, _) in first} == {"n1"}
    import_roster(tmp / "canvas.csv", tmp)
    views_agree(tmp, url)
    n1_pages = {p: p.read_bytes() for p in (tmp / "feedback").rglob("n1.html")}
    n1_graded = {p: p.read_bytes() for p in (tmp / "autograded").rglob("n1.ipynb")}

    week2 = _run(tmp, url, only=["n2"])  # week 2 never removes week 1's files or rows
    assert sorted(week2.graded_now) == ["ann", "ben", "cal"]
    second = table(week2.table)
    assert {k: v for k, v in second.items() if k[1] == "n1"} == first
    assert {p: p.read_bytes() for p in (tmp / "autograded").rglob("n1.ipynb")} == n1_graded
    assert set(p for p in (tmp / "feedback").rglob("n1.html")) == set(n1_pages)
    assert second[("ann", "n2", "m1")]["status"] == "manual" and second[("ann", "n2", "m1")]["score"] == ""
    views_agree(tmp, url)
    assert _run(tmp, url, only=["n1"]).stats.reused == 3  # week 1 again: nothing changed, nothing graded

    with open_gradebook(url) as gb:  # a grader scores ann's hand-graded cell and comments it (as formgrader)
        grade = gb.find_grade("m1", "n2", "wt06", "ann")
        grade.manual_score, grade.needs_manual_grade = 1.5, False
        gb.find_comment("m1", "n2", "wt06", "ann").manual_comment = "Half of it is there."
        gb.db.commit()
    write_feedback(class_record.load(tmp, gradebook_url=url), tmp)  # make feedback
    truth = views_agree(tmp, url)
    assert truth["ann"] == 2 + 1 + 1.5 + 3
    rows = table(tmp / "grades.csv")
    assert (rows[("ann", "n2", "m1")]["score"], rows[("ann", "n2", "m1")]["status"],
            rows[("ann", "n2", "m1")]["comment"]) == ("1.5", "graded", "Half of it is there.")
    page = (tmp / "feedback" / "ann" / "wt06" / "n2.html").read_text()
    assert "1.5 / 2" in page and "Half of it is there." in page

    forced = _run(tmp, url, force=True)  # a regrade of unchanged answers keeps the hand grade final
    assert sorted(forced.graded_now) == ["ann", "ben", "cal"]
    assert not class_record.load(tmp, gradebook_url=url).student("ann").waiting
    page = (tmp / "feedback" / "ann" / "wt06" / "n2.html").read_text()
    assert "1.5 / 2" in page and "Half of it is there." in page  # the driver renders pages with a grader's input
    views_agree(tmp, url)

    write_submission(tmp / "submitted", "ann", {"n1.ipynb": "right", "n2.ipynb": "right, rewritten"})
    _run(tmp, url)  # ann changed her answer: a second look, her grade kept until then
    (m1,) = class_record.load(tmp, gradebook_url=url).student("ann").waiting
    assert (m1.status, m1.score) == ("review", 1.5)

    shutil.rmtree(tmp / "submitted" / "cal")  # cal withdraws
    rerun = _run(tmp, url)
    assert rerun.stats.graded == 0 and rerun.stats.reused == 2
    record = class_record.load(tmp, gradebook_url=url)
    assert [s.student for s in record.removed] == ["cal"] and "cal" in scores(url)  # kept in the gradebook
    with rerun.table.open() as handle:
        notes = [r for r in csv.DictReader(handle) if r["student"] == "cal" and r["question"] == "(note)"]
    assert [n["status"] for n in notes] == ["no longer submitted"]
    truth = views_agree(tmp, url)  # cal is in the table, apart in the report, out of the LMS file
    page = build(record, clusters=[])
    assert "1 no longer submitted, not counted" in page and "2 submissions" in page
    with (tmp / "grades-canvas.csv").open() as handle:
        assert "cal" not in {r[3] for r in csv.reader(handle)}
    kept = export_grades(tmp, "canvas", tmp / "all.csv", include_removed=True)
    with kept.path.open() as handle:
        assert {r[3]: r[5] for r in list(csv.reader(handle))[2:]}["cal"] == f"{truth['cal']:g}"


def test_the_record_explains_nothing_the_gradebook_does_not_hold(course):
    """A score changed by hand in the gradebook wins over the cache's story, and says so."""
    tmp, url = course
    _run(tmp, url)
    with open_gradebook(url) as gb:
        gb.find_grade("q1", "n1", "wt06", "ben").auto_score = 2.0  # edited outside the grader
        gb.db.commit()
    record = class_record.load(tmp, gradebook_url=url)
    cell = next(c for c in record.student("ben").notebooks["n1"].cells if c.grade_id == "q1")
    assert (cell.score, cell.status) == (2.0, "passed") and "grading cache says otherwise" in cell.reason
    write_feedback(record, tmp)  # make feedback: the pages follow the gradebook
    views_agree(tmp, url, lms=False)
    assert _run(tmp, url).graded_now == ["ben"]  # not what the cache says: graded again
