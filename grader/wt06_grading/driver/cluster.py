"""Where grading runs: Dask workers that hold the course, and the scheduler that feeds them.

The driver (engine.py) registers a ``GradingPlugin`` holding the course bundle; the
scheduler hands it to every worker, including ones that join or restart during the
batch, and a worker's one long-lived ``GradingWorker`` is created on its first task
(``grade_task``). ``open_client`` gives the driver a client on a running scheduler
(``--cluster``) or on a local cluster of single-threaded worker processes (``--jobs``);
``configure_scheduler`` makes either fit for grading; ``WorkerEvents`` reads from the
scheduler's event stream which workers were lost and what they held.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

from wt06_grading.foundation.contract import BundleMismatch, CourseBundle, SandboxSpec, SubmissionJob, SubmissionResult
from wt06_grading.foundation.failures import GraderFailure
from wt06_grading.sandbox.bwrap import SandboxError

SCHEDULER_TIMEOUT = "30s"  # how long to wait for a Dask scheduler (CLUSTER=...) to answer

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
                try:
                    self.grader = self.worker_class(self.bundle, self.scratch, self.sandbox)
                except BundleMismatch:
                    raise
                except Exception as exc:  # the sandbox, the incidents, the disk: not a submission's fault
                    raise GraderFailure(f"a grading worker could not start on {self.address}: "
                                        f"{type(exc).__name__}: {str(exc)[:400]}") from None
            try:
                result = self.grader.grade(job)
            except SandboxError as exc:
                raise GraderFailure(f"the grading sandbox failed on {self.address}: {str(exc)[:400]}") from None
        result.worker = self.address
        return result


def grade_task(job: SubmissionJob, digest: str, plugin_name: str) -> SubmissionResult:
    """The Dask task: grade ``job`` with this worker's GradingWorker."""
    from distributed import get_worker

    plugin = get_worker().plugins.get(plugin_name)
    if plugin is None:
        raise BundleMismatch("this worker has no course bundle (the driver's plugin did not reach it)")
    return plugin.grade(job, digest)


class WorkerEvents:
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
    INFRASTRUCTURE = _infrastructure()
except ImportError:  # pragma: no cover
    INFRASTRUCTURE = (OSError,)


@contextlib.contextmanager
def open_client(jobs: int, cluster: str | None, max_attempts: int, scratch: Path, env: dict):
    """A Dask client: on ``cluster`` if given, else on a LocalCluster of ``jobs`` processes."""
    import dask
    from distributed import Client, LocalCluster

    if cluster:
        try:
            client = Client(cluster, timeout=SCHEDULER_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise GraderFailure(f"the Dask scheduler {cluster} does not answer ({type(exc).__name__}): start it "
                                "(`dask scheduler` on that machine) or fix CLUSTER") from None
        with client:
            yield client
        return
    settings = {"distributed.scheduler.allowed-failures": max(0, max_attempts - 1),
                "distributed.scheduler.worker-saturation": 1.0}
    try:
        local = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address="127.0.0.1:0",  # its HTTP server (health), on loopback
                             local_directory=str(scratch), silence_logs=logging.CRITICAL, env=env)
    except Exception as exc:  # noqa: BLE001
        raise GraderFailure(f"the local grading workers could not start ({type(exc).__name__}: "
                            f"{str(exc)[:300]}): check free memory and ports, or use JOBS=1") from None
    with dask.config.set(settings), local, Client(local) as client:
        yield client


def configure_scheduler(allowed_failures: int, dask_scheduler=None) -> int:
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
