"""The graded notebook is rebuilt around the course's cells, whatever the submission did to them."""

from __future__ import annotations

import copy

import nbformat

from wt06_grading.definition.questions import AnswerRef, load
from wt06_grading.foundation import layout
from wt06_grading.submission.assemble import assemble

NAME = "01_detect_staleness"


def _release():
    return nbformat.read(layout.RELEASE_NOTEBOOKS / f"{NAME}.ipynb", as_version=4)


def _answers():
    return {q.answer: q.answer_cell for q in load().for_notebook(NAME)}


def _ids(notebook):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]


def _by_id(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _solved():
    notebook = _release()
    _by_id(notebook, "dashboard_gap").source = "%%sql --save dashboard_gap\nselect 1 as order_date"
    return notebook


def test_an_untouched_submission_is_graded_as_released():
    result = assemble(_release(), _solved(), _answers())
    assert _ids(result.notebook) == _ids(_release())
    assert result.notes == []
    assert "select 1 as order_date" in _by_id(result.notebook, "dashboard_gap").source


def test_deleted_test_cells_come_back_where_they_belong():
    submitted = _solved()
    submitted.cells = [c for c in submitted.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    result = assemble(_release(), submitted, _answers())
    assert _ids(result.notebook) == _ids(_release())
    assert any("deleted and restored" in n and "test_dashboard_gap" in n for n in result.notes)


def test_stripped_metadata_cannot_switch_a_test_off():
    submitted = _solved()
    test = _by_id(submitted, "test_dashboard_gap")
    test.metadata = {}
    test.source = "pass"
    result = assemble(_release(), submitted, _answers())
    restored = _by_id(result.notebook, "test_dashboard_gap")
    assert restored.source == _by_id(_release(), "test_dashboard_gap").source
    assert "pass" in [c.source for c in result.notebook.cells]  # the student's cell runs as their own


def test_an_edited_locked_cell_is_restored_and_noted():
    submitted = _solved()
    _by_id(submitted, "test_dashboard_gap").source = "pass"
    _by_id(submitted, "setup").source = "course = None"
    result = assemble(_release(), submitted, _answers())
    assert _by_id(result.notebook, "setup").source == _by_id(_release(), "setup").source
    assert any("edited and restored" in n and "setup" in n for n in result.notes)


def test_an_answer_cell_without_metadata_is_found_by_what_it_answers():
    submitted = _solved()
    _by_id(submitted, "dashboard_gap").metadata = {}
    result = assemble(_release(), submitted, _answers())
    assert "select 1 as order_date" in _by_id(result.notebook, "dashboard_gap").source
    assert _ids(result.notebook) == _ids(_release())
    assert any("found by what they answer" in n for n in result.notes)


def test_a_deleted_answer_cell_gets_its_stub_back():
    submitted = _solved()
    submitted.cells.remove(_by_id(submitted, "dashboard_gap"))
    result = assemble(_release(), submitted, _answers())
    assert _by_id(result.notebook, "dashboard_gap").source == _by_id(_release(), "dashboard_gap").source
    assert any("graded as unanswered: dashboard_gap" in n for n in result.notes)


def test_forged_and_duplicated_graded_cells_earn_nothing():
    submitted = _solved()
    forged = nbformat.v4.new_code_cell("print('extra credit')")
    forged.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 100, "locked": True}
    duplicate = copy.deepcopy(_by_id(submitted, "test_dashboard_gap"))
    duplicate.source = "pass"
    submitted.cells += [forged, duplicate]
    result = assemble(_release(), submitted, _answers())
    assert _ids(result.notebook).count("test_dashboard_gap") == 1
    assert "bonus" not in _ids(result.notebook)
    assert all(c.metadata.get("nbgrader") is None for c in result.notebook.cells if c.source == "print('extra credit')")
    assert any("does not have" in n for n in result.notes) and any("duplicated" in n for n in result.notes)


def test_answer_cells_keep_the_courses_type_and_metadata():
    submitted = _solved()
    answer = _by_id(submitted, "dashboard_gap")
    answer.metadata["nbgrader"]["points"] = 50
    result = assemble(_release(), submitted, {AnswerRef("query", "dashboard_gap"): "dashboard_gap"})
    assert _by_id(result.notebook, "dashboard_gap").metadata == _by_id(_release(), "dashboard_gap").metadata
