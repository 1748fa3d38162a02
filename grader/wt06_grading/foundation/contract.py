"""The grading worker contract: what the driver sends a worker and what comes back.

Plain data only (str, bytes, numbers, lists, dicts of those): every object here crosses
Dask's wire between the instructor's machine (the *driver*, which owns the gradebook and
every output file) and a grading worker on another machine with no shared filesystem.
Both sides import these classes from this module: the driver's engine (engine.py) and
the worker implementation behind them (worker.GradingWorker: sandboxed, warm).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass
class SubmissionJob:
    """One student's submission, as found in ``submitted/<student>/wt06/``."""

    student: str
    files: dict[str, bytes]  # file name -> bytes (regular files of the folder, no timestamp.txt)
    timestamp: str | None = None  # timestamp.txt, if any
    problems: list[str] = field(default_factory=list)  # what intake refused to read (links, devices...)
    reuse: bool = True  # False (make grade FORCE=1): compute everything again, kept work included

    def content_hash(self) -> str:
        """A digest of what was submitted: names, bytes, timestamp and refusals (not the student id)."""
        digest = hashlib.sha256()
        for name in sorted(self.files):
            data = self.files[name]
            digest.update(f"{name}\0{len(data)}\0".encode())
            digest.update(data)
        digest.update(f"timestamp\0{self.timestamp or ''}".encode())
        digest.update(json.dumps(self.problems).encode())
        return digest.hexdigest()


@dataclass
class GradeRow:
    """One graded cell (by the course's grade id); every graded cell always has one."""

    notebook: str
    grade_id: str
    max_score: float
    score: float | None  # None only for manual-grade cells not graded yet
    status: str  # passed | failed | missing | manual
    reason: str = ""


class Note(NamedTuple):
    """A sentence for the grade table about one notebook ("" = the whole submission)."""

    notebook: str
    sentence: str
    needs_look: bool = True


@dataclass
class SubmissionResult:
    student: str
    rows: list[GradeRow]  # every graded cell of the course, in course order
    notes: list[Note] = field(default_factory=list)
    autograded: dict[str, bytes] = field(default_factory=dict)  # notebook name -> executed notebook (ipynb)
    feedback: dict[str, bytes] = field(default_factory=dict)  # notebook name -> feedback HTML
    seconds: float = 0.0
    worker: str = ""
    attempts: int = 1
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds

    @property
    def needs_look(self) -> bool:
        return any(look for _, _, look in self.notes)

    @property
    def score(self) -> float:
        return sum(r.score or 0.0 for r in self.rows)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.rows)

    @property
    def total(self) -> tuple[float, float]:
        """(score, max) over the automatically graded cells (a cell graded by hand waits)."""
        scored = [r for r in self.rows if r.status != "manual"]
        return sum(r.score or 0 for r in scored), sum(r.max_score for r in scored)

    def to_json(self) -> dict:
        """The result without its files (rows, notes, timings): what the driver stores."""
        return {"student": self.student, "seconds": self.seconds, "worker": self.worker,
                "attempts": self.attempts, "notes": [list(n) for n in self.notes],
                "rows": [vars(r) for r in self.rows], "timings": self.timings}

    @classmethod
    def from_json(cls, data: dict) -> SubmissionResult:
        return cls(student=data["student"], rows=[GradeRow(**r) for r in data["rows"]],
                   notes=[Note(n[0], n[1], bool(n[2])) for n in data["notes"]], autograded={},
                   feedback={}, seconds=data["seconds"], worker=data["worker"],
                   attempts=data.get("attempts", 1), timings=data.get("timings", {}))


@dataclass(frozen=True)
class SandboxSpec:
    """Whether workers run student code in the sandbox (worker.py, sandbox/): on by default."""

    enabled: bool = True

    @property
    def name(self) -> str:
        return "bubblewrap" if self.enabled else "none"


def _canonical(settings: dict) -> bytes:
    return json.dumps(settings, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class CourseBundle:
    """Everything a worker needs to grade, as data: files by role-prefixed path, settings.

    ``files`` holds e.g. ``release/01_detect_staleness.ipynb`` or ``project/dbt_project.yml``;
    ``settings`` is JSON-able: ``course.CourseModel.to_json()`` (cell timeout, graded
    notebooks, the course's graded cells, questions, incident parameters and their digests,
    reference results), read back by a worker as that typed model. ``digest`` covers both,
    so a worker can check that what it holds is exactly what the driver meant.
    """

    files: dict[str, bytes]
    settings: dict
    digest: str = field(default="")

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = self.compute_digest()

    def compute_digest(self) -> str:
        digest = hashlib.sha256(_canonical(self.settings))
        for name in sorted(self.files):
            digest.update(f"\0{name}\0{len(self.files[name])}\0".encode())
            digest.update(self.files[name])
        return digest.hexdigest()

    def shaping_digest(self) -> str:
        """The digest of what shapes a notebook's grade: the files but those ``settings["derived"]``
        names (e.g. a gradebook template, whose bytes hold fresh random ids each time) and the
        settings but which notebooks this run grades (``only``, ``cells``): a notebook graded
        in week 1 stays graded, and its work reusable, while week 2 grades another."""
        derived = set(self.settings.get("derived", []))
        settings = {k: v for k, v in self.settings.items() if k not in ("only", "cells", "derived")}
        return CourseBundle({k: v for k, v in self.files.items() if k not in derived}, settings).digest

    def verify(self) -> None:
        """Raise BundleMismatch unless the content still has the digest it was sent with."""
        actual = self.compute_digest()
        if actual != self.digest:
            raise BundleMismatch(f"the course bundle arrived changed (digest {actual[:12]}, "
                                 f"expected {self.digest[:12]})")

    def under(self, prefix: str) -> dict[str, bytes]:
        """The files below ``prefix/``, by their path relative to it."""
        start = prefix.rstrip("/") + "/"
        return {name[len(start):]: data for name, data in self.files.items() if name.startswith(start)}

    @property
    def graded_cells(self) -> list[GradedCell]:
        """Every graded cell of the notebooks graded, in course order."""
        return [GradedCell(*c) for c in self.settings.get("cells", [])]


class GradedCell(NamedTuple):
    """One graded cell of the course: the one shape every stage reads (bundle, scoring, records)."""

    notebook: str
    grade_id: str
    points: float
    by_hand: bool  # an answer a grader scores (nbgrader's manually graded answer)


def graded_cells(name: str, notebook) -> list[GradedCell]:
    """The graded cells of the released notebook ``name``, in order (nbgrader's metadata)."""
    cells = []
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            cells.append(GradedCell(name, meta["grade_id"], float(meta.get("points", 0)), bool(meta.get("solution"))))
    return cells


class BundleMismatch(RuntimeError):
    """A worker cannot build what the driver's bundle describes (other code, other data)."""


def unavailable_result(bundle: CourseBundle, student: str, sentence: str, *, seconds: float = 0.0,
                       worker: str = "", attempts: int = 1) -> SubmissionResult:
    """The result of a submission no worker could grade: every cell 0, one reason, a look."""
    rows = [GradeRow(notebook, grade_id, max_score, 0.0, "missing", sentence)
            for notebook, grade_id, max_score, _ in bundle.graded_cells]
    return SubmissionResult(student, rows, [Note("", sentence, True)], {}, {}, seconds, worker, attempts)
