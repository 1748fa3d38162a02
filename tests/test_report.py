"""The class analytics page: a view of the class record, self-contained, objectives from the README."""

from __future__ import annotations

import re

from conftest import REPO
from wt06_grading.foundation.contract import Note
from wt06_grading.records.class_record import ClassRecord, NotebookView, StudentView, _cell  # noqa: E402
from wt06_grading.records.gradebook import BookGrade, CellDef  # noqa: E402
from wt06_grading.records.report import build, learning_objectives  # noqa: E402
from wt06_grading.records.similarity import Cluster  # noqa: E402

NB1, NB6 = "01_detect_staleness", "06_agent_lens"
CELLS = [CellDef(NB1, "test_mart_staleness", 2, "code", False), CellDef(NB1, "test_dashboard_gap", 2, "code", False),
         CellDef(NB6, "test_phantom_alert", 3, "code", False), CellDef(NB6, "postmortem", 6, "markdown", False, True)]
FAILED = "hidden check: On another incident your query returns 4 row(s); expected 5"


def _student(name, *, passed=True, seconds=10.0, look="", postmortem=None, graded6=True, present=True):
    grades = {"test_mart_staleness": BookGrade(2.0 if passed else 0.0, None, None, False),
              "test_dashboard_gap": BookGrade(2.0, None, None, False),
              "test_phantom_alert": BookGrade(3.0, None, None, False) if graded6 else None,
              "postmortem": (BookGrade(None, postmortem, None, postmortem is None) if graded6 else None)}
    cached = {"test_mart_staleness": {"score": 2.0 if passed else 0.0, "status": "passed" if passed else "failed",
                                      "reason": "" if passed else FAILED}}
    notebooks = {}
    for notebook in (NB1, NB6):
        cells = [_cell(c, grades[c.grade_id], cached.get(c.grade_id), "", c.grade_id, notebook == NB1 or graded6)
                 for c in CELLS if c.notebook == notebook]
        notes = [Note(NB1, look, True)] if look and notebook == NB1 else []
        notebooks[notebook] = NotebookView(notebook, cells, any(c.status != "not graded" for c in cells), notes)
    return StudentView(name, notebooks, present, [], None, seconds, "tcp://127.0.0.1:1")


def _record(*students):
    return ClassRecord([NB1, NB6], list(students), {}, None)


def test_objectives_come_from_the_readme_table():
    objectives = learning_objectives()
    readme = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", readme, re.M)
    assert [(o.number, o.text) for o in objectives] == [(n, t.strip()) for n, t in rows]
    staleness = next(o for o in objectives if "querying the data" in o.text)
    assert staleness.covers("01_detect_staleness", "test_mart_staleness")
    assert not staleness.covers("02_pipeline_logs", "test_mart_staleness")
    assert any(o.covers("06_agent_lens", "postmortem") for o in objectives)


def test_the_page_is_self_contained_and_counts_what_the_gradebook_holds():
    record = _record(_student("ann", postmortem=5.0), _student("bob", passed=False, seconds=30.5,
                                                                look="the kernel died in cell #3"),
                     _student("cid", passed=False, graded6=False), _student("dan", present=False))
    page = build(record, clusters=[Cluster(NB1, "dashboard_gap", ["ann", "bob"], 0.97, False)])
    assert page.count("<img") == 4 and page.count("data:image/png;base64,") == 4
    assert not re.search(r"(src|href)=['\"](https?:|//)", page)  # nothing fetched from a network
    # one denominator everywhere: the assignment's points (13 here), over the current class (dan left)
    assert "3 submissions" in page and "1 no longer submitted" in page
    assert "<b>5 / 13</b>median score" in page  # ann 4+3+5=12, bob 2+3=5, cid 2 (notebook 06 not graded: 0)
    assert "<td class=''>ann</td><td class='n'>12 / 13</td>" in page
    assert re.search(r"<td class=''>cid</td><td class='n'>2 / 13</td><td class='n'>2</td><td class='n'>–</td>", page)
    assert "2. Detect staleness by querying the data" in page
    # objective 8 (notebook 06) counts the answers graded: ann's and bob's phantom alert, ann's postmortem
    # (5 / 6: not full marks); bob's postmortem waits for a grader and counts for nothing yet
    assert re.search(r"8\. Design a freshness monitoring strategy</td><td class='n'>67%</td><td class='n'>3</td>"
                     r"<td class='n'>2</td>", page)
    assert re.search(r"<td class='n'>2</td><td class=''>test_mart_staleness</td><td class=''>hidden check: On another "
                     r"incident your query returns 4 row", page)  # two alike failures, grouped
    assert "the kernel died in cell #3" in page
    assert "<td class=''>bob</td><td class=''>06_agent_lens</td><td class=''>postmortem</td>" in page  # waits
    assert "Similar answers" in page and "ann, bob" in page and "97%" in page
    assert "No longer submitted" in page and "<td class=''>dan</td>" in page
    assert "30.5" in page  # the slowest submission's time
    assert "<script" not in build(_record(_student("<script>x</script>")), clusters=[])


def test_an_empty_class_says_to_grade_first():
    assert "run <code>make grade</code> first" in build(_record(), clusters=[])
