"""A grader failure is never a student's grade: it writes nothing and stops with one sentence.

No sandbox, a gradebook database that does not answer, a scheduler that does not answer,
a worker that cannot start, a sandbox that fails while grading: the command stops with a
sentence naming the fix and exit status 3 (failures.py), and the gradebook, the grade
table and every file are as they were. An empty submissions folder says so (status 2).
``make grade`` prints the grader's own status before make's.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO
from fixtures.fake_worker import FakeWorker, tiny_bundle, tiny_gradebook, write_submission
from wt06_grading.cli import main
from wt06_grading.driver import cluster, engine
from wt06_grading.foundation.failures import GraderFailure
from wt06_grading.records.gradebook import dump

RIGHT = {"n1.ipynb": "right", "n2.ipynb": "right"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _state(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def course(tmp_path, monkeypatch):
    monkeypatch.delenv("WT06_GRADEBOOK_URL", raising=False)
    course = tmp_path / "course"
    write_submission(course / "submitted", "alice", RIGHT)
    (course / "grades.csv").write_text("student,assignment\nalice,wt06\n")  # a previous table
    return course


def test_no_sandbox_stops_before_anything_with_one_sentence(course, capsys, monkeypatch):
    from wt06_grading.sandbox import bwrap

    monkeypatch.setattr(bwrap, "find_bwrap", lambda: None)
    before = _state(course)
    assert main(["grade", "--course", str(course)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: bubblewrap is not installed") and "SANDBOX=none" in err[-1]
    assert not any("Traceback" in line for line in err)
    assert _state(course) == before and not (course / "gradebook.db").exists()


def test_a_database_that_does_not_answer_stops_before_anything(course, capsys, monkeypatch):
    monkeypatch.setenv("WT06_GRADEBOOK_URL", f"postgresql+psycopg://grader@127.0.0.1:{_free_port()}/wt06")
    before = _state(course)
    assert main(["grade", "--course", str(course), "--no-sandbox"]) == 3
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: the gradebook postgresql+psycopg://grader@127.0.0.1:") and "start the database" in err
    assert _state(course) == before


def test_an_empty_submissions_folder_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WT06_GRADEBOOK_URL", raising=False)
    (tmp_path / "course" / "submitted").mkdir(parents=True)
    assert main(["grade", "--course", str(tmp_path / "course")]) == 2
    assert "error: no submissions in" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "course").iterdir()) == ["submitted"]


def test_make_grade_prints_the_graders_status(tmp_path):
    """make exits 2 for any failing recipe; the recipe says which status wt06-grade gave."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "wt06-grade").write_text("#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args\"\nexit 3\n")
    (fake / "wt06-grade").chmod(0o755)
    warehouse = tmp_path / "warehouse.duckdb"  # newer than every input: make builds nothing
    warehouse.write_text("")
    done = subprocess.run(["make", "-s", "grade", f"BIN={fake}", f"WAREHOUSE={warehouse}", "NOTEBOOKS=01_x",
                           "STUDENT=alice", "FORCE=1", "SANDBOX=none", "JOBS=2"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "wt06-grade exited with status 3" in done.stderr and "Error 3" in done.stderr
    args = (fake / "args").read_text().split()
    assert args[:3] == ["grade", "--jobs", "2"] and "--force" in args and "--no-sandbox" in args
    assert args[args.index("--notebooks") + 1] == "01_x" and args[args.index("--student") + 1] == "alice"


# ----- the engine: workers, sandbox and scheduler that fail --------------------------------------
class _CannotStart(FakeWorker):
    def __init__(self, bundle, scratch, sandbox):
        raise OSError("no space left on device")


class _SandboxDies(FakeWorker):
    def grade(self, job):
        from wt06_grading.sandbox.bwrap import SandboxError

        raise SandboxError("the grading sandbox did not start: bwrap: No permissions to create new namespace")


@pytest.fixture
def graded(tmp_path, monkeypatch):
    """bob graded once; alice waiting to be graded."""
    monkeypatch.setenv("WT06_FAKE_LOG", str(tmp_path))
    url = tiny_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    write_submission(tmp_path / "submitted", "bob", RIGHT)
    engine.run(tiny_bundle(), submitted=tmp_path / "submitted", out=tmp_path, gradebook_url=url,
               worker_class=FakeWorker, progress=False, jobs=1)
    write_submission(tmp_path / "submitted", "alice", RIGHT)
    return tmp_path, url


@pytest.mark.slow
@pytest.mark.parametrize("worker_class, sentence", [
    (_CannotStart, "a grading worker could not start on tcp://127.0.0.1:"),
    (_SandboxDies, "the grading sandbox failed on tcp://127.0.0.1:")])
def test_a_worker_or_sandbox_that_fails_writes_nothing(graded, worker_class, sentence):
    tmp, url = graded
    before_book, before_files = dump(url), _state(tmp / "feedback")
    table = (tmp / "grades.csv").read_text()
    with pytest.raises(GraderFailure, match=sentence):
        engine.run(tiny_bundle(), submitted=tmp / "submitted", out=tmp, gradebook_url=url, worker_class=worker_class,
                   progress=False, jobs=1, force=True)
    assert dump(url) == before_book and _state(tmp / "feedback") == before_files
    assert (tmp / "grades.csv").read_text() == table  # alice is nobody's zero
    assert not (tmp / "autograded" / "alice").exists() and not (tmp / engine.RESULTS / "alice.json").exists()


@pytest.mark.slow
def test_a_scheduler_that_does_not_answer_writes_nothing(graded, monkeypatch):
    tmp, url = graded
    monkeypatch.setattr(cluster, "SCHEDULER_TIMEOUT", "2s")
    before = dump(url)
    started = time.monotonic()
    with pytest.raises(GraderFailure, match="does not answer.*fix CLUSTER"):
        engine.run(tiny_bundle(), submitted=tmp / "submitted", out=tmp, gradebook_url=url, worker_class=FakeWorker,
                   progress=False, cluster=f"tcp://127.0.0.1:{_free_port()}")
    assert dump(url) == before and time.monotonic() - started < 120
    assert "alice" not in (tmp / "grades.csv").read_text()
    assert os.environ.get("WT06_FAKE_LOG")
