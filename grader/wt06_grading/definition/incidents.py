"""The incidents a course grades on: the student's own, and secret variants of it.

A hidden check re-runs a student's answer on other incidents so that an answer typed in
for the student's incident fails. Those incidents must be unknown to students: their
seeds come from a per-course secret (``<course>/.wt06/secret``, made on first use,
git-ignored, never exported; ``WT06_COURSE_SECRET`` overrides it), so neither the
public generator nor last year's course can predict them. Each is built by the real
build (``wt06.pipeline.build``) from its scenario parameters and cached by a digest of
everything that shapes it; a worker on another machine builds the same incident from the
same parameters and checks that its digest is the driver's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import wt06
from wt06.incident.scenario import Scenario, ScenarioParams, load_scenario
from wt06.incidents import PUBLIC as PUBLIC_INCIDENTS
from wt06.incidents import replay_moments
from wt06.pipeline.build import build_warehouse
from wt06_grading.foundation import layout

ENV_SECRET = "WT06_COURSE_SECRET"
CANONICAL = "canonical"
PUBLIC = "public"  # the practice incident and drills: built for the notebooks, never graded on
# Grading variants per story: how many incidents of each kind a course grades on.
VARIANTS = {"skipped_marts": 3, "loader_outage": 1}


@dataclass(frozen=True)
class IncidentSpec:
    """An incident as data: how to build it (travels to workers)."""

    id: str  # opaque, e.g. "g2": never shown to students
    story: str  # canonical | public | skipped_marts | loader_outage
    params: str | None  # ScenarioParams as JSON; None: built from the course's data folder ``data``
    digest: str = ""
    data: str | None = None  # for params None: the inputs' folder in the course (e.g. "data")
    name: str = ""  # a public incident's name (practice, ...): its warehouse is <name>.duckdb


@dataclass
class Built:
    """A built incident on this machine."""

    spec: IncidentSpec
    folder: Path  # holds warehouse.duckdb and incident.json
    now: str
    moments: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"


def course_secret(course: Path) -> bytes:
    """The course's secret (made on first use, readable by the instructor only)."""
    if os.environ.get(ENV_SECRET):
        return os.environ[ENV_SECRET].encode()
    path = layout.state_dir(course) / "secret"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode()


def _seed(secret: bytes, story: str, number: int) -> int:
    mac = hmac.new(secret, f"{story}-{number}".encode(), hashlib.sha256).hexdigest()
    return int(mac[:12], 16)


def _source_digest(data_dir: Path | None, params_json: str | None, project: Path) -> str:
    """A digest of everything that shapes a built incident (inputs, project, builder code)."""
    digest = hashlib.sha256((params_json or "canonical").encode())
    roots = [project, Path(wt06.__file__).parent]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".sql", ".yml", ".yaml") and \
                    not {"target", "logs", "__pycache__"} & set(path.parts):
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    if data_dir is not None:  # the build's inputs: raw/, landing/ and scenario.json
        for path in sorted(Path(data_dir).rglob("*")):
            relative = path.relative_to(data_dir)
            if path.is_file() and (relative.parts[0] in ("raw", "landing") or str(relative) == "scenario.json"):
                digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def grading_specs(course: Path, data_dir: Path, project: Path) -> list[IncidentSpec]:
    """The canonical incident, the public ones, and the course's secret grading variants."""
    secret = course_secret(course)
    specs = [IncidentSpec("c0", CANONICAL, None, _source_digest(data_dir, None, project), data="data")]
    for index, name in enumerate(PUBLIC_INCIDENTS):
        folder = Path(data_dir) / "incidents" / name
        specs.append(IncidentSpec(f"p{index}", PUBLIC, None, _source_digest(folder, None, project),
                                  data=f"data/incidents/{name}", name=name))
    number = 0
    for story, count in VARIANTS.items():
        for index in range(count):
            params_json = ScenarioParams.variant(_seed(secret, story, index), story=story).to_json()
            number += 1
            specs.append(IncidentSpec(f"g{number}", story, params_json, _source_digest(None, params_json, project)))
    return specs


def _moments(warehouse: Path, now) -> list[str]:
    """Replay moments, as the notebooks replay them (wt06.incidents.replay_moments)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [str(m) for m in replay_moments(con, now)]
    finally:
        con.close()


def build(spec: IncidentSpec, cache: Path, *, course: Path, project: Path) -> Built:
    """The built incident for ``spec`` under ``cache`` (built now if not cached).

    The folder holds ``warehouse.duckdb``, ``data/`` (the inputs, with scenario.json)
    and ``incident.json`` (its now, replay moments and what really happened). Jobs see
    only the warehouse (worker.py makes each graded incident a view of it alone).
    """
    data_dir = Path(course) / spec.data if spec.data else None
    digest = _source_digest(data_dir, spec.params, project)
    if spec.digest and digest != spec.digest:
        raise RuntimeError(f"incident {spec.id}: this machine builds digest {digest}, the driver expects "
                           f"{spec.digest}; install the same version of the course on every grading machine")
    folder = Path(cache) / digest
    info = folder / "incident.json"
    if not info.is_file():
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=Path(cache)))
        try:
            source = tmp / "data"
            if spec.params is None:
                shutil.copytree(data_dir, source, ignore=shutil.ignore_patterns("work", "incidents", "*.duckdb*"))
                scenario = load_scenario(source)
            else:
                scenario = Scenario(ScenarioParams.from_json(spec.params))
                scenario.write(source)
            build_warehouse(tmp / "warehouse.duckdb", data_dir=source, project=project, work=tmp / "build")
            now = scenario.story_now
            shutil.rmtree(tmp / "build", ignore_errors=True)
            meta = {"story": spec.story, "now": str(now), "moments": _moments(tmp / "warehouse.duckdb", now),
                    "facts": {"freeze_day": scenario.params.freeze_day, "truth": scenario.truth()}}
            (tmp / "incident.json").write_text(json.dumps(meta))
            try:
                os.replace(tmp, folder)  # atomic: another worker may have built it meanwhile
            except OSError:
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    meta = json.loads(info.read_text())
    return Built(IncidentSpec(spec.id, spec.story, spec.params, digest, spec.data, spec.name), folder,
                 meta["now"], meta["moments"], meta.get("facts", {}))
