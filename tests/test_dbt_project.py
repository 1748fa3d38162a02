"""The dbt project: its schema tests pass, the reference fix behaves, dbt stays offline."""

from __future__ import annotations

import os
import stat
from datetime import date

import pytest
import yaml

from conftest import REPO, apply_reference_fix, rows, scalar
from wt06.errors import DbtCommandError
from wt06.foundation.tables import RAW_TABLES
from wt06.incident.scenario import BROKEN_SELECTORS
from wt06.pipeline import dbt_runner

STAGING = ["stg_customers", "stg_events", "stg_orders", "stg_pipeline_runs"]
BUILT_LATER = ["fct_daily_signups", "fct_job_runs_daily", "fct_revenue_daily", "int_orders_enriched"]


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
    assert fix.models_run == sorted(STAGING + BUILT_LATER)
    after = dbt_runner.invoke("dbt test --select assert_marts_fresh", warehouse=warehouse_copy,
                              project=project_copy)
    assert after.success
    assert scalar(warehouse_copy, "select max(order_date) from fct_revenue_daily") == date(2024, 2, 11)


def test_the_incident_project_does_not_contain_the_fix_nor_a_diagnosis():
    text = (REPO / "dbt_project/models/staging/_sources.yml").read_text()
    assert "freshness" not in text and "loaded_at_field" not in text
    assert [p.name for p in (REPO / "dbt_project/tests").iterdir()] == [".gitkeep"]
    for path in (REPO / "dbt_project").rglob("*"):
        if path.is_file() and "target" not in path.parts:
            body = path.read_text()
            for diagnosis in ("is_phantom_success", "refreshed_marts", "is_full_run"):
                assert diagnosis not in body, f"{path.relative_to(REPO)} ships the diagnosis {diagnosis}"


def test_the_run_log_staging_model_is_the_log_as_the_orchestrator_gives_it(warehouse_copy):
    columns = [c for (c,) in rows(warehouse_copy, "select column_name from information_schema.columns "
                                                  "where table_name = 'stg_pipeline_runs' order by ordinal_position")]
    assert columns == RAW_TABLES["raw_pipeline_runs"].column_names


def test_the_dashboard_is_an_exposure_and_the_blast_radius_is_asked_of_dbt(warehouse_copy, project_copy):
    from wt06.project import dashboard_marts

    assert dashboard_marts(project_copy) == ["fct_daily_signups", "fct_revenue_daily"]
    upstream = dbt_runner.invoke('dbt ls --resource-type model --output name --select "+exposure:revenue_dashboard"',
                                 warehouse=warehouse_copy, project=project_copy, record=False).listed
    marts = dbt_runner.invoke('dbt ls --resource-type model --output name --select "tag:mart"',
                              warehouse=warehouse_copy, project=project_copy, record=False).listed
    affected = set(upstream) - set(STAGING)
    # the answer is neither the exposure's direct list, nor every mart, nor the not-run list
    assert affected == {"fct_daily_signups", "fct_revenue_daily", "int_orders_enriched"}
    assert affected != set(dashboard_marts(project_copy)) and affected != set(marts)
    assert affected != set(BUILT_LATER)


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
    assert sorted(result.listed) == STAGING


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


def test_the_runner_gives_dbt_its_settings_without_touching_the_environment(warehouse_copy, project_copy,
                                                                            monkeypatch, tmp_path):
    """No os.environ swapping: a WT06_WAREHOUSE pointing elsewhere changes nothing."""
    monkeypatch.setenv("WT06_WAREHOUSE", str(tmp_path / "not-this-one.duckdb"))
    seen = []
    monkeypatch.setattr(os, "environ", _Recording(os.environ, seen))
    result = dbt_runner.invoke("dbt run --select stg_orders", warehouse=warehouse_copy, project=project_copy,
                               work=tmp_path / "work")
    assert result.success, result.log
    assert seen == [], f"the runner wrote {seen} into the process environment"
    assert not (tmp_path / "not-this-one.duckdb").exists()
    assert (tmp_path / "work" / "dbt" / "target" / "run_results.json").is_file()


class _Recording(dict):
    def __init__(self, environ, seen):
        super().__init__(environ)
        self._seen = seen

    def __setitem__(self, key, value):
        self._seen.append(key)
        super().__setitem__(key, value)


