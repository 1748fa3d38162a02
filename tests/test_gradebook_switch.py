"""Switching gradebooks, and the PostgreSQL set-up steps the instructor guide gives.

The gradebook is the one record: a result in the grading cache counts as graded only if
the gradebook in use holds it. Moving from SQLite to a new PostgreSQL database therefore
grades the whole class into it (the cache no longer decides), instead of "reusing"
students the new gradebook has never seen. The PostgreSQL role and database are created
with the guide's own commands (createuser, createdb; the test server's connection flags
added), so the role the guide creates can hold nbgrader's tables.
"""

from __future__ import annotations

import csv
import re
import subprocess

import pytest

from conftest import REPO
from fixtures.fake_worker import FakeWorker, tiny_bundle, tiny_gradebook, write_submission
from fixtures.views import scores
from wt06_grading.driver import engine
from wt06_grading.records import class_record
from wt06_grading.records.gradebook import dump

pytestmark = pytest.mark.slow
RIGHT = {"n1.ipynb": "right", "n2.ipynb": "right"}


def _guide_commands() -> list[str]:
    """The PostgreSQL commands of docs/instructors.md, section 4b."""
    guide = (REPO / "docs" / "instructors.md").read_text()
    block = guide.split("### A PostgreSQL gradebook", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip().startswith("sudo -u postgres")]


def test_the_guides_role_and_database_take_a_class_and_a_switch_grades_what_the_new_gradebook_lacks(
        postgres, tmp_path, monkeypatch):
    monkeypatch.setenv("WT06_FAKE_LOG", str(tmp_path))
    commands = _guide_commands()
    assert [c.split()[3] for c in commands] == ["createuser", "createdb"]
    connection = ["-h", "127.0.0.1", "-p", str(postgres.port), "-U", postgres.user]
    for command in commands:  # `sudo -u postgres createuser grader` -> the test server's superuser runs it
        words = command.split()[3:]
        words = [w for w in words if w != "--pwprompt"]  # trust authentication here: no password to type
        done = subprocess.run([str(postgres.bin / words[0]), *connection, *words[1:]], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    role, database = re.search(r"createdb --owner (\S+) (\S+)", " ".join(commands)).groups()
    pg = tiny_gradebook(f"postgresql+psycopg://{role}@127.0.0.1:{postgres.port}/{database}")
    lite = tiny_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    for i in range(3):
        write_submission(tmp_path / "submitted", f"s{i}", RIGHT)
    run = dict(submitted=tmp_path / "submitted", out=tmp_path, worker_class=FakeWorker, progress=False, jobs=1)
    first = engine.run(tiny_bundle(), gradebook_url=lite, **run)
    assert first.stats.graded == 3
    assert engine.run(tiny_bundle(), gradebook_url=lite, **run).stats.reused == 3  # nothing new
    switched = engine.run(tiny_bundle(), gradebook_url=pg, **run)
    assert switched.stats.reused == 0 and sorted(switched.graded_now) == ["s0", "s1", "s2"]
    assert sorted(scores(pg)) == ["s0", "s1", "s2"]
    assert [r for r in dump(pg) if r[0] == "grade"] == [r for r in dump(lite) if r[0] == "grade"]
    with switched.table.open() as handle:  # the table is the new gradebook's
        table = list(csv.DictReader(handle))
    record = class_record.load(tmp_path, gradebook_url=pg)
    assert {r["student"] for r in table} == {s.student for s in record.students} == {"s0", "s1", "s2"}
    assert engine.run(tiny_bundle(), gradebook_url=pg, **run).stats.reused == 3
