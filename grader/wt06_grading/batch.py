"""Grade a class in one command: every submission, isolated, into one gradebook.

``grade_class`` builds the course bundle once (bundle.py), reads each submission from
nbgrader's folder (``submitted/<student>/<assignment>/``) as bytes, grades it in a
grading worker (worker.py: sandboxed, warm), and writes each result as it arrives: the
gradebook (only this process writes it), ``feedback/``, ``autograded/`` and, at the end,
the grade table ``grades.csv``. A broken submission is graded as far as it can be, with
a reason; it never stops the batch or costs another student's grade.
"""

from __future__ import annotations

import csv
import multiprocessing
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from wt06.errors import CourseError

from . import layout
from .bundle import build_bundle
from .contract import SubmissionJob, SubmissionResult
from .gradebook import record
from .intake import read_submission

COLUMNS = ["student", "assignment", "notebook", "question", "score", "max", "status", "reason"]
NO_SANDBOX_NOTE = "graded WITHOUT the sandbox (--no-sandbox): student code ran with the grader's rights"


@dataclass
class ClassResult:
    graded: list[SubmissionResult] = field(default_factory=list)
    table: Path | None = None
    seconds: float = 0.0
    sandbox: bool = True

    @property
    def needs_look(self) -> list[str]:
        return [g.student for g in self.graded if g.needs_look]

    @property
    def exit_code(self) -> int:
        """0: everything graded cleanly; 1: some submission needs a manual look."""
        return 1 if self.needs_look else 0


def students(submitted: Path, only: list[str] | None = None) -> list[tuple[str, Path]]:
    if not submitted.is_dir():
        return []
    found = [(folder.name, folder / layout.ASSIGNMENT) for folder in sorted(submitted.iterdir())
             if folder.is_dir() and not folder.is_symlink() and not folder.name.startswith(".")]
    return [s for s in found if only is None or s[0] in only]


class Progress:
    """A one-line progress bar on a terminal; one line per submission elsewhere (CI logs)."""

    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def step(self, graded: SubmissionResult) -> None:
        self.done += 1
        score, top = graded.total
        width = 24
        bar = "#" * (width * self.done // max(self.total, 1))
        flag = "  (needs a look)" if graded.needs_look else ""
        line = f"[{bar:<{width}}] {self.done}/{self.total}  {graded.student}: {score:g}/{top:g}{flag}"
        self.stream.write(("\r" + line.ljust(78)) if self.tty else line + "\n")
        if self.tty and self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def table_rows(result: SubmissionResult, sandbox: bool = True) -> list[list[str]]:
    rows = [[result.student, layout.ASSIGNMENT, r.notebook, r.grade_id,
             "" if r.score is None else f"{r.score:g}", f"{r.max_score:g}", r.status, r.reason]
            for r in result.rows]
    notes = [(n.notebook, n.sentence, n.needs_look) for n in result.notes]
    if not sandbox:
        notes.append(("", NO_SANDBOX_NOTE, False))
    rows += [[result.student, layout.ASSIGNMENT, notebook or "(submission)", "(note)", "", "",
              "needs a look" if look else "note", sentence] for notebook, sentence, look in notes]
    return rows


def write_table(results: list[SubmissionResult], path: Path, sandbox: bool = True) -> Path:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for result in results:
            writer.writerows(table_rows(result, sandbox))
    tmp.replace(path)
    return path


def write_files(result: SubmissionResult, out: Path) -> None:
    for kind, files, suffix in (("feedback", result.feedback, ".html"), ("autograded", result.autograded, ".ipynb")):
        target = out / kind / result.student / layout.ASSIGNMENT
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name, data in files.items():
            (target / f"{name}{suffix}").write_bytes(data)


# ----- workers: one GradingWorker per process, made once --------------------------------
_worker = None


def _start_worker(bundle, scratch: str, cache: str) -> None:
    global _worker
    from .worker import GradingWorker

    _worker = GradingWorker(bundle, Path(tempfile.mkdtemp(prefix="worker-", dir=scratch)),
                            incident_cache=Path(cache))


def _grade(job: SubmissionJob, only) -> SubmissionResult:
    return _worker.grade(job, only)


def grade_class(course: Path = layout.GRADER, *, submitted: Path | None = None, jobs: int = 1,
                only: list[str] | None = None, cell_timeout: int = 60, sandbox: bool = True,
                out: Path | None = None, progress: bool = True, students_only: list[str] | None = None
                ) -> ClassResult:
    """Grade every submission under ``submitted`` into ``course``'s gradebook."""
    started = time.perf_counter()
    course = Path(course)
    submitted = Path(submitted or layout.submitted_dir(course))
    out = Path(out or course)
    bundle = build_bundle(course, cell_timeout=cell_timeout, sandbox=sandbox)
    unknown = sorted(set(only or []) - set(bundle.release))
    if unknown:
        raise CourseError(f"no notebook named {', '.join(unknown)} in the assignment "
                          f"(it has {', '.join(bundle.release)})")
    found = students(submitted, students_only)
    result = ClassResult(sandbox=sandbox)
    bar = Progress(len(found)) if progress else None
    db_url = layout.gradebook_url(course)
    cache = layout.state_dir(course) / "incidents"
    with tempfile.TemporaryDirectory(prefix="wt06-grading-") as scratch:
        work = [read_submission(folder, student) for student, folder in found]

        def done(graded: SubmissionResult, job: SubmissionJob) -> None:
            record(db_url, graded, job.timestamp)
            write_files(graded, out)
            result.graded.append(graded)
            if bar:
                bar.step(graded)

        if jobs <= 1:
            _start_worker(bundle, scratch, str(cache))
            try:
                for job in work:
                    done(_grade(job, only), job)
            finally:
                _worker.close()
        else:
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker,
                                     initargs=(bundle, scratch, str(cache))) as pool:
                futures = {pool.submit(_grade, job, only): job for job in work}
                for future in as_completed(futures):
                    done(future.result(), futures[future])
    result.graded.sort(key=lambda g: g.student)
    result.table = write_table(result.graded, out / "grades.csv", sandbox)
    result.seconds = time.perf_counter() - started
    return result


def print_summary(result: ClassResult, stream=sys.stdout) -> None:
    """The grade table in short: one line per student and notebook, then what to look at."""
    for graded in result.graded:
        total, top = graded.total
        stream.write(f"{graded.student:<24} {total:>5g} / {top:g}\n")
        by_notebook: dict[str, list] = {}
        for row in graded.rows:
            by_notebook.setdefault(row.notebook, []).append(row)
        for notebook, rows in by_notebook.items():
            got = sum(r.score or 0 for r in rows)
            failed = [r.grade_id for r in rows if r.status in ("failed", "missing")]
            manual = [r.grade_id for r in rows if r.status == "manual"]
            detail = (f"  failed: {', '.join(failed)}" if failed else "") + \
                     (f"  to grade by hand: {', '.join(manual)}" if manual else "")
            stream.write(f"    {notebook:<24} {got:>5g} / {sum(r.max_score for r in rows):g}{detail}\n")
        for note in graded.notes:
            stream.write(f"    note ({note.notebook or 'submission'}): {note.sentence}\n")
    stream.write(f"\nGrade table: {result.table}  ({len(result.graded)} submissions, {result.seconds:.0f} s)\n")
    if not result.sandbox:
        stream.write(f"Warning: {NO_SANDBOX_NOTE}.\n")
    if result.needs_look:
        stream.write(f"Needs a manual look: {', '.join(result.needs_look)} (see the reason column).\n")
    else:
        stream.write("Every submission was graded automatically; postmortems wait in the formgrader.\n")
