"""The gradebook: autograder writes that keep graders' work, SQLite or PostgreSQL, compared.

PostgreSQL tests start a real server (Debian's package) of their own on 127.0.0.1 (the
``postgres`` fixture in conftest.py) and skip only when PostgreSQL is not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from fixtures.fake_worker import FakeWorker, tiny_bundle, tiny_gradebook, write_submission
from fixtures.views import scores  # noqa: E402
from wt06_grading.driver import engine  # noqa: E402
from wt06_grading.foundation.contract import GradeRow, SubmissionResult  # noqa: E402
from wt06_grading.records.gradebook import compare, dump, open_gradebook, write_result  # noqa: E402


def _result(student: str, q1: float, q3: float = 3.0) -> SubmissionResult:
    rows = [GradeRow("n1", "q1", 2.0, q1, "passed" if q1 == 2 else "failed"),
            GradeRow("n1", "q2", 1.0, 1.0, "passed"),
            GradeRow("n2", "m1", 2.0, None, "manual"),
            GradeRow("n2", "q3", 3.0, q3, "passed" if q3 == 3 else "failed")]
    return SubmissionResult(student, rows, [], {}, {}, 1.0, "w")


def test_autograding_keeps_a_graders_manual_scores_and_flags_them_for_review(tmp_path):
    url = tiny_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    with open_gradebook(url) as gb:
        write_result(gb, _result("alice", 0.0), "2024-02-12 09:00:00")
        grade = gb.find_grade("q1", "n1", "wt06", "alice")
        assert (grade.auto_score, grade.needs_manual_grade) == (0.0, False)
        assert gb.find_grade("m1", "n2", "wt06", "alice").needs_manual_grade is True
        grade.manual_score = 1.5  # a TA overrides the autograder
        gb.find_grade("m1", "n2", "wt06", "alice").manual_score = 2.0  # and grades the postmortem
        gb.db.commit()
        write_result(gb, _result("alice", 2.0))  # a regrade
    got = scores(url)["alice"]
    assert got["n1"]["score"] == 1.5 + 1.0  # the TA's score wins over the autograder's
    assert got["n2"] == {"score": 5.0, "max_score": 5.0, "needs_manual_grade": True}
    with open_gradebook(url) as gb:
        grade = gb.find_grade("q1", "n1", "wt06", "alice")
        assert (grade.auto_score, grade.manual_score, grade.needs_manual_grade) == (2.0, 1.5, True)


def test_a_row_the_gradebook_does_not_know_is_refused_and_nothing_is_written(tmp_path):
    from nbgrader.api import MissingEntry

    url = tiny_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    result = _result("bob", 2.0)
    result.rows.append(GradeRow("n9", "q9", 1.0, 1.0, "passed"))
    with open_gradebook(url) as gb, pytest.raises(MissingEntry, match="n9/q9"):
        write_result(gb, result)
    assert [r for r in dump(url) if r[0] == "grade" and r[4] is not None] == []


def test_compare_names_what_differs(tmp_path):
    first = tiny_gradebook(f"sqlite:///{tmp_path / 'a.db'}")
    second = tiny_gradebook(f"sqlite:///{tmp_path / 'b.db'}")
    for url, q1 in ((first, 2.0), (second, 0.0)):
        with open_gradebook(url) as gb:
            write_result(gb, _result("alice", q1))
    assert compare(first, first) == []
    differences = compare(first, second)
    assert len(differences) == 2 and "'q1', 2.0" in differences[0] and "'q1', 0.0" in differences[1]


@pytest.mark.slow
def test_a_class_graded_into_postgresql_equals_the_sqlite_gradebook(postgres, incident_warehouse, grading_cache,
                                                                    tmp_path):
    """The real grader (notebook 01, a small mixed class), once into each database."""
    from wt06_grading.batch import grade_class
    from wt06_grading.definition.rehearsal import write_class

    students = ["full_marks", "partly_right", "malformed_json", "empty"]
    courses = {}
    for name in ("sqlite", "postgresql"):
        courses[name] = tmp_path / name
        write_class(courses[name] / "submitted", students, incident_warehouse)
    url = postgres.database()
    lite = grade_class(courses["sqlite"], jobs=1, only=["01_detect_staleness"], cell_timeout=20, progress=False)
    pg = grade_class(courses["postgresql"], jobs=2, only=["01_detect_staleness"], cell_timeout=20,
                     progress=False, gradebook_url=url)
    assert compare(courses["sqlite"] / "gradebook.db", url) == []
    assert len(dump(url)) > 30 and not (courses["postgresql"] / "gradebook.db").exists()
    assert lite.table.read_text() == pg.table.read_text()
    assert scores(url)["full_marks"]["01_detect_staleness"]["score"] == 4.0


TA = """
import json, sys, time
from wt06_grading.records.gradebook import open_gradebook
url, plan = sys.argv[1], json.loads(sys.argv[2])
started = time.time()
with open_gradebook(url) as gb:
    for student, notebook, cell, score in plan:
        grade = gb.find_grade(cell, notebook, "wt06", student)
        grade.manual_score = score
        gb.db.commit()
        time.sleep(0.01)
print(json.dumps([started, time.time()]))
"""


@pytest.mark.slow
def test_two_graders_writing_manual_scores_while_autograding_lose_nothing(postgres, tmp_path, monkeypatch):
    """Two TA processes (nbgrader's API) and a regrade of the class, all on one PostgreSQL."""
    monkeypatch.setenv("WT06_FAKE_LOG", str(tmp_path))
    url = tiny_gradebook(postgres.database())
    students = [f"s{i:02d}" for i in range(16)]
    for student in students:
        write_submission(tmp_path / "submitted", student, {"n1.ipynb": "right sleep=0.3", "n2.ipynb": "right"})
    run = dict(submitted=tmp_path / "submitted", out=tmp_path, gradebook_url=url, worker_class=FakeWorker,
               progress=False, jobs=2)
    engine.run(tiny_bundle(), **run)  # the class exists; now regrade it while two TAs grade by hand
    # TA 1 grades every postmortem (m1); TA 2 overrides q1 -- a cell the regrade writes too
    plans = [[[s, "n2", "m1", 1.0 + i % 2] for i, s in enumerate(students)] * 3,
             [[s, "n1", "q1", 0.5] for s in students] * 3]
    tas = [subprocess.Popen([sys.executable, "-c", TA, url, json.dumps(plan)], stdout=subprocess.PIPE,
                            text=True, cwd=REPO) for plan in plans]
    started = time.time()
    batch = engine.run(tiny_bundle(), force=True, **run)
    ended = time.time()
    windows = [json.loads(ta.communicate(timeout=300)[0]) for ta in tas]
    assert all(ta.returncode == 0 for ta in tas)
    assert batch.stats.graded == len(students)
    assert any(start < ended and stop > started for start, stop in windows), "the graders did not overlap"
    with open_gradebook(url) as gb:
        for i, student in enumerate(students):
            m1 = gb.find_grade("m1", "n2", "wt06", student)
            q1 = gb.find_grade("q1", "n1", "wt06", student)
            q3 = gb.find_grade("q3", "n2", "wt06", student)
            assert m1.manual_score == 1.0 + i % 2 and m1.needs_manual_grade is not None
            assert (q1.manual_score, q1.auto_score) == (0.5, 2.0)  # both writers' columns kept
            assert q3.auto_score == 3.0
    got = scores(url)
    assert all(got[s]["n1"]["score"] == 0.5 + 1.0 for s in students)
    assert sorted(r[1] for r in dump(url) if r[0] == "submission") == students  # once each
    assert Path(tmp_path / "grades.csv").is_file()
