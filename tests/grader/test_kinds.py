"""Each check kind's judgement, what its verdicts may say, and what a command may contain.

The secrecy rule (kinds/base.py, "What a verdict may say") is tested on every kind: a
student's result on a grading incident can carry anything (rows, error text, the repr
of an object the student built); the verdict about that incident holds none of it, only
the property that failed in the kind's fixed words and the incident's story.
"""

from __future__ import annotations

import pytest

from wt06_grading.definition.questions import AnswerRef, Question
from wt06_grading.kinds import KINDS
from wt06_grading.kinds.base import STORIES, Known
from wt06_grading.kinds.command import allowed

KNOWN = {"c0": Known("canonical"), "g1": Known("skipped_marts"), "g2": Known("skipped_marts"),
         "g4": Known("loader_outage")}
LEAK = "LEAK-run_777-2031-05-06"  # what a student's code might make a grading incident say


def _question(kind, answer_type="query", name="q", incidents=("canonical", "skipped_marts"), **params):
    full = KINDS[kind].validate(params, "test")
    return Question(id="test_q", notebook="nb", kind=kind, answer=AnswerRef(answer_type, name), answer_cell="q",
                    points=1, hint="Look again.", incidents=tuple(incidents), params=full)


def _rows(*rows, columns=("run_id", "n"), moment="2024-02-12 09:00:00"):
    return {"at": {moment: {"columns": list(columns), "rows": [list(r) for r in rows]}}}


def _fixed_words_only(kind: str, message: str) -> None:
    """Everything the message says about other incidents comes from fixed words."""
    assert LEAK not in message and "run_777" not in message and "2031" not in message, message
    assert "g1" not in message and "g2" not in message and "g4" not in message, message


def test_query_results_must_match_on_every_incident_and_say_where_without_data():
    question = _question("query", columns=["run_id", "n"])
    reference = {"c0": _rows(["run_012", 1], ["run_013", 2]), "g1": _rows(["run_200", 5])}
    assert KINDS["query"].compare(question, reference, reference, KNOWN).passed
    typed_in = {"c0": reference["c0"], "g1": _rows(["run_012", 1], ["run_013", 2])}
    verdict = KINDS["query"].compare(question, typed_in, reference, KNOWN)
    assert not verdict.passed and verdict.message.startswith("Right on your incident, but on an incident where")
    assert STORIES["skipped_marts"] in verdict.message and "rows are not what" in verdict.message
    assert "run_200" not in verdict.message and "run_012" not in verdict.message and "2 row" not in verdict.message
    wrong_value = {"c0": _rows(["run_012", 1], ["run_013", 3]), "g1": reference["g1"]}
    message = KINDS["query"].compare(question, wrong_value, reference, KNOWN).message
    assert message.startswith("On your incident") and "row 2" in message and "column n" in message
    assert "yours: 3" in message and message.endswith("Look again.")


def test_a_query_that_fails_on_a_grading_incident_says_so_without_the_error():
    question = _question("query", columns=["run_id"])
    reference = {"c0": _rows(["run_012", 1]), "g1": _rows(["run_200", 5])}
    exfiltrating = {"c0": reference["c0"], "g1": {"at": {"2024-02-12 09:00:00": {"error": f"Invalid Input: {LEAK}"}}}}
    verdict = KINDS["query"].compare(question, exfiltrating, reference, KNOWN)
    assert not verdict.passed and "raised an error there" in verdict.message
    _fixed_words_only("query", verdict.message)
    own_error = {"c0": {"at": {"2024-02-12 09:00:00": {"error": "Binder Error: no column x"}}}, "g1": reference["g1"]}
    assert "Binder Error: no column x" in KINDS["query"].compare(question, own_error, reference, KNOWN).message


