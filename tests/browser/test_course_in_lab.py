"""Every course notebook as a student sees it in JupyterLab: the real page, in Debian's chromium.

All six notebooks, blank (as released) and solved (the instructor's answers in the student
notebook), run in one JupyterLab server and one browser: a blank notebook, with every cell
run as a student who steps past the exercises would, shows only "no answer yet" errors and
its %%sql tables; a solved notebook shows no error at all, runs every cell and renders every
chart it draws. Screenshots land in build/artifacts (WT06_ARTIFACTS_DIR).
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

from conftest import REPO
from wt06_grading.definition.rehearsal import NB, solved

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(tmp_path_factory, incident_warehouse):
    """One folder (so one JupyterLab server) holding the six blank and the six solved notebooks."""
    root = tmp_path_factory.mktemp("lab")
    for name in NB:
        (root / "blank").mkdir(exist_ok=True)
        shutil.copy(REPO / "notebooks" / f"{name}.ipynb", root / "blank" / f"{name}.ipynb")
        (root / "solved").mkdir(exist_ok=True)
        nbformat.write(solved(name), root / "solved" / f"{name}.ipynb")
    return root


def _cells(name: str):
    return nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4).cells


def _charts(name: str) -> int:
    """How many charts the notebook draws (cells that call the course's plots)."""
    return sum(1 for c in _cells(name) if c.cell_type == "code" and "plots." in c.source)


def _tables_before_the_first_answer(name: str) -> int:
    """%%sql cells that show their result and come before any answer: a blank notebook shows these."""
    count = 0
    for cell in _cells(name):
        if cell.metadata.get("nbgrader", {}).get("solution"):
            break
        first = cell.source.split("\n", 1)[0]
        if cell.cell_type == "code" and first.startswith("%%sql") and "<<" not in first:
            count += 1
    return count


@pytest.mark.parametrize("name", NB)
def test_blank_notebook_fails_only_where_answers_are_missing(lab_session, served, name):
    result = lab_session.run_all(served / "blank" / f"{name}.ipynb", root=served, keep_going=True,
                                 name=f"blank-{name}")

    assert result.errors, "a blank notebook has unanswered exercises"
    unexpected = [e for e in result.errors if "no answer yet" not in e.text]
    assert unexpected == [], f"{unexpected}; see {result.screenshot}"
    wanted = _tables_before_the_first_answer(name)
    assert result.tables >= wanted, f"{result.tables} of {wanted} %%sql tables rendered; see {result.screenshot}"
    assert result.screenshot.is_file()


@pytest.mark.parametrize("name", NB)
def test_solved_notebook_shows_no_error_and_every_chart(lab_session, served, name):
    result = lab_session.run_all(served / "solved" / f"{name}.ipynb", root=served, name=f"solved-{name}")

    assert result.errors == [], f"{result.errors}; see {result.screenshot}"
    assert result.not_run == [], f"cells not run: {result.not_run}; see {result.screenshot}"
    assert result.images >= _charts(name), f"{result.images} of {_charts(name)} charts; see {result.screenshot}"
    assert result.tables >= 1, f"see {result.screenshot}"
