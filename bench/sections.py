"""The benchmark's sections. Each runs in a process of its own (see run.py) and returns plain data.

* ``prepare``: a scratch course (its own secret, grading incidents and reference
  results, built cold once), the fixture submissions and the class to grade;
* ``dbt`` (a): the scheduler's command in-process vs the ``dbt`` CLI, on warehouse copies;
* ``build`` (b): the incident warehouse build, each in a fresh process as ``make warehouse``;
* ``course`` (c, d): rounds of, side by side, the six solved notebooks in plain nbclient
  (a fresh kernel each), the same six in the grading worker's warm zygote, one full
  submission graded end to end, and stock ``nbgrader autograde`` on that submission;
* ``class`` (e, f): the class graded with 1 and 2 workers, memory sampled per worker;
* ``monitor`` (g): ``wt06.monitor.check`` and ``replay`` on the incident and on synthetic
  incidents 10x and 100x larger.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import classmix
import memory
from measure import Clock, ratio, summary

SCHEDULER_SELECTOR = "staging.*"  # what the incident's scheduler ran (data/raw/raw_pipeline_runs.csv)


# ----- prepare -----------------------------------------------------------------------------
def prepare(ctx: dict) -> dict:
    from wt06_grading.driver.bundle import course_bundle

    scratch = Path(ctx["scratch"])
    stages: dict = {}
    with Clock() as cold:
        bundle = course_bundle(scratch / "course", cell_timeout=ctx["cell_timeout"], timings=stages)
    (scratch / "bundle.pickle").write_bytes(pickle.dumps(bundle))
    with Clock() as fixtures_clock:
        fixtures = classmix.write_fixtures(scratch / "fixtures")
    roster = classmix.write_class(fixtures, scratch / "class", ctx["students"])
    with Clock() as warm:
        course_bundle(scratch / "course", cell_timeout=ctx["cell_timeout"], timings=(warm_stages := {}))
    return {"course_cold": {"wall_s": round(cold.wall, 1), "cpu_s": round(cold.cpu, 1), "stages": stages,
                            "what": "release, grading incidents and reference results of a new course "
                                    "(once per cohort)"},
            "course_warm": {"wall_s": round(warm.wall, 1), "stages": warm_stages,
                            "what": "the same, cached: what every later `make grade` pays before grading"},
            "fixtures_s": round(fixtures_clock.wall, 1), "roster": roster}


def _folder(ctx: dict, section: str) -> Path:
    """The section's own scratch folder (run.py empties it before the section runs)."""
    folder = Path(ctx["scratch"]) / f"s-{section}"
    folder.mkdir(exist_ok=True)
    return folder


def _bundle(ctx: dict):
    return pickle.loads((Path(ctx["scratch"]) / "bundle.pickle").read_bytes())