def test_query_order_tolerance_and_missing_columns():
    unordered = _question("query", columns=["run_id"], ordered=False, tolerance=0.1)
    reference = {"c0": _rows(["a", 1], ["b", 2])}
    swapped = {"c0": _rows(["b", 2], ["a", 1])}
    assert KINDS["query"].compare(unordered, swapped, reference, KNOWN).passed
    assert not KINDS["query"].compare(_question("query", columns=["run_id"]), swapped, reference, KNOWN).passed
    no_column = {"c0": _rows(["a"], ["b"], columns=("other",))}
    assert "no column run_id" in KINDS["query"].compare(unordered, no_column, reference, KNOWN).message
    close = _question("query", columns=["n"], tolerance=0.05)
    assert KINDS["query"].compare(close, {"c0": _rows(["a", 1.04])}, {"c0": _rows(["a", 1.0])}, KNOWN).passed
    assert not KINDS["query"].compare(close, {"c0": _rows(["a", 1.2])}, {"c0": _rows(["a", 1.0])}, KNOWN).passed


def test_a_verdict_names_every_failing_story_not_the_first_failing_incident():
    question = _question("query", columns=["run_id"], incidents=("canonical", "skipped_marts", "loader_outage"))
    reference = {"c0": _rows(["a"]), "g1": _rows(["b"]), "g2": _rows(["c"]), "g4": _rows()}
    wrong = {"c0": _rows(["a"]), "g1": _rows(["b"]), "g2": _rows(["x"]), "g4": _rows(["y"])}
    message = KINDS["query"].compare(question, wrong, reference, KNOWN).message
    assert STORIES["skipped_marts"] in message and STORIES["loader_outage"] in message
    assert message.count(STORIES["skipped_marts"]) == 1


def test_values_compare_as_text_or_sets_on_every_incident_and_never_show_another_incidents_value():
    question = _question("value", "value", "affected_models", incidents=("canonical", "loader_outage"))
    kind = KINDS["value"]
    reference = {"c0": {"value": ["fct_daily_signups", "fct_revenue_daily"]}, "g4": {"value": []}}
    computed = {"c0": {"value": ["fct_revenue_daily", " fct_daily_signups"]}, "g4": {"value": []}}
    assert kind.compare(question, computed, reference, KNOWN).passed
    typed = {"c0": computed["c0"], "g4": {"value": ["fct_revenue_daily", LEAK]}}
    verdict = kind.compare(question, typed, reference, KNOWN)
    assert not verdict.passed and STORIES["loader_outage"] in verdict.message
    assert "fct_" not in verdict.message
    _fixed_words_only("value", verdict.message)
    smuggled = {"c0": computed["c0"], "g4": {"problem": f"a {LEAK}, not a plain value"}}
    verdict = kind.compare(question, smuggled, reference, KNOWN)
    assert "did not produce affected_models there" in verdict.message
    _fixed_words_only("value", verdict.message)
    wrong_type = {"c0": computed["c0"], "g4": {"value": LEAK}}
    verdict = kind.compare(question, wrong_type, reference, KNOWN)
    assert "not the kind of value" in verdict.message
    _fixed_words_only("value", verdict.message)
    wrong_own = {"c0": {"value": ["fct_revenue_daily"]}, "g4": {"value": []}}
    assert "fct_revenue_daily" in kind.compare(question, wrong_own, reference, KNOWN).message
    unread = {"c0": {"problem": "a set holding a object"}}
    assert "could not be read" in kind.compare(question, unread, reference, KNOWN).message


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
    assert "characters long" in KINDS["command"].task(question, "dbt run " + "x" * 2_000_000)
    assert isinstance(KINDS["command"].task(question, 'dbt run --select "x'), str)
    assert KINDS["command"].task(question, "dbt run") == {"words": ["dbt", "run"]}


def test_a_command_is_judged_by_the_guard_and_what_it_builds():
    question = _question("command", "value", "scheduler_command")
    built = {"guard": True, "guard_problems": [], "run": {"success": True, "models_run": ["a", "b"], "error": None}}
    reference = {"c0": built, "g1": built}
    assert KINDS["command"].compare(question, reference, reference, KNOWN).passed
    partial = {"guard": False, "guard_problems": [f"it leaves {LEAK} out"],
               "run": {"success": True, "models_run": ["a"], "error": None}}
    verdict = KINDS["command"].compare(question, {"c0": built, "g1": partial}, reference, KNOWN)
    assert "production guard refuses the command there" in verdict.message
    _fixed_words_only("command", verdict.message)
    own = KINDS["command"].compare(question, {"c0": partial, "g1": built}, reference, KNOWN).message
    assert LEAK in own  # the student's own incident: the guard's reason is shown


