"""The incidents hidden checks run on: the course's own and variants with other seeds.

Each is a built incident warehouse (the real build, so the variants are as coherent as
the course's incident), its story's "now", and the moments a monitor rule is replayed
at. Builds are cached under the work folder, keyed by everything that shapes them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

import wt06
from wt06 import paths
from wt06.build import build_warehouse
from wt06.scenario import Scenario, ScenarioParams, load_scenario

from .checks import CANONICAL

VARIANT_SEEDS = (101, 202)


def _digest(data_dir: Path, params: ScenarioParams) -> str:
    h = hashlib.sha256(params.to_json().encode())
    for root in (paths.project_dir(), Path(wt06.__file__).parent):
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".sql", ".yml") and "target" not in path.parts:
                h.update(path.read_bytes())
    for path in incident_inputs(data_dir):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def incident_inputs(data_dir: Path) -> list[Path]:
    """The CSVs a build reads (raw/, landing/<day>/): not whatever else lies below data/.

    The default work folder (data/work/) holds other incidents' CSVs, which must not
    change this incident's digest.
    """
    return sorted([*data_dir.glob("raw/*.csv"), *data_dir.glob("landing/*/*.csv")])


def _moments(warehouse: Path, now) -> list[str]:
    """Replay moments: the first phantom run's start, every later run's finish, and now."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        first = con.execute("select min(started_at) from raw.raw_pipeline_runs "
                            "where models_run <> 'all'").fetchone()[0]
        finishes = [r for (r,) in con.execute(
            "select finished_at from raw.raw_pipeline_runs where started_at >= ? order by 1", [first]).fetchall()]
    finally:
        con.close()
    return [str(m) for m in [first, *finishes, now]]


def prepare(cache: Path | None = None, seeds=VARIANT_SEEDS) -> dict[str, dict]:
    """name -> {warehouse, now, moments} for the canonical incident and each variant."""
    cache = Path(cache or paths.work_dir() / "grading-scenarios")
    prepared = {}
    wanted = [(CANONICAL, paths.data_dir(), load_scenario().params)]
    wanted += [(f"variant-{seed}", None, ScenarioParams.variant(seed)) for seed in seeds]
    for name, data_dir, params in wanted:
        folder = cache / name
        if data_dir is None:
            data_dir = folder / "data"
            Scenario(params).write(data_dir)
        key = _digest(data_dir, params)
        warehouse = folder / f"warehouse-{key}.duckdb"
        if not warehouse.exists():
            for old in folder.glob("warehouse-*.duckdb"):
                old.unlink()
            build_warehouse(warehouse, data_dir=data_dir, work=folder / "build")
        now = Scenario(params).story_now
        prepared[name] = {"warehouse": str(warehouse), "now": str(now),
                          "moments": _moments(warehouse, now)}
    return prepared


def describe(prepared: dict) -> str:
    return json.dumps({k: {"now": v["now"]} for k, v in prepared.items()})
