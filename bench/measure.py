"""Small measuring tools for the benchmark: summaries, CPU time, the machine, versions.

Wall time on a shared 2-core machine is noisy, so every measurement also records the
CPU seconds it cost where they can be counted (this process, the children it has
reaped, a zygote's whole tree through /proc): CPU time moves much less with the load
than wall time does, and tells a slow machine from a slow grader.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import time
from importlib import metadata
from pathlib import Path

PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb", "nbgrader", "nbclient", "jupyter_client", "ipykernel", "jupysql",
            "pandas", "nbformat")
_TICKS = os.sysconf("SC_CLK_TCK")


def summary(values: list[float], digits: int = 3) -> dict:
    """Median, min, max and count of ``values`` (and the values themselves)."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return {"n": 0, "median": None, "min": None, "max": None, "values": []}
    return {"n": len(values), "median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits), "values": [round(v, digits) for v in values]}


def ratio(numerator: float | None, denominator: float | None, digits: int = 2) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)


def own_cpu() -> float:
    """CPU seconds (user + system) of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu() -> float:
    """CPU seconds of every child this process has waited for (and of theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_cpu(pid: int) -> float | None:
    """CPU seconds of process ``pid`` and of the children it has waited for (/proc/<pid>/stat).

    For a zygote this is everything its jobs cost: each job is reaped by its parent in
    the zygote's tree, so its time ends up in the zygote's ``cutime``/``cstime``.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / _TICKS


class Clock:
    """Wall and CPU time of a block: ``with Clock() as c: ...; c.wall, c.cpu``.

    ``cpu`` counts this process and the children it reaped during the block, plus the
    growth of ``tree_cpu`` for each pid in ``trees`` (zygotes this process does not reap).
    """

    def __init__(self, trees: list[int] | None = None) -> None:
        self.trees = trees or []
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._cpu = own_cpu() + children_cpu()
        self._trees = {pid: tree_cpu(pid) for pid in self.trees}
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        cpu = own_cpu() + children_cpu() - self._cpu
        for pid, before in self._trees.items():
            after = tree_cpu(pid)
            if before is not None and after is not None:
                cpu += after - before
        self.cpu = cpu


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    info = {"cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)), "node": platform.node(),
            "platform": platform.platform()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_mb"] = round(int(line.split()[1]) / 1024)
                break
    except OSError:
        pass
    return info


def versions() -> dict:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def git_commit(repo: Path) -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
