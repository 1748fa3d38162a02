"""The Dask grading engine, with a fake worker that grades in milliseconds and dies on request.

What is checked here is the engine's own behaviour: one task per submission on an
embedded LocalCluster of worker processes, one long-lived worker object per process,
results written once each as they arrive, reruns that grade only what changed, one late
student, a worker killed mid-submission, a submission that kills every worker it meets.
The real grading worker is graded by test_grading.py and test_scale.py (slow lane); these
run in the fast lane: a batch of fake grading on a local cluster takes 2 to 4 s.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fixtures.fake_worker import FakeWorker, read_log, tiny_bundle, tiny_gradebook, write_submission
from fixtures.views import scores  # noqa: E402
from wt06_grading.driver import engine  # noqa: E402
from wt06_grading.foundation.contract import BundleMismatch, CourseBundle, SubmissionJob  # noqa: E402
from wt06_grading.records.gradebook import dump  # noqa: E402

RIGHT = {"n1.ipynb": "right", "n2.ipynb": "right"}
WRONG = {"n1.ipynb": "wrong", "n2.ipynb": "right"}


@pytest.fixture
def course(tmp_path, monkeypatch):
    log = tmp_path / "log"
    log.mkdir()
    monkeypatch.setenv("WT06_FAKE_LOG", str(log))  # inherited by the worker processes
    url = tiny_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    return tmp_path, url, log


def _run(tmp: Path, url: str, **options):
    options.setdefault("jobs", 2)
    return engine.run(tiny_bundle(), submitted=tmp / "submitted", out=tmp, gradebook_url=url,
                      worker_class=FakeWorker, progress=False, **options)


def _table(path: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            out.setdefault(row["student"], []).append(row)
    return out


def _graded(log: Path) -> list[str]:
    return [e["student"] for e in read_log(log) if e["kind"] == "grade"]


def test_bundle_digest_covers_files_and_settings():
    bundle = tiny_bundle(cell_timeout=60)
    assert bundle.digest == tiny_bundle(cell_timeout=60).digest
    assert bundle.digest != tiny_bundle(cell_timeout=61).digest
    bundle.verify()
    changed = CourseBundle(dict(bundle.files), bundle.settings, bundle.digest)
    changed.files["release/n1.ipynb"] = b"{}"
    with pytest.raises(BundleMismatch):
        changed.verify()
    derived = tiny_bundle(derived=["gradebook.db"])
    other = CourseBundle({**derived.files, "gradebook.db": b"1"}, derived.settings)
    again = CourseBundle({**derived.files, "gradebook.db": b"2"}, derived.settings)
    assert other.digest != again.digest and other.shaping_digest() == again.shaping_digest()
    assert tiny_bundle(only=['n1']).shaping_digest() == tiny_bundle(only=None).shaping_digest()


def test_content_hash_is_of_the_submission_not_the_student():
    a = SubmissionJob("alice", {"n1.ipynb": b"x"}, "2024-02-12 09:00:00")
    assert a.content_hash() == SubmissionJob("bob", {"n1.ipynb": b"x"}, "2024-02-12 09:00:00").content_hash()
    assert a.content_hash() != SubmissionJob("alice", {"n1.ipynb": b"y"}, "2024-02-12 09:00:00").content_hash()
    assert a.content_hash() != SubmissionJob("alice", {"n1.ipynb": b"x"}, "2024-02-13 09:00:00").content_hash()
    assert a.content_hash() != SubmissionJob("alice", {"n2.ipynb": b"x"}, "2024-02-12 09:00:00").content_hash()


def test_read_job_takes_regular_files_only(tmp_path):
    folder = write_submission(tmp_path, "alice", {"n1.ipynb": "right", "timestamp.txt": "2024-02-12 09:00:00"})
    (folder / "link.ipynb").symlink_to(folder / "n1.ipynb")
    (folder / "sub").mkdir()
    job = engine.read_job("alice", folder)
    assert sorted(job.files) == ["n1.ipynb"] and job.timestamp == "2024-02-12 09:00:00"


def test_a_class_is_graded_once_each_and_a_rerun_grades_only_what_changed(course):
    tmp, url, log = course
    for i in range(5):
        write_submission(tmp / "submitted", f"s{i}", RIGHT if i % 2 else WRONG)
    write_submission(tmp / "submitted", "empty", {})
    first = _run(tmp, url)
    assert first.stats.graded == 6 and first.stats.reused == 0 and first.stats.workers == 2
    assert sorted(_graded(log)) == sorted(["s0", "s1", "s2", "s3", "s4", "empty"])
    inits = [e["pid"] for e in read_log(log) if e["kind"] == "init"]
    assert len(inits) == len(set(inits)) <= 2  # one long-lived worker object per process
    table = _table(first.table)
    assert {r["score"] for r in table["s1"] if r["question"] == "q1"} == {"2"}
    assert {r["score"] for r in table["s0"] if r["question"] == "q1"} == {"0"}
    assert [r["reason"] for r in table["empty"] if r["question"] == "(note)"] == \
        ["empty submission: no notebook was submitted"]
    assert scores(url)["s1"]["n1"] == {"score": 3.0, "max_score": 3.0, "needs_manual_grade": False}
    assert scores(url)["s1"]["n2"]["needs_manual_grade"] is True  # the hand-graded cell waits
    assert (tmp / "feedback" / "s1" / "wt06" / "n1.html").is_file()
    assert "submitted: right" in (tmp / "autograded" / "s1" / "wt06" / "n2.ipynb").read_text()
    before = dump(url)

    again = _run(tmp, url)
    assert again.stats.graded == 0 and again.stats.reused == 6
    assert len(_graded(log)) == 6 and dump(url) == before
    assert again.table.read_text() == first.table.read_text()

    write_submission(tmp / "submitted", "s0", RIGHT)  # s0 resubmits; a late student arrives
    write_submission(tmp / "submitted", "late", RIGHT)
    third = _run(tmp, url)
    assert sorted(third.graded_now) == ["late", "s0"] and third.stats.reused == 5
    rows = {s: [{k: v for k, v in r.items() if k != "student"} for r in rs]
            for s, rs in _table(third.table).items()}
    assert rows["s0"] == rows["s1"] != rows["s2"]  # s0's new answers are s1's
    assert len(_table(third.table)) == 7


def test_one_student_is_graded_without_touching_the_others(course):
    tmp, url, log = course
    for student in ("alice", "bob"):
        write_submission(tmp / "submitted", student, WRONG)
    first = _run(tmp, url, jobs=1)
    others = {p: p.read_bytes() for p in (tmp / "feedback" / "bob").rglob("*.html")}
    record = (tmp / engine.RESULTS / "bob.json").read_bytes()
    bob_rows = [r for r in dump(url) if r[1] == "bob"]
    write_submission(tmp / "submitted", "alice", RIGHT)
    write_submission(tmp / "submitted", "bob", RIGHT)  # changed, but not asked for
    late = _run(tmp, url, jobs=1, students=["alice"])
    assert late.graded_now == ["alice"]
    assert {p: p.read_bytes() for p in (tmp / "feedback" / "bob").rglob("*.html")} == others != {}
    assert (tmp / engine.RESULTS / "bob.json").read_bytes() == record
    assert [r for r in dump(url) if r[1] == "bob"] == bob_rows
    lines = late.table.read_text().splitlines()
    assert [line for line in lines if line.startswith("bob,")] == \
        [line for line in first.table.read_text().splitlines() if line.startswith("bob,")]
    assert scores(url)["alice"]["n1"]["score"] == 3.0
    unchanged = _run(tmp, url, jobs=1, students=["alice"])  # asked for by name: graded again
    assert unchanged.graded_now == ["alice"]
    from wt06.errors import CourseError

    with pytest.raises(CourseError, match="no submission from carol"):
        _run(tmp, url, jobs=1, students=["carol"])


def test_a_worker_killed_mid_submission_is_regraded_elsewhere_and_written_once(course):
    tmp, url, log = course
    write_submission(tmp / "submitted", "unlucky", {"n1.ipynb": "right die-once", "n2.ipynb": "right"})
    for i in range(3):
        write_submission(tmp / "submitted", f"s{i}", RIGHT)
    batch = _run(tmp, url)
    assert _graded(log).count("unlucky") == 2  # started twice: the first worker died in it
    assert batch.stats.workers_lost == 1 and batch.stats.attempts == {"unlucky": 2}
    assert batch.graded_now.count("unlucky") == 1
    assert scores(url)["unlucky"]["n1"]["score"] == 3.0
    assert len([r for r in dump(url) if r[0] == "submission" and r[1] == "unlucky"]) == 1
    rows = _table(batch.table)["unlucky"]
    assert len(rows) == 4 and all(r["question"] != "(note)" for r in rows)


def test_a_submission_that_kills_every_worker_is_marked_and_the_batch_completes(course):
    tmp, url, log = course
    write_submission(tmp / "submitted", "poison", {"n1.ipynb": "die-always", "n2.ipynb": "right"})
    for i in range(3):
        write_submission(tmp / "submitted", f"s{i}", RIGHT)
    batch = _run(tmp, url, max_attempts=2)
    assert _graded(log).count("poison") == 2
    assert batch.stats.workers_lost == 2 and batch.stats.failed == 1
    table = _table(batch.table)
    assert all(_total == "0" for _total in (r["score"] for r in table["poison"] if r["question"] != "(note)"))
    (note,) = [r["reason"] for r in table["poison"] if r["question"] == "(note)"]
    assert note.startswith("not graded: the grading worker died 2 time(s)")
    assert [r["status"] for r in table["poison"] if r["question"] == "(note)"] == ["needs a look"]
    for i in range(3):
        assert scores(url)[f"s{i}"]["n1"]["score"] == 3.0
    rerun = _run(tmp, url, max_attempts=2)  # marked, not retried on every rerun
    assert rerun.stats.graded == 0


def test_an_interrupted_batch_keeps_what_finished(course, monkeypatch):
    tmp, url, log = course
    for i in range(6):
        write_submission(tmp / "submitted", f"s{i}", RIGHT)
    written = []
    original = engine.write_result

    def write_then_stop(result, *args, **kwargs):
        original(result, *args, **kwargs)
        written.append(result.student)
        if len(written) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(engine, "write_result", write_then_stop)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp, url, jobs=1)
    monkeypatch.setattr(engine, "write_result", original)
    assert sorted(_table(tmp / "grades.csv")) == sorted(written)  # the table is the gradebook's
    resumed = _run(tmp, url, jobs=1)  # the third's cache entry was never saved: it is graded again
    assert sorted(resumed.graded_now) == sorted(f"s{i}" for i in range(6) if f"s{i}" not in written[:2])
    assert len([r for r in dump(url) if r[0] == "submission"]) == 6


class _OtherCodeWorker(FakeWorker):
    def __init__(self, bundle, scratch, sandbox):
        raise BundleMismatch("incident 'canonical' built on this worker would have digest 1, the driver's 2")


def test_a_worker_that_cannot_build_the_course_stops_the_batch_with_a_sentence(course):
    from wt06.errors import CourseError

    tmp, url, _ = course
    write_submission(tmp / "submitted", "alice", RIGHT)
    with pytest.raises(CourseError, match="a worker cannot grade this course: incident 'canonical'"):
        engine.run(tiny_bundle(), submitted=tmp / "submitted", out=tmp, gradebook_url=url,
                   worker_class=_OtherCodeWorker, progress=False, jobs=1)
    assert not (tmp / engine.RESULTS / "alice.json").exists()


def test_a_grader_bug_is_never_a_students_grade_and_the_next_run_grades_it(course):
    tmp, url, log = course
    write_submission(tmp / "submitted", "alice", {"n1.ipynb": "right grader-bug", "n2.ipynb": "right"})
    write_submission(tmp / "submitted", "bob", RIGHT)
    first = _run(tmp, url, jobs=1)
    assert first.stats.unfinished == ["alice"] and first.stats.failed == 0
    assert "the grader failed (ValueError: a bug in the grading worker)" in first.stats.problems[0]
    assert "alice" not in scores(url) and "alice" not in _table(first.table)  # nothing written: no zero
    assert not (tmp / engine.RESULTS / "alice.json").exists() and not (tmp / "autograded" / "alice").exists()
    (log / "fixed").write_text("")
    second = _run(tmp, url, jobs=1)
    assert second.graded_now == ["alice"]  # bob's grade stands; alice is graded now
    assert scores(url)["alice"]["n1"]["score"] == 3.0
    assert all(r["question"] != "(note)" for r in _table(second.table)["alice"])
