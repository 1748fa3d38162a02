"""Grade a class in one command: every submission, isolated, in parallel, into one gradebook.

``grade_class`` takes submissions from the standard nbgrader folder
(``submitted/<student>/wt06/``), grades each in its own scratch folder (see
submission.py), merges the results into the course gradebook one student at a time,
copies the feedback and autograded notebooks to ``feedback/`` and ``autograded/``, and
writes the grade table (``grades.csv``). A broken submission is graded as far as it can
be, with a reason; it never stops the batch or costs another student's grade.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from wt06 import paths
from wt06.errors import CourseError
from wt06.warehouse import require_built

from .gradebook import merge_student
from .hidden import Reference
from .release import ASSIGNMENT, GRADER, SOURCE, generate
from .scenarios import prepare
from .submission import Graded, Row, Settings, grade_submission

COLUMNS = ["student", "assignment", "notebook", "question", "score", "max", "status", "reason"]


@dataclass
class ClassResult:
    graded: list[Graded] = field(default_factory=list)
    table: Path | None = None
    seconds: float = 0.0

    @property
    def needs_look(self) -> list[str]:
        return [g.student for g in self.graded if g.needs_look]

    @property
    def exit_code(self) -> int:
        """0: everything graded cleanly; 1: some submission needs a manual look."""
        return 1 if self.needs_look else 0


def _reference(scenarios: dict, cache: Path) -> Reference:
    """The reference results, cached by the incidents and the instructor notebooks."""
    digest = hashlib.sha256(json.dumps(scenarios, sort_keys=True).encode())
    for path in sorted(SOURCE.glob("*.ipynb")):
        digest.update(path.read_bytes())
    digest.update(Path(__file__).with_name("checker.py").read_bytes())
    stored = cache / f"reference-{digest.hexdigest()[:16]}.json"
    if stored.is_file():
        return Reference(scenarios, json.loads(stored.read_text()))
    reference = Reference.compute(scenarios)
    cache.mkdir(parents=True, exist_ok=True)
    stored.write_text(json.dumps(reference.results))
    return reference


def _released(course: Path) -> dict:
    generated = generate(course)
    return {p.stem: nbformat.read(p, as_version=4) for p in sorted(generated.glob("*.ipynb"))}


def _students(submitted: Path) -> list[tuple[str, Path]]:
    if not submitted.is_dir():
        return []
    return [(folder.name, folder / ASSIGNMENT) for folder in sorted(submitted.iterdir())
            if folder.is_dir() and not folder.name.startswith(".")]


class Progress:
    """A one-line progress bar on a terminal; one line per submission elsewhere (CI logs)."""

    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def step(self, graded: Graded) -> None:
        self.done += 1
        scored = [r for r in graded.rows if r.score is not None and r.question != "(note)"]
        score = sum(r.score for r in scored)
        top = sum(r.max_score for r in scored if r.max_score)
        width = 24
        bar = "#" * (width * self.done // max(self.total, 1))
        flag = "  (needs a look)" if graded.needs_look else ""
        line = f"[{bar:<{width}}] {self.done}/{self.total}  {graded.student}: {score:g}/{top:g}{flag}"
        self.stream.write(("\r" + line.ljust(78)) if self.tty else line + "\n")
        if self.tty and self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def write_table(rows: list[Row], path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([r.student, ASSIGNMENT, r.notebook, r.question,
                             "" if r.score is None else f"{r.score:g}",
                             "" if r.max_score is None else f"{r.max_score:g}", r.status, r.reason])
    return path


def grade_class(
    course: Path = GRADER,
    *,
    submitted: Path | None = None,
    jobs: int = 1,
    only: list[str] | None = None,
    cell_timeout: int = 60,
    sandbox: list[str] = (),
    out: Path | None = None,
    progress: bool = True,
) -> ClassResult:
    """Grade every submission under ``submitted`` into ``course``'s gradebook."""
    started = time.perf_counter()
    course = Path(course)
    submitted = Path(submitted or course / "submitted")
    out = Path(out or course)
    warehouse = require_built(paths.warehouse_path())
    gradebook = course / "gradebook.db"
    if not (course / "source" / ASSIGNMENT).is_dir():
        shutil.copytree(SOURCE, course / "source" / ASSIGNMENT)
    released = _released(course)  # also registers the assignment in the gradebook
    unknown = sorted(set(only or []) - set(released))
    if unknown:
        raise CourseError(f"no notebook named {', '.join(unknown)} in the assignment "
                          f"(it has {', '.join(released)})")
    cache = paths.work_dir() / "grading-scenarios"
    settings = Settings(released=released, reference=_reference(prepare(cache), cache),
                        warehouse=warehouse, project=paths.project_dir(),
                        source=course / "source" / ASSIGNMENT, only=only, cell_timeout=cell_timeout,
                        sandbox=list(sandbox))
    students = _students(submitted)
    result = ClassResult()
    bar = Progress(len(students)) if progress else None
    with tempfile.TemporaryDirectory(prefix="wt06-grading-") as tmp:
        scratch = Path(tmp)

        def one(student: str, folder: Path) -> Graded:
            own = scratch / student
            own.mkdir()
            db = gradebook if jobs == 1 else own / "gradebook.db"
            if jobs > 1:
                shutil.copy(gradebook, db)
            return grade_submission(student, folder, settings, db, own)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(one, s, f): s for s, f in students}
            for future in as_completed(futures):
                graded = future.result()
                result.graded.append(graded)
                if bar:
                    bar.step(graded)
        result.graded.sort(key=lambda g: g.student)
        for graded in result.graded:
            if jobs > 1:
                merge_student(scratch / graded.student / "gradebook.db", gradebook, graded.student)
            for kind, files in (("feedback", graded.feedback), ("autograded", graded.autograded)):
                target = out / kind / graded.student / ASSIGNMENT
                shutil.rmtree(target, ignore_errors=True)
                target.mkdir(parents=True)
                for path in files:
                    shutil.copy(path, target / path.name)
    rows = [row for g in result.graded for row in g.rows]
    result.table = write_table(rows, out / "grades.csv")
    result.seconds = time.perf_counter() - started
    return result