def test_a_selector_must_pick_the_reference_models():
    question = _question("selector", "value", "catch_up_selector", incidents=("canonical",))
    reference = {"c0": {"success": True, "listed": ["fct_a", "fct_b"], "error": None}}
    same = {"c0": {"success": True, "listed": ["fct_b", "fct_a"], "error": None}}
    assert KINDS["selector"].compare(question, same, reference, KNOWN).passed
    fewer = {"c0": {"success": True, "listed": ["fct_a"], "error": None}}
    assert "picks fct_a" in KINDS["selector"].compare(question, fewer, reference, KNOWN).message
    broken = {"c0": {"success": False, "listed": [], "error": "Compilation Error"}}
    assert "Compilation Error" in KINDS["selector"].compare(question, broken, reference, KNOWN).message
    assert "characters long" in KINDS["selector"].task(question, "x" * 5000)


def test_the_singular_test_must_hold_on_every_state_and_name_the_state():
    question = _question("singular_test", "file", "tests/assert_marts_fresh.sql")
    kind = KINDS["singular_test"]
    states = [{"state": "the incident as it stands", "expected": "fail", "status": "fail"},
              {"state": "the same state, tested again", "expected": "fail", "status": "fail"}]
    reference = {"c0": {"states": states}, "g1": {"states": states}}
    assert kind.compare(question, reference, reference, KNOWN).passed
    memorising = [states[0], dict(states[1], status="pass")]
    verdict = kind.compare(question, {"c0": {"states": memorising}, "g1": {"states": states}}, reference, KNOWN)
    assert not verdict.passed and "tested again" in verdict.message and "should fail" in verdict.message
    elsewhere = kind.compare(question, {"c0": {"states": states}, "g1": {"states": memorising}}, reference, KNOWN)
    assert "wrong verdict in some of the states" in elsewhere.message and "tested again" in elsewhere.message
    forged_label = {"c0": {"states": states}, "g1": {"states": [states[0], dict(states[1], state=LEAK, status="x")]}}
    verdict = kind.compare(question, forged_label, reference, KNOWN)
    assert "tested again" in verdict.message  # the state is named by the course's matrix
    _fixed_words_only("singular_test", verdict.message)
    broken = {"c0": {"states": states}, "g1": {"error": f"Compilation Error: {LEAK}"}}
    verdict = kind.compare(question, broken, reference, KNOWN)
    assert "could not be run there" in verdict.message
    _fixed_words_only("singular_test", verdict.message)
    forged = {"c0": {"states": states + [{"state": LEAK, "expected": "pass", "status": "fail"}]},
              "g1": {"states": states}}
    assert kind.compare(question, forged, reference, KNOWN).passed  # the course's states decide


