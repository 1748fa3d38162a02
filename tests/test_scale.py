"""A class graded on a Dask cluster of simulated machines, with one machine lost mid-batch.

A Dask scheduler and three workers run as separate processes on 127.0.0.1, each worker
with its own scratch folder and no access to the driver's files: each receives the
course bundle from the driver, builds the grading incidents itself and checks their
digests. A generated class of mixed submissions (full, partly right, hard-coded, blank
and broken) is graded on it through ``grade --cluster``; one worker process group is
killed while it grades. The gradebook and grade table must equal those of ``--jobs 1``.

The class grades notebook 01 only, to keep CI's time: what is tested is the engine
(spreading, a lost machine, digests, the gradebook), the same for every notebook.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from wt06_grading.batch import grade_class  # noqa: E402
from wt06_grading.definition.rehearsal import mixed_class
from wt06_grading.driver.engine import RESULTS  # noqa: E402
from wt06_grading.records.gradebook import compare, dump  # noqa: E402

ONLY = ["01_detect_staleness"]
SIZE = 30
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _task_held_by(client, name: str) -> str | None:
    """The grading task the scheduler has given the worker called ``name``, if any."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    address = next((a for a, w in workers.items() if w.get("name") == name), None)
    if address is None:
        return None
    tasks = client.processing([address]).get(address) or ()
    return str(tasks[0]) if tasks else None


class Machines:
    """A scheduler and workers as process groups of their own (killed as a whole)."""

    def __init__(self, root: Path) -> None:
        self.root, self.procs = root, {}
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        # the driver's locations are not the workers' business: they get the course as a bundle
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("WT06_GRADING_INCIDENTS", "WT06_WAREHOUSE", "WT06_DATA_DIR", "WT06_WORK_DIR")}

    def _start(self, name: str, args: list[str], env: dict) -> None:
        log = (self.root / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True, cwd=self.root / name)

    def start(self, workers: int) -> None:
        (self.root / "scheduler").mkdir(parents=True)
        self._start("scheduler", [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                                  str(self.port), "--no-dashboard"], self.env)
        for i in range(workers):
            own = self.root / f"w{i}"
            (own / "scratch").mkdir(parents=True)
            env = dict(self.env, WT06_WORK_DIR=str(own / "work"), TMPDIR=str(own / "tmp"), HOME=str(own))
            (own / "tmp").mkdir()
            self._start(f"w{i}", [str(BIN / "dask"), "worker", self.address, "--nthreads", "1", "--no-nanny",
                                  "--name", f"w{i}", "--no-dashboard", "--local-directory",
                                  str(own / "scratch"), "--death-timeout", "60"], env)
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)

    def tails(self, chars: int = 2500) -> str:
        """The end of every machine's log: what a failed assertion shows (the logs go with tmp_path)."""
        return "\n".join(f"--- {name}.log ---\n{(self.root / f'{name}.log').read_text(errors='replace')[-chars:]}"
                         for name in self.procs if (self.root / f"{name}.log").is_file())

    def kill(self, name: str) -> None:
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(timeout=30)

    def stop(self) -> None:
        """End every machine: asked politely, then killed after a few seconds (the test has
        what it needs; a Dask worker's graceful close can take most of a minute)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.time() + 5
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)


@pytest.fixture
def machines(tmp_path):
    cluster = Machines(tmp_path / "machines")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.slow
def test_a_class_on_three_machines_loses_one_and_equals_the_single_worker_gradebook(
        incident_warehouse, grading_cache, tmp_path, machines):
    kinds = mixed_class(tmp_path / "submitted", SIZE, incident_warehouse, notebooks=ONLY)
    assert {"full", "partial", "hard_coded", "malformed", "crash", "empty"} <= set(kinds.values())

    single = grade_class(tmp_path / "single", submitted=tmp_path / "submitted", jobs=1, only=ONLY,
                         cell_timeout=20, progress=False)
    assert single.stats.graded == SIZE

    machines.start(3)
    cluster_course = tmp_path / "cluster"
    killed = {}

    def kill_one_mid_submission() -> None:
        # w0 keeps child processes between submissions (its warm sandbox), so "has children"
        # does not say it is grading: ask the scheduler which task w0 holds, and kill only
        # when it has held the same one for a second (mid-submission, not about to hand it back)
        from distributed import Client

        deadline = time.time() + 1800
        with Client(machines.address, timeout="60s", set_as_default=False) as watcher:
            held, since = None, 0.0
            while time.time() < deadline and not killed:
                done = len(list((cluster_course / RESULTS).glob("*.json"))) if (cluster_course / RESULTS).is_dir() else 0
                task = _task_held_by(watcher, "w0")
                if task != held:
                    held, since = task, time.time()
                elif done >= 3 and task and time.time() - since >= 1.0:
                    machines.kill("w0")
                    killed["after"], killed["task"] = done, task
                    return
                time.sleep(0.2)

    killer = threading.Thread(target=kill_one_mid_submission, daemon=True)
    killer.start()
    spread = grade_class(cluster_course, submitted=tmp_path / "submitted", cluster=machines.address,
                         only=ONLY, cell_timeout=20, progress=False)
    killer.join(timeout=5)

    assert killed, "the batch ended before a worker could be killed mid-submission"
    assert spread.stats.graded == SIZE and spread.stats.workers_lost == 1, \
        (killed, spread.stats.sentence(), spread.stats.attempts, machines.tails())
    assert any(n == 2 for n in spread.stats.attempts.values()), (killed, spread.stats.attempts)
    assert compare(tmp_path / "single" / "gradebook.db", cluster_course / "gradebook.db") == []
    assert len(dump(cluster_course / "gradebook.db")) > 10 * SIZE
    assert spread.table.read_text() == single.table.read_text()
    assert len({r.worker for r in spread.results}) >= 2  # the class was spread over machines
    for name in ("w1", "w2"):  # each survivor built its own incidents, in its own folder
        built = list((machines.root / name / "scratch").rglob("incident.json"))
        assert len(built) >= 4, (name, built)  # the course's incident and its grading variants
    totals = {r.student: r.score for r in spread.results}
    full = [s for s, k in kinds.items() if k == "full"]
    assert all(totals[s] == 4 for s in full) and all(totals[s] == 0 for s, k in kinds.items()
                                                     if k in ("blank", "empty", "malformed"))
