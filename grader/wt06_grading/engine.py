"""The grading engine: Dask distributed, from one laptop to many machines.

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

Results are written as they arrive: feedback and autograded notebooks, the gradebook
(nbgrader's API, any ``db_url``), then a small record per student under
``<out>/.wt06/results/``. The grade table is rewritten from those records (every few
seconds and at the end), so an interrupted batch keeps what finished, and a rerun grades
only the submissions that are new or changed: a record is reused when its submission's
content hash and the bundle digest (course, settings, sandbox) are unchanged.

Faults: when a worker dies, Dask reruns its task on another worker; the driver writes
each submission once, whatever ran twice. A submission whose workers die
``max_attempts`` times (Dask's ``allowed-failures`` + 1) is written as ungraded with a
reason, and the batch goes on. The driver counts the workers lost and the time spent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .contract import (
    BundleMismatch,
    CourseBundle,
    SandboxSpec,
    SubmissionJob,
    SubmissionResult,
    unavailable_result,
)
from .layout import ASSIGNMENT

RESULTS = Path(".wt06") / "results"
TABLE_EVERY = 10.0  # seconds between grade table rewrites during a batch
COLUMNS = ["student", "assignment", "notebook", "question", "score", "max", "status", "reason"]


# --------------------------------------------------------------------------- worker side
try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - distributed is a grading requirement
    WorkerPlugin = object


class GradingPlugin(WorkerPlugin):
    """Holds the course bundle on a worker and the worker's one GradingWorker.

    Registered once by the driver (``Client.register_plugin``): the scheduler sends it to
    every worker, including workers that join or restart during the batch.
    """

    idempotent = False

    def __init__(self, bundle: CourseBundle, worker_class, sandbox: SandboxSpec) -> None:
        self.bundle, self.worker_class, self.sandbox = bundle, worker_class, sandbox
        self.name = f"wt06-course-{bundle.digest[:16]}"

    def setup(self, worker) -> None:
        self.bundle.verify()  # what arrived is what the driver packed
        self.address = worker.address
        self.scratch = Path(worker.local_directory) / "wt06-grading"
        self.grader = None
        self.lock = threading.Lock()

    def teardown(self, worker) -> None:
        if getattr(self, "grader", None) is not None:
            with contextlib.suppress(Exception):
                self.grader.close()

    def grade(self, job: SubmissionJob, digest: str) -> SubmissionResult:
        if digest != self.bundle.digest:
            raise BundleMismatch(f"this worker holds course bundle {self.bundle.digest[:12]}, "
                                 f"the task wants {digest[:12]}")
        with self.lock:  # one submission at a time per worker process
            if self.grader is None:
                self.scratch.mkdir(parents=True, exist_ok=True)
                self.grader = self.worker_class(self.bundle, self.scratch, self.sandbox)
            result = self.grader.grade(job)
        result.worker = self.address
        return result


def grade_task(job: SubmissionJob, digest: str, plugin_name: str) -> SubmissionResult:
    """The Dask task: grade ``job`` with this worker's GradingWorker."""
    from distributed import get_worker

    plugin = get_worker().plugins.get(plugin_name)
    if plugin is None:
        raise BundleMismatch("this worker has no course bundle (the driver's plugin did not reach it)")
    return plugin.grade(job, digest)


# --------------------------------------------------------------------------- driver side
def read_job(student: str, folder: Path) -> SubmissionJob:
    """A submission folder as a job: its regular files only (intake.read_submission)."""
    from .intake import read_submission

    return read_submission(folder, student)


def submission_folders(submitted: Path) -> list[tuple[str, Path]]:
    if not submitted.is_dir():
        return []
    return [(folder.name, folder / ASSIGNMENT) for folder in sorted(submitted.iterdir())
            if folder.is_dir() and not folder.is_symlink() and not folder.name.startswith(".")]


