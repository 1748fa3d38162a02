"""The grading engine: Dask distributed, from one laptop to many machines (the driver's loop).

What runs on the workers and how the driver reaches them is cluster.py; what is written
as each result arrives is recording.py.

The *driver* (this process) owns the gradebook, the output folders and the grade table;
it never runs student code. It packs the course into a ``CourseBundle`` (plain data,
see contract.py), ships it once to every worker as a worker plugin (the scheduler also
hands it to workers that join or restart later), and submits one task per submission.
A task carries the submission's bytes, the student id and the bundle's digest; on the
worker it goes to the worker's one long-lived ``GradingWorker`` (created lazily on first
use: it is expensive to start), which checks the digest of everything it builds. Workers
share no filesystem with the driver or each other.

* ``--jobs N`` (default 1): an embedded ``LocalCluster`` of N single-threaded worker
  processes; nothing to start by hand.
* ``--cluster tcp://HOST:8786``: a running scheduler whose workers may be on other
  machines (``dask scheduler`` / ``dask worker tcp://HOST:8786 --nthreads 1``).

Results are written as they arrive: the gradebook (nbgrader's API, any ``db_url``; the one
record of the class), the autograded notebooks of the notebooks graded, an entry per
notebook in the grading cache (class_record.py: what the gradebook has no column for), and the
student's feedback pages (views.py). The grade table is written from the gradebook every
30 s and at the end, whatever stopped the batch. A rerun grades only what is new, changed
or missing from the gradebook: a notebook is reused when its cache entry has the
submission's content hash and the course key (``course_key``: the course, settings and
sandbox, not which notebooks a run grades) and the gradebook holds its scores. A subset of
notebooks replaces only their entries, files and grades.

Faults: when a worker dies, Dask reruns its task on another worker; the driver writes
each submission once, whatever ran twice. A submission whose workers die
``max_attempts`` times (Dask's ``allowed-failures`` + 1) is written as ungraded with a
reason, and the batch goes on. Anything else a worker raises is the grader's failure: the
submission is not written (no zero) and is graded by the next run; a worker that cannot
start or a sandbox that fails stops the batch (failures.GraderFailure), as do a scheduler
or a gradebook that do not answer. The driver counts the workers lost and the time spent.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from wt06.errors import CourseError
from wt06_grading.driver.cluster import (
    INFRASTRUCTURE,
    GradingPlugin,
    WorkerEvents,
    configure_scheduler,
    grade_task,
    open_client,
)
from wt06_grading.driver.progress import Display
from wt06_grading.driver.recording import refresh_student_feedback, write_result
from wt06_grading.foundation.contract import (
    BundleMismatch,
    CourseBundle,
    SandboxSpec,
    SubmissionJob,
    unavailable_result,
)
from wt06_grading.foundation.failures import GraderFailure, NothingToGrade
from wt06_grading.foundation.layout import ASSIGNMENT
from wt06_grading.records import class_record, gradebook
from wt06_grading.records.class_record import RESULTS, ResultStore  # noqa: F401  (RESULTS re-exported: where the cache lives)
from wt06_grading.records.gradebook import redact
from wt06_grading.records.views import write_table
from wt06_grading.submission.intake import read_submission
from wt06_grading.submission.worker import GradingWorker

TABLE_EVERY = 30.0  # seconds between grade table rewrites during a batch


# --------------------------------------------------------------------------- driver side
def read_job(student: str, folder: Path) -> SubmissionJob:
    """A submission folder as a job: its regular files only (intake.read_submission)."""
    return read_submission(folder, student)


def submission_folders(submitted: Path) -> list[tuple[str, Path]]:
    if not submitted.is_dir():
        return []
    # a student folder that is a link is listed too: intake refuses it with a reason on the
    # student's row, instead of leaving the student out of the grade table unexplained
    return [(folder.name, folder / ASSIGNMENT) for folder in sorted(submitted.iterdir())
            if (folder.is_dir() or folder.is_symlink()) and not folder.name.startswith(".")]


def course_key(bundle: CourseBundle, sandbox: SandboxSpec) -> str:
    """What a notebook's grade depends on besides the submission: the course (instructor
    notebooks, incidents, reference results, settings such as the cell time limit) and the
    sandbox, not which notebooks this run grades: a notebook graded in week 1 stays fresh
    while week 2 grades another."""
    return hashlib.sha256(f"{bundle.shaping_digest()}\0{sandbox.name}".encode()).hexdigest()


def graded_notebooks(bundle: CourseBundle) -> list[str]:
    """The notebooks this run grades, in course order."""
    return list(dict.fromkeys(notebook for notebook, *_ in bundle.graded_cells))


@dataclass
class BatchStats:
    """What a batch cost: the driver's report, and what ``make bench`` reads."""

    submissions: int = 0  # in submitted/ (or named)
    graded: int = 0  # graded in this run
    reused: int = 0  # unchanged since the last run, and in the gradebook: record reused
    failed: int = 0  # every worker died on them: written with a reason, 0 points
    workers: int = 0
    workers_lost: int = 0
    seconds: float = 0.0  # wall time of the whole command (from the process's start)
    startup_seconds: float = 0.0  # before the first task (make grade: from the process's start; engine.run: its own)
    grading_seconds: float = 0.0  # sum of per-submission grading time on the workers
    per_submission: dict[str, float] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)  # only those tried more than once
    unfinished: list[str] = field(default_factory=list)  # the grader failed them: nothing written, graded next run
    problems: list[str] = field(default_factory=list)
    notebooks: list[str] = field(default_factory=list)  # what this run graded
    batch_seconds: float = 0.0  # from the first task to the last result

    @property
    def per_minute(self) -> float:
        wall = self.batch_seconds or (self.seconds - self.startup_seconds)
        return 60.0 * self.graded / wall if self.graded and wall > 0 else 0.0

    def sentence(self) -> str:
        parts = [f"graded {self.graded}", f"reused {self.reused} unchanged"]
        if self.failed:
            parts.append(f"{self.failed} could not be graded (every worker died on them)")
        if self.unfinished:
            parts.append(f"{len(self.unfinished)} not graded: the grader failed (run make grade again)")
        parts.append(f"{self.workers} worker(s), {self.workers_lost} lost")
        parts.append(f"{self.seconds:.0f} s wall ({self.startup_seconds:.0f} s start-up, "
                     f"{self.grading_seconds:.0f} s grading on workers)")
        if self.graded:
            parts.append(f"{self.per_minute:.1f} submissions/min")
        return "; ".join(parts)


