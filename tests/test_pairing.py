"""No hidden requirement: every story a hidden check grades on has a public drill, which the
question's visible check runs and its notebook names.

Read from the question declarations (``incidents:``, or the kind's default) and the
instructor notebooks; nothing is executed. The drills themselves are the course's public
incidents (``wt06.incidents.PUBLIC``), each of a story, with the published answers a
visible check compares with.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from conftest import REPO
from wt06 import incidents
from wt06_grading.definition.questions import load
from wt06_grading.foundation import markers

COURSE = load()
SOURCE = REPO / "grader" / "source" / "wt06"


def _cells(notebook: str):
    return nbformat.read(SOURCE / f"{notebook}.ipynb", as_version=4).cells


def _test_cell(question) -> tuple[int, str]:
    cells = _cells(question.notebook)
    index = next(i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == question.id)
    return index, cells[index].source


def _visible(source: str) -> str:
    """A test cell without its hidden region: what the student's notebook runs."""
    return markers.without_hidden(source)


def runs_on(visible: str, drill: str) -> bool:
    """Whether a visible check's code runs on the public incident ``drill``: it names it
    (``"quiet_days_drill"``), loops over every public incident, or is the practice check."""
    return (f'"{drill}"' in visible or f"'{drill}'" in visible or "in incidents.PUBLIC" in visible
            or (drill == incidents.PRACTICE and "check_practice(" in visible))


def _stories(question) -> set[str]:
    return set(question.incidents) - {incidents.CANONICAL}


@pytest.mark.parametrize("question", COURSE.questions, ids=lambda q: q.id)
def test_every_hidden_story_has_a_drill_the_visible_check_runs_and_the_notebook_names(question):
    index, source = _test_cell(question)
    visible = _visible(source)
    prose = " ".join(c.source for c in _cells(question.notebook)[:index] if c.cell_type == "markdown").lower()
    prose = re.sub(r"[*_`]", "", prose)
    for story in _stories(question):
        assert story in incidents.STORIES, f"{question.id} grades on {story!r}, a story with no public drill"
        drills = incidents.STORIES[story].drills
        ran = [d for d in drills if runs_on(visible, d)]
        assert ran, (f"{question.id}: its hidden check grades on {incidents.describe(story)}, but its visible "
                     f"check runs on none of that story's drills ({', '.join(drills)})")
        named = [d for d in ran if incidents.LABELS[d] in prose]
        assert named, (f"{question.id}: the visible check runs on {', '.join(ran)}, but the notebook's text "
                       f"above the check never names it ({', '.join(incidents.LABELS[d] for d in ran)})")


def test_every_story_has_drills_of_its_own_story_and_a_description_without_data():
    for name, story in incidents.STORIES.items():
        assert story.drills, f"no public incident of the story {name}"
        for drill in story.drills:
            assert incidents.PUBLIC[drill].story == name
            scenario = json.loads((REPO / "data" / "incidents" / drill / "scenario.json").read_text())
            assert scenario["story"] == name, f"{drill}'s committed data is not of the story {name}"
        assert story.description.startswith("an incident where")
        assert not re.search(r"\d", story.description), "a story's description holds no data"
    assert set(incidents.LABELS) == set(incidents.PUBLIC)


def test_the_stories_hidden_checks_grade_on_are_the_grading_incidents_stories():
    """Every story a question can grade on is one the grader draws incidents of."""
    from wt06_grading.definition.incidents import VARIANTS

    assert set(VARIANTS) <= set(incidents.STORIES)
    for question in COURSE.questions:
        assert _stories(question) <= set(VARIANTS), question.id


def test_visible_checks_have_the_published_answers_they_compare_with():
    """A drill a visible check runs has that question's expected answer (make release)."""
    practice = incidents.expected(incidents.PRACTICE)
    for question in COURSE.questions:
        _, source = _test_cell(question)
        visible = _visible(source)
        if "check_practice(" in visible:
            spec = practice["queries"][question.answer.name]
            if question.params.get("moments") == "replay":
                assert len(spec.get("moments", {})) > 2, f"{question.id}: no replay moments published"
        if "check_on_drills(" in visible:
            for drill in incidents.PUBLIC:
                if runs_on(visible, drill):
                    assert question.answer.name in incidents.expected(drill).get("values", {}), (question.id, drill)
        if "monitor.judge(" in visible:
            for drill in incidents.PUBLIC:
                assert "monitor_rules" in incidents.expected(drill), drill
