"""Put one grading job in a jail of its own, from inside the zygote's sandbox.

The zygote (see zygote.py) runs inside bubblewrap with CAP_SYS_ADMIN in bubblewrap's
user namespace, so a forked job can make namespaces of its own without exec'ing anything
(its warm imports survive). ``enter`` is the first thing a job does, before any student
code runs:

* a new mount, PID, IPC and network namespace: the job sees only its own processes
  (no ``/proc/<pid>/root`` of anybody else), has no network at all (not even the
  zygote's loopback), and its mounts are private;
* a fresh, size-limited tmpfs at ``JOB_ROOT`` is the only writable place; the rest of
  the file system, including the zygote's own /tmp and /dev/shm, is read-only, and the
  paths the job must not see (the grading incidents, for a student's notebook) are
  covered by empty read-only tmpfs mounts;
* every capability is dropped and ``no_new_privs`` set, so the job cannot undo any of
  this; resource limits cap memory, file size, CPU time and (where the kernel counts
  them) processes.

The job then runs as PID 2 under a tiny init (PID 1) that reaps orphans and ends the
namespace, killing every process left in it, as soon as the job exits or the zygote
kills the job. Nothing a job starts outlives it.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from dataclasses import dataclass, field

JOB_ROOT = "/tmp/wt06-job"  # the same absolute path in every job (dbt's parse cache likes that)

_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 24, 38
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_CAPABILITY_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


class JailError(OSError):
    """The jail could not be set up; the job must not run."""


@dataclass(frozen=True)
class JailSpec:
    """What one job may see and use."""

    hide: tuple[str, ...] = ()  # paths covered by an empty read-only tmpfs
    job_bytes: int = 1 << 30  # size of the job's tmpfs (its only writable place)
    memory_bytes: int = 4 << 30  # address space of each process (RLIMIT_AS)
    cpu_seconds: int = 600  # CPU time of each process (RLIMIT_CPU), a backstop for the deadline
    file_bytes: int = 512 << 20  # largest file a process may write (RLIMIT_FSIZE)
    processes: int | None = None  # RLIMIT_NPROC, where the kernel counts it (not for uid 0)
    env: dict[str, str] = field(default_factory=dict)  # the job's whole environment


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise JailError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def _locked_flags(path: str) -> int:
    """The flags a remount of ``path`` must keep (the kernel refuses to clear them)."""
    flags = os.statvfs(path).f_flag
    return flags & (_MS_NOSUID | _MS_NODEV | _MS_NOEXEC)


def _read_only(path: str) -> None:
    _mount(None, path, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | _locked_flags(path))


def _mount_points() -> list[str]:
    """Every mount point of this mount namespace, parents before children."""
    points = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            points.append(point)
    return sorted(set(points), key=lambda p: (p.count("/"), p))


def _drop_capabilities() -> None:
    for cap in range(64):
        _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last one: fine
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(_CAPABILITY_VERSION_3, 0), (Data * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "drop capabilities")
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _limits(spec: JailSpec) -> None:
    for which, value in ((resource.RLIMIT_AS, spec.memory_bytes), (resource.RLIMIT_CPU, spec.cpu_seconds),
                         (resource.RLIMIT_FSIZE, spec.file_bytes), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    if spec.processes is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (spec.processes, spec.processes))


def _file_system(spec: JailSpec) -> None:
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    for point in _mount_points():  # everything the zygote could write becomes read-only
        if point.startswith("/proc") or point.startswith("/sys"):
            continue
        try:
            _read_only(point)
        except JailError:
            if point in ("/tmp", "/dev", "/dev/shm", "/"):
                raise
    for path in spec.hide:
        if os.path.exists(path):
            _mount("tmpfs", path, "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC | _MS_RDONLY, "size=4k,mode=000")
    if not os.path.isdir(JOB_ROOT):
        raise JailError(2, f"{JOB_ROOT} is missing: the zygote creates it before it forks jobs")
    _mount("tmpfs", JOB_ROOT, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={spec.job_bytes},mode=700")
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, "size=64m,mode=1777")


def enter(spec: JailSpec) -> None:
    """Jail the calling process (a freshly forked job). Returns in the job, as PID 2.

    Forks twice: this process stays outside the new PID namespace and only waits (the
    zygote kills it to kill the job; its death kills PID 1, and with it the namespace);
    PID 1 mounts /proc, reaps orphans and exits when the job does; the job returns.
    """
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the zygote dies: so do we
    _check(_libc.unshare(_CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWIPC | _CLONE_NEWNET), "unshare")
    _file_system(spec)
    init = os.fork()
    if init:
        _wait_and_exit(init)
    # PID 1 of the job's namespace
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    job = os.fork()
    if job:
        _reap_until(job)
    # PID 2: the job itself
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.setsid()
    try:  # if memory runs out, the kernel kills a job before it kills the zygote
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass
    _drop_capabilities()
    _limits(spec)
    os.environ.clear()
    os.environ.update(spec.env)
    os.chdir(JOB_ROOT)


def _wait_and_exit(child: int) -> None:
    """Outside the namespace: wait for PID 1 and exit with the job's status."""
    _, status = os.waitpid(child, 0)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def _reap_until(job: int) -> None:
    """PID 1: reap every child; when the job itself ends, end the namespace."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == job:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if 0 <= code < 256 else 128 + (-code))


def probe() -> str | None:
    """Why a job could not be jailed here (None: it can). Run inside the sandbox."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        try:
            enter(JailSpec(env={"PATH": "/usr/bin:/bin"}))
            seen = sorted(p for p in os.listdir("/proc") if p.isdigit())
            problem = "" if os.getpid() == 2 and seen == ["1", "2"] else f"the job sees processes {seen}"
        except BaseException as exc:  # noqa: BLE001 (any failure is the answer)
            problem = str(exc) or type(exc).__name__
        os.write(write, problem.encode()[:500])
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as handle:
        problem = handle.read().decode(errors="replace")
    os.waitpid(child, 0)
    return problem or None