def _task_key(student: str, content: str) -> str:
    return f"wt06-grade-{content[:12]}-{hashlib.sha256(student.encode()).hexdigest()[:12]}"


@dataclass
class Batch:
    book: object  # gradebook.Book after the batch (every student, this run and earlier ones)
    table: Path
    stats: BatchStats
    graded_now: list[str]


def _gradebook_fails(url: str, exc: Exception) -> GraderFailure:
    return GraderFailure(f"the gradebook {redact(url)} cannot be used ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:300]}): start the database, create it and its role "
                         "(grader/README.md, \"The gradebook\"), or fix WT06_GRADEBOOK_URL")


def _in_gradebook(book, record: dict | None, notebooks: list[str]) -> bool:
    """Whether the gradebook holds what the cache says was written for ``notebooks``."""
    if record is None:
        return False
    submission = book.submissions.get(record.get("student"))
    if submission is None:
        return False
    for notebook in notebooks:
        for row in record.get("notebooks", {}).get(notebook, {}).get("rows", []):
            grade = submission.grades.get((notebook, row["grade_id"]))
            if grade is None:
                return False
            want = None if row.get("status") == "manual" else row.get("score")
            have = grade.auto_score
            if (want is None) != (have is None) or (want is not None and abs(float(want) - have) > 1e-9):
                return False
    return True


