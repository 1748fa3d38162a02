"""The class record: the gradebook, explained by the grading cache.

The gradebook (nbgrader's, SQLite or PostgreSQL) is the one record of the class: which
students submitted, every score (the autograder's, a grader's, extra credit) and every
comment. Everything an instructor reads or exports is a *view* of it, built here:
grades.csv and the feedback pages (views.py), the class report (report.py), the LMS
files (lms.py). What the gradebook cannot hold comes from a cache the grading driver
keeps beside it, ``<course>/.wt06/results/<student>.json`` (``ResultStore``): for each
notebook graded, why a cell failed, the notes about the submission, grading time. The
cache only explains; it never decides a score, and where it disagrees with the gradebook
(another gradebook, a score changed by hand) the gradebook wins and the reason says so.

Whatever subset or rerun came last, the record is the same: grading notebook 02 adds to
notebook 01's entries instead of replacing them, a student graded in week 1 keeps week
1's rows, and a student whose folder left ``submitted/`` is still in the gradebook, so
here too, marked "no longer submitted" (the LMS files leave them out unless asked).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from wt06_grading.foundation import layout
from wt06_grading.foundation.contract import GradeRow, Note, SubmissionResult
from wt06_grading.foundation.layout import ASSIGNMENT
from wt06_grading.records import gradebook
from wt06_grading.records.gradebook import Book

RESULTS = Path(".wt06") / "results"
FORMAT = 2  # the cache's record format (1: one result per student, the last run's only)

# What a cell's status says, in every view.
PASSED, FAILED = "passed", "failed"
WAITING = "manual"  # graded by hand, waiting for a grader
GRADED = "graded"  # a grader's score (a hand-graded answer, or an autograder score overridden)
REVIEW = "review"  # a grader's score that needs a second look: the answer or the autograde changed
NOT_GRADED = "not graded"  # the notebook has not been graded yet
REMOVED_NOTE = ("no longer submitted: the folder {folder} is gone; the grades stay in the gradebook and "
                "in the grade table, and the LMS files leave the student out (export with --include-removed "
                "to keep them)")


# --------------------------------------------------------------------------- the cache
class ResultStore:
    """The grading cache: per student, per notebook, what the last grading of it said.

    A record holds one entry per notebook ever graded (``rows``, ``notes``, the course
    ``key`` and submission ``content`` it was graded with, ``final``), the notes about the
    whole submission, and the time and worker of the last grading. Saving a result
    replaces the entries of the notebooks it graded and keeps the others.
    """

    def __init__(self, out: Path) -> None:
        self.folder = Path(out) / RESULTS
        self._records: dict[str, dict] | None = None  # read once, then kept up to date

    def _path(self, student: str) -> Path:
        return self.folder / f"{student}.json"

    def load(self, student: str) -> dict | None:
        if self._records is not None:
            return self._records.get(student)
        try:
            return _upgrade(json.loads(self._path(student).read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, result: SubmissionResult, *, key: str, content: str, timestamp: str | None,
             final: bool = True, notebooks: list[str] | None = None) -> None:
        """Store ``result`` for ``notebooks`` (default: those its rows cover).

        ``final=False``: kept and shown, but graded again by the next run.
        """
        graded = list(notebooks or dict.fromkeys(r.notebook for r in result.rows))
        record = self.load(result.student) or {"format": FORMAT, "student": result.student, "notebooks": {}}
        for notebook in graded:
            record["notebooks"][notebook] = {
                "key": key, "content": content, "final": final,
                "rows": [vars(r) for r in result.rows if r.notebook == notebook],
                "notes": [list(n) for n in result.notes if n[0] == notebook]}
        record.update({"format": FORMAT, "student": result.student, "timestamp": timestamp,
                       "notes": [list(n) for n in result.notes if not n[0] or n[0] not in graded],
                       "seconds": result.seconds, "worker": result.worker, "attempts": result.attempts,
                       "timings": result.timings})
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._path(result.student).with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self._path(result.student))
        if self._records is not None:
            self._records[result.student] = record

    def fresh(self, student: str, key: str, content: str, notebooks: list[str]) -> bool:
        """Whether every one of ``notebooks`` was graded, finally, with this course key and content."""
        entries = (self.load(student) or {}).get("notebooks", {})
        return all(nb in entries and entries[nb].get("key") == key and entries[nb].get("content") == content
                   and entries[nb].get("final", True) for nb in notebooks)

    def records(self) -> dict[str, dict]:
        if self._records is None:
            self._records = {}
            for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
                with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                    record = _upgrade(json.loads(path.read_text()))
                    self._records[record["student"]] = record
        return self._records

    def results(self) -> list[SubmissionResult]:
        """Every cached student as one result (all notebooks ever graded), by student."""
        return [as_result(record) for _, record in sorted(self.records().items())]


def _upgrade(record: dict) -> dict:
    """A record of format 1 (one result per student) as format 2."""
    if record.get("format") == FORMAT:
        return record
    result = record["result"]
    notebooks: dict[str, dict] = {}
    for row in result["rows"]:
        entry = notebooks.setdefault(row["notebook"], {"key": record.get("key"), "content": record.get("content"),
                                                       "final": record.get("final", True), "rows": [], "notes": []})
        entry["rows"].append(row)
    for note in result["notes"]:
        if note[0] in notebooks:
            notebooks[note[0]]["notes"].append(note)
    return {"format": FORMAT, "student": result["student"], "notebooks": notebooks,
            "notes": [n for n in result["notes"] if n[0] not in notebooks], "timestamp": record.get("timestamp"),
            "seconds": result.get("seconds", 0.0), "worker": result.get("worker", ""),
            "attempts": result.get("attempts", 1), "timings": result.get("timings", {})}


def as_result(record: dict) -> SubmissionResult:
    rows, notes = [], [Note(n[0], n[1], bool(n[2])) for n in record.get("notes", [])]
    for entry in record["notebooks"].values():
        rows += [GradeRow(**r) for r in entry["rows"]]
        notes += [Note(n[0], n[1], bool(n[2])) for n in entry["notes"]]
    return SubmissionResult(record["student"], rows, notes, {}, {}, record.get("seconds", 0.0),
                            record.get("worker", ""), record.get("attempts", 1), record.get("timings", {}))


# --------------------------------------------------------------------------- the record
@dataclass
class CellView:
    notebook: str
    grade_id: str
    title: str
    max_score: float
    manual: bool  # graded by hand
    score: float | None  # the gradebook's (None: not graded yet, or waiting for a grader)
    auto_score: float | None
    manual_score: float | None
    status: str
    reason: str = ""
    comment: str = ""  # a grader's comment


@dataclass
class NotebookView:
    name: str
    cells: list[CellView]
    graded: bool
    notes: list[Note] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(c.score or 0.0 for c in self.cells)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells)

    @property
    def waiting(self) -> list[CellView]:
        """Cells a grader still has to score or look at again."""
        return [c for c in self.cells if c.status in (WAITING, REVIEW)]


@dataclass
class StudentView:
    student: str
    notebooks: dict[str, NotebookView]  # every notebook of the assignment, in course order
    present: bool | None  # the submission folder exists (None: submitted/ was not looked at)
    notes: list[Note] = field(default_factory=list)  # about the whole submission
    timestamp: str | None = None
    seconds: float = 0.0
    worker: str = ""
    attempts: int = 1
    person: dict = field(default_factory=dict)  # first_name, last_name, email, lms_user_id
    disagreements: list[str] = field(default_factory=list)  # cache vs gradebook

    @property
    def removed(self) -> bool:
        return self.present is False

    @property
    def score(self) -> float:
        return sum(nb.score for nb in self.notebooks.values())

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks.values())

    @property
    def graded(self) -> list[NotebookView]:
        return [nb for nb in self.notebooks.values() if nb.graded]

    @property
    def total(self) -> tuple[float, float]:
        """(score, max) over the automatically graded cells of the graded notebooks."""
        auto = [c for c in self.cells if not c.manual]
        return sum(c.score or 0.0 for c in auto), sum(c.max_score for c in auto)

    @property
    def waiting(self) -> list[CellView]:
        return [c for nb in self.graded for c in nb.waiting]

    @property
    def cells(self) -> list[CellView]:
        return [c for nb in self.graded for c in nb.cells]

    @property
    def all_notes(self) -> list[Note]:
        return list(self.notes) + [n for nb in self.graded for n in nb.notes]

    @property
    def needs_look(self) -> bool:
        return any(n.needs_look for n in self.all_notes)


@dataclass
class ClassRecord:
    notebooks: list[str]
    students: list[StudentView]  # everyone with a submission in the gradebook, by id
    people: dict[str, dict]  # every student the gradebook knows (a roster import adds those without a submission)
    submitted: Path | None
    uncached: list[str] = field(default_factory=list)  # cached results this gradebook does not hold

    @property
    def max_score(self) -> float:
        return self.students[0].max_score if self.students else 0.0

    @property
    def current(self) -> list[StudentView]:
        return [s for s in self.students if not s.removed]

    @property
    def removed(self) -> list[StudentView]:
        return [s for s in self.students if s.removed]

    def student(self, name: str) -> StudentView | None:
        return next((s for s in self.students if s.student == name), None)


def presence(submitted: Path | None, students) -> dict[str, bool | None]:
    """student -> whether ``submitted/<student>/<assignment>/`` exists.

    Not looked at (None) when the folder is missing or holds no student folder at all:
    an archived or moved submissions folder says nothing about who withdrew.
    """
    if submitted is None or not Path(submitted).is_dir():
        return {s: None for s in students}
    folders = {p.name for p in Path(submitted).iterdir() if p.is_dir() and not p.name.startswith(".")}
    if not folders:
        return {s: None for s in students}
    return {s: (Path(submitted) / s / ASSIGNMENT).is_dir() for s in students}


_HEADING = re.compile(r"^\s*#{1,6}\s+(.*?)\s*#*\s*$")


def _title(text: str) -> str:
    text = re.sub(r"^\d+[.)]\s*", "", text.strip())
    text = re.sub(r"^your turn\s*[:—-]\s*", "", text, flags=re.I)
    return text[:1].upper() + text[1:]


def question_titles(notebook) -> tuple[dict[str, str], list[str], dict[str, str]]:
    """In ``notebook``: grade id -> the title of its question, the graded cells' order, and
    answer cell -> the graded cell that grades it (the next graded cell below it).

    A question's title is the heading of the section it is in (the nearest heading above
    the cell), without its number and "Your turn:".
    """
    titles, order, heading = {}, [], ""
    answers, waiting = {}, []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = _HEADING.match(line)
                if match:
                    heading = _title(match.group(1))
                    break
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if (meta.get("grade") or meta.get("task")) and grade_id:
            order.append(grade_id)
            if heading:
                titles[grade_id] = heading
            answers.update({answer: grade_id for answer in waiting})
            waiting = []
        elif meta.get("solution") and grade_id:
            waiting.append(grade_id)
    return titles, order, answers


def release_layout(course: Path | None):
    """Titles, order and answer cells of the graded cells, read from the release (``<course>/release/``):
    ({(notebook, grade id): title}, [(notebook, grade id)], {(notebook, answer cell): grade id})."""
    titles, order, answers = {}, [], {}
    folder = Path(course) / "release" / ASSIGNMENT if course else None
    if folder is None or not folder.is_dir():
        return titles, order, answers
    import nbformat

    for path in sorted(folder.glob("*.ipynb")):
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 (a broken release: titles fall back to ids)
            continue
        named, ordered, graded_by = question_titles(notebook)
        titles.update({(path.stem, grade_id): title for grade_id, title in named.items()})
        order += [(path.stem, grade_id) for grade_id in ordered]
        answers.update({(path.stem, answer): grade_id for answer, grade_id in graded_by.items()})
    return titles, order, answers


def fallback_title(grade_id: str) -> str:
    return _title(grade_id.removeprefix("test_").replace("_", " "))


def build(book, store: ResultStore | None, *, submitted: Path | None = None,
          course: Path | None = None, students: list[str] | None = None, release=None) -> ClassRecord:
    """The class record from a ``gradebook.Book`` and the cache (``students``: only those).

    ``release``: ``release_layout(course)`` if already read (titles and order of the cells).
    """
    titles, order, answers = release if release is not None else release_layout(course)
    rank = {key: i for i, key in enumerate(order)}
    cells = sorted((c for c in book.cells if not (c.task and not c.max_score)),
                   key=lambda c: (book.notebooks.index(c.notebook), rank.get((c.notebook, c.grade_id), 10**6)))
    records = store.records() if store is not None else {}
    names = sorted(s for s in book.submissions if students is None or s in students)
    present = presence(submitted, names)
    views = []
    for name in names:
        submission = book.submissions[name]
        comments = dict(submission.comments)
        for (notebook, answer), text in submission.comments.items():  # a comment on an answer cell: its question's
            question = answers.get((notebook, answer))
            if question and question != answer:
                comments[(notebook, question)] = "\n".join(filter(None, [comments.get((notebook, question)), text]))
        record = records.get(name) or {}
        entries = record.get("notebooks", {})
        notebooks: dict[str, NotebookView] = {}
        disagreements = []
        for notebook in book.notebooks:
            cached = {r["grade_id"]: r for r in entries.get(notebook, {}).get("rows", [])}
            here = [c for c in cells if c.notebook == notebook]
            scored = any(g is not None and (g.auto_score is not None or g.manual_score is not None)
                         for g in (submission.grades.get((notebook, c.grade_id)) for c in here))
            views_here = []
            for cell in here:
                grade = submission.grades.get((notebook, cell.grade_id))
                comment = comments.get((notebook, cell.grade_id), "")
                title = titles.get((notebook, cell.grade_id)) or fallback_title(cell.grade_id)
                view = _cell(cell, grade, cached.get(cell.grade_id), comment, title, scored)
                if view.reason.startswith("(the grading cache"):
                    disagreements.append(f"{notebook}/{cell.grade_id}")
                views_here.append(view)
            graded = any(v.status != NOT_GRADED for v in views_here)
            notes = [Note(n[0], n[1], bool(n[2])) for n in entries.get(notebook, {}).get("notes", [])] if graded else []
            notebooks[notebook] = NotebookView(notebook, views_here, graded, notes)
        views.append(StudentView(
            name, notebooks, present[name], [Note(n[0], n[1], bool(n[2])) for n in record.get("notes", [])],
            submission.timestamp or record.get("timestamp"), float(record.get("seconds", 0.0) or 0.0),
            record.get("worker", ""), int(record.get("attempts", 1) or 1), book.students.get(name, {}),
            disagreements))
    uncached = sorted(set(records) - set(book.submissions)) if students is None else []
    return ClassRecord(book.notebooks, views, dict(book.students), Path(submitted) if submitted else None, uncached)


def _cell(cell, grade, cached: dict | None, comment: str, title: str, notebook_scored: bool = True) -> CellView:
    """One cell's view: the gradebook's score, the cache's reason when they agree.

    ``notebook_scored``: some cell of the notebook has a score, so the notebook was graded
    and a hand-graded cell without a score is waiting for a grader.
    """
    view = CellView(cell.notebook, cell.grade_id, title, cell.max_score, cell.manual, None,
                    grade.auto_score if grade else None, grade.manual_score if grade else None,
                    NOT_GRADED, "", comment)
    if grade is None or (grade.auto_score is None and grade.manual_score is None):
        if cell.manual and (notebook_scored or (cached and cached.get("status") == WAITING)):
            view.status, view.reason = WAITING, "to be graded by hand (formgrader)"
        return view
    view.score = grade.score
    reason = (cached or {}).get("reason", "")
    agrees = cached is not None and (
        cached.get("score") is None and grade.auto_score is None
        or cached.get("score") is not None and grade.auto_score is not None
        and abs(float(cached["score"]) - grade.auto_score) < 1e-9)
    if grade.manual_score is not None:
        view.status = REVIEW if grade.needs_manual_grade else GRADED
        by_hand = f"{grade.manual_score:g} / {cell.max_score:g} given by a grader"
        if grade.needs_manual_grade:
            by_hand += ("; the answer changed since it was graded: look again in formgrader" if cell.manual
                        else "; the autograder's score changed since: look again in formgrader")
        view.reason = by_hand if cell.manual or not reason else f"{by_hand} (autograder: {reason})"
        return view
    if grade.auto_score is None:  # graded by hand, waiting
        view.status, view.reason, view.score = WAITING, "to be graded by hand (formgrader)", None
        return view
    if agrees:
        view.status = cached.get("status") or (PASSED if grade.auto_score >= cell.max_score else FAILED)
        view.reason = reason
    else:
        view.status = PASSED if grade.auto_score >= cell.max_score else FAILED
        if cached is not None:
            view.reason = ("(the grading cache says otherwise; this is the gradebook's score: "
                           "grade this student again to get the reason)")
    return view


def load(course: Path, *, gradebook_url: str | None = None, submitted: Path | None = None,
         students: list[str] | None = None) -> ClassRecord:
    """The record of ``course``: its gradebook (WT06_GRADEBOOK_URL or ``gradebook.db``) and cache."""
    course = Path(course)
    url = gradebook_url or layout.gradebook_url(course)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        book = Book([], {}, {})
    else:
        book = gradebook.read(url, students)
    return build(book, ResultStore(course), submitted=submitted or layout.submitted_dir(course), course=course,
                 students=students)
