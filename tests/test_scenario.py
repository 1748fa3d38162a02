"""The data is the seed's state before the incident, coherent, and reproducible."""

from __future__ import annotations

import json
from datetime import date, datetime, time

import pytest

from conftest import REPO
from wt06 import incidents
from wt06.errors import DataError
from wt06.incident.scenario import (
    ALL_LOADER_TABLES,
    BROKEN_SELECTORS,
    FULL_COMMAND,
    FULL_CRON,
    LOADER_OUTAGE,
    PARTIAL_CRON,
    SKIPPED_MARTS,
    STORIES,
    Scenario,
    ScenarioParams,
    canonical_gap_limits,
    load_scenario,
    scenario_gaps,
)

CANONICAL = Scenario(ScenarioParams())
VARIANTS = [Scenario(ScenarioParams.variant(seed, story)) for story in STORIES for seed in range(1, 13)]


def test_canonical_parameters_reproduce_the_committed_files_byte_for_byte():
    for rel, text in CANONICAL.csv_files().items():
        assert (REPO / "data" / rel).read_bytes() == text.encode(), f"data/{rel} differs"
    committed = sorted(p.relative_to(REPO / "data").as_posix()
                       for folder in ("raw", "landing") for p in (REPO / "data" / folder).rglob("*.csv"))
    assert committed == sorted(CANONICAL.csv_files()), "stray or missing CSV files in data/"
    assert load_scenario(REPO / "data").params == ScenarioParams()


def test_the_public_incidents_committed_files_are_their_parameters_output():
    for name, params in incidents.PUBLIC.items():
        folder = REPO / "data" / "incidents" / name
        scenario = Scenario(params)
        for rel, text in scenario.csv_files().items():
            assert (folder / rel).read_bytes() == text.encode(), f"data/incidents/{name}/{rel} differs"
        committed = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.csv"))
        assert committed == sorted(scenario.csv_files()), f"stray or missing CSV files in {name}"
        assert load_scenario(folder).params == params


def test_history_has_the_seed_numbers():
    history = CANONICAL.history
    assert len(history["raw_orders"]) == 32
    assert len(history["raw_events"]) == 40
    assert len(history["raw_customers"]) == 20
    assert len(history["raw_pipeline_runs"]) == 15
    order_days = [o["order_date"] for o in history["raw_orders"]]
    assert min(order_days).month == 1 and min(order_days).year == 2024
    assert max(order_days) == date(2024, 2, 8)
    assert max(e["event_date"] for e in history["raw_events"]) == date(2024, 2, 8)
    assert {e["event_type"] for e in history["raw_events"]} == {"signup", "purchase", "pageview"}


def test_run_log_tells_the_story():
    runs = CANONICAL.history["raw_pipeline_runs"]
    assert [r["run_id"] for r in runs] == [f"run_{n:03d}" for n in range(1, 16)]
    assert all(r["status"] == "success" and r["exit_code"] == 0 for r in runs)
    full, partial = runs[:11], runs[11:]
    assert all(r["models_run"] == "all" and 136 <= r["duration_seconds"] <= 151 for r in full)
    assert all(r["models_run"] == "staging.*" and 38 <= r["duration_seconds"] <= 43 for r in partial)
    assert date(2024, 2, 8).strftime("%A") == "Thursday"
    last_full = full[-1]
    assert last_full["finished_at"].date() == date(2024, 2, 8)
    assert time(18, 10) <= last_full["finished_at"].time() <= time(18, 20)
    assert partial[0]["started_at"].replace(second=0) == datetime(2024, 2, 9, 6, 0)
    assert sum(r["run_date"] == date(2024, 2, 11) for r in runs) == 2
    assert CANONICAL.story_now == datetime(2024, 2, 12, 9, 0)
    for r in runs:
        assert (r["finished_at"] - r["started_at"]).total_seconds() == r["duration_seconds"]


@pytest.mark.parametrize("scenario", [CANONICAL, *[v for v in VARIANTS if v.story == SKIPPED_MARTS]],
                         ids=lambda s: f"{s.story}-{s.params.seed}")
