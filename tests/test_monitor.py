"""The monitor's rules are replayed over incidents and judged against the reference rules."""

from __future__ import annotations

import json

import pytest

from conftest import REPO
from wt06 import incidents, monitor

PHANTOM = """
with known as (select * from raw.raw_pipeline_runs where finished_at <= as_of())
select run_id, started_at from known
where status = 'success' and exit_code = 0 and models_run <> 'all'
  and started_at > (select coalesce(max(finished_at), timestamp '1970-01-01') from known where models_run = 'all')
"""
HEALTHY_BASELINE = """
with known as (select * from raw.raw_pipeline_runs where finished_at <= as_of()),
scored as (select run_id, duration_seconds, median(duration_seconds) filter (where models_run = 'all')
               over (order by started_at rows between unbounded preceding and 1 preceding) as baseline
           from known)
select run_id from scored where duration_seconds < 0.5 * baseline
"""
ROLLING_BASELINE = """
select run_id from (
    select run_id, duration_seconds, median(duration_seconds) over (
        order by started_at rows between 5 preceding and 1 preceding) as baseline
    from raw.raw_pipeline_runs where finished_at <= as_of())
where duration_seconds < 0.5 * baseline
"""
REFERENCE = {"phantom": PHANTOM, "duration": HEALTHY_BASELINE, "staleness_hours": 72}


@pytest.fixture(scope="module")
def public(public_incident):
    return [public_incident(name).as_json() for name in incidents.PUBLIC]


@pytest.fixture(scope="module")
def canonical(incident_warehouse):
    from wt06.incident.scenario import load_scenario

    return [{"name": "canonical", "warehouse": str(incident_warehouse), "truth": load_scenario().truth()}]


def _evaluate(rules, incident_list, tmp_path):
    return monitor.evaluate(rules, incident_list, REPO / "dbt_project", tmp_path)


def test_the_reference_rules_catch_each_story_with_no_false_alarm(public, canonical, tmp_path):
    results = _evaluate(REFERENCE, canonical + public, tmp_path)
    for name, by_rule in results.items():
        assert all(m["false_alarms"] == 0 for m in by_rule.values()), name
    assert results["canonical"]["phantom"]["hours_to_detect"] < 0.1
    assert results["canonical"]["duration"]["alerting_at_end"], "the healthy baseline flags the last phantom run"
    outage = results["loader_outage_drill"]
    assert outage["phantom"]["detected_at"] is None and outage["duration"]["detected_at"] is None
    assert outage["staleness"]["detected_at"] is not None, "only the data-health rule sees a loader outage"


def test_the_published_reference_metrics_are_the_reference_rules(public, tmp_path):
    results = _evaluate(REFERENCE, public, tmp_path)
    for name in incidents.PUBLIC:
        published = json.loads((REPO / "data" / "incidents" / name / "expected.json").read_text())
        assert published["monitor_rules"] == results[name], name


@pytest.mark.parametrize("rules, words", [
    ({**REFERENCE, "duration": ROLLING_BASELINE}, "new normal"),  # run_015 is not flagged
    ({**REFERENCE, "staleness_hours": 30}, "false alarm"),  # quiet days are normal
    ({**REFERENCE, "staleness_hours": 100}, "later than it could"),
    ({**REFERENCE, "staleness_hours": 400}, "never alerts"),
    ({**REFERENCE, "phantom": PHANTOM.replace("where finished_at <= as_of()", "")}, "false alarm"),
    ({**REFERENCE, "duration": "select 1 as id"}, "run_id"),
], ids=["rolling-baseline", "tight-threshold", "late-threshold", "loose-threshold", "no-point-in-time",
     "no-run-id"])
def test_a_weaker_rule_is_judged_worse_than_the_reference(public, canonical, tmp_path, rules, words):
    reference = _evaluate(REFERENCE, canonical + public, tmp_path / "reference")
    mine = _evaluate(rules, canonical + public, tmp_path / "mine")
    verdict = monitor.judge(mine, reference)
    assert not verdict["passed"]
    assert any(words in problem for problem in verdict["problems"]), verdict["problems"]
    assert monitor.judge(reference, reference)["passed"]


def test_malformed_rules_are_refused_before_anything_runs():
    assert monitor.rules_problems({"phantom": "select 1"}) == ["the rules have no 'duration'",
                                                                "the rules have no 'staleness_hours'"]
    assert monitor.rules_problems({**REFERENCE, "staleness_hours": True})
    assert monitor.rules_problems("select 1")
