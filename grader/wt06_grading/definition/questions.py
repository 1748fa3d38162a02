"""The course's questions, read from where they are declared: the instructor notebooks.

Each graded test cell declares its hidden check in its hidden-test region (nbgrader
strips that region from the student version), as YAML in comments::

    ### BEGIN HIDDEN TESTS
    # question:
    #   kind: query
    #   answer: mart_staleness
    #   columns: [mart, newest_date, last_refreshed_at, hours_stale]
    #   ordered: false
    #   hint: Measure against as_of(), and type no date into the query.
    ### END HIDDEN TESTS

The question's id is the test cell's grade_id, its points the cell's nbgrader points;
its answer is provided by a solution cell of the same notebook (a ``%%sql --save``
name, a variable a Python cell assigns, or a ``%%project_file`` path). ``load`` validates
all of it, so a graded cell without a check, a check whose answer no solution provides,
or a key its kind does not take is an error naming the notebook and cell, not a silently
weaker grade.
"""

from __future__ import annotations

import ast
import dataclasses
import shlex
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from wt06_grading.foundation import layout, markers
from wt06_grading.kinds import KINDS
from wt06_grading.kinds.base import QuestionError


@dataclass(frozen=True)
class AnswerRef:
    type: str  # query | value | file
    name: str  # save name | variable | project-relative path


@dataclass(frozen=True)
class Question:
    id: str  # the test cell's grade_id
    notebook: str
    kind: str
    answer: AnswerRef
    answer_cell: str  # grade_id of the solution cell that provides the answer
    points: float
    objective: int = 0  # the README's learning objective it assesses (see objectives.py)
    hint: str = ""
    incidents: tuple[str, ...] = ()  # incident stories the check runs on
    variants: int | None = None  # at most this many incidents of each story besides the canonical (None: all)
    params: dict = field(default_factory=dict, compare=False, hash=False)

    def as_plain(self) -> dict:
        """The question as JSON data: how the bundle carries it to the workers and how
        ``wt06.publish`` receives it (the one serialised form)."""
        raw = dataclasses.asdict(self)
        raw["incidents"] = list(raw["incidents"])
        return raw

    @classmethod
    def from_plain(cls, raw: dict) -> Question:
        return cls(**{**raw, "answer": AnswerRef(**raw["answer"]), "incidents": tuple(raw["incidents"])})


@dataclass(frozen=True)
class ManualCell:
    """A cell graded by hand (the postmortem): points, nothing to check automatically."""

    id: str
    notebook: str
    points: float
    objective: int = 0


@dataclass(frozen=True)
class CourseQuestions:
    notebooks: tuple[str, ...]
    questions: tuple[Question, ...]
    manual: tuple[ManualCell, ...]

    def for_notebook(self, name: str) -> list[Question]:
        return [q for q in self.questions if q.notebook == name]

    @property
    def answers(self) -> dict[str, list[AnswerRef]]:
        """notebook -> the answers its questions read (what a notebook job extracts)."""
        out: dict[str, list[AnswerRef]] = {}
        for question in self.questions:
            if question.answer not in out.setdefault(question.notebook, []):
                out[question.notebook].append(question.answer)
        return out


def provided_answers(source: str) -> list[AnswerRef]:
    """The answers a solution cell provides (its model answer, markers removed)."""
    text = markers.without_markers(source)
    magic, body = markers.split_magic(text)
    if magic.startswith("%%sql"):
        try:
            words = shlex.split(magic)
        except ValueError:
            return []
        for flag in ("--save", "-S"):
            if flag in words and words.index(flag) + 1 < len(words):
                return [AnswerRef("query", words[words.index(flag) + 1])]
        return []
    if magic.startswith("%%project_file"):
        parts = magic.split(maxsplit=1)
        return [AnswerRef("file", parts[1].strip())] if len(parts) == 2 else []
    if magic:
        return []
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # whatever a student's cell holds
        return []
    names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
             if isinstance(t, ast.Name)]
    return [AnswerRef("value", n) for n in dict.fromkeys(names)]


