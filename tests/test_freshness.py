"""Replaying `dbt source freshness`: the same verdicts as dbt, both config forms, judged by behaviour."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from conftest import apply_reference_fix
from wt06 import freshness
from wt06.incident.scenario import LOADER_OUTAGE, Scenario, ScenarioParams
from wt06.pipeline import dbt_runner

SOURCES = "models/staging/_sources.yml"


def _configure(project, source_level: str = "", tables: dict | None = None) -> None:
    """Insert YAML under the source (``source_level``) and under tables (name -> YAML)."""
    path = project / SOURCES
    text = path.read_text()
    if source_level:
        text = text.replace("    schema: raw\n", "    schema: raw\n" + source_level)
    for table, block in (tables or {}).items():
        text = re.sub(rf"(      - name: {table}\n        description:(?: >\n(?:          .*\n)+|.*\n))",
                      lambda m, block=block: m.group(1) + block, text)
    path.write_text(text)


CONFIG_STYLE = """    config:
      loaded_at_field: _loaded_at
      freshness:
        warn_after: {count: 2, period: day}
        error_after: {count: 4, period: day}
"""
TOP_LEVEL = """    loaded_at_field: _loaded_at
    freshness:
      warn_after: {count: 2, period: day}
      error_after: {count: 4, period: day}
"""
QUIET = {"raw_customers": "        config:\n          freshness: null\n",
         "raw_job_revisions": "        config:\n          freshness: null\n"}
QUIET_TOP = {"raw_customers": "        freshness: null\n", "raw_job_revisions": "        freshness: null\n"}


def _replay(warehouse, project, tmp_path, **kwargs):
    return freshness.replay(warehouse, project, tmp_path / "replay", **kwargs)


def test_the_replay_agrees_with_dbt_source_freshness(warehouse_copy, project_copy, tmp_path):
    """At moments after the last load (dbt sees every row then), replay == dbt's own verdicts."""
    apply_reference_fix(project_copy)
    moments = ["2024-02-12 09:00", "2024-02-14 12:00", "2024-02-16 09:00", "2024-02-21 09:00"]
    replayed = _replay(warehouse_copy, project_copy, tmp_path, moments=moments)
    for index, moment in enumerate(moments):
        real = dbt_runner.invoke("dbt source freshness", warehouse=warehouse_copy, project=project_copy,
                                 as_of=moment, work=tmp_path / "real", record=False)
        theirs = {name: status for name, _, status in real.nodes}
        mine = {t: r["statuses"][index] for t, r in replayed["tables"].items() if r["config"]["checked"]}
        assert mine == theirs, moment


def test_both_config_forms_give_the_same_effective_configuration(project_copy, tmp_path):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(project_copy, other)
    _configure(project_copy, CONFIG_STYLE, QUIET)
    _configure(other, TOP_LEVEL, QUIET_TOP)
    config_style = freshness.effective_config(project_copy, tmp_path / "a")
    top_level = freshness.effective_config(other, tmp_path / "b")
    assert config_style == top_level
    assert config_style["raw_orders"]["error_after_hours"] == 96 and config_style["raw_orders"]["checked"]
    assert not config_style["raw_customers"]["checked"] and not config_style["raw_job_revisions"]["checked"]


def test_table_level_settings_override_the_source_and_inherit_the_rest(project_copy, tmp_path):
    _configure(project_copy, CONFIG_STYLE, {"raw_orders": (
        "        config:\n          freshness:\n            error_after: {count: 6, period: day}\n"
        "            filter: \"status = 'completed'\"\n")})
    config = freshness.effective_config(project_copy, tmp_path)
    assert config["raw_orders"]["error_after_hours"] == 144
    assert config["raw_orders"]["warn_after_hours"] == 48, "dbt merges: warn_after comes from the source"
    assert config["raw_orders"]["filter"] == "status = 'completed'"
    assert config["raw_events"]["error_after_hours"] == 96


@pytest.mark.parametrize("source_level, tables, passes", [
    (CONFIG_STYLE, QUIET, True),  # per-table thresholds: the reference's idea
    (TOP_LEVEL, QUIET_TOP, True),  # the older form works too
    ("""    config:
      loaded_at_field: _loaded_at
      freshness:
        warn_after: {count: 24, period: hour}
        error_after: {count: 48, period: hour}
""", {}, False),  # the walkthrough's blanket 24 h / 48 h: errors on normal quiet days
    ("""    config:
      loaded_at_field: _loaded_at
      freshness:
        error_after: {count: 4, period: day}
""", {}, False),  # 4 days on every table: the job history and signups go quiet for longer
    ("""    config:
      loaded_at_field: _loaded_at
      freshness:
        error_after: {count: 1, period: hour}
""", {}, False),  # a blanket 1 h
], ids=["config-style", "top-level", "blanket-24-48h", "blanket-4-days", "blanket-1h"])
def test_a_configuration_is_judged_by_its_replay_on_the_course_incident(warehouse_copy, project_copy, tmp_path,
                                                                       source_level, tables, passes):
    from wt06.incident.scenario import load_scenario

    _configure(project_copy, source_level, tables)
    verdict = freshness.check(warehouse_copy, project_copy, tmp_path, load_scenario().truth())["verdict"]
    assert verdict["passed"] is passes, verdict["problems"]
    if not passes:
        assert "false alarm" in verdict["problems"][0]


