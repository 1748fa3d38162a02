"""Peak memory of grading workers: a sampler that walks this process's tree in /proc.

A grading worker is a process (the driver itself with one worker; a pool process with
more) and, under it, bubblewrap, the zygote and the zygote's forked jobs. Their resident
sizes cannot simply be added: every job is a fork of the warm zygote and shares most of
its pages. So each sample records, per worker, the *proportional* set size summed over
its tree (PSS: a shared page is split among the processes sharing it, so the sum is what
the worker really occupies) next to the plain RSS sum (which counts shared pages once per
process), and the zygote's own peak (VmHWM). The peak of each over the run is reported.
``ru_maxrss`` would only give the largest single process, and only once it has ended.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

ZYGOTE = "wt06_grading.sandbox.zygote"
POOL_WORKER = ("multiprocessing.spawn", "multiprocessing.forkserver", "distributed.cli", "dask")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _is_zygote(cmdline: str) -> bool:
    """A zygote or one of its forked jobs (not bubblewrap, whose arguments name the zygote too)."""
    args = cmdline.split()
    return bool(args) and os.path.basename(args[0]).startswith("python") and ZYGOTE in args


def _table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) for every process we can see."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        table[int(entry.name)] = (int(stat[stat.rindex(")") + 2:].split()[1]), cmdline)
    return table


def descendants(root: int, table: dict[int, tuple[int, str]] | None = None) -> list[int]:
    table = table if table is not None else _table()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            found.append(child)
            todo.append(child)
    return found


def zygotes(root: int | None = None) -> list[int]:
    """Host pids of the zygotes under ``root`` (default: this process); not their forked jobs."""
    table = _table()
    pids = descendants(root or os.getpid(), table)
    return [p for p in pids if _is_zygote(table[p][1]) and not _is_zygote(table.get(table[p][0], (0, ""))[1])]


def _status_kb(pid: int, *keys: str) -> dict[str, int]:
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name = line.split(":", 1)[0]
            if name in keys:
                values[name] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return values


def _pss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class TreeSampler:
    """Samples the memory of this process's workers every ``interval`` seconds, in a thread."""

    def __init__(self, root: int | None = None, interval: float = 0.5) -> None:
        self.root = root or os.getpid()
        self.interval = interval
        self.peaks: dict[str, dict] = {}
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def _groups(self) -> dict[str, list[tuple[int, str]]]:
        """worker label -> [(pid, command line)] of its tree. The driver's own tree is 'driver'."""
        table = _table()
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in table.items():
            children.setdefault(parent, []).append(pid)
        groups: dict[str, list[tuple[int, str]]] = {"driver": [(self.root, table.get(self.root, (0, ""))[1])]}
        for child in children.get(self.root, []):
            cmdline = table[child][1]
            pool = any(mark in cmdline for mark in POOL_WORKER) and "resource_tracker" not in cmdline
            label = f"worker pid {child}" if pool else "driver"
            members = groups.setdefault(label, [])
            todo = [child]
            while todo:
                pid = todo.pop()
                members.append((pid, table[pid][1]))
                todo += children.get(pid, [])
        return groups

    def sample(self) -> None:
        self.samples += 1
        for label, members in self._groups().items():
            rss = pss = 0
            pss_known = True
            zygote_hwm = 0
            for pid, cmdline in members:
                status = _status_kb(pid, "VmRSS", "VmHWM")
                rss += status.get("VmRSS", 0)
                value = _pss_kb(pid)
                if value is None:
                    pss_known = False
                else:
                    pss += value
                if _is_zygote(cmdline) and zygote_hwm == 0:  # the first one met is the zygote: parents come first
                    zygote_hwm = status.get("VmHWM", 0)
            peak = self.peaks.setdefault(label, {"tree_rss_mb": 0.0, "tree_pss_mb": 0.0, "zygote_hwm_mb": 0.0,
                                                 "processes_max": 0, "pss_complete": True})
            peak["tree_rss_mb"] = max(peak["tree_rss_mb"], round(rss / 1024, 1))
            if pss_known:
                peak["tree_pss_mb"] = max(peak["tree_pss_mb"], round(pss / 1024, 1))
            else:
                peak["pss_complete"] = False
            peak["zygote_hwm_mb"] = max(peak["zygote_hwm_mb"], round(zygote_hwm / 1024, 1))
            peak["processes_max"] = max(peak["processes_max"], len(members))
        driver = _status_kb(self.root, "VmHWM")
        if "driver" in self.peaks:
            self.peaks["driver"]["process_hwm_mb"] = round(driver.get("VmHWM", 0) / 1024, 1)

    def report(self) -> dict:
        return {"interval_s": self.interval, "samples": self.samples, "groups": self.peaks}
