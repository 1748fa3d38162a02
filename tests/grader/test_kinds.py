"""Each check kind's comparison, and what a command may contain."""

from __future__ import annotations

import pytest

from wt06_grading.kinds import KINDS
from wt06_grading.kinds.command import allowed
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
    assert "another incident" in verdict.message and "returns 2 row(s)" in verdict.message
    assert "run_200" not in verdict.message and "g1" not in verdict.message
    wrong_value = {"c0": _rows("canonical", ["run_012", 1], ["run_013", 3]), "g1": same["g1"]}
    message = KINDS["query"].compare(question, wrong_value, reference).message
    assert "the course's incident" in message and "row 2" in message and "column n" in message
    assert "yours: 3" in message  # the student's own value, on their own incident only
    hidden = {"c0": same["c0"], "g1": _rows("skipped_marts", ["run_201", 5])}
    message = KINDS["query"].compare(question, hidden, reference).message
    assert "column run_id" in message and "run_201" not in message and "run_200" not in message


def test_query_order_tolerance_and_missing_columns():
    unordered = _question("query", columns=["run_id"], ordered=False, tolerance=0.1)
    reference = {"c0": _rows("canonical", ["a", 1], ["b", 2])}
    swapped = {"c0": _rows("canonical", ["b", 2], ["a", 1])}
    assert KINDS["query"].compare(unordered, swapped, reference).passed
    assert not KINDS["query"].compare(_question("query", columns=["run_id"]), swapped, reference).passed
    no_column = {"c0": _rows("canonical", ["a"], ["b"], columns=("other",))}
    assert "no column run_id" in KINDS["query"].compare(unordered, no_column, reference).message
    close = _question("query", columns=["n"], tolerance=0.05)
    assert KINDS["query"].compare(close, {"c0": _rows("canonical", ["a", 1.04])}, {"c0": _rows("canonical", ["a", 1.0])}).passed
    assert not KINDS["query"].compare(close, {"c0": _rows("canonical", ["a", 1.2])}, {"c0": _rows("canonical", ["a", 1.0])}).passed


def test_values_compare_as_text_or_sets_on_every_incident():
    question = _question("value", "value", "affected_models")
    reference = {"c0": {"story": "canonical", "value": ["fct_daily_signups", "fct_revenue_daily"]},
                 "g4": {"story": "loader_outage", "value": []}}
    computed = {"c0": {"story": "canonical", "value": ["fct_revenue_daily", " fct_daily_signups"]},
                "g4": {"story": "loader_outage", "value": []}}
    assert KINDS["value"].compare(question, computed, reference).passed
    typed = {"c0": computed["c0"], "g4": {"story": "loader_outage", "value": ["fct_revenue_daily", "fct_daily_signups"]}}
    verdict = KINDS["value"].compare(question, typed, reference)
    assert not verdict.passed and "another incident" in verdict.message and "fct_" not in verdict.message
    wrong_own = {"c0": {"story": "canonical", "value": ["fct_revenue_daily"]}, "g4": typed["g4"]}
    assert "fct_revenue_daily" in KINDS["value"].compare(question, wrong_own, reference).message
    unread = {"c0": {"story": "canonical", "problem": "a set holding a object"}}
    assert "could not be read" in KINDS["value"].compare(question, unread, reference).message


@pytest.mark.parametrize("command, readable", [
    ("dbt run", True), ("dbt build", True), ('dbt run --select "staging.*" "marts.*"', True),
    ("dbt run --empty", True), ("dbt run --target-path /tmp/x", True), ("dbt test", True), ("rm -rf /", True),
    ('dbt run --select "unclosed', False), ("", False),
])
def test_only_an_unreadable_command_cannot_be_checked(command, readable):
    """What a command asks dbt to do is the production guard's to judge (a property the
    visible check judges too), not a reason to say the answer could not be checked."""
    assert isinstance(allowed(command), list) == readable


def test_a_command_task_goes_to_the_guard_and_only_unreadable_answers_stop_before():
    question = _question("command", "value", "scheduler_command")
    assert KINDS["command"].task(question, "dbt run --target-path /tmp/evil") == \
        {"words": ["dbt", "run", "--target-path", "/tmp/evil"]}
    assert isinstance(KINDS["command"].task(question, {"set": ["dbt run"]}), str)
    assert isinstance(KINDS["command"].task(question, 'dbt run --select "x'), str)
    assert KINDS["command"].task(question, "dbt run") == {"words": ["dbt", "run"]}


def test_the_singular_test_must_hold_on_every_state_and_name_the_state():
    question = _question("singular_test", "file", "tests/assert_marts_fresh.sql")
    kind = KINDS["singular_test"]
    states = [{"state": "the incident as it stands", "expected": "fail", "status": "fail"},
              {"state": "the same state, tested again", "expected": "fail", "status": "fail"}]
    reference = {"g1": {"story": "skipped_marts", "passed": True, "states": states}}
    assert kind.compare(question, reference, reference).passed
    memorising = [states[0], dict(states[1], status="pass")]
    verdict = kind.compare(question, {"g1": {"story": "skipped_marts", "passed": False, "states": memorising}},
                           reference)
    assert not verdict.passed and "tested again" in verdict.message and "should fail" in verdict.message
    broken = {"g1": {"story": "skipped_marts", "passed": False, "error": "Compilation Error in test"}}
    assert "could not be run" in kind.compare(question, broken, reference).message


def test_monitor_rules_must_be_a_complete_rule_set_before_anything_runs():
    question = _question("monitor_rules", "value", "monitor_rules")
    assert isinstance(KINDS["monitor_rules"].task(question, {"phantom": "select 1"}), str)
    assert isinstance(KINDS["monitor_rules"].task(question, ["not", "a", "dict"]), str)
    good = {"phantom": "select 1", "duration": "select 1", "staleness_hours": 30}
    assert KINDS["monitor_rules"].task(question, good) == {"rules": good}