class ResultStore:
    """One JSON record per graded student: what the grade table and reruns are made from."""

    def __init__(self, out: Path) -> None:
        self.folder = Path(out) / RESULTS
        self._results: dict[str, SubmissionResult] | None = None  # read once, then kept up to date

    def _path(self, student: str) -> Path:
        return self.folder / f"{student}.json"

    def load(self, student: str) -> dict | None:
        try:
            return json.loads(self._path(student).read_text())
        except (OSError, ValueError):
            return None

    def save(self, result: SubmissionResult, *, key: str, content: str, timestamp: str | None,
             final: bool = True) -> None:
        """``final=False``: shown in the table, but graded again by the next run."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {"key": key, "content": content, "timestamp": timestamp, "final": final,
                  "result": result.to_json()}
        tmp = self._path(result.student).with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self._path(result.student))
        if self._results is not None:
            self._results[result.student] = SubmissionResult.from_json(record["result"])

    def results(self) -> list[SubmissionResult]:
        """Every stored result, by student (without files)."""
        if self._results is None:
            self._results = {}
            for path in sorted(self.folder.glob("*.json")) if self.folder.is_dir() else []:
                with contextlib.suppress(OSError, ValueError, KeyError):
                    result = SubmissionResult.from_json(json.loads(path.read_text())["result"])
                    self._results[result.student] = result
        return [self._results[s] for s in sorted(self._results)]


def write_table(results: list[SubmissionResult], path: Path) -> Path:
    """grades.csv: one row per graded cell and per note, students in order."""
    import csv

    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for result in sorted(results, key=lambda r: r.student):
            for r in result.rows:
                score = "" if r.score is None else f"{r.score:g}"  # empty: waiting to be graded by hand
                writer.writerow([result.student, ASSIGNMENT, r.notebook, r.grade_id, score,
                                 f"{r.max_score:g}", r.status, r.reason])
            for notebook, sentence, look in result.notes:
                writer.writerow([result.student, ASSIGNMENT, notebook or "(submission)", "(note)", "", "",
                                 "needs a look" if look else "note", sentence])
    os.replace(tmp, path)
    return path


class Progress:
    """A one-line progress bar on a terminal; one line per submission elsewhere (CI logs)."""

    def __init__(self, total: int, stream=sys.stderr) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def step(self, result: SubmissionResult, lost: int = 0) -> None:
        self.done += 1
        width = 24
        bar = "#" * (width * self.done // max(self.total, 1))
        flag = "  (needs a look)" if result.needs_look else ""
        extra = f"  [{lost} worker(s) lost]" if lost else ""
        line = (f"[{bar:<{width}}] {self.done}/{self.total}  {result.student}: "
                f"{result.score:g}/{result.max_score:g} in {result.seconds:.0f} s{flag}{extra}")
        self.stream.write(("\r" + line.ljust(78)) if self.tty else line + "\n")
        if self.tty and self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


@dataclass
class BatchStats:
    """What a batch cost: the driver's report, and what ``make bench`` reads."""

    submissions: int = 0  # in submitted/ (or named)
    graded: int = 0  # graded in this run
    reused: int = 0  # unchanged since the last run: record reused
    failed: int = 0  # no worker could grade them (marked with a reason)
    workers: int = 0
    workers_lost: int = 0
    seconds: float = 0.0  # wall time of the whole batch
    startup_seconds: float = 0.0  # bundle + cluster start, before the first task
    grading_seconds: float = 0.0  # sum of per-submission grading time on the workers
    per_submission: dict[str, float] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)  # only those tried more than once
    unfinished: list[str] = field(default_factory=list)  # the cluster failed them: graded next run
    problems: list[str] = field(default_factory=list)

    @property
    def per_minute(self) -> float:
        wall = self.seconds - self.startup_seconds
        return 60.0 * self.graded / wall if self.graded and wall > 0 else 0.0

    def sentence(self) -> str:
        parts = [f"graded {self.graded}", f"reused {self.reused} unchanged"]
        if self.failed:
            parts.append(f"{self.failed} could not be graded")
        if self.unfinished:
            parts.append(f"{len(self.unfinished)} left for the next run (the cluster failed them)")
        parts.append(f"{self.workers} worker(s), {self.workers_lost} lost")
        parts.append(f"{self.seconds:.0f} s wall ({self.startup_seconds:.0f} s start-up, "
                     f"{self.grading_seconds:.0f} s grading on workers)")
        if self.graded:
            parts.append(f"{self.per_minute:.1f} submissions/min")
        return "; ".join(parts)