def test_a_configuration_must_detect_a_loader_outage_in_time(project_copy, tmp_path, public_incident):
    drill = public_incident("loader_outage_drill")
    _configure(project_copy, CONFIG_STYLE, QUIET)
    good = freshness.check(drill.warehouse, project_copy, tmp_path / "good", drill.truth)["verdict"]
    assert good["passed"] and good["detection_delay_days"] <= freshness.DETECT_WITHIN_DAYS
    lenient = tmp_path / "lenient"
    import shutil

    shutil.copytree(project_copy, lenient)
    text = (lenient / SOURCES).read_text()
    (lenient / SOURCES).write_text(text.replace("error_after: {count: 4, period: day}",
                                                "error_after: {count: 5, period: day}"))
    late = freshness.check(drill.warehouse, lenient, tmp_path / "late", drill.truth)["verdict"]
    assert not late["passed"] and late["false_alarms"] == [] and "past the" in late["problems"][0]


def test_nothing_configured_detects_nothing(project_copy, tmp_path, public_incident):
    drill = public_incident("loader_outage_drill")
    verdict = freshness.check(drill.warehouse, project_copy, tmp_path, drill.truth)["verdict"]
    assert not verdict["passed"] and "no table ever errored" in verdict["problems"][0]


def test_freshness_without_loaded_at_field_is_a_runtime_error_as_in_dbt(warehouse_copy, project_copy, tmp_path):
    _configure(project_copy, "    config:\n      freshness:\n        error_after: {count: 4, period: day}\n")
    replayed = _replay(warehouse_copy, project_copy, tmp_path, moments=["2024-02-12 09:00"])
    assert replayed["tables"]["raw_orders"]["statuses"] == ["runtime error"]
    real = dbt_runner.invoke("dbt source freshness", warehouse=warehouse_copy, project=project_copy,
                             record=False, work=tmp_path / "real")
    assert {status for _, _, status in real.nodes} == {"runtime error"}


def test_only_rows_loaded_by_each_moment_count(warehouse_copy, project_copy, tmp_path):
    _configure(project_copy, CONFIG_STYLE, QUIET)
    replayed = _replay(warehouse_copy, project_copy, tmp_path, moments=["2024-02-09 09:00", "2024-02-12 09:00"])
    ages = replayed["tables"]["raw_orders"]["ages_hours"]
    assert ages == [pytest.approx(15.49, abs=0.01), pytest.approx(15.49, abs=0.01)]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 4])
def test_the_reference_thresholds_hold_on_loader_outage_variants(project_copy, tmp_path, seed):
    from wt06.pipeline.build import build_warehouse

    scenario = Scenario(ScenarioParams.variant(seed, story=LOADER_OUTAGE))
    scenario.write(tmp_path / "data")
    built = build_warehouse(tmp_path / "variant.duckdb", data_dir=tmp_path / "data")
    apply_reference_fix(project_copy)
    verdict = freshness.check(built, project_copy, tmp_path, scenario.truth())["verdict"]
    assert verdict["passed"], verdict["problems"]
    assert datetime.fromisoformat(verdict["detected_at"]) > datetime.fromisoformat(scenario.truth()["last_delivery"])


def test_each_loader_table_stopping_alone_must_error_in_time(warehouse_copy, project_copy, tmp_path):
    """A table that never goes more than the allowed days without rows must error within them
    if it alone stops (the others still delivering): freshness on one table only is not enough.
    A table that legitimately goes quiet for longer (customers) may stay unchecked."""
    from wt06.incident.scenario import load_scenario

    assert freshness.watched_tables() == ["raw_events", "raw_orders"]
    truth = load_scenario().truth()
    _configure(project_copy, CONFIG_STYLE, {**QUIET, "raw_events": "        config:\n          freshness: null\n"})
    verdict = freshness.check(warehouse_copy, project_copy, tmp_path / "one", truth)["verdict"]
    assert not verdict["passed"] and verdict["false_alarms"] == []
    assert [m["table"] for m in verdict["missed_alone"]] == ["raw_events"]
    assert "raw_events alone stopped" in verdict["problems"][0]

    apply_reference_fix(project_copy)
    replayed = freshness.check(warehouse_copy, project_copy, tmp_path / "ref", truth)
    assert replayed["verdict"]["passed"], replayed["verdict"]["problems"]
    stops = {t: r["stop_alone_days"] for t, r in replayed["replay"]["tables"].items()}
    assert stops["raw_orders"] <= freshness.DETECT_WITHIN_DAYS and stops["raw_events"] <= freshness.DETECT_WITHIN_DAYS
    assert stops["raw_job_revisions"] is None  # freshness: null there
