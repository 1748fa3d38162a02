"""The zygote: a warm Python inside the sandbox that forks one jailed process per job.

``python -m wt06_grading.sandbox.zygote`` is started by the worker inside bubblewrap
(see bwrap.py). It imports everything a job needs once (IPython, pandas, DuckDB,
jupysql, matplotlib, dbt, the course package), then serves jobs one at a time over its
stdin/stdout (frames.py): for each job it forks, the child jails itself (jail.py) and
runs the job, writing newline-delimited JSON events into a pipe. The zygote relays those
bytes to the worker when the job ends, and ends the job itself when it runs past its
deadline or writes more than it may. The zygote never runs student code: every job is a
child, so no job can change what the next one starts from.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import sys
import time

from wt06_grading.sandbox import frames, jail

# Job kinds: "module:function", imported before the first fork. A job function takes
# (spec, emit) and reports through emit(dict).
JOB_KINDS = {
    "notebook": "wt06_grading.sandbox.runner:run_job",
    "checker": "wt06_grading.sandbox.checker:run_job",
    "probe": "wt06_grading.sandbox.zygote:probe_job",
}
_KILL_GRACE = 2.0


def probe_job(spec: dict, emit) -> None:
    """A job that reports what it can see: the sandbox's own self-test."""
    status = open("/proc/self/status").read()
    emit({"pid": os.getpid(), "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()),
          "cap_eff": next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff")),
          "uid": os.getuid(), "cwd": os.getcwd(), "env": sorted(os.environ)})


def _resolve(target: str):
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def _emitter(fd: int):
    def emit(event: dict) -> None:
        line = (json.dumps(event, separators=(",", ":"), default=str) + "\n").encode()
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view):]
    return emit


def _child(kind: str, spec: dict, write: int) -> None:
    """In the forked child: quiet the standard streams, jail, run the job, exit."""
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, write)
        os.closerange(write + 1, 1 << 16)
        _forget_inherited_tracker()  # its pipe was among the descriptors just closed
        limits = spec.get("jail")
        if limits is None:  # --no-sandbox: an unconfined child in a folder of its own
            os.environ.clear()
            os.environ.update(spec.get("env", {}))
            os.makedirs(spec["workdir"], exist_ok=True)
            os.chdir(spec["workdir"])
        else:
            jail.enter(jail.JailSpec(
                hide=tuple(limits.get("hide", ())), job_bytes=limits.get("job_bytes", 1 << 30),
                memory_bytes=limits.get("memory_bytes", 4 << 30), cpu_seconds=limits.get("cpu_seconds", 600),
                file_bytes=limits.get("file_bytes", 512 << 20), processes=limits.get("processes"),
                env=spec.get("env", {})))
        emit = _emitter(write)
        _resolve(JOB_KINDS[kind])(spec, emit)
        emit({"event": "end"})
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001 (a job must end here, never return into the zygote loop)
        try:
            _emitter(write)({"event": "crash", "error": f"{type(exc).__name__}: {exc}"[:1000]})
        finally:
            os._exit(70)


def run(kind: str, spec: dict, deadline: float, max_bytes: int, idle: float | None = None) -> tuple[dict, bytes]:
    """Fork, jail and run one job; return (outcome, the job's output bytes).

    The job ends when it exits, when it has run ``deadline`` seconds, when it has written
    ``max_bytes``, or when it has written nothing for ``idle`` seconds (a notebook job
    reports every cell as it starts and ends, so a cell that ignores its time limit
    stops there).
    """
    started = time.monotonic()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        _child(kind, spec, write)
    os.close(write)
    chunks, size, timed_out, truncated, stalled = [], 0, False, False, False
    end = started + deadline
    last = started
    try:
        while True:
            now = time.monotonic()
            left = end - now
            if idle is not None:
                left = min(left, last + idle - now)
            if left <= 0:
                stalled = time.monotonic() < end
                timed_out = True
                break
            ready, _, _ = select.select([read], [], [], left)
            if not ready:
                continue
            last = time.monotonic()
            chunk = os.read(read, 1 << 20)
            if not chunk:
                break
            if size + len(chunk) > max_bytes:
                chunks.append(chunk[: max_bytes - size])
                truncated = True
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(read)
        if timed_out or truncated:
            os.kill(pid, signal.SIGKILL)  # its death kills PID 1 of the job, and the namespace
        _, status = os.waitpid(pid, 0)
    return ({"status": os.waitstatus_to_exitcode(status), "timed_out": timed_out, "stalled": stalled,
             "truncated": truncated, "seconds": round(time.monotonic() - started, 3)}, b"".join(chunks))


