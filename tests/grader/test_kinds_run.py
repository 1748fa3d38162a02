"""Each check kind's ``run`` on a real built incident, then its ``compare``: the course's model
answer passes, a plausible wrong answer fails with the kind's words.

Outside the sandbox (the checker job's jail is tests/grader/test_sandbox.py and the attack
suite): this is the kinds' own loop, on the canonical incident the fast lane already builds,
with the course's own declared questions and model answers (the instructor notebooks).
"""

from __future__ import annotations

import pytest

from conftest import REPO
from wt06.incident.scenario import load_scenario
from wt06.incident.warehouse import read_clock
from wt06_grading.definition import questions
from wt06_grading.definition.reference import solution_cells
from wt06_grading.foundation import markers
from wt06_grading.kinds import KINDS
from wt06_grading.kinds.base import Known, RunIncident

QUESTIONS = {q.answer.name: q for q in questions.load().questions}
MODEL = {grade_id: source for grade_id, (_, source) in solution_cells().items()}


def _file_answer(grade_id: str) -> str:
    """A %%project_file cell's model answer: the file's text."""
    return markers.split_magic(MODEL[grade_id])[1]


@pytest.fixture(scope="module")
def incident(incident_warehouse):
    now = read_clock(incident_warehouse)
    return RunIncident("c0", str(incident_warehouse), now.strftime("%Y-%m-%d %H:%M:%S"),
                       project=str(REPO / "dbt_project"))


@pytest.fixture(scope="module")
def known():
    return {"c0": Known("canonical", load_scenario().truth())}


def _verdict(name: str, right, wrong, incident, known, tmp_path):
    """(the model answer's verdict, the wrong answer's) after running both on the incident."""
    question = QUESTIONS[name]
    kind = KINDS[question.kind]
    reference = kind.run(kind.task(question, right), [incident], tmp_path)
    student = kind.run(kind.task(question, wrong), [incident], tmp_path)
    assert "failed" not in reference["c0"], reference
    return kind.compare(question, reference, reference, known), kind.compare(question, student, reference, known)


def test_a_selector_is_run_by_dbt_ls_and_must_pick_what_the_model_answer_picks(incident, known, tmp_path):
    right, wrong = _verdict("catch_up_selector", "intermediate.* marts.*", "staging.*", incident, known, tmp_path)
    assert right.passed
    assert not wrong.passed and "the selector picks stg_" in wrong.message


def test_a_command_goes_through_the_guard_and_dbt(incident, known, tmp_path):
    right, wrong = _verdict("scheduler_command", "dbt run", 'dbt run --select "staging.*"', incident, known,
                            tmp_path)
    assert right.passed
    assert not wrong.passed and "production guard refuses" in wrong.message


def test_a_singular_test_is_run_in_every_state_of_the_course(incident, known, tmp_path):
    never_fails = "select 1 as stale_mart where false\n"
    right, wrong = _verdict("tests/assert_marts_fresh.sql", _file_answer("freshness_test"), never_fails,
                            incident, known, tmp_path)
    assert right.passed
    assert not wrong.passed and "your test says 'pass'" in wrong.message and "it should fail" in wrong.message


def test_a_freshness_configuration_is_replayed_and_judged_against_what_happened(incident, known, tmp_path):
    model = _file_answer("source_freshness")
    signups_need_a_week = "error_after: {count: 9, period: day}"
    assert signups_need_a_week in model
    too_tight = model.replace(signups_need_a_week, "error_after: {count: 2, period: day}")
    right, wrong = _verdict("models/staging/_sources.yml", model, too_tight, incident, known, tmp_path)
    assert right.passed
    assert not wrong.passed and "false alarm(s) on days the loader was delivering" in wrong.message
    assert "raw_customers" in wrong.message


def _sql(grade_id: str) -> str:
    """A %%sql cell's model answer: the query."""
    return markers.split_magic(MODEL[grade_id])[1]


def test_a_query_runs_on_a_read_only_warehouse_and_must_give_the_model_answers_rows(incident, known, tmp_path):
    every_green_run = ("select run_id, started_at, models_run, duration_seconds from raw.raw_pipeline_runs "
                       "where status = 'success' order by started_at")
    right, wrong = _verdict("phantom_successes", _sql("phantom_successes"), every_green_run, incident, known,
                            tmp_path)
    assert right.passed
    assert not wrong.passed and "rows" in wrong.message


def test_monitor_rules_are_replayed_over_the_incident_and_must_alert_as_soon_as_the_model_answer(
        incident, known, tmp_path):
    rules = {"phantom": _sql("phantom_alert"), "duration": _sql("duration_alert"), "staleness_hours": 72}
    never_alerts = dict(rules, phantom="select run_id, started_at from raw.raw_pipeline_runs where false")
    right, wrong = _verdict("monitor_rules", rules, never_alerts, incident, known, tmp_path)
    assert right.passed
    assert not wrong.passed and "the phantom rule never alerts" in wrong.message
