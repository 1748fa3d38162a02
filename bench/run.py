"""The course's benchmark: how long building and grading take, and how much memory.

Targets are checked here, not in tests (the machines are shared and noisy). Each step
runs in its own process, which reports its wall time and its peak resident memory
(the largest single process among it and its children: kernels, dbt, the checker;
ru_maxrss, not a sum). Results go to stdout as a
table and to build/bench.json.

    make bench            # everything (about 15 minutes on 2 cores)
    python bench/run.py build grade-one
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests")]

STEPS = {
    "build": "build the incident warehouse (make warehouse)",
    "grading-caches": "prepare the grading incidents and reference results (cold cache)",
    "grade-one": "grade one full submission (6 notebooks), 1 worker",
    "grade-class-1": "grade the fixture class (14 submissions), 1 worker",
    "grade-class-2": "grade the fixture class (14 submissions), 2 workers",
}


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def step(name: str, scratch: Path) -> None:
    """Run one step in this process (called in a child process by ``main``)."""
    from fixtures.submissions import BROKEN, WHOLE, write_class
    from wt06 import paths

    if name == "build":
        from wt06.build import build_warehouse

        build_warehouse(scratch / "warehouse.duckdb")
        return
    from wt06_grading.batch import _reference
    from wt06_grading.scenarios import prepare

    cache = paths.work_dir() / "grading-scenarios"
    if name == "grading-caches":
        _reference(prepare(cache), cache)
        return
    from wt06_grading.batch import grade_class

    students = ["full_marks"] if name == "grade-one" else WHOLE + BROKEN
    course = scratch / "course"
    write_class(course / "submitted", students, paths.warehouse_path())
    grade_class(course, jobs=2 if name.endswith("-2") else 1, progress=False)


def main(names: list[str]) -> int:
    results = []
    with tempfile.TemporaryDirectory(prefix="wt06-bench-") as tmp:
        work = Path(tmp) / "shared-work"  # grading caches are shared between steps
        for name in names:
            scratch = Path(tmp) / name
            scratch.mkdir()
            started = time.perf_counter()
            child = subprocess.run(
                [sys.executable, __file__, "--step", name, str(scratch), str(work)],
                capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if child.returncode != 0:
                print(child.stdout[-2000:], child.stderr[-3000:], file=sys.stderr)
                return 1
            peak = float(child.stdout.strip().splitlines()[-1])
            results.append({"step": name, "what": STEPS[name], "seconds": round(seconds, 1),
                            "peak_mb": round(peak)})
            print(f"{name:<15} {seconds:8.1f} s  {peak:8.0f} MB  {STEPS[name]}", flush=True)
    out = REPO / "build" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"machine": os.uname().nodename, "cpus": os.cpu_count(),
                               "results": results}, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--step"]:
        name, scratch, work = sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
        os.environ["WT06_WORK_DIR"] = str(work)
        step(name, scratch)
        print(_peak_mb())
        sys.exit(0)
    sys.exit(main(sys.argv[1:] or list(STEPS)))
