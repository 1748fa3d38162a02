"""The course's benchmark (``make bench``): building, dbt, notebooks, grading, the monitor.

Measures, in one run and side by side (medians of several runs with min and max):

  (a) the scheduler's ``dbt run --select "staging.*"`` in-process vs the ``dbt`` CLI;
  (b) the warehouse build;
  (c) the six solved notebooks in plain nbclient (a fresh kernel each) and in the
      grading worker (warm zygote);
  (d) one full submission graded end to end, against (c) and stock ``nbgrader autograde``;
  (e) a generated class of mixed submissions graded with 1 and 2 workers;
  (f) peak memory per worker (its process, the zygote and the zygote's jobs);
  (g) the monitor on the incident and on incidents 10x and 100x larger.

Each section runs in a process of its own, in a scratch folder (a copy of the warehouse,
a new course with its own secret): nothing of the repository or of the instructor's
course is read or written besides the built warehouse it copies. Results go to
``bench/results.json`` (with the machine, its load average before and after, and the
package versions) and a Markdown table to stdout; targets are judged there, never in
tests (the machines are shared and noisy).

    make bench                               # everything: about an hour on 2 quiet cores
    python bench/run.py --quick --out /tmp/b.json   # a smoke run: one run of each, a class of 3
    python bench/run.py --only dbt,monitor   # some sections (prepare runs when course or class does)
    python bench/run.py --table bench/results.json  # print the table of a results file again
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import measure
import report

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ORDER = ["prepare", "dbt", "build", "course", "one", "class", "monitor"]
# Settings the benchmark must not inherit: it grades a scratch course, on the story's own clock.
UNSET = ("WT06_GRADEBOOK_URL", "WT06_COURSE_SECRET", "WT06_GRADING_CACHE", "WT06_AS_OF", "WT06_DATA_DIR",
         "WT06_PROJECT_DIR",
         "NBGRADER_EXECUTION", "JUPYTER_CONFIG_DIR", "IPYTHONDIR")


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _settings(args) -> dict:
    quick = args.quick
    return {
        "quick": quick,
        "runs": args.runs or (1 if quick else 5),
        "class_runs": args.class_runs or (1 if quick else 5),
        "students": args.students or (3 if quick else 24),
        "monitor_scales": [1, 10] if quick else [1, 10, 100],
        "cell_timeout": 60,  # make grade's default
        "skip_stock": False,
    }


def _environment(scratch: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update({"WT06_WAREHOUSE": str(scratch / "warehouse.duckdb"), "WT06_WORK_DIR": str(scratch / "work"),
                "DO_NOT_TRACK": "1", "PLOOMBER_STATS_ENABLED": "false", "PLOOMBER_VERSION_CHECK_DISABLED": "true",
                "PYTHONUNBUFFERED": "1"})
    return env


def _warehouse(scratch: Path, env: dict) -> None:
    """The built incident warehouse, copied (built into the scratch folder if there is none)."""
    built = REPO / "data" / "warehouse.duckdb"
    if built.is_file():
        shutil.copy(built, scratch / "warehouse.duckdb")
        return
    say("no data/warehouse.duckdb: building one in the scratch folder")
    done = subprocess.run([sys.executable, "-m", "wt06", "warehouse"], env=env, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit("the warehouse could not be built (python -m wt06 warehouse)")


def _run_section(name: str, ctx_file: Path, scratch: Path, env: dict) -> dict:
    """Run one section in a child process; its result (or its error)."""
    out = scratch / f"{name}.result.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--section", name, "--context", str(ctx_file),
               "--result", str(out)]
    child = subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True)
    try:
        code = child.wait()
    except BaseException:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        raise
    finally:
        try:  # anything the section left running in its session (it should have left nothing)
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if out.is_file():
        return json.loads(out.read_text())
    return {"error": f"the section's process ended with {code} and wrote no result"}


def section_main(name: str, ctx_file: Path, out: Path) -> int:
    """In a section's own process: run it, write its result (or its error) as JSON."""
    import sections

    ctx = json.loads(ctx_file.read_text())
    try:
        result = sections.SECTIONS[name](ctx)
    except Exception as exc:  # noqa: BLE001 (reported in results.json, and the run goes on)
        traceback.print_exc()
        result = {"error": f"{type(exc).__name__}: {exc}"[:3000]}
    out.write_text(json.dumps(result, indent=1, default=str))
    return 0 if "error" not in result else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run of each, a class of 3: a smoke test")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 5; --quick 1)")
    parser.add_argument("--class-runs", type=int, help="runs per class size (default 5; --quick 1)")
    parser.add_argument("--students", type=int, help="size of the generated class (default 24; --quick 3)")
    parser.add_argument("--only", help=f"comma-separated sections of {','.join(ORDER[1:])}")
    parser.add_argument("--out", type=Path, default=BENCH / "results.json", help="where results.json goes")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (its path is printed)")
    parser.add_argument("--table", type=Path, help="print the table of this results file and stop")
    parser.add_argument("--reuse", type=Path, help="a scratch folder kept by --keep: its course and class are reused")
    parser.add_argument("--section", help=argparse.SUPPRESS)
    parser.add_argument("--context", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.section:
        return section_main(args.section, args.context, args.result)
    if args.table:
        print(report.table(json.loads(args.table.read_text())))
        return 0
    wanted = ORDER[1:] if not args.only else [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(ORDER[1:]))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(ORDER[1:])}")

    settings = _settings(args)
    reuse = args.reuse is not None and (args.reuse / "prepare.result.json").is_file()
    scratch = args.reuse.resolve() if reuse else Path(tempfile.mkdtemp(prefix="wt06-bench-"))
    env = _environment(scratch)
    results = {"date": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
               "machine": measure.machine(), "versions": measure.versions(), "commit": measure.git_commit(REPO),
               "load_before": measure.load(), **{k: settings[k] for k in ("quick", "runs", "class_runs")},
               "settings": settings, "sections": {}, "section_runs": {}}
    say(f"scratch folder {scratch}; load average {results['load_before']}")
    failed = []
    try:
        if not reuse:
            _warehouse(scratch, env)
        for name in wanted:  # a reused folder keeps what a section wrote last time
            shutil.rmtree(scratch / f"s-{name}", ignore_errors=True)
        ctx = {**settings, "scratch": str(scratch), "warehouse": str(scratch / "warehouse.duckdb")}
        ctx_file = scratch / "context.json"
        ctx_file.write_text(json.dumps(ctx))
        needs_course = bool({"course", "one", "class"} & set(wanted))
        for name in ORDER:
            if name not in wanted and not (name == "prepare" and needs_course):
                continue
            if name == "prepare" and reuse:
                results["sections"][name] = json.loads((scratch / "prepare.result.json").read_text())
                continue
            say(f"{name} ...")
            before, started = measure.load(), time.perf_counter()
            result = _run_section(name, ctx_file, scratch, env)
            seconds = time.perf_counter() - started
            results["section_runs"][name] = {"seconds": round(seconds, 1), "load_before": before,
                                             "load_after": measure.load()}
            results["sections"][name] = result
            say(f"{name} done in {seconds:.0f} s" + (f": FAILED: {result['error']}" if "error" in result else ""))
            if "error" in result:
                failed.append(name)
                if name == "prepare":
                    break
    finally:
        results["load_after"] = measure.load()
        if args.keep or reuse:
            say(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    results["headline"] = report.headline(results)
    results["targets"] = report.targets(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=str) + "\n")
    print(report.table(results))
    say(f"written {args.out}" + (f"; failed sections: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
