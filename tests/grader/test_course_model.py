"""The course model travels to the workers as JSON and comes back the same, typed."""

from __future__ import annotations

import json

import pytest

from wt06_grading.definition import questions
from wt06_grading.definition.course import CourseModel
from wt06_grading.definition.incidents import IncidentSpec
from wt06_grading.foundation.contract import BundleMismatch, GradedCell


def _model() -> CourseModel:
    course = questions.load()
    return CourseModel(assignment="wt06", questions=course.questions, manual=course.manual,
                       incidents=(IncidentSpec("c0", "canonical", None, "abc", "data"),
                                  IncidentSpec("g1", "skipped_marts", '{"seed": 3}', "def")),
                       cells=(GradedCell("01_detect_staleness", "test_x", 2.0, False),),
                       only=("01_detect_staleness",), cell_timeout=60,
                       reference={"test_x": {"answer": "select 1", "result": {"c0": {"value": 1}}}})


def test_the_model_survives_its_trip_as_json_with_every_question_and_parameter():
    model = _model()
    wire = json.loads(json.dumps(model.to_json()))  # what the bundle's digest and Dask carry
    back = CourseModel.from_json(wire)
    assert back == model and back.reference == model.reference
    assert [q.params for q in back.questions] == [q.params for q in model.questions]  # params are not compared
    assert isinstance(back.questions[0].incidents, tuple) and isinstance(back.cells[0], GradedCell)
    assert back.to_json() == wire


def test_a_bundle_of_another_grader_version_is_refused_with_a_sentence():
    wire = _model().to_json()
    del wire["cell_timeout"]
    with pytest.raises(BundleMismatch, match="other versions"):
        CourseModel.from_json(wire)
    wire = _model().to_json()
    wire["questions"][0]["weight"] = 2  # a field this grader does not know
    with pytest.raises(BundleMismatch, match="not this grader's"):
        CourseModel.from_json(wire)
