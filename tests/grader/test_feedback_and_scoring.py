"""Scores follow nbgrader's rules plus the hidden verdicts; feedback pages are inert."""

from __future__ import annotations

import re

import nbformat

from wt06_grading.foundation import layout
from wt06_grading.foundation.contract import graded_cells
from wt06_grading.kinds.base import Verdict
from wt06_grading.records import feedback
from wt06_grading.sandbox.runner import plain_value
from wt06_grading.submission import scoring
from wt06_grading.submission.checks import clean_message

NAME = "01_detect_staleness"


def _release():
    return nbformat.read(layout.RELEASE_NOTEBOOKS / f"{NAME}.ipynb", as_version=4)


def _cell(notebook, grade_id):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_a_cell_scores_only_when_it_ran_cleanly_and_its_hidden_check_passed():
    released, executed = _release(), _release()
    _cell(executed, "test_dashboard_gap").outputs = [nbformat.v4.new_output("stream", name="stderr", text="warn")]
    verdicts = {"test_mart_staleness": Verdict(False, "On another incident your query is not right."),
                "test_dashboard_gap": Verdict(True)}
    rows = {r.grade_id: r for r in scoring.score_notebook(NAME, released, executed, verdicts)}
    assert rows["test_mart_staleness"].score == 0 and rows["test_mart_staleness"].reason.startswith("hidden check:")
    assert rows["test_dashboard_gap"].score == 0 and "stderr" in rows["test_dashboard_gap"].reason
    outputs = _cell(executed, "test_mart_staleness").outputs
    assert outputs[-1]["ename"] == scoring.HIDDEN_FAILED


def test_points_are_the_courses_whatever_the_notebook_claims():
    released, executed = _release(), _release()
    _cell(executed, "test_dashboard_gap").metadata.nbgrader["points"] = 1000
    verdicts = {c.grade_id: Verdict(True) for c in graded_cells(NAME, released)}
    rows = scoring.score_notebook(NAME, released, executed, verdicts)
    assert sum(r.score for r in rows) == sum(c.points for c in graded_cells(NAME, released))


def test_feedback_pages_are_inert_and_show_no_hidden_code():
    notebook = _release()
    cell = _cell(notebook, "dashboard_gap")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": '<img src=x onerror="alert(1)"><script>alert(2)</script><b>ok</b>',
        "application/javascript": "alert(3)"})]
    page = feedback.render(notebook, [], ["a note with <script>x</script>"], title=NAME).decode()
    assert "<script" not in page.lower(), "no script element, the student's or the template's"
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", page, re.I), "no event handler attribute"
    assert "<b>ok</b>" in page, "harmless HTML is kept"
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "BEGIN HIDDEN TESTS" not in page and "question:" not in page


def test_feedback_pages_keep_no_address_that_runs_or_fetches():
    """Markdown links and images are rendered after the sanitiser ran: the page's own filter
    removes what would run (javascript:, vbscript:, a data: page), keeps web links and the
    exporter's embedded PNG images."""
    notebook = _release()
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(
        "[a](javascript:alert(1)) ![b](javascript:alert(2)) [c](JaVa&#x09;script:alert(3)) "
        "[d](data:text/html;base64,PHNjcmlwdD4=) [e](vbscript:msgbox) [docs](https://docs.getdbt.com)"))
    cell = _cell(notebook, "dashboard_gap")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data) for data in (
        {"image/png": "iVBORw0KGgo="}, {"text/markdown": "[f](javascript:alert(4))"},
        {"text/html": '<a href="javascript:alert(5)">g</a>'})]
    page = feedback.render(notebook, [], [], title=NAME).decode()
    addresses = re.findall(r"""\s(?:href|src)\s*=\s*["']?([^"'\s>]*)""", page, re.I)
    assert not [a for a in addresses if re.match(r"\s*(java|vb)script|data:(?!image/png)", a, re.I)], addresses
    assert "https://docs.getdbt.com" in addresses
    assert any(a.startswith("data:image/png;base64,") for a in addresses)


def test_answers_are_read_as_plain_values_only():
    assert plain_value({"b", "a"}) == ["a", "b"]
    assert plain_value({"phantom": "select 1", "hours": 30}) == {"phantom": "select 1", "hours": 30}
    assert plain_value(("x", 1)) == ["x", 1]

    class Sneaky(str):
        def __eq__(self, other):
            return True

    for bad in (Sneaky("models_run"), object(), [object()], {1: "a"}, [[["too deep"]]]):
        try:
            plain_value(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")


def test_verdict_messages_name_no_grader_path():
    message = clean_message("Permission Error: cannot open /wt06/incidents/abc123/warehouse.duckdb and "
                            "/tmp/wt06-job/dbt_project/x.sql")
    assert "/wt06/" not in message and "wt06-job" not in message


def test_the_table_says_which_cell_hit_a_limit_or_could_not_run():
    from wt06_grading.submission.worker import _what_cells_hit

    printed = nbformat.v4.new_code_cell("print('x' * 10**9)")
    printed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="x\n... [12,345 characters of output cut]\n")]
    answer = nbformat.v4.new_code_cell('%%sql --save "dashboard_gap')
    answer.metadata["nbgrader"] = {"solution": True, "grade_id": "dashboard_gap"}
    answer.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="No closing quotation", traceback=[])]
    hungry = nbformat.v4.new_code_cell("x = bytearray(6 << 30)")
    hungry.outputs = [nbformat.v4.new_output("error", ename="MemoryError", evalue="", traceback=[])]
    mistake = nbformat.v4.new_code_cell("1/0")  # not an answer cell: a student's own business
    mistake.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="", traceback=[])]
    notebook = nbformat.v4.new_notebook(cells=[printed, answer, hungry, mistake])
    look, remarks = _what_cells_hit(notebook)
    assert look == ["cell #3 ran out of memory (MemoryError: a notebook's memory is limited)"]
    assert remarks == ["cell #1 printed more than a notebook may; its output was cut (12,345 characters)",
                       "the answer in cell #2 could not run (ValueError: No closing quotation)"]
