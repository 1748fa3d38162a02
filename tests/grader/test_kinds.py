"""Each check kind's comparison, and what a command may contain."""

from __future__ import annotations

import pytest

from wt06_grading.kinds import KINDS
from wt06_grading.kinds.command import allowed
from wt06_grading.kinds.query import first_difference
from wt06_grading.questions import AnswerRef, Question


def _question(kind, answer_type="query", name="q", **params):
    full = KINDS[kind].validate(params, "test")
    return Question(id="test_q", notebook="nb", kind=kind, answer=AnswerRef(answer_type, name), answer_cell="q",
                    points=1, hint="Look again.", incidents=("canonical", "skipped_marts"), params=full)


def _rows(story, *rows, columns=("run_id", "n")):
    return {"story": story, "at": {"2024-02-12 09:00:00": {"columns": list(columns), "rows": [list(r) for r in rows]}}}


def test_query_results_must_match_on_every_incident_and_say_where_without_the_answer():
    question = _question("query", columns=["run_id", "n"])
    reference = {"c0": _rows("canonical", ["run_012", 1], ["run_013", 2]), "g1": _rows("skipped_marts", ["run_200", 5])}
    same = {"c0": _rows("canonical", ["run_012", 1], ["run_013", 2]), "g1": _rows("skipped_marts", ["run_200", 5])}
    assert KINDS["query"].compare(question, same, reference).passed
    typed_in = {"c0": same["c0"], "g1": _rows("skipped_marts", ["run_012", 1], ["run_013", 2])}
    verdict = KINDS["query"].compare(question, typed_in, reference)
    assert not verdict.passed
    assert "another incident" in verdict.message and "2 row(s) where 1 were expected" in verdict.message
    assert "run_200" not in verdict.message and "g1" not in verdict.message
    wrong_value = {"c0": _rows("canonical", ["run_012", 1], ["run_013", 3]), "g1": same["g1"]}
    message = KINDS["query"].compare(question, wrong_value, reference).message
    assert "the course's incident" in message and "row 2 differs in column n" in message


def test_query_order_tolerance_and_missing_columns():
    unordered = _question("query", columns=["run_id"], ordered=False, tolerance=0.1)
    reference = {"c0": _rows("canonical", ["a", 1], ["b", 2])}
    swapped = {"c0": _rows("canonical", ["b", 2], ["a", 1])}
    assert KINDS["query"].compare(unordered, swapped, reference).passed
    assert not KINDS["query"].compare(_question("query", columns=["run_id"]), swapped, reference).passed
    no_column = {"c0": _rows("canonical", ["a"], ["b"], columns=("other",))}
    assert "does not return the column(s) run_id" in KINDS["query"].compare(unordered, no_column, reference).message
    assert first_difference([(1.04,)], [(1.0,)], ("x",), 0.05) is None
    assert first_difference([(1.2,)], [(1.0,)], ("x",), 0.05) == "row 1 differs in column x"


def test_values_compare_as_text_or_sets():
    question = _question("value", "value", "affected_marts")
    reference = {"set": ["fct_daily_signups", "fct_revenue_daily"]}
    assert KINDS["value"].compare(question, ["fct_revenue_daily", " fct_daily_signups"], reference).passed
    assert KINDS["value"].compare(question, {"set": ["fct_revenue_daily", "fct_daily_signups"]}, reference).passed
    assert not KINDS["value"].compare(question, {"set": ["fct_revenue_daily"]}, reference).passed
    assert KINDS["value"].compare(_question("value", "value", "c"), " models_run ", "models_run").passed


@pytest.mark.parametrize("command, ok", [
    ("dbt run", True), ("dbt build", True), ('dbt run --select "staging.*" "marts.*"', True),
    ("dbt run -s marts --exclude tag:slow --full-refresh", True), ("dbt run --select=marts.*", True),
    ("dbt run-operation run_query --args '{sql: select 1}'", False), ("dbt run --target-path /tmp/x", False),
    ("dbt run --log-path /tmp/x", False), ("dbt run --profiles-dir ../x", False), ("dbt run --project-dir /", False),
    ("dbt run --vars '{a: 1}'", False), ("dbt test", False), ("dbt", False), ("rm -rf /", False),
    ('dbt run --select "unclosed', False),
])
def test_the_scheduler_command_may_only_select_models(command, ok):
    assert isinstance(allowed(command), list) == ok


def test_a_command_task_refuses_before_anything_runs():
    question = _question("command", "value", "scheduler_command")
    assert isinstance(KINDS["command"].task(question, "dbt run --target-path /tmp/evil"), str)
    assert isinstance(KINDS["command"].task(question, {"set": ["dbt run"]}), str)
    assert KINDS["command"].task(question, "dbt run") == {"words": ["dbt", "run"]}


def test_the_singular_test_must_hold_on_every_state():
    question = _question("singular_test", "file", "tests/assert_marts_fresh.sql")
    kind = KINDS["singular_test"]
    good = {"story": "canonical", "states": dict(kind.EXPECTED)}
    reference = {"c0": good}
    assert kind.compare(question, {"c0": good}, reference).passed
    memorising = {"story": "canonical", "states": dict(kind.EXPECTED, **{"stale, again": "pass"})}
    verdict = kind.compare(question, {"c0": memorising}, reference)
    assert not verdict.passed and "(a second time)" in verdict.message
    uncompiled = {"story": "canonical", "states": {"stale": "fail", "rebuilt": "pass"}}
    assert "could not compile" in kind.compare(question, {"c0": uncompiled}, reference).message
