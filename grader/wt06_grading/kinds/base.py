"""What every kind of hidden check has in common.

A *question* is declared once, in its test cell (questions.py). Its *kind* knows the
four things a hidden check does:

* ``task``: from the student's answer (what their code saved, assigned or wrote), the
  JSON task the checker runs, or a problem sentence when the answer cannot be checked;
* ``run_one``: inside the checker's jail, the task on one incident, giving raw JSON
  results (rows, what dbt did); it judges nothing, and it is given only what running
  needs (the incident's warehouse, its clock and replay moments), never what happened;
* ``judge``: in the worker, the student's result on one incident against the reference
  answer's result there (and what the worker alone knows of the incident, its story and
  truth): ``None`` when the question's property holds there, else a ``Finding``;
* ``compare`` (here, for every kind): every incident judged, and one verdict made.

**What a verdict may say.** A student may see everything about their own incident (the
canonical one, whose data they have): the detail of a finding there is shown. About a
grading incident a verdict says only *which property failed* and *what kind of incident*
it was (its story), in words fixed by the course: a finding there is reduced to its
property, one of the kind's ``properties``, whose text holds no data of any incident, no
error text and nothing of the student's objects. So no row, date, run id, error message
or type name produced on a grading incident can reach feedback, whatever the student's
code does; and a verdict names the stories that fail, not which incident failed first.

Adding a kind is one module in this package defining a subclass, and its unit test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from wt06.incidents import STORIES as _STORIES
from wt06.incidents import describe

REQUIRED = object()
CANONICAL = "canonical"

# How a verdict names an incident by its story: the words the notebooks use for the same
# stories (wt06.incidents.describe), so visible and hidden checks speak alike. A grading
# incident is one the student does not have.
STORIES = {story: description for story, description in
           [(CANONICAL, describe(CANONICAL))] + [(s, f"{describe(s)}, one you do not have") for s in _STORIES]}


def story_words(story: str) -> str:
    return STORIES.get(story, "another incident (one you do not have)")


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
class Finding:
    """Why the question's property fails on one incident.

    ``property``: a key of the kind's ``properties`` (what failed, in fixed words);
    ``detail``: a sentence about the student's own incident (never shown for another);
    ``public``: words the course itself defines that may be shown about any incident (the
    name of a state of the singular test's matrix): built from the reference's result,
    never from the student's.
    """

    property: str
    detail: str = ""
    public: str = ""


@dataclass(frozen=True)
class RunIncident:
    """An incident as the checker job sees it: what running needs, nothing of what happened."""

    id: str  # opaque; never shown to a student
    warehouse: str  # inside the sandbox
    now: str  # the story's now, 'YYYY-MM-DD HH:MM:SS'
    moments: list[str] = field(default_factory=list)  # replay moments (monitor questions)
    project: str = ""  # the pristine dbt project (the same for every incident)


@dataclass(frozen=True)
class Known:
    """What the worker alone knows of an incident: its story and what really happened."""

    story: str
    truth: dict = field(default_factory=dict)

    @property
    def own(self) -> bool:
        return self.story == CANONICAL


class Kind:
    """The interface; see the module docstring."""

    name: ClassVar[str]
    answer_type: ClassVar[str]  # query | value | file
    params: ClassVar[tuple[Param, ...]] = ()
    default_incidents: ClassVar[tuple[str, ...] | None] = None  # None: every grading incident
    reruns: ClassVar[bool] = False  # the answer is recomputed by re-running the notebook on other incidents
    # property -> what failed there, in words that hold no data ("{answer}": the answer's name)
    properties: ClassVar[dict[str, str]] = {}
    BASE_PROPERTIES: ClassVar[dict[str, str]] = {
        "not_run": "your answer could not be run there",
    }

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

    # ----- in the checker job ---------------------------------------------------------
    def task(self, question, answer) -> dict | str | None:
        """The checker task for ``answer`` (a dict), a problem sentence (str), or None (no run)."""
        return None

    def run(self, task: dict, incidents: list[RunIncident], workspace: Path, seconds: dict | None = None) -> dict:
        """``run_one`` on each incident: incident id -> raw result, or {"failed": why} if it raised.

        ``seconds``, if given, receives the time each incident took (make bench shows it).
        """
        out = {}
        for incident in incidents:
            started = time.monotonic()
            try:
                out[incident.id] = self.run_one(task, incident, workspace)
            except Exception as exc:  # noqa: BLE001 (the answer's fault on that incident alone)
                out[incident.id] = {"failed": " ".join(f"{type(exc).__name__}: {exc}".split())[:400]}
            if seconds is not None:
                seconds[incident.id] = round(time.monotonic() - started, 3)
        return out

    def run_one(self, task: dict, incident: RunIncident, workspace: Path) -> dict:
        return {}

    # ----- in the worker --------------------------------------------------------------
    def judge(self, question, got: dict, expected: dict, known: Known) -> Finding | None:
        raise NotImplementedError

    def compare(self, question, student: dict, reference: dict, known: dict[str, Known]) -> Verdict:
        """Judge every incident of ``reference``; one verdict (see "What a verdict may say")."""
        own: Finding | None = None
        failing: dict[str, Finding] = {}  # story -> the finding (the first property, in the kind's order)
        order = list(self.properties) + list(self.BASE_PROPERTIES)
        for incident, expected in reference.items():
            facts = known[incident]
            got = student.get(incident)
            if not isinstance(got, dict):
                finding = Finding("not_run", "nothing was run")
            elif "failed" in got:
                finding = Finding("not_run", f"running it failed: {got['failed']}")
            else:
                finding = self.judge(question, got, expected, facts)
            if finding is None:
                continue
            if finding.property not in order:
                raise ValueError(f"kind {self.name}: {finding.property!r} is not one of its properties")
            if facts.own:
                own = own or finding
            elif facts.story not in failing or \
                    order.index(finding.property) < order.index(failing[facts.story].property):
                failing[facts.story] = finding
        if own is None and not failing:
            return Verdict(True)
        hint = f" {question.hint}" if question.hint else ""
        others = "; ".join(f"on {story_words(story)}, {self._words(found.property, question)}"
                           + (f" ({found.public})" if found.public else "")
                           for story, found in sorted(failing.items()))
        if own is not None:
            detail = own.detail or self._words(own.property, question)
            also = f" It fails on other incidents too: {others}." if others else ""
            return Verdict(False, f"On your incident, {_lower_first(detail)}.{also}{hint}")
        return Verdict(False, f"Right on your incident, but {others}.{hint}")

    def _words(self, prop: str, question) -> str:
        text = {**self.BASE_PROPERTIES, **self.properties}[prop]
        return text.replace("{answer}", question.answer.name)


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _type_words(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({list: "a list", str: "text", bool: "true or false", int: "a whole number",
                        float: "a number", dict: "a mapping"}.get(k, k.__name__) for k in kinds)
