"""One dbt parse per project contents (wt06.pipeline.dbt_runner): reused, redone when a file changes.

dbt is handed a parsed manifest instead of parsing the project on every command; these
tests pin down when that parse is reused (same contents, same database name, anywhere on
disk) and when it is redone (a file written, other parse-shaping flags), and that dbt
still reports a project it cannot parse in its own words.
"""

from __future__ import annotations

from wt06.incident.workcopy import copy_project, copy_warehouse
from wt06.pipeline import dbt_runner

LIST = "dbt ls --resource-type model --output name"


def _parses() -> int:
    return dbt_runner.PARSES["count"]


def test_the_same_project_is_parsed_once_and_a_written_file_is_seen(warehouse_copy, project_copy, tmp_path):
    first = dbt_runner.invoke(LIST, warehouse=warehouse_copy, project=project_copy, work=tmp_path)
    parses = _parses()
    again = dbt_runner.invoke(LIST, warehouse=warehouse_copy, project=project_copy, work=tmp_path)
    assert _parses() == parses and again.listed == first.listed
    (project_copy / "models" / "marts" / "fct_new.sql").write_text("select 1 as one\n")
    changed = dbt_runner.invoke(LIST, warehouse=warehouse_copy, project=project_copy, work=tmp_path)
    assert _parses() == parses + 1
    assert sorted(changed.listed) == sorted([*first.listed, "fct_new"])
    assert "fct_new" in changed.project_models


def test_a_copy_elsewhere_reuses_the_parse_and_runs_on_its_own_warehouse(warehouse_copy, project_copy, tmp_path):
    dbt_runner.invoke(LIST, warehouse=warehouse_copy, project=project_copy, work=tmp_path / "one")
    parses = _parses()
    other = copy_project(project_copy, tmp_path / "elsewhere" / "dbt_project")
    warehouse = copy_warehouse(warehouse_copy, tmp_path / "elsewhere" / "warehouse.duckdb")
    result = dbt_runner.invoke('dbt run --select "staging.*"', warehouse=warehouse, project=other,
                               work=tmp_path / "two")
    assert result.success and len(result.models_run) == 4
    assert _parses() == parses, "a copy of the same project with a warehouse of the same name parsed again"


def test_vars_are_parsed_with_unless_handed_over_at_run_time(warehouse_copy, project_copy, tmp_path):
    (project_copy / "tests" / "assert_sla_small.sql").write_text(
        "select 1 as failure where {{ var('mart_freshness_sla_hours') }} < 10\n")
    test = "dbt test --select assert_sla_small"
    assert dbt_runner.invoke(test, warehouse=warehouse_copy, project=project_copy, work=tmp_path).success
    parses = _parses()
    small = f"{test} --vars '{{mart_freshness_sla_hours: 5}}'"
    at_runtime = dbt_runner.invoke(small, warehouse=warehouse_copy, project=project_copy, work=tmp_path,
                                   vars_at_runtime=True)
    assert at_runtime.failures == ["assert_sla_small"] and _parses() == parses
    parsed_with = dbt_runner.invoke(small, warehouse=warehouse_copy, project=project_copy, work=tmp_path)
    assert parsed_with.failures == ["assert_sla_small"] and _parses() == parses + 1


def test_a_project_dbt_cannot_parse_is_reported_in_dbts_words(warehouse_copy, project_copy, tmp_path):
    (project_copy / "models" / "staging" / "_broken.yml").write_text("version: 2\nmodels: [unclosed\n")
    result = dbt_runner.invoke("dbt run", warehouse=warehouse_copy, project=project_copy, work=tmp_path)
    assert not result.success and result.exit_code == 2
    assert "_broken.yml" in f"{result.error} {result.log}"
    (project_copy / "models" / "staging" / "_broken.yml").unlink()
    (project_copy / "models" / "marts" / "fct_new.sql").write_text("select 1 as one\n")
    fixed = dbt_runner.invoke(LIST, warehouse=warehouse_copy, project=project_copy, work=tmp_path)
    assert fixed.success and "fct_new" in fixed.listed


def test_a_command_writes_only_in_its_work_folder(warehouse_copy, tmp_path, monkeypatch):
    """The course's own parse state is kept in the work folder the caller named, never in the
    default one (a grader's worker must not write into the instructor's data/work)."""
    from wt06.foundation import paths

    monkeypatch.setenv("WT06_WORK_DIR", str(tmp_path / "default-work"))
    monkeypatch.setattr(dbt_runner, "_MANIFESTS", {})  # as in a fresh process: nothing parsed yet
    monkeypatch.setattr(dbt_runner, "_COURSE_PARSES", {})
    result = dbt_runner.invoke(LIST, warehouse=warehouse_copy, project=paths.project_dir(), work=tmp_path / "mine")
    assert result.success
    assert not (tmp_path / "default-work").exists()
    assert list((tmp_path / "mine" / ".dbt-parse").glob("*.msgpack")), "the course's parse state is kept there"