def _processes() -> int:
    return sum(1 for entry in os.listdir("/proc") if entry.isdigit())


def settle(baseline: int, limit: float = 20.0) -> None:
    """Wait until a finished job's processes are gone (at most ``limit`` seconds).

    A job's processes die with its PID namespace, but the kernel kills a large tree (a
    fork bomb) asynchronously, and until they are reaped they still count against the
    sandbox's process limit: the next student's job would start unable to fork. Inside
    the sandbox /proc holds only the zygote and its jobs, so the count returns to the
    zygote's own.
    """
    end = time.monotonic() + limit
    while _processes() > baseline and time.monotonic() < end:
        time.sleep(0.05)


def preload(modules: list[str]) -> float:
    started = time.monotonic()
    for target in set(JOB_KINDS.values()):
        _resolve(target)
    for module in modules:
        importlib.import_module(module)
    return time.monotonic() - started


def _stop_resource_tracker() -> None:
    """End the multiprocessing resource tracker a dbt parse starts (dbt's adapter makes a lock).

    A forked job would inherit the tracker's pipe descriptor number, closed in the job:
    multiprocessing would then write its probes into whatever file reuses that number.
    The parse's adapter goes first, so its lock is unregistered before the tracker stops.
    """
    import gc
    from multiprocessing import resource_tracker

    try:
        from dbt.adapters.factory import reset_adapters

        reset_adapters()
    except ImportError:
        pass
    gc.collect()
    resource_tracker._resource_tracker._stop()


def _forget_inherited_tracker() -> None:
    """In a job: the zygote's resource tracker (if any) is not this process's to write to."""
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker
    tracker._fd, tracker._pid = None, None


def preparse(projects: list[str]) -> float:
    """Parse each dbt project once here, so every job forked later starts with its parse.

    ``wt06.pipeline.dbt_runner`` keeps parsed manifests by project contents (not folder), and a
    forked job inherits them: a notebook's or checker's copy of the pristine project is
    never parsed again. Parsing reads files and opens no database (DuckDB's threads would
    not survive a fork); a project that does not parse is left to the jobs.
    """
    import shutil
    import tempfile
    from pathlib import Path

    started = time.monotonic()
    if not projects:
        return 0.0
    from wt06.pipeline import dbt_runner

    scratch = Path(tempfile.mkdtemp(prefix="wt06-parse-"))
    try:
        for project in projects:
            try:  # the warehouse is named as every job names its copy: the database name is the file's
                dbt_runner.parse_project(Path(project), scratch / "warehouse.duckdb", scratch)
            except Exception:  # noqa: BLE001 (the jobs parse it themselves, and say why it fails)
                pass
    finally:
        dbt_runner.release()
        dbt_runner.close_logs()  # no file of the zygote's may stay open into its jobs
        _stop_resource_tracker()
        shutil.rmtree(scratch, ignore_errors=True)
    return time.monotonic() - started


def main() -> int:
    channel_in, channel_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)  # a stray print in an import must not corrupt the frame channel
    hello = frames.read_json(channel_in)
    seconds = preload(hello.get("preload", []))
    seconds += preparse(hello.get("parse", []))
    problem = None
    baseline = None  # the processes of the sandbox without a job (jailed jobs only)
    if hello.get("jail", True):
        os.makedirs(jail.JOB_ROOT, exist_ok=True)
        problem = jail.probe()
        baseline = _processes()
    frames.write_json(channel_out, {"op": "ready", "preload_seconds": round(seconds, 3), "jail": problem,
                                    "pid": os.getpid()})
    while True:
        try:
            request = frames.read_json(channel_in)
        except frames.FrameError:
            return 0
        if request.get("op") == "exit":
            return 0
        outcome, output = run(request["kind"], request["spec"], float(request.get("deadline", 600)),
                              int(request.get("max_bytes", 64 << 20)), request.get("idle"))
        if baseline is not None and request["spec"].get("jail") is not None:
            settle(baseline)
        frames.write_json(channel_out, {"op": "done", **outcome})
        frames.write_frame(channel_out, output)


if __name__ == "__main__":
    sys.exit(main())
