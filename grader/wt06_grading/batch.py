"""Grade a class in one command: every submission, isolated, in parallel, into one gradebook.

``grade_class`` is the Python entry point (the ``grade`` command and the tests call it):
it packs the course for the grading workers (bundle.py: the release, registered in the
course gradebook, the questions, the incidents, the reference results) and hands the
submissions in ``submitted/<student>/wt06/`` to the Dask engine (engine.py), which grades
each one on a worker (worker.py: sandboxed, warm) and writes the gradebook,
``feedback/``, ``autograded/`` and the grade table (``grades.csv``) as results arrive. A
broken submission is graded as far as it can be, with a reason; it never stops the batch
or costs another student's grade. A rerun grades only what is new or changed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import engine, layout
from .bundle import course_bundle, local_worker_env, sandbox_spec
from .contract import SubmissionResult
from .engine import COLUMNS, BatchStats, Progress, write_table  # noqa: F401  (re-exported)
from .worker import NO_SANDBOX_NOTE


@dataclass
class ClassResult:
    results: list[SubmissionResult] = field(default_factory=list)  # every student in the table
    table: Path | None = None
    seconds: float = 0.0
    stats: BatchStats = field(default_factory=BatchStats)
    graded_now: list[str] = field(default_factory=list)
    sandbox: bool = True

    @property
    def graded(self) -> list[SubmissionResult]:
        return self.results

    @property
    def needs_look(self) -> list[str]:
        return [r.student for r in self.results if r.needs_look]

    @property
    def exit_code(self) -> int:
        """0: everything graded cleanly; 1: some submission needs a manual look or a rerun."""
        return 1 if self.needs_look or self.stats.unfinished else 0


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
) -> ClassResult:
    """Grade the submissions under ``submitted`` into ``course``'s gradebook.

    ``jobs``: worker processes of the embedded LocalCluster; ``cluster``: the address of
    a running Dask scheduler instead; ``students``: grade only these (always regraded);
    ``force``: regrade everyone, changed or not; ``gradebook_url``: an nbgrader db_url
    (default ``WT06_GRADEBOOK_URL``, else ``course/gradebook.db``); ``sandbox=False``:
    student code runs unconfined (``--no-sandbox``; every submission gets a note).
    """
    import time

    started = time.perf_counter()
    course = Path(course)
    submitted = Path(submitted or layout.submitted_dir(course))
    out = Path(out or course)
    url = gradebook_url or layout.gradebook_url(course)
    bundle = course_bundle(course, only=only, cell_timeout=cell_timeout, sandbox=sandbox, db_url=url)
    batch = engine.run(bundle, submitted=submitted, out=out, gradebook_url=url, jobs=jobs,
                       cluster=cluster, students=students, sandbox=sandbox_spec(sandbox),
                       progress=progress, max_attempts=max_attempts, force=force,
                       worker_env=local_worker_env(course))
    return ClassResult(batch.results, batch.table, time.perf_counter() - started, batch.stats, batch.graded_now,
                       sandbox)


def time_class(submitted: Path, jobs: int, *, only: list[str] | None = None, cell_timeout: int = 60,
               cluster: str | None = None) -> dict:
    """Grade the class in ``submitted`` from scratch with ``jobs`` local workers; the timings.

    For ``make bench``: a fresh course folder each time (nothing reused), the same engine
    as ``make grade``. Returns submissions per minute (after start-up), wall and start-up
    seconds, the workers' summed grading seconds and each submission's.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="wt06-time-") as tmp:
        result = grade_class(Path(tmp) / "course", submitted=Path(submitted), jobs=jobs, only=only,
                             cell_timeout=cell_timeout, cluster=cluster, progress=False,
                             gradebook_url=f"sqlite:///{Path(tmp) / 'gradebook.db'}")
    s = result.stats
    return {"workers": s.workers, "jobs": jobs, "submissions": s.graded, "seconds": round(s.seconds, 2),
            "startup_seconds": round(s.startup_seconds, 2), "grading_seconds": round(s.grading_seconds, 2),
            "per_minute": round(s.per_minute, 2), "workers_lost": s.workers_lost,
            "total_seconds": round(result.seconds, 2),  # with packing the course (generate, digests)
            "per_submission": {k: round(v, 2) for k, v in sorted(s.per_submission.items())}}


DETAIL_UP_TO = 40  # students listed one by one; a larger class gets the totals only


def print_summary(result: ClassResult, stream=sys.stdout) -> None:
    """The grade table in short: one line per student and notebook, then what to look at."""
    if len(result.results) > DETAIL_UP_TO:
        totals = sorted(r.score for r in result.results)
        top = max(r.max_score for r in result.results)
        quartiles = [totals[min(len(totals) - 1, len(totals) * q // 4)] for q in (1, 2, 3)]
        stream.write(f"{len(totals)} submissions; scores out of {top:g}: lowest {totals[0]:g}, quartiles "
                     f"{' / '.join(f'{q:g}' for q in quartiles)}, highest {totals[-1]:g} "
                     "(per student: the grade table; per question: make report)\n")
    for graded in result.results if len(result.results) <= DETAIL_UP_TO else []:
        by_notebook: dict[str, list] = {}
        for row in graded.rows:
            by_notebook.setdefault(row.notebook, []).append(row)
        stream.write(f"{graded.student:<24} {graded.score:>5g} / {graded.max_score:g}\n")
        for notebook, rows in sorted(by_notebook.items()):
            got = sum(r.score or 0 for r in rows)
            failed = [r.grade_id for r in rows if r.status in ("failed", "missing")]
            manual = [r.grade_id for r in rows if r.status == "manual"]
            detail = (f"  failed: {', '.join(failed)}" if failed else "") + \
                     (f"  to grade by hand: {', '.join(manual)}" if manual else "")
            stream.write(f"    {notebook:<24} {got:>5g} / {sum(r.max_score for r in rows):g}{detail}\n")
        for notebook, sentence, _ in graded.notes:
            stream.write(f"    note ({notebook or '(submission)'}): {sentence}\n")
    stream.write(f"\nGrade table: {result.table}  ({len(result.results)} submissions; "
                 f"{result.stats.sentence()})\n")
    if not result.sandbox:
        stream.write(f"Warning: {NO_SANDBOX_NOTE}.\n")
    if result.stats.unfinished:
        stream.write(f"Not graded this time (the cluster failed them; `make grade` again grades them): "
                     f"{', '.join(result.stats.unfinished[:DETAIL_UP_TO])}\n")
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
        stream.write("Every submission was graded automatically; postmortems wait in the formgrader.\n")
