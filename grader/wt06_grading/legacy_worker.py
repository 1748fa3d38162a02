"""The worker contract on top of today's grader (``submission.grade_submission``).

A stand-in until the sandboxed warm worker (``worker.GradingWorker``) lands: the engine
imports this module as its worker implementation (``engine.worker_impl``), so swapping it
is one import. Two halves:

* ``course_bundle`` (driver side) packs what grading needs as plain data: the release
  and instructor notebooks, an nbgrader gradebook template holding the assignment, the
  dbt project and the canonical incident's CSVs, the grading incidents' parameters and
  digests, and the reference results.
* ``GradingWorker`` (worker side, one per worker process, long-lived) unpacks the bundle
  into its own scratch folder on first use, builds the grading incidents from their
  parameters (or finds them already built, keyed by digest) and refuses to grade when
  the digest of what it would build differs from the driver's. Each job then writes the
  submission's files to a temporary folder, grades it into a private copy of the template
  gradebook, and converts the rows, notes, feedback and autograded notebooks into a
  ``SubmissionResult``. Nothing is written outside the worker's scratch folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path

import nbformat

from .contract import (
    BundleMismatch,
    CourseBundle,
    GradeRow,
    SandboxSpec,
    SubmissionJob,
    SubmissionResult,
    unavailable_result,
)

# A folder the workers of one machine share for the incidents they build (keyed by digest,
# built once under a lock); default: each worker's own scratch folder.
INCIDENT_CACHE_ENV = "WT06_GRADING_INCIDENTS"
_SKIP = ("target", "logs", "work", "__pycache__", ".ipynb_checkpoints")


def _files(root: Path, prefix: str, keep=lambda p: True) -> dict[str, bytes]:
    out = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not path.is_symlink() and not set(relative.parts) & set(_SKIP) \
                and keep(path):
            out[f"{prefix}/{relative.as_posix()}"] = path.read_bytes()
    return out


def graded_cells(released: dict, only: list[str] | None) -> list[list]:
    """[notebook, grade_id, points, by hand] for every graded cell, sorted like the grade table."""
    cells = []
    for name in sorted(released):
        if only and name not in only:
            continue
        for cell in released[name].cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                cells.append([name, meta["grade_id"], float(meta.get("points", 0)),
                              bool(meta.get("solution"))])
    return sorted(cells, key=lambda c: (c[0], c[1]))


def _template(source: Path, cache: Path) -> dict[str, bytes]:
    """The release notebooks and a gradebook holding the assignment and nothing else.

    nbgrader's generate_assignment takes seconds; its output is cached by the digest of
    what shapes it (the instructor notebooks, the course's nbgrader config and stubs).
    """
    from .release import ASSIGNMENT, GRADER, generate

    digest = hashlib.sha256()
    for path in [*sorted(source.glob("*.ipynb")), GRADER / "nbgrader_config.py",
                 Path(__file__).with_name("stubs.py")]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    folder = cache / digest.hexdigest()[:16]
    if not (folder / "gradebook.db").is_file():
        with tempfile.TemporaryDirectory(prefix="wt06-bundle-") as tmp:
            template = Path(tmp) / "course"
            shutil.copytree(source, template / "source" / ASSIGNMENT)
            generated = generate(template)
            shutil.copytree(generated, template / "out" / "release")
            shutil.copy(template / "gradebook.db", template / "out" / "gradebook.db")
            folder.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(folder, ignore_errors=True)
            with contextlib.suppress(OSError):  # another driver got there first: keep theirs
                os.replace(template / "out", folder)
    files = _files(folder / "release", "release")
    files["gradebook.db"] = (folder / "gradebook.db").read_bytes()
    return files


def course_bundle(course: Path, *, only: list[str] | None = None, cell_timeout: int = 60) -> CourseBundle:
    """Pack what a worker needs to grade ``course``'s assignment (runs on the driver)."""
    from wt06 import paths
    from wt06.scenario import ScenarioParams, load_scenario

    from .batch import _reference
    from .release import ASSIGNMENT
    from .scenarios import VARIANT_SEEDS, incident_inputs, prepare

    files = _template(course / "source" / ASSIGNMENT, paths.work_dir() / "grading-templates")
    released = {Path(n).stem: nbformat.reads(d.decode(), as_version=4)
                for n, d in sorted(files.items()) if n.startswith("release/") and n.endswith(".ipynb")}
    unknown = sorted(set(only or []) - set(released))
    if unknown:
        from wt06.errors import CourseError

        raise CourseError(f"no notebook named {', '.join(unknown)} in the assignment "
                          f"(it has {', '.join(released)})")
    files.update(_files(course / "source" / ASSIGNMENT, "source"))
    files.update(_files(paths.project_dir(), "project"))
    data = paths.data_dir()
    files.update({f"data/{p.relative_to(data).as_posix()}": p.read_bytes()
                  for p in [*incident_inputs(data), data / "scenario.json"] if p.is_file()})
    cache = paths.work_dir() / "grading-scenarios"
    prepared = prepare(cache)
    params = {"canonical": load_scenario().params.to_json()}
    params.update({f"variant-{seed}": ScenarioParams.variant(seed).to_json() for seed in VARIANT_SEEDS})
    incidents = {name: {"params": params[name], "now": info["now"], "moments": info["moments"],
                        "digest": Path(info["warehouse"]).stem.removeprefix("warehouse-")}
                 for name, info in prepared.items()}
    settings = {
        "assignment": ASSIGNMENT, "cell_timeout": int(cell_timeout),
        "derived": ["gradebook.db"],  # generated from source/ with fresh random ids
        "only": sorted(only) if only else None,
        "notebooks": [n for n in released if not only or n in only],
        "cells": graded_cells(released, only),
        "incidents": incidents,
        "reference": _reference(prepared, cache).results,
    }
    return CourseBundle(files, settings)


def sandbox_spec(prefix) -> SandboxSpec:
    return SandboxSpec(tuple(prefix or ()))


@contextlib.contextmanager
def _environment(values: dict):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _write(files: dict[str, bytes], root: Path) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def build_incidents(bundle: CourseBundle, root: Path, cache: Path) -> dict[str, dict]:
    """name -> {warehouse, now, moments} for every incident the bundle grades against.

    Each incident's inputs (the bundle's project and canonical CSVs, or the variant's
    generated CSVs, and this machine's course package) must hash to the driver's digest;
    the warehouse is then built once and cached under that digest.
    """
    from wt06.build import build_warehouse
    from wt06.scenario import Scenario, ScenarioParams

    from .scenarios import _digest

    shared = Path(os.environ[INCIDENT_CACHE_ENV]) if os.environ.get(INCIDENT_CACHE_ENV) else None
    prepared = {}
    for name, spec in sorted(bundle.settings["incidents"].items()):
        params = ScenarioParams.from_json(spec["params"])
        if name == "canonical":
            data_dir = root / "data"
        else:
            data_dir = root / "incidents" / name
            if not data_dir.is_dir():
                Scenario(params).write(data_dir)
        actual = _digest(data_dir, params)
        if actual != spec["digest"]:
            raise BundleMismatch(
                f"incident {name!r} built on this worker would have digest {actual}, the driver's has "
                f"{spec['digest']}: the worker's course package (wt06) or data differ from the driver's")
        built = (shared or cache) / name / f"warehouse-{actual}.duckdb"
        if not built.is_file():
            built.parent.mkdir(parents=True, exist_ok=True)
            with open(built.parent / ".lock", "w") as lock:  # workers of one machine build it once
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not built.is_file():
                    build_warehouse(built, data_dir=data_dir, project=root / "project",
                                    work=cache / name / "build")
        prepared[name] = {"warehouse": str(built), "now": spec["now"], "moments": spec["moments"]}
    return prepared


class GradingWorker:
    """The contract's worker, grading with nbgrader autograde as today (not sandboxed warm)."""

    def __init__(self, bundle: CourseBundle, scratch: Path, sandbox: SandboxSpec = SandboxSpec()) -> None:
        import warnings

        from sqlalchemy.exc import SAWarning

        # nbgrader's add_submission trips SQLAlchemy's autoflush warning on every new student
        warnings.filterwarnings("ignore", category=SAWarning)
        bundle.verify()
        self.bundle, self.sandbox = bundle, sandbox
        self.scratch = Path(scratch)
        self.root = self.scratch / f"course-{bundle.digest[:16]}"
        self._settings = None

    def _env(self) -> dict:
        return {"WT06_PROJECT_DIR": str(self.root / "project"), "WT06_DATA_DIR": str(self.root / "data"),
                "WT06_WORK_DIR": str(self.scratch / "work"), "DO_NOT_TRACK": "1"}

    def _prepare(self):
        """Unpack the bundle and build the incidents: once per worker (the expensive part)."""
        if self._settings is not None:
            return self._settings
        from .hidden import Reference
        from .submission import Settings

        shutil.rmtree(self.root, ignore_errors=True)
        _write(self.bundle.files, self.root)
        incidents = build_incidents(self.bundle, self.root, self.scratch / "incidents")
        settings = self.bundle.settings
        released = {Path(n).stem: nbformat.reads(d.decode(), as_version=4)
                    for n, d in sorted(self.bundle.under("release").items()) if n.endswith(".ipynb")}
        self._settings = Settings(
            released=released, reference=Reference(incidents, settings["reference"]),
            warehouse=Path(incidents["canonical"]["warehouse"]), project=self.root / "project",
            source=self.root / "source", only=settings["only"], cell_timeout=settings["cell_timeout"],
            sandbox=list(self.sandbox.prefix))
        return self._settings

    def grade(self, job: SubmissionJob) -> SubmissionResult:
        started = time.perf_counter()
        with _environment(self._env()):
            settings = self._prepare()  # a BundleMismatch here is the worker's fault: it raises
            jobs = self.scratch / "jobs"
            jobs.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix="job-", dir=jobs))
            try:
                result = self._grade(job, settings, folder)
            except Exception as exc:  # never the submission's loss: a reason instead
                detail = traceback.format_exception_only(type(exc), exc)[-1].strip()[:300]
                result = unavailable_result(self.bundle, job.student,
                                            f"could not be graded automatically ({detail})")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        result.seconds = time.perf_counter() - started
        return result

    def _grade(self, job: SubmissionJob, settings, folder: Path) -> SubmissionResult:
        from .submission import grade_submission

        submitted = folder / "submitted"
        submitted.mkdir()
        for name, data in job.files.items():
            if "/" in name or name.startswith("."):
                continue  # the driver sends a folder's plain file names; anything else is ignored
            (submitted / name).write_bytes(data)
        if job.timestamp is not None:
            (submitted / "timestamp.txt").write_text(job.timestamp)
        db = folder / "gradebook.db"
        db.write_bytes(self.bundle.files["gradebook.db"])
        scratch = folder / "scratch"
        scratch.mkdir()
        graded = grade_submission(job.student, submitted, settings, db, scratch)
        rows, notes = [], []
        for row in graded.rows:
            if row.question == "(note)":
                notes.append(("" if row.notebook == "(submission)" else row.notebook, row.reason,
                              row.status == "needs a look"))
            else:
                score = None if row.status == "manual" and not row.score else row.score
                rows.append(GradeRow(row.notebook, row.question, float(row.max_score or 0), score,
                                     row.status, row.reason))
        return SubmissionResult(
            student=job.student, rows=rows, notes=notes,
            autograded={p.stem: p.read_bytes() for p in graded.autograded},
            feedback={p.stem: p.read_bytes() for p in graded.feedback},
            seconds=0.0, worker="")

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def local_worker_env() -> dict:
    """Environment of LocalCluster workers (same machine): reuse the driver's built incidents.

    Workers still check every incident's digest; on other machines they build their own.
    """
    from wt06 import paths

    return {INCIDENT_CACHE_ENV: str(paths.work_dir() / "grading-scenarios")}