def test_the_job_history_explains_the_run_log(scenario):
    """One revision, saved between the last full run and the first phantom run, switches the
    command to the broken selector and the cron to the morning; other revisions change neither."""
    runs = scenario.history["raw_pipeline_runs"]
    revisions = scenario.history["raw_job_revisions"]
    first_phantom = next(r for r in runs if r["models_run"] != "all")
    last_full = max((r for r in runs if r["models_run"] == "all"), key=lambda r: r["finished_at"])
    in_force = [v for v in revisions if v["changed_at"] < first_phantom["started_at"]][-1]
    assert last_full["finished_at"] < in_force["changed_at"] < first_phantom["started_at"]
    assert in_force["command"] == f'dbt run --select "{scenario.params.broken_selector}"'
    assert in_force["cron"] == PARTIAL_CRON
    before = [v for v in revisions if v["changed_at"] < in_force["changed_at"]]
    assert before and all(v["command"] == FULL_COMMAND and v["cron"] == FULL_CRON for v in before)
    later = [v for v in revisions if v["changed_at"] > in_force["changed_at"]]
    assert later, "an unrelated revision after the cause: the latest revision is not the answer"
    assert all(v["command"] == in_force["command"] for v in later)
    assert [v["changed_at"] for v in revisions] == sorted(v["changed_at"] for v in revisions)
    assert scenario.truth()["breaking_revision"] == in_force["revision_id"]


@pytest.mark.parametrize("scenario", [v for v in VARIANTS if v.story == LOADER_OUTAGE],
                         ids=lambda s: f"{s.story}-{s.params.seed}")
def test_a_loader_outage_keeps_the_scheduler_running_full_runs(scenario):
    runs = scenario.history["raw_pipeline_runs"]
    assert all(r["models_run"] == "all" for r in runs)
    assert scenario.landing == {}, "the loader delivers nothing during the outage"
    last_delivery = max(r["_loaded_at"] for t in ("raw_orders", "raw_events", "raw_customers")
                        for r in scenario.history[t])
    assert last_delivery.date() == scenario.freeze_day
    run_days = {r["run_date"] for r in runs}
    assert set(scenario.outage_days) <= run_days, "a full run every evening of the outage"
    assert all(v["command"] == FULL_COMMAND for v in scenario.history["raw_job_revisions"])
    truth = scenario.truth()
    assert truth["story"] == LOADER_OUTAGE and truth["first_phantom_run"] is None
    assert datetime.fromisoformat(truth["incident_start"]) > last_delivery


@pytest.mark.parametrize("scenario", VARIANTS, ids=lambda s: f"{s.story}-{s.params.seed}")
def test_no_variant_has_a_longer_gap_between_load_days_than_the_canonical_incident(scenario):
    limits = canonical_gap_limits()
    assert limits == scenario_gaps(CANONICAL)
    assert limits["raw_customers"] >= 4 and limits[ALL_LOADER_TABLES] >= 2, "the history is sparse"
    gaps = scenario_gaps(scenario)
    assert all(gaps[name] <= limit for name, limit in limits.items()), (gaps, limits)


def test_quiet_days_land_nothing_while_everything_else_works():
    quiet = [v for v in VARIANTS if v.quiet_days]
    assert {v.story for v in quiet} == set(STORIES), "both stories have variants with quiet days"
    for scenario in quiet:
        loads = {r["_loaded_at"].date() for t in ("raw_orders", "raw_events", "raw_customers")
                 for r in scenario.loader_rows(t)}
        assert not set(scenario.quiet_days) & loads, f"{scenario.params}: rows on a quiet day"
        run_days = {r["run_date"] for r in scenario.history["raw_pipeline_runs"]}
        assert set(scenario.quiet_days) <= run_days or scenario.story == LOADER_OUTAGE
        for day in scenario.quiet_days:
            if day in scenario.landing:  # skipped_marts: the loader ran and landed empty files
                assert all(rows == [] for rows in scenario.landing[day].values())


def _all_rows(scenario, table):
    rows = list(scenario.history[table])
    for tables in scenario.landing.values():
        rows += tables[table]
    return rows


@pytest.mark.parametrize("scenario", [CANONICAL, *VARIANTS[::3]], ids=lambda s: f"{s.story}-{s.params.seed}")
def test_data_is_internally_consistent(scenario):
    customers = {c["customer_id"]: c for c in _all_rows(scenario, "raw_customers")}
    orders = {o["order_id"]: o for o in _all_rows(scenario, "raw_orders")}
    events = _all_rows(scenario, "raw_events")
    for order in orders.values():
        assert customers[order["customer_id"]]["signup_date"] <= order["order_date"]
    for event in events:
        assert event["customer_id"] in customers
        if event["event_type"] == "purchase":
            order = orders[event["properties"]["order_id"]]
            assert (order["order_date"], order["customer_id"]) == (event["event_date"], event["customer_id"])
    signups = {(e["customer_id"], e["event_date"]) for e in events if e["event_type"] == "signup"}
    assert signups == {(c["customer_id"], c["signup_date"]) for c in customers.values()}
    freeze = scenario.freeze_day
    last_signups = sorted(c["signup_date"] for c in scenario.history["raw_customers"])[-2:]
    assert last_signups[-1] == freeze and (freeze - last_signups[0]).days <= 1
    for row in events + list(orders.values()) + list(customers.values()):
        assert row["_loaded_at"].date() == next(v for k, v in row.items() if k.endswith("_date"))