def print_summary(result: ClassResult, stream=sys.stdout) -> None:
    """The grade table in short: one line per student and notebook, then what to look at."""
    for graded in result.graded:
        by_notebook: dict[str, list[Row]] = {}
        for row in graded.rows:
            if row.question != "(note)":
                by_notebook.setdefault(row.notebook, []).append(row)
        total = sum(r.score or 0 for rows in by_notebook.values() for r in rows)
        top = sum(r.max_score or 0 for rows in by_notebook.values() for r in rows)
        stream.write(f"{graded.student:<24} {total:>5g} / {top:g}\n")
        for notebook, rows in sorted(by_notebook.items()):
            got = sum(r.score or 0 for r in rows)
            failed = [r.question for r in rows if r.status in ("failed", "missing")]
            manual = [r.question for r in rows if r.status == "manual"]
            detail = (f"  failed: {', '.join(failed)}" if failed else "") + \
                     (f"  to grade by hand: {', '.join(manual)}" if manual else "")
            stream.write(f"    {notebook:<24} {got:>5g} / {sum(r.max_score or 0 for r in rows):g}{detail}\n")
        for row in graded.rows:
            if row.question == "(note)":
                stream.write(f"    note ({row.notebook}): {row.reason}\n")
    stream.write(f"\nGrade table: {result.table}  ({len(result.graded)} submissions, {result.seconds:.0f} s)\n")
    if result.needs_look:
        stream.write(f"Needs a manual look: {', '.join(result.needs_look)} (see the reason column).\n")
    else:
        stream.write("Every submission was graded automatically; postmortems wait in the formgrader.\n")