# ----- (a) dbt in-process vs the CLI --------------------------------------------------------
def dbt(ctx: dict) -> dict:
    from wt06.foundation import paths
    from wt06.incident import clock
    from wt06.pipeline import dbt_runner
    from wt06.pipeline.build import scheduler_command

    scratch = _folder(ctx, "dbt")
    command = scheduler_command(SCHEDULER_SELECTOR)
    project, as_of = paths.project_dir(), clock.as_of()
    inproc_wh, cli_wh = scratch / "inprocess.duckdb", scratch / "cli.duckdb"
    for copy_ in (inproc_wh, cli_wh):
        shutil.copy(ctx["warehouse"], copy_)

    def in_process() -> Clock:
        with Clock() as c:
            result = dbt_runner.invoke(command, as_of=as_of, warehouse=inproc_wh, project=project,
                                       work=scratch / "work-inprocess", quiet=True, record=False)
        if not result.success or not result.models_run:
            raise RuntimeError(f"in-process dbt failed: {result.summary()}")
        c.models = len(result.models_run)
        return c

    # The CLI gets, as flags, exactly the settings the course's runner gives dbt in-process.
    cli_work = scratch / "work-cli" / "dbt"
    dbt_runner.set_warehouse_clock(cli_wh, as_of)
    profiles = dbt_runner.profile_for(project, cli_wh, cli_work / "profile")
    argv = [str(Path(sys.executable).parent / "dbt"), *dbt_runner.parse_command(command),
            "--project-dir", str(project), "--profiles-dir", str(profiles), "--target-path", str(cli_work / "target"),
            "--log-path", str(cli_work / "logs"), "--no-use-colors", "--no-send-anonymous-usage-stats", "--quiet"]
    env = dict(os.environ, DO_NOT_TRACK="1")

    def cli() -> Clock:
        with Clock() as c:
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"the dbt CLI failed ({done.returncode}): {done.stdout[-1500:]}{done.stderr[-1500:]}")
        return c

    first_in = in_process()  # imports dbt and parses the project in full
    first_cli = cli()  # parses in full; later runs reuse partial_parse.msgpack, as in-process ones do
    warm_in, warm_cli = [], []
    for index in range(ctx["runs"]):
        pair = [in_process, cli] if index % 2 == 0 else [cli, in_process]
        for run in pair:
            (warm_in if run is in_process else warm_cli).append(run())
    dbt_runner.release()
    inproc = summary([c.wall for c in warm_in])
    cli_s = summary([c.wall for c in warm_cli])
    return {
        "command": command, "models": first_in.models,
        "in_process_first": {"wall_s": round(first_in.wall, 2), "cpu_s": round(first_in.cpu, 2),
                             "what": "first call in a fresh process: imports dbt, parses in full"},
        "cli_first": {"wall_s": round(first_cli.wall, 2), "cpu_s": round(first_cli.cpu, 2),
                      "what": "first CLI run on a fresh target folder: parses in full"},
        "in_process": inproc | {"cpu": summary([c.cpu for c in warm_in])},
        "cli": cli_s | {"cpu": summary([c.cpu for c in warm_cli])},
        "ratio": ratio(cli_s["median"], inproc["median"]),
        "ratio_cpu": ratio(summary([c.cpu for c in warm_cli])["median"], summary([c.cpu for c in warm_in])["median"]),
        "note": "in-process runs record=False (the CLI records nothing either); both reuse dbt's partial parse",
    }