def run(
    bundle: CourseBundle,
    *,
    submitted: Path,
    out: Path,
    gradebook_url: str,
    jobs: int = 1,
    cluster: str | None = None,
    students: list[str] | None = None,
    sandbox: SandboxSpec = SandboxSpec(),
    worker_class=None,
    progress: bool = True,
    max_attempts: int = 3,
    force: bool = False,
    worker_env: dict | None = None,
    stream=sys.stderr,
    display=None,
    mark_schemes: dict[str, dict[str, str]] | None = None,
) -> Batch:
    """Grade what is new, changed or missing from the gradebook in ``submitted``; write as results arrive.

    Raises NothingToGrade when ``submitted`` holds no submission, GraderFailure when the
    gradebook, the scheduler, the workers or the sandbox fail (nothing more is written).
    """
    from distributed import as_completed

    display = display or Display(stream, enabled=progress)
    started = time.perf_counter()
    if worker_class is None:
        worker_class = GradingWorker
    out = Path(out)
    store = ResultStore(out)
    key = course_key(bundle, sandbox)
    notebooks = graded_notebooks(bundle)
    folders = submission_folders(Path(submitted))
    if students:
        known = {s for s, _ in folders}
        unknown = sorted(set(students) - known)
        if unknown:
            raise CourseError(f"no submission from {', '.join(unknown)} in {submitted} "
                              f"(expected {submitted}/<student>/{ASSIGNMENT}/)")
        folders = [(s, f) for s, f in folders if s in students]
    elif not folders:
        raise NothingToGrade(f"no submissions in {submitted}: put each student's notebooks in "
                             f"{submitted}/<student>/{ASSIGNMENT}/ (make fixtures writes a rehearsal class)")
    stats = BatchStats(submissions=len(folders), notebooks=notebooks)
    table = out / "grades.csv"
    try:
        gb_context = gradebook.open_gradebook(gradebook_url)
        gb = gb_context.__enter__()
        book = gradebook.read_open(gb)
    except GraderFailure:
        raise
    except Exception as exc:  # noqa: BLE001 (a database that does not answer, a wrong URL, no driver)
        raise _gradebook_fails(gradebook_url, exc) from None
    release = class_record.release_layout(out)
    graded_now: list[str] = []
    try:
        todo: list[tuple[str, Path, str]] = []
        for student, folder in folders:
            content = read_job(student, folder).content_hash()
            fresh = store.fresh(student, key, content, notebooks) \
                and _in_gradebook(book, store.load(student), notebooks)
            if fresh and not force and not students:
                stats.reused += 1
            else:
                todo.append((student, folder, content))
        try:
            if todo:
                _grade(todo, bundle=bundle, out=out, gb=gb, store=store, key=key, notebooks=notebooks, jobs=jobs,
                       cluster=cluster, sandbox=sandbox, worker_class=worker_class, max_attempts=max_attempts,
                       worker_env=worker_env, display=display, stats=stats, graded_now=graded_now, table=table,
                       submitted=Path(submitted), release=release, mark_schemes=mark_schemes or {},
                       url=gradebook_url, started=started, as_completed=as_completed, force=force)
            else:
                stats.startup_seconds = time.perf_counter() - started
        finally:  # the table says what the gradebook holds, whatever stopped the batch
            try:
                book = gradebook.read_open(gb)
                write_table(class_record.build(book, store, submitted=Path(submitted), course=out, release=release),
                            table)
            except Exception as exc:  # noqa: BLE001
                if sys.exc_info()[0] is None:
                    raise _gradebook_fails(gradebook_url, exc) from None
    finally:
        with contextlib.suppress(Exception):
            gb_context.__exit__(None, None, None)
    return Batch(book, table, stats, graded_now)


