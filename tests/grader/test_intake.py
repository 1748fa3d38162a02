"""Intake: only regular files are read, and no notebook content can break it."""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wt06_grading.foundation import layout
from wt06_grading.foundation.contract import SubmissionJob
from wt06_grading.submission.intake import read_submission, take_in

NAMES = ["01_detect_staleness", "02_pipeline_logs"]


@pytest.fixture(scope="module")
def release():
    return {n: nbformat.read(layout.RELEASE_NOTEBOOKS / f"{n}.ipynb", as_version=4) for n in NAMES}


def _bytes(name):
    return (layout.RELEASE_NOTEBOOKS / f"{name}.ipynb").read_bytes()


def test_regular_files_are_read_and_links_devices_and_folders_are_not(tmp_path):
    folder = tmp_path / "alice" / "wt06"
    folder.mkdir(parents=True)
    (folder / f"{NAMES[0]}.ipynb").write_bytes(_bytes(NAMES[0]))
    (folder / f"{NAMES[1]}.ipynb").symlink_to(layout.SOURCE / f"{NAMES[1]}.ipynb")
    secret = tmp_path / "secret.ipynb"
    secret.write_text("{}")
    os.link(secret, folder / "03_phantom_successes.ipynb")
    os.mkfifo(folder / "04_blast_radius.ipynb")
    (folder / "05_fix_and_prevent.ipynb").mkdir()
    (folder / "timestamp.txt").write_text("2024-03-01 10:00:00\n")
    (folder / "notes.txt").write_text("hello")
    job = read_submission(folder, "alice")
    assert sorted(job.files) == [f"{NAMES[0]}.ipynb"]
    assert job.timestamp == "2024-03-01 10:00:00"
    problems = " | ".join(job.problems)
    for expected in (f"{NAMES[1]}.ipynb is a link", "03_phantom_successes.ipynb is a hard link",
                     "04_blast_radius.ipynb is not a regular file", "05_fix_and_prevent.ipynb is not a regular",
                     "notes.txt is not part of the assignment"):
        assert expected in problems


def test_a_notebook_shared_with_a_classmate_by_a_hard_link_is_graded_for_both_and_flagged(tmp_path):
    submitted = tmp_path / "submitted"
    for student in ("alice", "bob"):
        (submitted / student / "wt06").mkdir(parents=True)
    (submitted / "alice" / "wt06" / f"{NAMES[0]}.ipynb").write_bytes(_bytes(NAMES[0]))
    os.link(submitted / "alice" / "wt06" / f"{NAMES[0]}.ipynb", submitted / "bob" / "wt06" / f"{NAMES[0]}.ipynb")
    for student, other in (("alice", "bob"), ("bob", "alice")):
        job = read_submission(submitted / student / "wt06", student)
        assert job.files == {f"{NAMES[0]}.ipynb": _bytes(NAMES[0])}
        (problem,) = job.problems
        assert "hard link" in problem and f"{other}/wt06/{NAMES[0]}.ipynb" in problem and student not in problem
    instructor = tmp_path / "instructor"
    instructor.mkdir()
    (instructor / f"{NAMES[1]}.ipynb").write_bytes(_bytes(NAMES[1]))
    os.link(instructor / f"{NAMES[1]}.ipynb", submitted / "bob" / "wt06" / f"{NAMES[1]}.ipynb")
    # a classmate whose folder links to the instructor's: its "files" are not submissions
    (submitted / "mallory").mkdir()
    (submitted / "mallory" / "wt06").symlink_to(instructor)
    (submitted / "eve").symlink_to(tmp_path)
    job = read_submission(submitted / "bob" / "wt06", "bob")
    assert f"{NAMES[1]}.ipynb" not in job.files
    assert any("hard link to a file outside the submissions" in p for p in job.problems)


def test_a_linked_submission_folder_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / f"{NAMES[0]}.ipynb").write_bytes(_bytes(NAMES[0]))
    (tmp_path / "alice").symlink_to(tmp_path / "real")
    job = read_submission(tmp_path / "alice", "alice")
    assert job.files == {} and "missing, a link" in job.problems[0]


def test_a_student_folder_that_is_a_link_is_listed_and_refused_with_a_reason(tmp_path):
    from wt06_grading.driver.engine import submission_folders

    submitted = tmp_path / "submitted"
    (tmp_path / "elsewhere" / "wt06").mkdir(parents=True)
    (tmp_path / "elsewhere" / "wt06" / f"{NAMES[0]}.ipynb").write_bytes(_bytes(NAMES[0]))
    (submitted / "bob" / "wt06").mkdir(parents=True)
    (submitted / "mallory").symlink_to(tmp_path / "elsewhere")
    assert [name for name, _ in submission_folders(submitted)] == ["bob", "mallory"]
    job = read_submission(submitted / "mallory" / "wt06", "mallory")
    assert job.files == {} and job.problems == [
        "the student's folder is a link (a symlink), not a folder; it was not read"]


def test_renamed_broken_and_missing_notebooks(release):
    broken = _bytes(NAMES[1])[:500]
    job = SubmissionJob("bob", {f"{NAMES[0]}-Copy1.ipynb": _bytes(NAMES[0]), f"{NAMES[1]}.ipynb": broken})
    intake = take_in(job, release)
    assert sorted(intake.notebooks) == [NAMES[0]]
    sentences = [n.sentence for n in intake.notes]
    assert any("graded as 01_detect_staleness.ipynb (renamed)" in s for s in sentences)
    assert any("02_pipeline_logs.ipynb is not a valid notebook" in s for s in sentences)
    assert take_in(SubmissionJob("carol", {}), release).notes[0].sentence.startswith("empty submission")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=30))
def test_any_json_is_graded_or_refused_never_raises(release, value):
    job = SubmissionJob("fuzz", {f"{NAMES[0]}.ipynb": json.dumps(value).encode()})
    intake = take_in(job, release)
    assert NAMES[0] in intake.notebooks or any(NAMES[0] in n.notebook for n in intake.notes)


@pytest.mark.parametrize("data", [b"", b"\xff\xfe\x00", b"[" * 200_000, b'{"cells": "x"}',
                                  b'{"cells": [{"cell_type": "code", "source": 5, "metadata": []}], "metadata": {}}'])
def test_hostile_bytes_are_refused_with_a_sentence(release, data):
    intake = take_in(SubmissionJob("eve", {f"{NAMES[0]}.ipynb": data}), release)
    if NAMES[0] in intake.notebooks:
        assert all(isinstance(c.source, str) for c in intake.notebooks[NAMES[0]].cells)
    else:
        assert any("not a valid notebook" in n.sentence for n in intake.notes)
