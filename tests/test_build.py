"""The incident warehouse: built by real dbt runs, true to the story, atomic, idempotent."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from conftest import rows, scalar
from wt06.errors import BuildError
from wt06.incident.scenario import Scenario, ScenarioParams
from wt06.pipeline.build import build_warehouse


def test_marts_stop_at_the_freeze_while_staging_sees_the_weekend(incident_warehouse):
    assert scalar(incident_warehouse, "select max(order_date) from fct_revenue_daily") == date(2024, 2, 8)
    assert scalar(incident_warehouse, "select max(signup_date) from fct_daily_signups") == date(2024, 2, 8)
    assert scalar(incident_warehouse, "select max(order_date) from stg_orders") == date(2024, 2, 11)
    assert scalar(incident_warehouse, "select max(order_date) from raw.raw_orders") == date(2024, 2, 11)
    assert scalar(incident_warehouse, "select max(event_date) from stg_events") == date(2024, 2, 11)
    # the signups mart had signups in its last days, so "both frozen since Feb 8" is visible
    assert scalar(incident_warehouse, "select count(*) from fct_daily_signups "
                                      "where signup_date >= date '2024-02-07'") == 2


def test_the_phantom_successes_are_exactly_run_012_to_015(incident_warehouse):
    phantoms = rows(incident_warehouse, "select run_id from raw.raw_pipeline_runs "
                                        "where status = 'success' and models_run <> 'all' order by run_id")
    assert [r for (r,) in phantoms] == ["run_012", "run_013", "run_014", "run_015"]
    last_full = scalar(incident_warehouse, "select max(run_id) from raw.raw_pipeline_runs where models_run = 'all'")
    assert last_full == "run_011"
    ratio = scalar(incident_warehouse, """
        select avg(duration_seconds) filter (where models_run <> 'all')
             / avg(duration_seconds) filter (where models_run = 'all') from raw.raw_pipeline_runs""")
    assert 0.25 < ratio < 0.31


def test_the_marts_were_last_built_by_run_011(incident_warehouse):
    refreshed = scalar(incident_warehouse, "select max(_refreshed_at) from fct_revenue_daily")
    finished = scalar(incident_warehouse, "select finished_at from raw.raw_pipeline_runs where run_id = 'run_011'")
    assert refreshed == finished


def test_every_replayed_dbt_invocation_is_recorded(incident_warehouse):
    log = rows(incident_warehouse, """
        select scheduler_run_id, command, selector, models_count, status, exit_code,
               list_contains(models_run, 'fct_revenue_daily')
        from audit.dbt_invocations order by invoked_at""")
    assert [r[0] for r in log] == ["run_011", "run_012", "run_013", "run_014", "run_015"]
    assert log[0][1:] == ("dbt run", None, 8, "success", 0, True)
    for row in log[1:]:
        assert row[1:] == ('dbt run --select "staging.*"', "staging.*", 4, "success", 0, False)
    ids = rows(incident_warehouse, "select count(distinct invocation_id) from audit.dbt_invocations")
    assert ids == [(5,)]


def test_raw_rows_arrive_with_loaded_at_and_runs_are_logged_when_they_finish(incident_warehouse):
    assert scalar(incident_warehouse, "select count(*) from raw.raw_orders where _loaded_at is null") == 0
    assert scalar(incident_warehouse, "select max(_loaded_at) from raw.raw_orders") == datetime(2024, 2, 11, 17, 30, 31)
    assert scalar(incident_warehouse,
                  "select count(*) from raw.raw_pipeline_runs where _loaded_at <> finished_at") == 0
    assert scalar(incident_warehouse,
                  "select count(*) from raw.raw_job_revisions where _loaded_at <> changed_at") == 0


def test_the_warehouse_keeps_its_own_clock_which_dbt_reads(incident_warehouse, tmp_path):
    import duckdb

    con = duckdb.connect(str(incident_warehouse), read_only=True)
    try:
        assert con.execute("select main.as_of()").fetchone()[0] == datetime(2024, 2, 12, 9, 0)
        refreshed = con.execute("select max(_refreshed_at) from fct_revenue_daily").fetchone()[0]
        finished = con.execute("select finished_at from raw.raw_pipeline_runs where run_id = 'run_011'").fetchone()[0]
    finally:
        con.close()
    assert refreshed == finished, "each replayed run ran at its own clock"


def _content(path: Path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute("""select table_schema, table_name from information_schema.tables
                                order by all""").fetchall()
        content = {}
        for schema, name in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position", [schema, name]).fetchall()
                if c not in ("invocation_id", "elapsed_seconds")]  # dbt's uuid, measured time
            content[f"{schema}.{name}"] = con.execute(
                f"select {', '.join(columns)} from {schema}.{name} order by all").fetchall()
        return content
    finally:
        con.close()


@pytest.mark.slow
def test_two_builds_have_the_same_content(incident_warehouse, tmp_path):
    second = build_warehouse(tmp_path / "again.duckdb")
    first, again = _content(incident_warehouse), _content(second)
    assert set(first) == set(again)
    assert {"raw.raw_orders", "main.fct_revenue_daily", "audit.dbt_invocations"} <= set(first)
    for table in first:
        assert first[table] == again[table], table


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _break_and_build(data_dir: Path, dest: Path) -> str:
    before = _digest(dest)
    with pytest.raises(BuildError) as failure:
        build_warehouse(dest, data_dir=data_dir)
    assert _digest(dest) == before, "the previous warehouse changed"
    leftovers = [p.name for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}.building")]
    assert leftovers == [], "the build left its temporary file behind"
    return str(failure.value)


def test_a_malformed_row_names_file_and_line_and_leaves_the_warehouse(warehouse_copy, data_copy):
    bad = data_copy / "landing" / "2024-02-10" / "raw_orders.csv"
    lines = bad.read_text().splitlines()
    fields = lines[3].split(",")
    fields[3] = "12,5O"  # a typo'd amount: one field too many
    lines[3] = ",".join(fields)
    bad.write_text("\n".join(lines) + "\n")
    message = _break_and_build(data_copy, warehouse_copy)
    assert str(bad) in message and "line 4" in message and "7 values, expected 6" in message


def test_a_bad_value_names_the_column(warehouse_copy, data_copy):
    bad = data_copy / "raw" / "raw_customers.csv"
    bad.write_text(bad.read_text().replace("2024-01-02,", "2024-13-02,", 1))
    message = _break_and_build(data_copy, warehouse_copy)
    assert str(bad) in message and "line 2" in message and "signup_date" in message


def test_a_missing_landing_file_is_named(warehouse_copy, data_copy):
    missing = data_copy / "landing" / "2024-02-11" / "raw_events.csv"
    missing.unlink()
    message = _break_and_build(data_copy, warehouse_copy)
    assert str(missing) in message and "missing" in message


def test_a_failing_dbt_step_names_the_run_and_keeps_the_warehouse(warehouse_copy, project_copy, data_copy):
    broken = project_copy / "models" / "marts" / "fct_revenue_daily.sql"
    broken.write_text(broken.read_text().replace("from orders", "from orderz"))
    assert "orderz" in broken.read_text()
    before = _digest(warehouse_copy)
    with pytest.raises(BuildError, match="step 'replay run_011'") as failure:
        build_warehouse(warehouse_copy, data_dir=data_copy, project=project_copy)
    assert "fct_revenue_daily" in str(failure.value)
    assert _digest(warehouse_copy) == before


@pytest.mark.slow
def test_a_variant_builds_into_its_own_coherent_incident(tmp_path):
    params = ScenarioParams.variant(2)  # two quiet days among the outage days
    scenario = Scenario(params)
    assert scenario.quiet_days
    scenario.write(tmp_path / "data")
    built = build_warehouse(tmp_path / "variant.duckdb", data_dir=tmp_path / "data")
    from wt06.incident.warehouse import read_clock

    assert read_clock(built) == scenario.story_now  # before `scalar` sets the course's clock
    assert scalar(built, "select max(order_date) from fct_revenue_daily") == scenario.freeze_day
    landed = [d for d in scenario.outage_days if d not in scenario.quiet_days]
    assert scalar(built, "select max(order_date) from stg_orders") == landed[-1]
    phantoms = scalar(built, "select count(*) from raw.raw_pipeline_runs where models_run <> 'all'")
    assert phantoms == params.phantom_runs
    selectors = rows(built, "select distinct selector from audit.dbt_invocations where selector is not null")
    assert selectors == [(params.broken_selector,)]
    quiet = rows(built, "select count(*) from raw.raw_orders where cast(_loaded_at as date) in "
                        f"({', '.join(repr(d.isoformat()) for d in scenario.quiet_days)})")
    assert quiet == [(0,)]


@pytest.mark.slow
def test_a_loader_outage_builds_with_fresh_marts_and_old_data(tmp_path):
    from wt06.incident.scenario import LOADER_OUTAGE

    params = ScenarioParams.variant(3, story=LOADER_OUTAGE)
    scenario = Scenario(params)
    scenario.write(tmp_path / "data")
    built = build_warehouse(tmp_path / "outage.duckdb", data_dir=tmp_path / "data")
    last_run = max(r["finished_at"] for r in scenario.history["raw_pipeline_runs"])
    assert scalar(built, "select max(_refreshed_at) from fct_revenue_daily") == last_run
    assert scalar(built, "select max(order_date) from fct_revenue_daily") == scenario.freeze_day
    assert scalar(built, "select max(cast(_loaded_at as date)) from raw.raw_orders") == scenario.freeze_day
    assert scalar(built, "select count(*) from raw.raw_pipeline_runs where models_run <> 'all'") == 0


def test_the_warehouse_works_under_any_file_name(incident_warehouse, tmp_path):
    renamed = tmp_path / "a copy of the incident.duckdb"
    shutil.copy(incident_warehouse, renamed)
    assert scalar(renamed, "select max(order_date) from stg_orders") == date(2024, 2, 11)
