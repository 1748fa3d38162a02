"""The scheduler's job in the repository: its history explains the incident; a guard refuses partial jobs."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import rows
from wt06.incident.scenario import BROKEN_SELECTORS
from wt06.orchestrator import check_production_job, job_at


@pytest.mark.parametrize("command", [f'dbt run --select "{s}"' for s in BROKEN_SELECTORS]
                         + ['dbt build --select "staging.*"', 'dbt run --exclude "marts.*"',
                            "dbt run -s stg_orders+", "dbt test", "dbt source freshness",
                            # every model selected, but built otherwise than production builds it
                            "dbt run --empty", "dbt build --vars '{mart_freshness_sla_hours: 1}'",
                            "dbt run --target dev", "dbt run --target-path /tmp/elsewhere",
                            "dbt run --threads 0", "dbt run-operation run_query"])
def test_the_guard_refuses_a_production_job_that_leaves_models_out(warehouse_copy, project_copy, tmp_path,
                                                                   command):
    check = check_production_job(command, warehouse=warehouse_copy, project=project_copy, work=tmp_path)
    assert not check.ok and check.problems
    assert "REFUSED" in repr(check)


@pytest.mark.parametrize("command", ["dbt run", "dbt build", "dbt run --threads 4", "dbt run --full-refresh -x",
                                     'dbt run --select "staging.* intermediate.* marts.*"',
                                     'dbt build --select "path:models"'])
def test_the_guard_accepts_a_job_that_builds_every_model(warehouse_copy, project_copy, tmp_path, command):
    check = check_production_job(command, warehouse=warehouse_copy, project=project_copy, work=tmp_path)
    assert check.ok, check.problems
    assert len(check.selected) == 8


def test_the_job_history_holds_the_change_that_caused_the_incident(incident_warehouse, warehouse_copy,
                                                                   project_copy, tmp_path):
    import duckdb

    con = duckdb.connect(str(warehouse_copy))
    try:
        before = job_at(con, datetime(2024, 2, 8, 18, 0))
        during = job_at(con, datetime(2024, 2, 9, 6, 0))
    finally:
        con.close()
    assert before["command"] == "dbt run" and before["cron"] == "12 18 * * *"
    assert during["command"] == 'dbt run --select "staging.*"' and during["cron"] == "0 6 * * *"
    assert not check_production_job(during["command"], warehouse=warehouse_copy, project=project_copy,
                                    work=tmp_path).ok
    assert check_production_job(before["command"], warehouse=warehouse_copy, project=project_copy,
                                work=tmp_path).ok
    runs = rows(incident_warehouse, "select distinct strftime(started_at, '%H') from raw.raw_pipeline_runs "
                                    "where models_run <> 'all' and triggered_by = 'schedule'")
    assert runs == [("06",)], "the cron change explains the run log's new start time"