@pytest.mark.parametrize("command, kind", [
    ("dbt test --select assert_marts_fresh", "test"),
    ("dbt run --select no_such_model", "model"),
    ("dbt source freshness", "source"),
])
def test_a_command_that_selects_nothing_is_reported_as_a_failure(warehouse_copy, project_copy, command, kind,
                                                                 capsys):
    result = dbt_runner.invoke(command, warehouse=warehouse_copy, project=project_copy, echo=True)
    assert result.ran_nothing and not result.success and result.nodes == []
    assert "NOTHING RAN" in result.summary() and "Not a pass" in result.summary()
    assert "NOTHING RAN" in capsys.readouterr().out
    status = rows(warehouse_copy, "select status from audit.dbt_invocations order by invoked_at desc, "
                                  "command limit 1")
    assert status == [("nothing ran",)]


def _compiled_analyses(warehouse, project, work) -> dict[str, str]:
    result = dbt_runner.invoke('dbt compile --select "resource_type:analysis"', warehouse=warehouse,
                               project=project, work=work)
    assert result.success, result.log
    folder = work / "dbt" / "target" / "compiled" / "wt06" / "analyses"
    return {p.stem: p.read_text() for p in sorted(folder.glob("*.sql"))}


def _verification(warehouse, sql) -> dict[str, bool]:
    from wt06.incident.warehouse import connect

    con = connect(warehouse)
    try:
        return dict(con.execute(sql).fetchall())
    finally:
        con.close()


def test_the_analyses_run_answer_no_question_and_verification_turns_green_after_the_fix(
        warehouse_copy, project_copy, tmp_path):
    analyses = _compiled_analyses(warehouse_copy, project_copy, tmp_path)
    assert sorted(analyses) == ["01_investigation", "02_solution", "03_verification"]
    first_look = rows(warehouse_copy, analyses["01_investigation"])
    assert [table for table, _ in first_look] == sorted(RAW_TABLES)
    for text in analyses.values():  # the runbook points at steps; the notebooks hold the answers
        for answer_like in ("_refreshed_at) as", "models_run <> 'all'", "hours_stale", "not in (select"):
            assert answer_like not in text
    sla = yaml.safe_load((project_copy / "dbt_project.yml").read_text())["vars"]["mart_freshness_sla_hours"]
    assert f"= {sla} h" in analyses["02_solution"]  # the runbook states the project's SLA
    before = _verification(warehouse_copy, analyses["03_verification"])
    assert set(before.values()) == {False} and len(before) == 3
    assert dbt_runner.invoke("dbt run", warehouse=warehouse_copy, project=project_copy).success
    after = _verification(warehouse_copy, analyses["03_verification"])
    assert set(after.values()) == {True}


@pytest.mark.slow
def test_dbt_from_a_terminal_needs_no_course_variable(incident_warehouse, tmp_path):
    """A fresh clone's layout, the course's environment on PATH, nothing else: `cd dbt_project`
    then `dbt debug`, `dbt run`, `dbt source freshness` work on ../data/warehouse.duckdb at
    the story's clock."""
    import shutil
    import subprocess
    import sys
    from datetime import datetime

    from wt06.incident.workcopy import copy_project

    clone = tmp_path / "clone"
    copy_project(REPO / "dbt_project", clone / "dbt_project")
    apply_reference_fix(clone / "dbt_project")
    (clone / "data").mkdir()
    shutil.copy(incident_warehouse, clone / "data" / "warehouse.duckdb")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WT06_", "DBT_")) and k not in ("DO_NOT_TRACK",)}
    env["PATH"] = f"{os.path.dirname(sys.executable)}{os.pathsep}{env.get('PATH', '')}"
    for args in (["debug"], ["run"], ["source", "freshness"]):
        done = subprocess.run(["dbt", *args], cwd=clone / "dbt_project", env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"dbt {' '.join(args)}:\n{done.stdout[-2500:]}{done.stderr[-1000:]}"
    import json

    checked = json.loads((clone / "dbt_project" / "target" / "sources.json").read_text())["results"]
    assert sorted(r["status"] for r in checked) == ["pass"] * 4  # four tables, fresh at the story's now
    import duckdb

    con = duckdb.connect(str(clone / "data" / "warehouse.duckdb"), read_only=True)
    try:
        refreshed, newest = con.execute(
            "select max(_refreshed_at), max(order_date) from fct_revenue_daily").fetchone()
    finally:
        con.close()
    assert refreshed == datetime(2024, 2, 12, 9, 0) and newest == date(2024, 2, 11)