class _Events:
    """Workers lost and tasks they were running, from the scheduler's event stream."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lost: set[str] = set()
        self.tries: dict[str, int] = {}

    def __call__(self, event) -> None:
        _, message = event
        if not isinstance(message, dict) or message.get("action") != "remove-worker":
            return
        if message.get("expected"):
            return
        with self.lock:
            self.lost.add(message.get("worker", "?"))
            for key in message.get("processing-tasks", ()):
                self.tries[str(key)] = self.tries.get(str(key), 0) + 1


def _infrastructure() -> tuple[type, ...]:
    """Exceptions that say the cluster failed, not the submission or the worker's code."""
    import asyncio
    import concurrent.futures

    from distributed.comm.core import CommClosedError

    return (asyncio.CancelledError, concurrent.futures.CancelledError, CommClosedError, OSError)


try:
    _INFRASTRUCTURE = _infrastructure()
except ImportError:  # pragma: no cover
    _INFRASTRUCTURE = (OSError,)


def _task_key(student: str, content: str) -> str:
    return f"wt06-grade-{content[:12]}-{hashlib.sha256(student.encode()).hexdigest()[:12]}"


@contextlib.contextmanager
def _client(jobs: int, cluster: str | None, max_attempts: int, scratch: Path, env: dict):
    """A Dask client: on ``cluster`` if given, else on a LocalCluster of ``jobs`` processes."""
    import dask
    from distributed import Client, LocalCluster

    if cluster:
        with Client(cluster, timeout="30s") as client:
            yield client
        return
    settings = {"distributed.scheduler.allowed-failures": max(0, max_attempts - 1),
                "distributed.scheduler.worker-saturation": 1.0}
    with dask.config.set(settings), \
            LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address="127.0.0.1:0",  # its HTTP server (health), on loopback
                         local_directory=str(scratch), silence_logs=logging.CRITICAL,
                         env=env) as local, Client(local) as client:
        yield client