def test_weekend_push_outsells_a_normal_day():
    history = CANONICAL.history["raw_orders"]
    days = (CANONICAL.freeze_day - date(2024, 1, 2)).days + 1
    normal_day = sum(o["amount"] for o in history if o["status"] == "completed") / days
    for day, tables in CANONICAL.landing.items():
        revenue = sum(o["amount"] for o in tables["raw_orders"] if o["status"] == "completed")
        assert revenue > 3 * normal_day, f"{day}: {revenue} is not a push over {normal_day:.0f}/day"
    assert sorted(CANONICAL.landing) == [date(2024, 2, 9), date(2024, 2, 10), date(2024, 2, 11)]


def _phantoms(scenario):
    return [r["run_id"] for r in scenario.history["raw_pipeline_runs"] if r["models_run"] != "all"]


def test_variants_differ_where_a_hard_coded_answer_would_look():
    skipped = [v for v in VARIANTS if v.story == SKIPPED_MARTS]
    everyone = [CANONICAL, *VARIANTS, *(Scenario(p) for p in incidents.PUBLIC.values())]
    assert len({tuple(_phantoms(v)) for v in skipped + [CANONICAL]}) == len(skipped) + 1
    public = {CANONICAL.freeze_day, *(Scenario(p).freeze_day for p in incidents.PUBLIC.values())}
    assert not public & {v.freeze_day for v in VARIANTS}
    assert len({v.freeze_day for v in everyone}) > len(everyone) * 0.8
    assert len({v.params.broken_selector for v in skipped}) == len(BROKEN_SELECTORS)
    assert len({v.outage_days[0].strftime("%A") for v in skipped}) >= 5, "the outage starts on any weekday"
    assert len({len(v.history["raw_orders"]) for v in everyone}) > 5
    assert len({v.params.phantom_runs - v.params.outage_days for v in skipped}) > 2, "manual re-runs vary"
    revision_ids = [{r["revision_id"] for r in v.history["raw_job_revisions"]} for v in everyone]
    assert all(not (a & b) for i, a in enumerate(revision_ids) for b in revision_ids[i + 1:])
    for v in skipped:
        assert len(_phantoms(v)) == v.params.phantom_runs
        assert v.story_now > max(r["finished_at"] for r in v.history["raw_pipeline_runs"])


def test_variant_is_deterministic_and_its_parameters_are_plain_json():
    for story in STORIES:
        params = ScenarioParams.variant(5, story=story)
        assert params == ScenarioParams.variant(5, story=story) != ScenarioParams.variant(6, story=story)
        assert ScenarioParams.from_json(params.to_json()) == params
        assert json.loads(params.to_json())["story"] == story
        assert Scenario(params).csv_files() == Scenario(ScenarioParams.from_json(params.to_json())).csv_files()
    with pytest.raises(DataError, match="unknown story"):
        ScenarioParams.variant(1, story="aliens")


def test_the_practice_incident_is_another_incident_of_the_same_story():
    practice = Scenario(incidents.PUBLIC[incidents.PRACTICE])
    assert practice.story == SKIPPED_MARTS and practice.quiet_days
    assert practice.params.broken_selector != CANONICAL.params.broken_selector
    assert practice.outage_days[0].weekday() < 5, "a weekday outage"
    assert practice.params.phantom_runs > practice.params.outage_days, "with a manual re-run"
    drills = [Scenario(incidents.PUBLIC[name]) for name in incidents.DRILLS]
    assert {d.story for d in drills} == set(STORIES) and all(d.quiet_days for d in drills)


@pytest.mark.parametrize("bad, words", [
    (dict(phantom_runs=9, outage_days=3), "phantom_runs"),
    (dict(first_day="2024-03-01"), "first_day"),
    (dict(broken_selector="marts.*"), "broken_selector"),
    (dict(story="loader_outage", outage_days=7), "no phantom runs"),
    (dict(quiet_days=3), "quiet_days"),
])
def test_inconsistent_parameters_are_refused_with_a_reason(bad, words):
    with pytest.raises(DataError, match=words):
        ScenarioParams(**bad)


def test_a_broken_manifest_is_reported_by_name(tmp_path):
    (tmp_path / "scenario.json").write_text('{"seed": 1, "colour": "red"}')
    with pytest.raises(DataError, match="unknown parameters: colour"):
        load_scenario(tmp_path)
    (tmp_path / "scenario.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_scenario(tmp_path)
    assert json.loads(ScenarioParams().to_json())["freeze_day"] == "2024-02-08"
