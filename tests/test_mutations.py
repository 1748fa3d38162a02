"""The mutation suite: every graded question's plausible wrong answers score 0, and its
differently written right answers score full, graded for real (sandbox, visible and hidden
checks) in one class.

The answers live in one fixture module (``tests/fixtures/mutations.py``); each student
submits the one notebook its answers are in, so the class costs about five full
submissions. A wrong answer that scores anything means a check does not judge the
property its question states; a right one that loses points means a check judges the
reference's wording instead of the property.
"""

from __future__ import annotations

import csv

import nbformat
import pytest

from fixtures.mutations import COURSE, MUTATIONS, label_of, students, submission
from wt06_grading.definition.reference import solution_cells
from wt06_grading.definition.rehearsal import ASSIGNMENT
from wt06_grading.foundation.markers import without_markers

CELL_TIMEOUT = 60  # make grade's default


def test_every_graded_question_has_three_wrong_and_two_right_answers():
    assert set(MUTATIONS) == {q.id for q in COURSE.questions}
    for question in COURSE.questions:
        wrong, right = MUTATIONS[question.id]["wrong"], MUTATIONS[question.id]["right"]
        assert len(wrong) >= 3 and len(right) >= 2, question.id
        reference = without_markers(solution_cells()[question.answer_cell][1]).strip()
        texts = [t.strip() for t in [*wrong.values(), *right.values()]]
        assert len(set(texts)) == len(texts), f"{question.id}: two mutations are the same answer"
        assert reference not in texts, f"{question.id}: a mutation is the model answer itself"


def test_every_mutation_is_in_exactly_one_submission():
    made = students()
    placed = [(q, source) for s in made.values() for q, source in s["answers"].items()]
    for question in COURSE.questions:
        for kind in ("wrong", "right"):
            for source in MUTATIONS[question.id][kind].values():
                assert placed.count((question.answer_cell, source)) == 1, (question.id, kind, source[:60])
    assert all(s["zero"] or s["full"] for s in made.values())


@pytest.fixture(scope="module")
def graded(incident_warehouse, tmp_path_factory):
    """Every mutation student, graded in one class with two workers: student -> question -> row."""
    from wt06_grading.batch import grade_class

    course = tmp_path_factory.mktemp("mutations") / "course"
    made = students()
    for name, student in made.items():
        folder = course / "submitted" / name / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(submission(student), folder / f"{student['notebook']}.ipynb")
    result = grade_class(course, jobs=2, cell_timeout=CELL_TIMEOUT, progress=False)
    print(f"mutation class: {len(made)} submissions, {result.stats.sentence()}")  # pytest -s shows it
    table: dict[str, dict[str, dict]] = {}
    with result.table.open() as handle:
        for row in csv.DictReader(handle):
            table.setdefault(row["student"], {})[row["question"]] = row
    return made, table


def _where(student: dict, question_id: str) -> str:
    question = next(q for q in COURSE.questions if q.id == question_id)
    return label_of(question_id, student["answers"].get(question.answer_cell, ""))


@pytest.mark.slow
def test_plausible_wrong_answers_score_nothing(graded):
    made, table = graded
    scored = [(name, question, _where(student, question), table[name][question]["score"],
               table[name][question]["reason"][:200])
              for name, student in made.items() for question in student["zero"]
              if float(table[name][question]["score"] or 0) != 0]
    assert scored == [], "wrong answers that earned points (a check misses the property):\n" + \
        "\n".join(map(str, scored))


@pytest.mark.slow
def test_differently_written_right_answers_score_full(graded):
    made, table = graded
    lost = [(name, question, _where(student, question), table[name][question]["score"],
             table[name][question]["max"], table[name][question]["reason"][:300])
            for name, student in made.items() for question in student["full"]
            if float(table[name][question]["score"] or 0) != float(table[name][question]["max"])]
    assert lost == [], "right answers that lost points (a check judges the wording):\n" + "\n".join(map(str, lost))


@pytest.mark.slow
def test_wrong_answers_are_told_why(graded):
    """Every zero comes with a reason: the visible check's message or the hidden check's."""
    made, table = graded
    silent = [(name, question) for name, student in made.items() for question in student["zero"]
              if len(table[name][question]["reason"]) < 20]
    assert silent == []