def declaration(source: str, where: str) -> dict | None:
    """The ``question:`` mapping of a test cell's hidden region, or None if it has none."""
    region = markers.hidden_region(source)
    if region is None:
        return None
    body = [line.lstrip()[1:] if line.lstrip().startswith("#") else line for line in region]
    text = textwrap.dedent("\n".join(body))
    try:
        parsed = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise QuestionError(f"{where}: the question declaration is not valid YAML: {exc}") from None
    if parsed is None:
        return None
    if not isinstance(parsed, dict) or set(parsed) != {"question"} or not isinstance(parsed["question"], dict):
        raise QuestionError(f"{where}: the hidden region must hold one mapping, 'question:'")
    return parsed["question"]


def _question(raw: dict, *, test_id: str, notebook: str, points: float, providers: dict[AnswerRef, str],
              where: str) -> Question:
    raw = dict(raw)
    kind_name = raw.pop("kind", None)
    if kind_name not in KINDS:
        raise QuestionError(f"{where}: kind must be one of {', '.join(sorted(KINDS))}, not {kind_name!r}")
    kind = KINDS[kind_name]
    answer_name = raw.pop("answer", None)
    if not isinstance(answer_name, str) or not answer_name:
        raise QuestionError(f"{where}: the declaration needs 'answer' (what the student's answer is called)")
    answer = AnswerRef(kind.answer_type, answer_name)
    if answer not in providers:
        offered = ", ".join(f"{a.type} {a.name}" for a in providers) or "nothing"
        raise QuestionError(f"{where}: no solution cell of {notebook} provides the {answer.type} answer "
                            f"{answer_name!r} (solution cells provide: {offered})")
    hint = raw.pop("hint", "") or ""
    objective = _objective(raw.pop("objective", None), where)
    incidents = raw.pop("incidents", None)
    if incidents is None:
        incidents = kind.default_incidents or ()
    if not isinstance(incidents, list | tuple) or not all(isinstance(i, str) for i in incidents):
        raise QuestionError(f"{where}: incidents must be a list of incident stories")
    variants = raw.pop("variants", None)
    if variants is not None and (not isinstance(variants, int) or isinstance(variants, bool) or variants < 1):
        raise QuestionError(f"{where}: variants must be a whole number of at least 1")
    params = kind.validate(raw, where)
    return Question(id=test_id, notebook=notebook, kind=kind_name, answer=answer,
                    answer_cell=providers[answer], points=points, objective=objective, hint=str(hint).strip(),
                    incidents=tuple(incidents), variants=variants, params=params)


def _objective(value, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise QuestionError(f"{where}: the declaration needs 'objective', the number of the README's learning "
                            "objective it assesses")
    return value


def load(source: Path = layout.SOURCE) -> CourseQuestions:
    """Every question of the instructor notebooks in ``source``, validated, in course order."""
    notebooks, questions, manual = [], [], []
    for path in sorted(Path(source).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        notebooks.append(path.stem)
        providers: dict[AnswerRef, str] = {}
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                for answer in provided_answers(cell.source):
                    providers.setdefault(answer, meta["grade_id"])
        for index, cell in enumerate(notebook.cells):
            meta = cell.metadata.get("nbgrader", {})
            if not meta.get("grade"):
                continue
            where = f"{path.name}, cell {index + 1} ({meta.get('grade_id')})"
            points = float(meta.get("points", 0))
            if meta.get("solution"):  # an answer graded by hand (Markdown)
                objective = _objective(cell.metadata.get("wt06", {}).get("objective"), f"{where}, metadata wt06")
                manual.append(ManualCell(meta["grade_id"], path.stem, points, objective))
                continue
            raw = declaration(cell.source, where)
            if raw is None:
                raise QuestionError(f"{where}: a graded test cell needs a question declaration in its "
                                    "hidden-test region (see grader/README.md, 'Adding a graded question')")
            questions.append(_question(raw, test_id=meta["grade_id"], notebook=path.stem, points=points,
                                       providers=providers, where=where))
    ids = [q.id for q in questions] + [m.id for m in manual]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise QuestionError(f"grade ids must be unique across the course: {', '.join(duplicates)}")
    return CourseQuestions(tuple(notebooks), tuple(questions), tuple(manual))
