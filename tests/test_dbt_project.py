"""The dbt project: its schema tests pass, the reference fix behaves, dbt stays offline."""

from __future__ import annotations

import os
import stat
from datetime import date

import pytest

from conftest import REPO, apply_reference_fix, rows, scalar
from wt06 import dbt_runner
from wt06.errors import DbtCommandError
from wt06.scenario import BROKEN_SELECTORS
from wt06.tables import RAW_TABLES

import yaml

STAGING = ["stg_customers", "stg_events", "stg_orders", "stg_pipeline_runs"]


def test_dbt_build_passes_every_schema_test(warehouse_copy, project_copy):
    result = dbt_runner.invoke("dbt build", warehouse=warehouse_copy, project=project_copy)
    tests = [n for n in result.nodes if n[1] == "test"]
    assert result.success, result.log
    assert len(tests) > 20 and {status for *_, status in tests} == {"pass"}


def test_the_reference_freshness_test_fails_on_the_incident_and_passes_after_a_full_run(
        warehouse_copy, project_copy):
    apply_reference_fix(project_copy)
    before = dbt_runner.invoke("dbt test --select assert_marts_fresh", warehouse=warehouse_copy,
                               project=project_copy)
    assert not before.success and before.failures == ["assert_marts_fresh"]
    fix = dbt_runner.invoke("dbt run", warehouse=warehouse_copy, project=project_copy)
    assert fix.models_run == sorted(STAGING + ["fct_daily_signups", "fct_revenue_daily"])
    after = dbt_runner.invoke("dbt test --select assert_marts_fresh", warehouse=warehouse_copy,
                              project=project_copy)
    assert after.success
    assert scalar(warehouse_copy, "select max(order_date) from fct_revenue_daily") == date(2024, 2, 11)


def test_the_incident_project_does_not_contain_the_fix():
    sources = yaml.safe_load((REPO / "dbt_project/models/staging/_sources.yml").read_text())
    assert "freshness" not in sources["sources"][0] and "loaded_at_field" not in sources["sources"][0]
    assert [p.name for p in (REPO / "dbt_project/tests").iterdir()] == [".gitkeep"]


def test_sources_declare_the_loaders_tables():
    sources = yaml.safe_load((REPO / "dbt_project/models/staging/_sources.yml").read_text())
    (source,) = sources["sources"]
    assert source["schema"] == "raw"
    assert sorted(t["name"] for t in source["tables"]) == sorted(RAW_TABLES)
    for table in source["tables"]:
        declared = {c["name"] for c in table["columns"]}
        assert declared <= set(RAW_TABLES[table["name"]].column_names)
        assert "_loaded_at" in declared


@pytest.mark.parametrize("selector", BROKEN_SELECTORS)
def test_every_broken_selector_builds_staging_and_leaves_the_marts_out(warehouse_copy, project_copy, selector):
    result = dbt_runner.invoke(["dbt", "ls", "--resource-type", "model", "--output", "name",
                                "--select", selector], warehouse=warehouse_copy, project=project_copy)
    names = sorted(line.split()[-1] for line in result.log.splitlines() if line.strip().startswith("stg_")
                   or line.strip().startswith("fct_"))
    assert names == STAGING


def test_dbt_runs_from_a_read_only_project_and_leaves_it_untouched(warehouse_copy, project_copy, tmp_path):
    before = sorted(p.relative_to(project_copy) for p in project_copy.rglob("*"))
    for path in [project_copy, *project_copy.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        result = dbt_runner.invoke("dbt run --select \"staging.*\"", warehouse=warehouse_copy,
                                   project=project_copy, work=tmp_path / "work")
    finally:
        for path in [project_copy, *project_copy.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert result.success, result.log
    assert sorted(p.relative_to(project_copy) for p in project_copy.rglob("*")) == before
    assert (tmp_path / "work" / "dbt" / "target" / "run_results.json").is_file()


def test_the_partial_command_reports_success_and_does_not_touch_the_marts(warehouse_copy, project_copy):
    before = scalar(warehouse_copy, "select max(_refreshed_at) from fct_revenue_daily")
    result = dbt_runner.invoke('dbt run --select "staging.*"', warehouse=warehouse_copy, project=project_copy)
    assert result.success and result.exit_code == 0 and result.models_run == STAGING
    assert scalar(warehouse_copy, "select max(_refreshed_at) from fct_revenue_daily") == before
    last = rows(warehouse_copy, "select origin, selector, models_count from audit.dbt_invocations "
                                "order by invoked_at desc, origin limit 1")
    assert last == [("notebook", "staging.*", 4)]
    assert "marts" not in result.summary() and "4 models run" in result.summary()


@pytest.mark.parametrize("command, words", [
    ("run --select staging.*", "not a dbt command"),
    ('dbt run --select "staging.*', "Cannot read the command"),
    ("dbt deps", "downloads packages"),
    ("dbt", "add a subcommand"),
])
def test_unusable_commands_are_refused_with_a_reason(command, words):
    with pytest.raises(DbtCommandError, match=words):
        dbt_runner.parse_command(command)


def test_the_runner_does_not_leak_settings_into_the_process(warehouse_copy, project_copy):
    keys = ["DBT_PROJECT_DIR", "WT06_AS_OF", "WT06_DBT_WAREHOUSE", "DBT_TARGET_PATH"]
    before = {k: os.environ.get(k) for k in keys}
    dbt_runner.invoke("dbt ls", warehouse=warehouse_copy, project=project_copy, record=False)
    assert {k: os.environ.get(k) for k in keys} == before


def _compiled_analyses(warehouse, project, work) -> dict[str, str]:
    result = dbt_runner.invoke('dbt compile --select "resource_type:analysis"', warehouse=warehouse,
                               project=project, work=work)
    assert result.success, result.log
    folder = work / "dbt" / "target" / "compiled" / "wt06" / "analyses"
    return {p.stem: p.read_text() for p in sorted(folder.glob("*.sql"))}


def _verification(warehouse, sql) -> dict[str, bool]:
    from wt06.warehouse import connect

    con = connect(warehouse)
    try:
        return dict(con.execute(sql).fetchall())
    finally:
        con.close()


def test_the_analyses_run_and_verification_turns_green_after_the_fix(warehouse_copy, project_copy, tmp_path):
    analyses = _compiled_analyses(warehouse_copy, project_copy, tmp_path)
    assert sorted(analyses) == ["01_investigation", "02_solution", "03_verification"]
    layers = rows(warehouse_copy, analyses["01_investigation"].split(";")[0])
    assert [(layer, newest) for _, layer, _, newest, _ in layers] == [
        ("raw", date(2024, 2, 11)), ("staging", date(2024, 2, 11)), ("mart", date(2024, 2, 8))]
    assert "25 h" in analyses["02_solution"]  # the runbook states the project's SLA
    before = _verification(warehouse_copy, analyses["03_verification"])
    assert set(before.values()) == {False} and len(before) == 3
    assert dbt_runner.invoke("dbt run", warehouse=warehouse_copy, project=project_copy).success
    after = _verification(warehouse_copy, analyses["03_verification"])
    assert set(after.values()) == {True}
