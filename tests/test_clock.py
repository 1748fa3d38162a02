"""One clock: every freshness answer follows the as-of setting, never the machine's date."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import apply_reference_fix, scalar
from wt06.errors import ClockError
from wt06.incident import clock
from wt06.pipeline import dbt_runner

MART_AGE = "select date_diff('second', max(_refreshed_at), as_of()) / 3600 from fct_revenue_daily"


def test_the_default_now_is_the_scenarios_monday_morning(monkeypatch):
    monkeypatch.delenv(clock.ENV_AS_OF, raising=False)
    assert clock.as_of() == datetime(2024, 2, 12, 9, 0)


def test_env_var_and_argument_move_the_clock(monkeypatch):
    monkeypatch.setenv(clock.ENV_AS_OF, "2024-02-09 07:00")
    assert clock.as_of() == datetime(2024, 2, 9, 7, 0)
    assert clock.as_of("2024-02-10T06:30") == datetime(2024, 2, 10, 6, 30)


@pytest.mark.parametrize("bad", ["Monday", "2024-02-30 09:00", "12/02/2024"])
def test_an_unreadable_clock_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv(clock.ENV_AS_OF, bad)
    with pytest.raises(ClockError, match="WT06_AS_OF value .* is not a timestamp"):
        clock.as_of()


@pytest.mark.parametrize("as_of, hours", [("2024-02-09 07:00", 12.76), ("2024-02-12 09:00", 86.76)])
def test_mart_staleness_is_measured_against_the_as_of_clock(incident_warehouse, as_of, hours):
    assert scalar(incident_warehouse, MART_AGE, as_of=as_of) == pytest.approx(hours, abs=0.01)


def _freshness_status(warehouse, project, as_of):
    result = dbt_runner.invoke("dbt source freshness", warehouse=warehouse, project=project, as_of=as_of)
    return {status for _, kind, status in result.nodes}, result


def test_dbt_source_freshness_runs_on_the_story_clock(warehouse_copy, project_copy):
    """The reference config: the loader's tables warn after 2 days, error after 4; signups
    (raw_customers) warn after 5, error after 9; the job history is not checked."""
    apply_reference_fix(project_copy)
    statuses, result = _freshness_status(warehouse_copy, project_copy, "2024-02-12 09:00")
    assert statuses == {"pass"} and result.success  # raw landed Sunday 17:30: ~15 h
    assert {name for name, _, _ in result.nodes} == {"raw_customers", "raw_orders", "raw_events",
                                                     "raw_pipeline_runs"}
    _, result = _freshness_status(warehouse_copy, project_copy, "2024-02-14 12:00")
    by_table = {name: status for name, _, status in result.nodes}  # ~2.8 days since the last load
    assert by_table == {"raw_customers": "pass", "raw_orders": "warn", "raw_events": "warn",
                        "raw_pipeline_runs": "warn"}
    statuses, result = _freshness_status(warehouse_copy, project_copy, "2024-02-16 09:00")
    assert "error" in statuses and not result.success  # 4.6 days


def test_the_clock_lives_in_the_warehouse_and_dbt_reads_it_from_a_terminal(warehouse_copy, project_copy,
                                                                          tmp_path):
    """`python -m wt06 as-of --set` moves the file's clock; dbt (no course variables) reads it."""
    import subprocess
    import sys

    from conftest import REPO

    moved = subprocess.run([sys.executable, "-m", "wt06", "as-of", "--warehouse", str(warehouse_copy),
                            "--set", "2024-02-09 07:00"], capture_output=True, text=True, cwd=REPO)
    assert moved.returncode == 0, moved.stderr
    result = dbt_runner.invoke("dbt run --select fct_revenue_daily", warehouse=warehouse_copy,
                               project=project_copy, work=tmp_path)
    assert result.success and result.invoked_at == datetime(2024, 2, 9, 7, 0)
    import duckdb

    con = duckdb.connect(str(warehouse_copy))  # plain: dbt-duckdb still holds the file in this process
    try:
        assert con.execute("select max(_refreshed_at) from fct_revenue_daily").fetchone()[0] == \
            datetime(2024, 2, 9, 7, 0)
    finally:
        con.close()
        dbt_runner.release()


def test_the_mart_test_passes_on_friday_morning_and_fails_on_monday(warehouse_copy, project_copy):
    apply_reference_fix(project_copy)
    friday = dbt_runner.invoke("dbt test --select assert_marts_fresh", warehouse=warehouse_copy,
                               project=project_copy, as_of="2024-02-09 07:00")
    monday = dbt_runner.invoke("dbt test --select assert_marts_fresh", warehouse=warehouse_copy,
                               project=project_copy, as_of="2024-02-12 09:00")
    assert friday.success and friday.nodes == [("assert_marts_fresh", "test", "pass")]
    assert not monday.success and monday.nodes == [("assert_marts_fresh", "test", "fail")]