# ----- (b) the warehouse build ------------------------------------------------------------
_BUILD = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
from wt06.pipeline.build import build_warehouse
imported = time.perf_counter()
build_warehouse(Path(sys.argv[1]), work=Path(sys.argv[2]))
print(json.dumps({"import_s": imported - started, "build_s": time.perf_counter() - imported}))
"""


def build(ctx: dict) -> dict:
    scratch = _folder(ctx, "build")
    walls, cpus, inner = [], [], []
    for index in range(ctx["runs"]):
        target = scratch / f"warehouse-{index}.duckdb"
        with Clock() as c:
            done = subprocess.run([sys.executable, "-c", _BUILD, str(target), str(scratch / f"work-{index}")],
                                  capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise RuntimeError(f"the build failed: {done.stderr[-3000:]}")
        walls.append(c.wall)
        cpus.append(c.cpu)
        inner.append(float(__import__("json").loads(done.stdout.strip().splitlines()[-1])["build_s"]))
        target.unlink()
    return {"process": summary(walls) | {"cpu": summary(cpus)}, "build_warehouse": summary(inner),
            "what": "python -c 'build_warehouse(...)' in a fresh process (process: with the import)"}


# ----- (c, d) notebooks, one submission, stock autograde ------------------------------------
def _errors(notebook) -> list[str]:
    return [f"cell {i + 1}: {o.get('ename')}: {str(o.get('evalue'))[:160]}"
            for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def plain_nbclient(notebook, cwd: Path) -> dict:
    """One notebook in a fresh kernel, as a student's Run All (plus nbclient's kernel shutdown)."""
    from nbclient import NotebookClient

    marks: dict[str, float] = {}

    def cell_started(**_):
        marks.setdefault("first", time.perf_counter())

    def cell_done(**_):
        marks["last"] = time.perf_counter()

    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
                            on_cell_start=cell_started, on_cell_executed=cell_done)
    started = time.perf_counter()
    with Clock() as c:
        client.execute()
    ended = started + c.wall
    first, last = marks.get("first", started), marks.get("last", ended)
    return {"wall": c.wall, "cpu": c.cpu, "kernel_start": first - started, "cells": last - first,
            "shutdown": ended - last, "errors": _errors(notebook)}


def _autograde_course(ctx: dict, fixtures: Path) -> Path:
    """A scratch nbgrader course whose autograde is nbgrader's own (the course's config refuses it)."""
    from wt06_grading.definition.release import nbgrader
    from wt06_grading.foundation import layout

    root = _folder(ctx, "course") / "stock-autograde"
    shutil.copytree(layout.SOURCE, root / "source" / layout.ASSIGNMENT)
    lines = (layout.GRADER / "nbgrader_config.py").read_text().splitlines()
    guards = ("c.Autograde.", "c.GenerateFeedback.")  # the course's refusal of stock autograde (autograde_guard.py)
    kept = [line for line in lines if not line.startswith(guards)]
    if len(kept) == len(lines):
        raise RuntimeError("the course's nbgrader_config.py no longer configures Autograde: check that the stock "
                           "autograde's scratch config still makes sense")
    kept += ["", "# The benchmark's scratch course: nbgrader's own autograde (Execute, ...), unguarded."]
    (root / "nbgrader_config.py").write_text("\n".join(kept) + "\n")
    done = nbgrader(["generate_assignment", layout.ASSIGNMENT, "--force"], root=root, cwd=root)
    if done.returncode != 0:
        raise RuntimeError(f"generate_assignment failed in the scratch course: {done.stderr[-2000:]}")
    classmix.copy_submission(fixtures, "full_marks", root / "submitted", "full_marks")
    return root


def stock_autograde(root: Path) -> dict:
    from nbgrader.api import Gradebook

    from wt06_grading.definition.release import nbgrader
    from wt06_grading.foundation import layout

    with Clock() as c:
        done = nbgrader(["autograde", layout.ASSIGNMENT, "--student", "full_marks", "--force"], root=root, cwd=root,
                        timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"stock nbgrader autograde failed: {done.stdout[-1500:]}{done.stderr[-2500:]}")
    with Gradebook(layout.gradebook_url(root)) as gradebook:
        graded = gradebook.find_submission(layout.ASSIGNMENT, "full_marks")
        grades = [g for notebook in graded.notebooks for g in notebook.grades]
        score = sum(g.auto_score or 0 for g in grades)  # the postmortem waits for a grader, as in ours
        top = sum(g.max_score for g in grades if g.auto_score is not None)
    return {"wall": c.wall, "cpu": c.cpu, "score": score, "max": top}


def course(ctx: dict) -> dict:
    from wt06_grading.definition.reference import solved_notebooks
    from wt06_grading.foundation import layout
    from wt06_grading.submission.intake import read_submission
    from wt06_grading.submission.worker import GradingWorker

    scratch = Path(ctx["scratch"])
    fixtures = scratch / "fixtures"
    bundle = _bundle(ctx)
    solved = solved_notebooks(layout.SOURCE)
    plain_cwd = _folder(ctx, "course") / "plain"
    plain_cwd.mkdir()
    stock_root = _autograde_course(ctx, fixtures)
    job = read_submission(fixtures / "full_marks" / layout.ASSIGNMENT, "full_marks")

    from wt06_grading.foundation.memo import Memo

    with Clock() as made:
        worker = GradingWorker(bundle, _folder(ctx, "course") / "worker",
                               incident_cache=layout.cache_dir(scratch / "course") / "incidents")
    kept = Memo(_folder(ctx, "course") / "memo")  # identical work kept: used for the reuse rows only
    worker.memo = Memo(None)  # every round really runs
    names = [n for n in worker.release if n in solved]
    try:
        with Clock() as started:
            ready = worker.zygote.start()
        zygote_pids = memory.zygotes()
        with Clock(zygote_pids) as warmup:
            warm = worker.grade(job)  # seeds dbt's parses, fills every lazy cache: the worker is now warm
        expected_total = warm.total

        rounds = {"plain": [], "worker": [], "grade": [], "stock": []}

        def run_plain():
            per = {name: plain_nbclient(copy.deepcopy(solved[name]), plain_cwd) for name in names}
            bad = {n: r["errors"] for n, r in per.items() if r["errors"]}
            if bad:
                raise RuntimeError(f"an instructor notebook failed in plain nbclient: {bad}")
            rounds["plain"].append(per)

        def run_worker():
            per = {}
            for name in names:
                with Clock(zygote_pids) as c:
                    executed = worker.execute(name, copy.deepcopy(solved[name]))
                if _errors(executed.notebook):
                    raise RuntimeError(f"{name} failed in the grading worker: {_errors(executed.notebook)[:3]}")
                per[name] = {"wall": c.wall, "cpu": c.cpu}
            rounds["worker"].append(per)

        def run_grade():
            with Clock(zygote_pids) as c:
                result = worker.grade(job)
            if result.total != expected_total:
                raise RuntimeError(f"grading the same submission gave {result.total}, then {expected_total}")
            rounds["grade"].append({"wall": c.wall, "cpu": c.cpu, "seconds": result.seconds,
                                    "timings": dict(result.timings), "total": list(result.total),
                                    "tasks": dict(worker.checks.task_seconds)})

        def run_stock():
            rounds["stock"].append(stock_autograde(stock_root))

        steps = [run_plain, run_worker, run_grade, run_stock]
        if ctx.get("skip_stock"):
            steps.remove(run_stock)
        for index in range(ctx["runs"]):
            turn = index % len(steps)  # rotate, so drift in the machine's load spreads over all four
            for step in steps[turn:] + steps[:turn]:
                step()
        worker.memo = kept
        with Clock(zygote_pids) as first_kept:  # the first grading that keeps its work
            worker.grade(job)
        with Clock(zygote_pids) as unchanged:  # the same submission again
            worker.grade(job)
        with Clock(zygote_pids) as cached:  # a second student with the same notebooks
            again = worker.grade(dataclasses.replace(job, student="full_marks_again"))
        worker.memo = Memo(None)
        memory_peaks = {"zygote_hwm_mb": [memory._status_kb(p, "VmHWM").get("VmHWM", 0) / 1024 for p in zygote_pids],
                        "worker_process_hwm_mb": memory._status_kb(os.getpid(), "VmHWM").get("VmHWM", 0) / 1024}
    finally:
        worker.close()

    def totals(kind: str, key: str) -> list[float]:
        return [sum(v[key] for v in per.values()) for per in rounds[kind]]

    plain = {"wall": summary(totals("plain", "wall")), "cpu": summary(totals("plain", "cpu")),
             "kernel_start": summary(totals("plain", "kernel_start")), "cells": summary(totals("plain", "cells")),
             "shutdown": summary(totals("plain", "shutdown")),
             "per_notebook": {n: summary([r[n]["wall"] for r in rounds["plain"]]) for n in names}}
    in_worker = {"wall": summary(totals("worker", "wall")), "cpu": summary(totals("worker", "cpu")),
                 "per_notebook": {n: summary([r[n]["wall"] for r in rounds["worker"]]) for n in names}}
    grades = rounds["grade"]
    stages = sorted({k for g in grades for k in g["timings"]})
    grade = {"wall": summary([g["wall"] for g in grades]), "cpu": summary([g["cpu"] for g in grades]),
             "stages": {k: summary([g["timings"].get(k, 0.0) for g in grades]) for k in stages},
             "check_tasks": {q: summary([g["tasks"].get(q) for g in grades if g["tasks"].get(q) is not None])
                             for q in sorted({q for g in grades for q in g["tasks"]})},
             "total": grades[0]["total"] if grades else None,
             "cached_repeat": {"wall_s": round(cached.wall, 2), "cpu_s": round(cached.cpu, 2),
                               "what": "a second student with identical notebooks: executions and checks kept",
                               "total": list(again.total),
                               "vs_first": ratio(cached.wall, first_kept.wall)},
             "unchanged": {"wall_s": round(unchanged.wall, 2),
                           "what": "the same submission graded again (FORCE=1 off): its work kept"}}
    stock = {"wall": summary([s["wall"] for s in rounds["stock"]]), "cpu": summary([s["cpu"] for s in rounds["stock"]]),
             "score": rounds["stock"][0]["score"] if rounds["stock"] else None,
             "max": rounds["stock"][0]["max"] if rounds["stock"] else None,
             "note": "nbgrader's default Execute preprocessors: visible tests only, one kernel per notebook"}
    plain_med, grade_med = plain["wall"]["median"], grade["wall"]["median"]
    return {
        "notebooks": names,
        "worker_start": {"construct_s": round(made.wall, 2), "zygote_start_s": round(started.wall, 2),
                         "zygote_preload_s": ready.get("preload_seconds"), "first_grade_s": round(warmup.wall, 2),
                         "first_grade_cpu_s": round(warmup.cpu, 2)},
        "plain_nbclient": plain, "worker_execute": in_worker, "grade_one": grade, "stock_autograde": stock,
        "ratios": {
            "worker_vs_plain": ratio(in_worker["wall"]["median"], plain_med),
            "grade_vs_plain": ratio(grade_med, plain_med),
            "grade_vs_plain_cpu": ratio(grade["cpu"]["median"], plain["cpu"]["median"]),
            "grade_vs_plain_cells_only": ratio(grade_med, plain["cells"]["median"]),
            "grade_vs_stock": ratio(grade_med, stock["wall"]["median"]),
            "per_round_grade_vs_plain": [ratio(g["wall"], sum(v["wall"] for v in p.values()))
                                         for g, p in zip(grades, rounds["plain"])],
        },
        "memory": memory_peaks,
    }


# ----- (d') make grade STUDENT=x FORCE=1, end to end, as the instructor types it -----------
def one(ctx: dict) -> dict:
    """``wt06-grade grade --student x --force`` in a fresh process, timed from outside.

    The course's incidents, release and reference results are there (a course graded before);
    the kept work (``memo``) is not: the submission's notebooks and checks all really run.
    Then the same command without ``--force`` (the unchanged submission is reused).
    """

    scratch = Path(ctx["scratch"])
    course = _folder(ctx, "one") / "course"
    shutil.copytree(scratch / "course" / ".wt06", course / ".wt06", ignore=shutil.ignore_patterns("memo", "results"))
    classmix.copy_submission(scratch / "fixtures", "full_marks", course / "submitted", "alice")
    command = [sys.executable, "-m", "wt06_grading", "grade", "--course", str(course), "--student", "alice",
               "--timeout", str(ctx["cell_timeout"])]
    env = {k: v for k, v in os.environ.items() if k != "WT06_GRADING_CACHE"}  # the course's own, as make grade
    runs = {}
    for label, extra in (("cold", ["--force"]), ("unchanged", [])):
        with Clock() as c:
            done = subprocess.run(command + extra, capture_output=True, text=True, env=env, timeout=1800)
        if done.returncode not in (0, 1):
            raise RuntimeError(f"make grade ({label}) failed: {done.stderr[-1500:]}")
        runs[label] = {"wall_s": round(c.wall, 2), "exit": done.returncode,
                       "summary": [line for line in done.stdout.splitlines() if "wall" in line][-1:]}
    return runs


# ----- (e, f) the class, with 1 and 2 workers -------------------------------------------------
def grade_class_once(course_dir: Path, submitted: Path, jobs: int, cell_timeout: int) -> dict:
    """The one call of the grading engine's class entry point (make grade's), and what it tells.

    Completion times come from the result files the driver writes as each submission
    arrives (``feedback/<student>/``), so nothing here depends on the engine's internals.
    """
    from wt06_grading.batch import grade_class

    started_at = time.time()
    with memory.TreeSampler() as sampler, Clock() as c:
        result = grade_class(course_dir, submitted=submitted, jobs=jobs, cell_timeout=cell_timeout, progress=False)
    graded = getattr(result, "graded", None) or getattr(result, "results", None) or []
    done = {p.parent.name: round(p.stat().st_mtime - started_at, 2)
            for p in (course_dir / "feedback").glob("*/*") if p.is_dir()}
    return {"wall": c.wall, "cpu": c.cpu, "graded": len(graded), "done_at": done,
            "per_submission": {g.student: round(g.seconds, 2) for g in graded},
            "totals": {g.student: list(g.total) for g in graded}, "memory": sampler.report()}


def _pace(run: dict) -> dict:
    """Start-up and steady pace of a class run, from when each submission's result was written.

    Start-up is when the first worker began grading (a result's write time less its own
    grading seconds, earliest over the class): packing the course, starting workers and
    zygotes. The steady pace is the rest: submissions over the seconds from then to the last
    result. A class of 300 then takes start-up + 300 x seconds per submission.
    """
    done, seconds = run["done_at"], run["per_submission"]
    if not done or not seconds:
        return {"startup_s": None, "seconds_per_submission": None}
    startup = max(0.0, min(done[s] - seconds[s] for s in seconds if s in done))
    span = max(done.values()) - startup
    return {"startup_s": round(startup, 2), "seconds_per_submission": round(span / len(done), 3)}


def classes(ctx: dict) -> dict:
    scratch = Path(ctx["scratch"])
    submitted = scratch / "class"
    size = len([p for p in submitted.iterdir() if p.is_dir()])
    state = scratch / "course" / ".wt06"
    from wt06_grading.driver.bundle import course_bundle

    packed_course = _folder(ctx, "class") / "packing"
    shutil.copytree(state, packed_course / ".wt06")
    with Clock() as packing:  # what every class run starts with (release, digests, cached references)
        course_bundle(packed_course, cell_timeout=ctx["cell_timeout"])
    shutil.rmtree(packed_course)
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for index in range(ctx["class_runs"]):
        for jobs in ((1, 2) if index % 2 == 0 else (2, 1)):
            course_dir = _folder(ctx, "class") / f"jobs{jobs}-run{index}"
            shutil.copytree(state, course_dir / ".wt06")  # this cohort's incidents and reference results
            run = grade_class_once(course_dir, submitted, jobs, ctx["cell_timeout"])
            if run["graded"] != size:
                raise RuntimeError(f"{run['graded']} of {size} submissions graded with {jobs} worker(s)")
            run.update(_pace(run))
            runs[jobs].append(run)
            shutil.rmtree(course_dir)
    out = {"submissions": size, "cell_timeout": ctx["cell_timeout"], "by_jobs": {},
           "pack_course_s": round(packing.wall, 1)}
    for jobs, done in runs.items():
        per_minute = [60 * r["graded"] / r["wall"] for r in done]
        steady = [60 / r["seconds_per_submission"] for r in done if r["seconds_per_submission"]]
        startup = [r["startup_s"] for r in done if r["startup_s"] is not None]
        out["by_jobs"][str(jobs)] = {
            "wall": summary([r["wall"] for r in done]), "cpu": summary([r["cpu"] for r in done]),
            "per_minute": summary(per_minute, 2), "steady_per_minute": summary(steady, 2),
            "startup_s": summary(startup, 1),
            "class_of_300_min": summary([(r["startup_s"] + 300 * r["seconds_per_submission"]) / 60 for r in done
                                         if r["seconds_per_submission"]], 1),
            "per_submission": {s: summary([r["per_submission"].get(s) for r in done]) for s in
                               sorted(done[0]["per_submission"])} if done else {},
            "totals": done[0]["totals"] if done else {},
            "memory": [r["memory"] for r in done],
        }
    one, two = out["by_jobs"]["1"]["per_minute"]["median"], out["by_jobs"]["2"]["per_minute"]["median"]
    out["speedup"] = ratio(two, one)
    out["efficiency"] = ratio(two, 2 * one) if one else None
    s1, s2 = out["by_jobs"]["1"]["steady_per_minute"]["median"], out["by_jobs"]["2"]["steady_per_minute"]["median"]
    out["steady_speedup"] = ratio(s2, s1)
    return out


# ----- (g) the monitor ---------------------------------------------------------------------
def scaled_params(factor: int):
    """The canonical incident with ``factor`` times the orders, events and customers per day.

    The story's span and its runs stay (the generator keeps an incident's quiet gaps within
    the canonical one's, which a longer history at the same volume would break), so the
    monitor sees the same moments over ``factor`` times the rows.
    """
    from wt06.incident.scenario import ScenarioParams

    base = ScenarioParams()
    return dataclasses.replace(
        base, orders=base.orders * factor, events=base.events * factor,
        customers=min(base.customers * factor, 480),  # the generator has 520 distinct names
        push_orders_per_day=base.push_orders_per_day * factor)


def reference_rules() -> dict:
    """The reference monitor rules of notebook 06's solution: its saved rule queries and
    the staleness threshold its ``monitor_rules`` cell sets (read, never retyped here)."""
    import ast

    from wt06_grading.definition.reference import solution_cells
    from wt06_grading.foundation.markers import split_magic

    cells = solution_cells()
    tree = ast.parse(cells["monitor_rules"][1])
    table = next(node.value for node in tree.body if isinstance(node, ast.Assign))
    hours = next(ast.literal_eval(v) for k, v in zip(table.keys, table.values)
                 if ast.literal_eval(k) == "staleness_hours")
    return {"phantom": split_magic(cells["phantom_alert"][1])[1],
            "duration": split_magic(cells["duration_alert"][1])[1], "staleness_hours": hours}


def monitor(ctx: dict) -> dict:
    """The monitor's replay (every moment of an incident, the reference rules) by incident size."""
    from wt06 import monitor as wt06_monitor
    from wt06.foundation import paths
    from wt06.incident.scenario import Scenario
    from wt06.pipeline.build import build_warehouse

    scratch = _folder(ctx, "monitor")
    rules = reference_rules()
    repeats = max(3, ctx["runs"])
    sizes = []
    for factor in ctx["monitor_scales"]:
        params = scaled_params(factor)
        scenario = Scenario(params)
        folder = scratch / f"x{factor}"
        scenario.write(folder / "data")
        with Clock() as built:
            warehouse = build_warehouse(folder / "warehouse.duckdb", data_dir=folder / "data",
                                        project=paths.project_dir(), work=folder / "work")
        import duckdb

        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            rows = {table: con.execute(f"select count(*) from {table}").fetchone()[0] for table in
                    ("raw.raw_orders", "raw.raw_customers", "raw.raw_events", "raw.raw_pipeline_runs")}
        finally:
            con.close()
        replays, replayed = [], None
        for index in range(repeats):
            with Clock() as c:
                replayed = wt06_monitor.replay(warehouse, paths.project_dir(), folder / f"replay-{index}", rules)
            replays.append(c.wall)
        detected = wt06_monitor.metrics(replayed, scenario.truth())
        total_rows = sum(rows.values())
        replay_s = summary(replays, 4)
        sizes.append({"factor": factor, "params": dataclasses.asdict(params), "rows": rows, "rows_total": total_rows,
                      "moments": len(replayed["moments"]), "build_s": round(built.wall, 1), "replay_s": replay_s,
                      "detected_at": {rule: m["detected_at"] for rule, m in detected.items()},
                      "replay_ms_per_moment": round(1000 * replay_s["median"] / len(replayed["moments"]), 2)})
    growth = None
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        growth = {
            "rows_ratio": round(large["rows_total"] / small["rows_total"], 1),
            "moments_ratio": round(large["moments"] / small["moments"], 1),
            "replay_time_ratio": ratio(large["replay_s"]["median"], small["replay_s"]["median"]),
            # time ~ rows^exponent between the smallest and the largest: 1 is linear, 0 is flat
            "replay_exponent": round(math.log(large["replay_s"]["median"] / small["replay_s"]["median"])
                                     / math.log(large["rows_total"] / small["rows_total"]), 2),
        }
    return {"rules": "notebook 06's reference rules", "repeats": repeats, "sizes": sizes, "growth": growth}


SECTIONS = {"prepare": prepare, "dbt": dbt, "build": build, "course": course, "one": one, "class": classes,
            "monitor": monitor}
