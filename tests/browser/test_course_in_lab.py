"""Notebook 1 as a student sees it in JupyterLab: the real page, in Debian's chromium.

The blank student notebook shows only "no answer yet" errors (with every cell run, as a
student who steps past the exercises would), its plot and its %%sql tables; the solved
notebook shows no error at all. Screenshots land in build/artifacts (WT06_ARTIFACTS_DIR).
"""

from __future__ import annotations

import nbformat
import pytest

from conftest import REPO
from fixtures.submissions import solved

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIRST = "01_detect_staleness"


def test_blank_notebook_one_fails_only_where_answers_are_missing(run_all_in_lab, incident_warehouse):
    result = run_all_in_lab(REPO / "notebooks" / f"{FIRST}.ipynb", root=REPO, keep_going=True)

    assert result.errors, "a blank notebook has unanswered exercises"
    unexpected = [e for e in result.errors if "no answer yet" not in e.text]
    assert unexpected == [], f"{unexpected}; see {result.screenshot}"
    assert result.images >= 1, f"the freshness-lag chart did not render; see {result.screenshot}"
    assert result.tables >= 1, f"no %%sql result rendered as a table; see {result.screenshot}"
    assert result.screenshot.is_file()


def test_solved_notebook_one_shows_no_error(run_all_in_lab, incident_warehouse, tmp_path):
    path = tmp_path / f"{FIRST}.ipynb"
    nbformat.write(solved(FIRST), path)
    result = run_all_in_lab(path)

    assert result.errors == [], f"{result.errors}; see {result.screenshot}"
    assert result.not_run == []
    assert result.images >= 1 and result.tables >= 3, f"see {result.screenshot}"