@dataclass
class Batch:
    results: list[SubmissionResult]  # every student in the table (this run and earlier ones)
    table: Path
    stats: BatchStats
    graded_now: list[str]


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
) -> Batch:
    """Grade what is new or changed in ``submitted`` with Dask; write results as they arrive."""
    from distributed import as_completed

    from . import gradebook

    started = time.perf_counter()
    if worker_class is None:
        from .worker import GradingWorker as worker_class
    out = Path(out)
    store = ResultStore(out)
    key = hashlib.sha256(f"{bundle.grading_digest()}\0{sandbox.name}".encode()).hexdigest()
    folders = submission_folders(Path(submitted))
    if students:
        known = {s for s, _ in folders}
        unknown = sorted(set(students) - known)
        if unknown:
            from wt06.errors import CourseError

            raise CourseError(f"no submission from {', '.join(unknown)} in {submitted} "
                              f"(expected {submitted}/<student>/{ASSIGNMENT}/)")
        folders = [(s, f) for s, f in folders if s in students]
    stats = BatchStats(submissions=len(folders))
    todo: list[tuple[str, Path, str]] = []
    for student, folder in folders:
        content = read_job(student, folder).content_hash()
        record = store.load(student)
        fresh = record and record.get("key") == key and record.get("content") == content \
            and record.get("final", True)
        if fresh and not force and not students:
            stats.reused += 1
        else:
            todo.append((student, folder, content))
    table = out / "grades.csv"
    graded_now: list[str] = []
    if todo:
        events = _Events()
        bar = Progress(len(todo), stream) if progress else None
        with tempfile.TemporaryDirectory(prefix="wt06-engine-") as tmp, \
                gradebook.open_gradebook(gradebook_url) as gb, \
                _client(max(1, min(jobs, len(todo))), cluster, max_attempts, Path(tmp), worker_env or {}) as client:
            allowed = client.run_on_scheduler(_configure_scheduler, max(0, max_attempts - 1))
            plugin = GradingPlugin(bundle, worker_class, sandbox)
            client.register_plugin(plugin, name=plugin.name)
            client.subscribe_topic("all", events)
            stats.workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
            stats.startup_seconds = time.perf_counter() - started
            pending = iter(todo)
            jobs_by_key: dict[str, tuple[str, str, str | None]] = {}
            futures = as_completed()

            def submit_next() -> bool:
                item = next(pending, None)
                if item is None:
                    return False
                student, folder, content = item
                job = read_job(student, folder)
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
                        from wt06.errors import CourseError

                        raise CourseError(f"a worker cannot grade this course: {exc}") from None
                    except _INFRASTRUCTURE as exc:  # the cluster, not the submission: nothing written
                        future.release()
                        stats.unfinished.append(student)
                        stats.problems.append(f"{student}: {type(exc).__name__}: {str(exc)[:200]}")
                        fill()
                        continue
                    except Exception as exc:  # KilledWorker, or the worker implementation failed
                        name = type(exc).__name__
                        final = name == "KilledWorker"  # a grader bug is retried by the next run
                        if final:
                            tries = allowed + 1
                            sentence = (f"not graded: the grading worker died {tries} time(s) while "
                                        "grading this submission (it may exhaust memory or kill its "
                                        "process); grade it by hand or fix and regrade it")
                        else:
                            sentence = f"not graded: the grader failed ({name}: {str(exc)[:200]})"
                        stats.failed += 1
                        result = unavailable_result(bundle, student, sentence, attempts=tries)
                    else:
                        final = True
                    result.attempts = max(result.attempts, tries)
                    future.release()
                    _write_result(result, out, gb, timestamp)
                    store.save(result, key=key, content=content, timestamp=timestamp, final=final)
                    graded_now.append(student)
                    stats.graded += 1
                    stats.grading_seconds += result.seconds
                    stats.per_submission[student] = result.seconds
                    if result.attempts > 1:
                        stats.attempts[student] = result.attempts
                    if bar:
                        bar.step(result, len(events.lost))
                    fill()
                    if time.perf_counter() - last_table > TABLE_EVERY:
                        write_table(store.results(), table)
                        last_table = time.perf_counter()
            finally:
                with contextlib.suppress(Exception):
                    client.unsubscribe_topic("all")
                stats.workers_lost = len(events.lost)
                write_table(store.results(), table)
    else:
        write_table(store.results(), table)
    stats.seconds = time.perf_counter() - started
    return Batch(store.results(), table, stats, graded_now)


def _configure_scheduler(allowed_failures: int, dask_scheduler=None) -> int:
    """Make a scheduler fit for grading; runs on the scheduler (also a remote one).

    * ``allowed_failures``: a task whose worker died more than this many times fails with
      KilledWorker (the driver marks the submission) instead of killing worker after worker.
    * worker saturation 1.0: a single-threaded worker holds one task at a time, so a worker
      that dies takes down (and counts an attempt against) only the submission it was grading,
      not the next one queued behind it.
    """
    dask_scheduler.allowed_failures = allowed_failures
    if dask_scheduler.WORKER_SATURATION != float("inf"):
        dask_scheduler.WORKER_SATURATION = 1.0
    return int(dask_scheduler.allowed_failures)


def _write_result(result: SubmissionResult, out: Path, gb, timestamp: str | None) -> None:
    """Feedback and autograded notebooks, then the gradebook (the record is saved last)."""
    from . import gradebook

    for kind, files, suffix in (("feedback", result.feedback, ".html"),
                                ("autograded", result.autograded, ".ipynb")):
        target = out / kind / result.student / ASSIGNMENT
        shutil.rmtree(target, ignore_errors=True)
        if files:
            target.mkdir(parents=True)
            for name, data in files.items():
                (target / f"{Path(name).name}{suffix}").write_bytes(data)
    gradebook.write_result(gb, result, timestamp)