def test_source_freshness_is_judged_here_against_what_happened():
    from wt06.freshness import CHECK_TIME  # noqa: F401  (the replay's moments are 09:00 each day)

    question = _question("source_freshness", "file", "models/staging/_sources.yml",
                         incidents=("canonical", "loader_outage"))
    moments = ["2024-02-10 09:00:00", "2024-02-11 09:00:00", "2024-02-12 09:00:00"]

    def replay(*statuses, alone=1.0):
        return {"replay": {"moments": moments, "tables": {"raw_orders": {"statuses": list(statuses),
                                                                         "stop_alone_days": alone}}}}

    known = {"c0": Known("canonical", {"story": "skipped_marts", "incident_start": "2024-02-09 06:00:00",
                                       "now": moments[-1]}),
             "g4": Known("loader_outage", {"story": "loader_outage", "incident_start": "2024-02-10 17:30:00",
                                           "now": moments[-1]})}
    reference = {"c0": replay("pass", "pass", "warn"), "g4": replay("pass", "warn", "error")}
    kind = KINDS["source_freshness"]
    assert kind.compare(question, reference, reference, known).passed
    never = {"c0": reference["c0"], "g4": replay("pass", "pass", "pass")}
    verdict = kind.compare(question, never, reference, known)
    assert "does not error in time" in verdict.message and STORIES["loader_outage"] in verdict.message
    alarmed = {"c0": replay("error", "pass", "pass"), "g4": reference["g4"]}
    message = kind.compare(question, alarmed, reference, known).message
    assert message.startswith("On your incident") and "false alarm" in message and moments[0] in message
    lenient = {"c0": reference["c0"], "g4": replay("pass", "warn", "error", alone=None)}
    message = kind.compare(question, lenient, reference, known).message
    assert "one loader table stopped receiving rows" in message and "raw_orders" not in message
    unreadable = {"c0": reference["c0"], "g4": {"unreadable": f"Parsing Error {LEAK}"}}
    verdict = kind.compare(question, unreadable, reference, known)
    _fixed_words_only("source_freshness", verdict.message)


def test_monitor_rules_must_be_a_complete_rule_set_before_anything_runs():
    question = _question("monitor_rules", "value", "monitor_rules")
    assert isinstance(KINDS["monitor_rules"].task(question, {"phantom": "select 1"}), str)
    assert isinstance(KINDS["monitor_rules"].task(question, ["not", "a", "dict"]), str)
    good = {"phantom": "select 1", "duration": "select 1", "staleness_hours": 30}
    assert KINDS["monitor_rules"].task(question, good) == {"rules": good}


def test_monitor_rules_are_measured_here_against_what_happened():
    question = _question("monitor_rules", "value", "monitor_rules", incidents=("canonical", "skipped_marts"))
    moments = ["2024-02-09 05:00:00", "2024-02-09 07:00:00", "2024-02-12 09:00:00"]
    truth = {"story": "skipped_marts", "incident_start": "2024-02-09 06:00:00", "now": moments[-1]}
    known = {"c0": Known("canonical", truth), "g1": Known("skipped_marts", truth)}

    def replay(phantom, errors=None):
        return {"replay": {"moments": moments, "alerts": {"phantom": phantom, "duration": [False, True, True],
                                                          "staleness": [False, False, True]},
                           "data_age_hours": [1, 2, 3], "errors": errors or {}}}

    reference = {"c0": replay([False, True, True]), "g1": replay([False, True, True])}
    kind = KINDS["monitor_rules"]
    assert kind.compare(question, reference, reference, known).passed
    noisy = {"c0": reference["c0"], "g1": replay([True, True, True])}
    assert "alarms before anything went wrong there" in kind.compare(question, noisy, reference, known).message
    forgetful = {"c0": replay([False, True, False]), "g1": reference["g1"]}
    assert "falls silent again" in kind.compare(question, forgetful, reference, known).message
    erroring = {"c0": reference["c0"], "g1": replay([False, False, False], {"phantom": f"at {LEAK}"})}
    verdict = kind.compare(question, erroring, reference, known)
    assert "raised an error there" in verdict.message
    _fixed_words_only("monitor_rules", verdict.message)


def test_every_story_a_kind_checks_by_default_has_words():
    for kind in KINDS.values():
        for story in kind.default_incidents or ():
            assert story in STORIES, f"{kind.name} checks {story}, which verdicts cannot name"


def test_a_run_that_raised_on_one_incident_is_that_incidents_failure_only(tmp_path):
    from wt06_grading.kinds.base import Kind, RunIncident

    class Flaky(Kind):
        name, answer_type = "flaky", "value"

        def run_one(self, task, incident, workspace):
            if incident.id == "g1":
                raise ValueError(LEAK)
            return {"ok": True}

    results = Flaky().run({}, [RunIncident("c0", "w", "n"), RunIncident("g1", "w", "n")], tmp_path)
    assert results["c0"] == {"ok": True} and LEAK in results["g1"]["failed"]
