"""What crosses between the driver and a grading worker: plain data, nothing else.

A worker may be a process on another machine (Dask), so everything here is made of
bytes, strings and numbers, and a worker needs nothing but a ``CourseBundle`` and a
``SubmissionJob`` to produce a ``SubmissionResult``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass
class SubmissionJob:
    student: str
    files: dict[str, bytes]  # file name -> bytes, as found in submitted/<student>/<assignment>/
    timestamp: str | None = None  # timestamp.txt, if any
    problems: list[str] = field(default_factory=list)  # what the driver's intake refused (symlinks...)

    @property
    def digest(self) -> str:
        """A content hash of the submission: a rerun grades only what changed."""
        digest = hashlib.sha256(self.student.encode())
        for name in sorted(self.files):
            digest.update(b"\0" + name.encode() + b"\0" + self.files[name])
        digest.update(repr(self.problems).encode())
        return digest.hexdigest()[:20]


@dataclass
class GradeRow:
    """One graded cell of the course (by the course's grade id), always present."""

    notebook: str
    grade_id: str
    max_score: float
    score: float | None  # None only for a cell waiting to be graded by hand
    status: str  # passed | failed | missing | manual
    reason: str = ""


@dataclass
class Note:
    notebook: str  # "" for the whole submission
    sentence: str
    needs_look: bool = True


@dataclass
class SubmissionResult:
    student: str
    rows: list[GradeRow]
    notes: list[Note] = field(default_factory=list)
    autograded: dict[str, bytes] = field(default_factory=dict)  # notebook -> executed ipynb
    feedback: dict[str, bytes] = field(default_factory=dict)  # notebook -> HTML
    seconds: float = 0.0
    worker: str = ""
    attempts: int = 1
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds

    @property
    def needs_look(self) -> bool:
        return any(note.needs_look for note in self.notes)

    @property
    def total(self) -> tuple[float, float]:
        """(score, max) over the automatically graded cells."""
        scored = [r for r in self.rows if r.status != "manual"]
        return sum(r.score or 0 for r in scored), sum(r.max_score for r in scored)


@dataclass
class CourseBundle:
    """Everything a worker needs to grade, as data: built once per batch by the driver."""

    assignment: str
    release: dict[str, str]  # notebook name -> the release notebook (JSON text, nbgrader metadata)
    questions: list[dict]  # questions.Question as dicts (course order)
    manual: list[dict]  # questions.ManualCell as dicts
    reference: dict  # question id -> {"answer": ..., "result": ...}
    incidents: list[dict]  # incidents.IncidentSpec as dicts (canonical first)
    course_files: dict[str, bytes]  # dbt_project/** and data/** inputs of the canonical incident
    cell_timeout: int = 60
    sandbox: bool = True
    digest: str = ""

    def compute_digest(self) -> str:
        digest = hashlib.sha256(self.assignment.encode())
        for name in sorted(self.release):
            digest.update(name.encode() + self.release[name].encode())
        digest.update(repr((self.questions, self.manual, sorted(self.reference.items(), key=str),
                            self.incidents, self.cell_timeout, self.sandbox)).encode())
        for name in sorted(self.course_files):
            digest.update(name.encode() + self.course_files[name])
        return digest.hexdigest()[:20]
