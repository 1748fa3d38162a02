"""The course as a worker grades it: one typed model of the bundle's settings.

The driver declares it once (bundle.py), from the course's one reading of its sources:
the questions and hand-graded cells the instructor notebooks declare (questions.load,
validated there), the graded cells of the release, the grading incidents' specs, the
limits of this run and the reference results. It travels as JSON beside the files
(``CourseBundle.settings``, plain data, so the bundle's digest is over plain data), and a
worker reads it back with ``CourseModel.from_json``: every field is named and typed here,
not spelled as a dict key in each reader, and a bundle made by another version of the
grader is refused with a sentence instead of failing somewhere later.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from wt06_grading.definition.incidents import IncidentSpec
from wt06_grading.definition.questions import ManualCell, Question
from wt06_grading.foundation.contract import BundleMismatch, GradedCell


@dataclass(frozen=True)
class CourseModel:
    assignment: str
    questions: tuple[Question, ...]
    manual: tuple[ManualCell, ...]
    incidents: tuple[IncidentSpec, ...]  # the grading incidents, the canonical and public ones included
    cells: tuple[GradedCell, ...]  # every graded cell of the notebooks this run grades, in course order
    only: tuple[str, ...] | None  # the notebooks this run grades (None: all)
    cell_timeout: int  # seconds a cell of a student's notebook may run
    runner: str = "sandbox"  # how notebooks execute (execution.py): sandbox | jupyter
    reference: dict = field(default_factory=dict, compare=False, hash=False)  # question id -> results

    def to_json(self) -> dict:
        """The model as the bundle carries it (lists and dicts only)."""
        return {"assignment": self.assignment, "questions": [q.as_plain() for q in self.questions],
                "manual": [dataclasses.asdict(m) for m in self.manual],
                "incidents": [dataclasses.asdict(s) for s in self.incidents],
                "cells": [list(c) for c in self.cells], "only": list(self.only) if self.only is not None else None,
                "cell_timeout": self.cell_timeout, "runner": self.runner, "reference": self.reference}

    @classmethod
    def from_json(cls, raw: dict) -> CourseModel:
        try:
            return cls(assignment=raw["assignment"],
                       questions=tuple(Question.from_plain(q) for q in raw["questions"]),
                       manual=tuple(ManualCell(**m) for m in raw["manual"]),
                       incidents=tuple(IncidentSpec(**s) for s in raw["incidents"]),
                       cells=tuple(GradedCell(*c) for c in raw["cells"]),
                       only=tuple(raw["only"]) if raw.get("only") is not None else None,
                       cell_timeout=int(raw["cell_timeout"]), runner=raw.get("runner", "sandbox"),
                       reference=raw.get("reference") or {})
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleMismatch(f"the course bundle's settings are not this grader's ({type(exc).__name__}: "
                                 f"{str(exc)[:200]}): the driver and the workers run other versions") from None

    def with_reference(self, reference: dict) -> CourseModel:
        return dataclasses.replace(self, reference=reference)
