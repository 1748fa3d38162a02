"""What the Python side needs to know about the dbt project: its settings and its DAG.

The mart freshness SLA is a dbt variable (``dbt_project.yml``), read by the singular
freshness test; the monitor and the notebooks read the same variable from here, so
changing the SLA for a cohort is a one-line change in one file.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from wt06.errors import DataError
from wt06.foundation import paths

SLA_VAR = "mart_freshness_sla_hours"


def project_vars(project: Path | None = None) -> dict:
    path = Path(project or paths.project_dir()) / "dbt_project.yml"
    try:
        return yaml.safe_load(path.read_text()).get("vars", {}) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"Cannot read the dbt project settings {path}: {exc}.") from None


def mart_sla_hours(project: Path | None = None) -> float:
    """The agreed maximum age of the marts, in hours (dbt var mart_freshness_sla_hours)."""
    value = project_vars(project).get(SLA_VAR)
    if not isinstance(value, (int, float)) or value <= 0:
        raise DataError(f"dbt_project.yml must set vars: {SLA_VAR} to a positive number of hours.")
    return float(value)


def manifest_models(target: Path) -> dict[str, dict]:
    """Models in dbt's last manifest (``target/manifest.json``): name -> {layer, parents}."""
    manifest = json.loads((Path(target) / "manifest.json").read_text())
    models = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        models[node["name"]] = {
            "layer": node["fqn"][1] if len(node["fqn"]) > 2 else "",
            "parents": sorted(p.split(".")[-1] for p in node["depends_on"]["nodes"]
                              if p.startswith("model.")),
        }
    return models


# The exposure the incident is about, and how each of its marts is dated.
DASHBOARD = "revenue_dashboard"
EXPOSURES_FILE = "models/marts/_exposures.yml"
FRESHNESS_TEST = "assert_marts_fresh"  # the singular test notebook 05 asks for
# mart -> (its date column, the query giving the newest such date staging already has)
MART_DATES = {
    "fct_daily_signups": ("signup_date",
                          "select max(event_date) from stg_events where event_type = 'signup'"),
    "fct_revenue_daily": ("order_date", "select max(order_date) from stg_orders"),
}


def dashboard_marts(project: Path | None = None) -> list[str]:
    """The models the dashboard exposure reads directly (its ``depends_on`` refs), sorted."""
    import re

    path = Path(project or paths.project_dir()) / EXPOSURES_FILE
    try:
        exposures = yaml.safe_load(path.read_text()).get("exposures", [])
        (exposure,) = [e for e in exposures if e.get("name") == DASHBOARD]
    except (OSError, yaml.YAMLError, AttributeError, ValueError) as exc:
        raise DataError(f"Cannot read the exposure {DASHBOARD} in {path}: {exc}.") from None
    refs = [re.fullmatch(r"ref\(['\"](\w+)['\"]\)", d.strip()) for d in exposure.get("depends_on", [])]
    return sorted(m.group(1) for m in refs if m)
