"""A singular freshness test is judged across many warehouse states, not one lucky pair."""

from __future__ import annotations

import pytest

from conftest import apply_reference_fix
from wt06 import singular_test

TEST = "tests/assert_marts_fresh.sql"
MARTS = """
with marts as (
    select 'fct_revenue_daily' as mart, max(_refreshed_at) as last_refreshed_at from {{ ref('fct_revenue_daily') }}
    union all
    select 'fct_daily_signups', max(_refreshed_at) from {{ ref('fct_daily_signups') }}
)
"""
WRONG = {
    # the machine's clock: the marts always look years old
    "now": MARTS + "select * from marts where last_refreshed_at < now() - interval '25 hours'",
    # the SLA typed in instead of the project variable
    "typed SLA": MARTS + "select * from marts where last_refreshed_at < {{ current_timestamp() }} - interval '25 hours'",
    # an empty mart has max(_refreshed_at) = null, which compares as neither old nor new
    "no empty check": MARTS + """select * from marts
        where last_refreshed_at < {{ current_timestamp() }} - interval '{{ var("mart_freshness_sla_hours") }} hours'""",
    # only one mart
    "one mart": """select max(_refreshed_at) from {{ ref('fct_revenue_daily') }}
        having max(_refreshed_at) < {{ current_timestamp() }} - interval '{{ var("mart_freshness_sla_hours") }} hours'""",
    # only one mart, empty handled: passes where the other mart alone is stale (or empty)
    "signups forgotten": """select 'fct_revenue_daily' as mart from {{ ref('fct_revenue_daily') }}
        having max(_refreshed_at) is null
            or max(_refreshed_at) < {{ current_timestamp() }} - interval '{{ var("mart_freshness_sla_hours") }} hours'""",
    # always fails
    "always": "select 1 as stale",
}


def _states(warehouse, project, tmp_path, text=None):
    if text is None:
        apply_reference_fix(project)
    else:
        (project / TEST).write_text(text)
    return singular_test.run_states(warehouse, project, tmp_path / "states")


@pytest.mark.slow
def test_the_reference_test_is_right_in_every_state(warehouse_copy, project_copy, tmp_path):
    outcome = _states(warehouse_copy, project_copy, tmp_path)
    assert outcome["passed"], singular_test.describe(outcome)
    labels = " ".join(s["state"] for s in outcome["states"])
    for state in ("stale", "rebuild", "inside", "past", "empty", "again", "SLA variable"):
        assert state in labels or state in labels.replace("as it stands", "stale")
    assert {s["expected"] for s in outcome["states"]} == {"pass", "fail"}
    for mart in ("fct_revenue_daily", "fct_daily_signups"):  # every single fault of each mart
        assert f"{mart} alone past the SLA" in labels and f"{mart} empty" in labels


@pytest.mark.slow
@pytest.mark.parametrize("mistake", sorted(WRONG))
def test_common_mistakes_are_caught(warehouse_copy, project_copy, tmp_path, mistake):
    outcome = _states(warehouse_copy, project_copy, tmp_path, WRONG[mistake])
    assert not outcome["passed"]
    assert singular_test.describe(outcome)


def test_a_missing_test_is_not_run_not_passed(warehouse_copy, project_copy, tmp_path):
    outcome = singular_test.run_states(warehouse_copy, project_copy, tmp_path / "states")
    assert not outcome["passed"]
    assert {s["status"] for s in outcome["states"]} == {"not run"}
