"""The release is generated once per instructor-notebook contents, and every gradebook knows it."""

from __future__ import annotations

import pytest

from wt06_grading.definition import release
from wt06_grading.foundation import layout
from wt06_grading.records.gradebook import open_gradebook


@pytest.mark.slow
def test_generate_assignment_runs_once_per_contents_and_registers_every_new_gradebook(tmp_path, monkeypatch):
    calls = []
    real = release.generate

    def counting(root, db_url=None):
        calls.append(root)
        return real(root, db_url)

    monkeypatch.setattr(release, "generate", counting)
    cache = tmp_path / "cache"
    first = release.generate_cached(tmp_path / "one", cache)
    assert len(calls) == 1
    again = release.generate_cached(tmp_path / "one", cache)
    assert len(calls) == 1, "an unchanged release was generated again"
    assert sorted(p.read_bytes() for p in again.glob("*.ipynb")) == sorted(p.read_bytes() for p in first.glob("*.ipynb"))
    other = release.generate_cached(tmp_path / "two", cache)  # a new course: its gradebook must learn the cells
    assert len(calls) == 2
    with open_gradebook(layout.gradebook_url(tmp_path / "two")) as gb:
        assert sorted(nb.name for nb in gb.find_assignment(layout.ASSIGNMENT).notebooks) == \
            sorted(p.stem for p in other.glob("*.ipynb"))
    source = tmp_path / "one" / "source" / layout.ASSIGNMENT
    notebook = sorted(source.glob("*.ipynb"))[0]
    notebook.write_text(notebook.read_text().replace("Phase", "Phase ", 1))  # the instructor edits a notebook
    release.generate_cached(tmp_path / "one", cache)
    assert len(calls) == 3, "an edited notebook was not released again"
