"""The data is the seed's state before the incident, coherent, and reproducible."""

from __future__ import annotations

import json
from datetime import date, datetime, time

import pytest

from conftest import REPO
from wt06.errors import DataError
from wt06.scenario import Scenario, ScenarioParams, load_scenario

CANONICAL = Scenario(ScenarioParams())


def test_canonical_parameters_reproduce_the_committed_files_byte_for_byte():
    for rel, text in CANONICAL.csv_files().items():
        assert (REPO / "data" / rel).read_bytes() == text.encode(), f"data/{rel} differs"
    committed = sorted(p.relative_to(REPO / "data").as_posix()
                       for folder in ("raw", "landing") for p in (REPO / "data" / folder).rglob("*.csv"))
    assert committed == sorted(CANONICAL.csv_files()), "stray or missing CSV files in data/"
    assert load_scenario(REPO / "data").params == ScenarioParams()


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


def _all_rows(scenario, table):
    rows = list(scenario.history[table])
    for tables in scenario.landing.values():
        rows += tables[table]
    return rows


@pytest.mark.parametrize("scenario", [CANONICAL, Scenario(ScenarioParams.variant(3)),
                                      Scenario(ScenarioParams.variant(11))], ids=["canonical", "v3", "v11"])
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
    a, b = Scenario(ScenarioParams.variant(1)), Scenario(ScenarioParams.variant(2))
    assert _phantoms(a) != _phantoms(b)
    assert _phantoms(a) != _phantoms(CANONICAL) and _phantoms(b) != _phantoms(CANONICAL)
    assert a.freeze_day != b.freeze_day
    for v in (a, b):
        assert len(_phantoms(v)) == v.params.phantom_runs
        assert v.story_now > max(r["finished_at"] for r in v.history["raw_pipeline_runs"])


def test_variant_is_deterministic():
    assert Scenario(ScenarioParams.variant(5)).csv_files() == Scenario(ScenarioParams.variant(5)).csv_files()


@pytest.mark.parametrize("bad, words", [
    (dict(phantom_runs=9, outage_days=3), "phantom_runs"),
    (dict(first_day="2024-03-01"), "first_day"),
    (dict(broken_selector="marts.*"), "broken_selector"),
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