def _grade(todo, *, bundle, out, gb, store, key, notebooks, jobs, cluster, sandbox, worker_class, max_attempts,
           worker_env, display, stats, graded_now, table, submitted, release, mark_schemes, url, started,
           as_completed, force=False) -> None:
    events = WorkerEvents()
    with tempfile.TemporaryDirectory(prefix="wt06-engine-") as tmp:
        local = f"{max(1, min(jobs, len(todo)))} local grading worker(s)"
        display.phase(f"starting {'the workers of ' + cluster if cluster else local}")
        with open_client(max(1, min(jobs, len(todo))), cluster, max_attempts, Path(tmp), worker_env or {}) as client:
            allowed = client.run_on_scheduler(configure_scheduler, max(0, max_attempts - 1))
            plugin = GradingPlugin(bundle, worker_class, sandbox)
            client.register_plugin(plugin, name=plugin.name)
            client.subscribe_topic("all", events)
            stats.workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            stats.startup_seconds = time.perf_counter() - started
            display.grading(len(todo), stats.workers)
            batch_started = time.perf_counter()
            pending = iter(todo)
            jobs_by_key: dict[str, tuple[str, str, str | None]] = {}
            futures = as_completed()

            def submit_next() -> bool:
                item = next(pending, None)
                if item is None:
                    return False
                student, folder, content = item
                job = read_job(student, folder)
                job.reuse = not force  # FORCE=1: the worker computes everything again, kept work included
                task = _task_key(student, content)
                jobs_by_key[task] = (student, content, job.timestamp)
                futures.add(client.submit(grade_task, job, bundle.digest, plugin.name, key=task,
                                          pure=False, retries=0))
                return True

            slots = {"n": 1, "at": 0.0}

            def fill() -> None:
                # one task per worker thread in flight: a worker that dies takes down only the
                # submission it was grading (Dask counts an attempt against every task a lost
                # worker held, queued ones included). Workers come and go: recount every 2 s.
                if time.perf_counter() - slots["at"] > 2.0:
                    slots["n"] = max(1, sum(client.nthreads().values()))
                    slots["at"] = time.perf_counter()
                while len(jobs_by_key) < slots["n"] and submit_next():
                    pass

            fill()
            last_table = time.perf_counter()
            try:
                for future in futures:
                    student, content, timestamp = jobs_by_key.pop(future.key)
                    tries = 1 + events.tries.get(future.key, 0)
                    try:
                        result = future.result()
                    except BundleMismatch as exc:
                        raise CourseError(f"a worker cannot grade this course: {exc}") from None
                    except GraderFailure:
                        raise  # nothing of this submission is written; the batch stops with the sentence
                    except INFRASTRUCTURE as exc:  # the cluster, not the submission: nothing written
                        future.release()
                        stats.unfinished.append(student)
                        stats.problems.append(f"{student}: {type(exc).__name__}: {str(exc)[:200]}")
                        fill()
                        continue
                    except Exception as exc:  # KilledWorker, or the worker implementation failed
                        name = type(exc).__name__
                        future.release()
                        if name != "KilledWorker":  # a grader bug: never a student's grade
                            stats.unfinished.append(student)
                            stats.problems.append(f"{student}: the grader failed ({name}: {str(exc)[:200]})")
                            display.step(student, f"not graded: the grader failed ({name})", look=True)
                            fill()
                            continue
                        tries = allowed + 1
                        sentence = (f"not graded: the grading worker died {tries} time(s) while grading this "
                                    "submission (it may exhaust memory or kill its process); grade it by hand "
                                    "or fix and regrade it")
                        stats.failed += 1
                        result = unavailable_result(bundle, student, sentence, attempts=tries)
                    result.attempts = max(result.attempts, tries)
                    future.release()
                    try:
                        write_result(result, out, gb, timestamp, mark_schemes=mark_schemes)
                    except Exception as exc:  # noqa: BLE001 (the database went away: stop, say so)
                        raise _gradebook_fails(url, exc) from None
                    store.save(result, key=key, content=content, timestamp=timestamp, notebooks=notebooks)
                    refresh_student_feedback(gb, store, out, result, release)
                    graded_now.append(student)
                    stats.graded += 1
                    stats.grading_seconds += result.seconds
                    stats.per_submission[student] = result.seconds
                    if result.attempts > 1:
                        stats.attempts[student] = result.attempts
                    display.step(student, f"{result.score:g}/{result.max_score:g} (this run's notebooks) "
                                          f"in {result.seconds:.0f} s", look=result.needs_look,
                                 lost=len(events.lost))
                    fill()
                    if time.perf_counter() - last_table > TABLE_EVERY:
                        write_table(class_record.build(gradebook.read_open(gb), store, submitted=submitted, course=out,
                                                  release=release), table)
                        last_table = time.perf_counter()
            finally:
                stats.batch_seconds = time.perf_counter() - batch_started
                with contextlib.suppress(Exception):
                    client.unsubscribe_topic("all")
                stats.workers_lost = len(events.lost)


