"""What every kind of hidden check has in common.

A *question* is declared once, in its test cell (questions.py). Its *kind* knows the
three things a hidden check does:

* ``task``: from the student's answer (what their code saved, assigned or wrote), the
  JSON task the checker runs, or a problem sentence when the answer cannot be checked;
* ``run``: inside the checker's jail, the task on each incident it asks for, giving raw
  JSON results (rows, what dbt did); it judges nothing;
* ``compare``: in the worker, the student's results against the reference answer's
  results on the same incidents: a Verdict whose message names what differs without
  giving the reference away, and without naming an incident or a grader path.

Adding a kind is one module in this package defining a subclass, and its unit test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

REQUIRED = object()


class QuestionError(ValueError):
    """A question declaration is malformed; the message names the cell and the key."""


@dataclass(frozen=True)
class Param:
    """One key a kind accepts in a declaration."""

    name: str
    kind: type | tuple[type, ...]
    default: Any = REQUIRED
    help: str = ""


@dataclass
class Verdict:
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class Incident:
    """An incident as the checker sees it (paths are inside the sandbox)."""

    id: str  # opaque; never shown to a student
    story: str  # canonical | skipped_marts | loader_outage | ...
    warehouse: str
    now: str  # the story's now, 'YYYY-MM-DD HH:MM:SS'
    moments: list[str] = field(default_factory=list)  # replay moments (monitor questions)
    facts: dict = field(default_factory=dict)  # what the scenario knows (freeze day, ...)
    project: str = ""  # the pristine dbt project (the same for every incident)
    data: str = ""  # its inputs and scenario.json (a notebook can run on the incident)

    @property
    def rebuilt(self) -> str:
        """The incident right after a full ``dbt run`` at its now (built with the incident)."""
        return str(Path(self.warehouse).with_name("rebuilt.duckdb"))

    @property
    def is_canonical(self) -> bool:
        return self.story == "canonical"


def where(incident_story: str) -> str:
    """How a verdict names an incident: the student's own, or one they do not have."""
    return "the course's incident" if incident_story == "canonical" else \
        "another incident (one you do not have: other dates, run ids and counts)"


class Kind:
    """The interface; see the module docstring."""

    name: ClassVar[str]
    answer_type: ClassVar[str]  # query | value | file
    params: ClassVar[tuple[Param, ...]] = ()
    default_incidents: ClassVar[tuple[str, ...] | None] = None  # None: every grading incident

    def validate(self, raw: dict, where_: str) -> dict:
        """The declaration's kind-specific keys, checked and with defaults filled in."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise QuestionError(f"{where_}: kind {self.name!r} has no key {', '.join(unknown)} "
                                f"(it takes {', '.join(known) or 'no keys'})")
        out = {}
        for param in self.params:
            if param.name in raw:
                value = raw[param.name]
                if not isinstance(value, param.kind) or (isinstance(value, bool) and param.kind in (int, float)):
                    raise QuestionError(f"{where_}: {param.name} must be {_type_words(param.kind)}, not {value!r}")
                out[param.name] = value
            elif param.default is REQUIRED:
                raise QuestionError(f"{where_}: kind {self.name!r} needs the key {param.name} ({param.help})")
            else:
                out[param.name] = param.default
        return out

    def task(self, question, answer) -> dict | str | None:
        """The checker task for ``answer`` (a dict), a problem sentence (str), or None (no run)."""
        return None

    def run(self, task: dict, incidents: list[Incident], workspace: Path) -> dict:
        return {}

    def compare(self, question, student: Any, reference: Any) -> Verdict:
        raise NotImplementedError


def _type_words(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({list: "a list", str: "text", bool: "true or false", int: "a whole number",
                        float: "a number", dict: "a mapping"}.get(k, k.__name__) for k in kinds)
