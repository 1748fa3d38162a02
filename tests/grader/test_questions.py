"""Questions are declared once, in their test cells, and validated: a wrong declaration is an error."""

from __future__ import annotations

import dataclasses
import re
import shutil

import nbformat
import pytest

from conftest import REPO
from wt06_grading.definition import objectives, questions
from wt06_grading.foundation import layout
from wt06_grading.kinds import KINDS
from wt06_grading.kinds.base import QuestionError


def test_every_graded_test_cell_of_the_course_declares_a_valid_question():
    course = questions.load()
    graded = []
    for path in sorted(layout.SOURCE.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                graded.append(meta["grade_id"])
    assert [q.id for q in course.questions] == graded
    assert all(q.kind in KINDS for q in course.questions)


def test_the_readme_names_exactly_the_graded_answers():
    course = questions.load()
    readme = (REPO / "README.md").read_text()
    assert objectives.synced(readme, course) == readme, "run `make release`: it writes the objectives' graded cells"
    table = readme.split("## Learning objectives", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if re.match(r"\|\s*\d\s*\|", line)]
    named = {name for row in rows for name in re.findall(r"`([a-z_]+)`", row.split("|")[3])}
    answers = {q.answer_cell for q in course.questions} | {m.id for m in course.manual}
    assert named == answers, "the README's objective table must name every graded answer, and only those"
    assert all("(none yet)" not in row for row in rows), "every learning objective is assessed"


def test_a_question_must_name_an_objective_the_readme_has():
    course = questions.load()
    stray = dataclasses.replace(course, questions=(dataclasses.replace(course.questions[0], objective=99),))
    with pytest.raises(QuestionError, match="objective"):
        objectives.synced((REPO / "README.md").read_text(), stray)


def _course_with(tmp_path, grade_id: str, new_region: str):
    source = tmp_path / "source"
    shutil.copytree(layout.SOURCE, source)
    for path in source.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                head, rest = cell.source.split("### BEGIN HIDDEN TESTS", 1)
                tail = rest.split("### END HIDDEN TESTS", 1)[1]
                cell.source = head + "### BEGIN HIDDEN TESTS\n" + new_region + "\n### END HIDDEN TESTS" + tail
                nbformat.write(notebook, path)
                return source
    raise AssertionError(grade_id)


@pytest.mark.parametrize("region, complaint", [
    ("# nothing declared here", "must hold one mapping"),
    ("", "needs a question declaration"),
    ("# question:\n#   kind: query\n#   answer: no_such_query\n#   columns: [x]", "no solution cell"),
    ("# question:\n#   kind: telepathy\n#   answer: dashboard_gap", "kind must be one of"),
    ("# question:\n#   kind: query\n#   answer: dashboard_gap\n#   columns: [order_date]", "needs 'objective'"),
    ("# question:\n#   kind: query\n#   answer: dashboard_gap\n#   objective: 2", "needs the key columns"),
    ("# question:\n#   kind: query\n#   answer: dashboard_gap\n#   objective: 2\n#   columns: [order_date]\n"
     "#   colour: red", "has no key colour"),
    ("# question:\n#   kind: query\n#   answer: dashboard_gap\n#   objective: 2\n#   columns: order_date",
     "columns must be a list"),
    ("# question: [unbalanced", "not valid YAML"),
])
def test_a_malformed_declaration_is_an_error_naming_the_cell(tmp_path, region, complaint):
    source = _course_with(tmp_path, "test_dashboard_gap", region)
    with pytest.raises(QuestionError, match=re.escape(complaint)) as raised:
        questions.load(source)
    if "YAML" not in complaint:
        assert "01_detect_staleness.ipynb" in str(raised.value) and "test_dashboard_gap" in str(raised.value)


def test_answers_a_solution_cell_provides():
    assert questions.provided_answers("%%sql --save gap\nselect 1") == [questions.AnswerRef("query", "gap")]
    assert questions.provided_answers("%%project_file tests/t.sql\nselect 1") == [
        questions.AnswerRef("file", "tests/t.sql")]
    assert questions.provided_answers("x = 1\ny, z = 2, 3\nx = 4") == [questions.AnswerRef("value", "x")]
    assert questions.provided_answers("%%sql\nselect 1") == []
    assert questions.provided_answers("def broken(:") == []
