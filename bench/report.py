"""The benchmark's headline numbers, its targets, and the table ``make bench`` prints.

The table is Markdown, so the README's Performance section is this output pasted in
(``python bench/run.py --table bench/results.json`` prints it again from the JSON).
"""

from __future__ import annotations

# (id, what, goal, "<=" or ">=")
TARGETS = [
    ("steady_s", "a full six-notebook submission per worker, steady state (s)", 12.0, "<="),
    ("cold_one_s", "`make grade STUDENT=x FORCE=1`, one submission, nothing kept (s wall)", 20.0, "<="),
    ("unchanged_s", "an unchanged resubmission (s, in the worker)", 1.0, "<="),
    ("second_student_x", "a second student with identical notebooks vs the first (x)", 0.3, "<="),
    ("speedup", "2 workers vs 1 on the mixed class (x)", 1.8, ">="),
    ("class_of_300_min", "a class of 300 with 2 workers (min)", 40.0, "<="),
    ("run_all_max_s", "a student's Run All, slowest notebook (s, plain nbclient)", 10.0, "<="),
    ("dbt_ratio", "in-process dbt vs the CLI (x faster)", 10.0, ">="),
    ("monitor_exponent", "monitor cost growth (time ~ rows^k)", 1.0, "<="),
]


def _get(data: dict, *keys, default=None):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def headline(results: dict) -> dict:
    """The numbers the targets are about (None where a section did not run)."""
    s = results.get("sections", {})
    growth = _get(s, "monitor", "growth") or {}
    exponents = [growth.get(k) for k in ("replay_exponent",) if growth.get(k) is not None]
    per_notebook = _get(s, "course", "plain_nbclient", "per_notebook") or {}
    run_all = [v.get("median") for v in per_notebook.values() if v.get("median") is not None]
    steady = _get(s, "class", "by_jobs", "1", "steady_per_minute", "median")
    numbers = {
        # a full submission on a warm worker, nothing kept (the mixed class's steady pace is cheaper:
        # a third of it is blank, typed-in or broken notebooks)
        "steady_s": _get(s, "course", "grade_one", "wall", "median") or (round(60 / steady, 1) if steady else None),
        "cold_one_s": _get(s, "one", "cold", "wall_s"),
        "unchanged_s": _get(s, "course", "grade_one", "unchanged", "wall_s"),
        "second_student_x": _get(s, "course", "grade_one", "cached_repeat", "vs_first"),
        "run_all_max_s": max(run_all) if run_all else None,
        "speedup": _get(s, "class", "speedup"),
        "class_of_300_min": _get(s, "class", "by_jobs", "2", "class_of_300_min", "median"),
        "dbt_ratio": _get(s, "dbt", "ratio"),
        "monitor_exponent": max(exponents) if exponents else None,
    }
    return {key: numbers[key] for key, *_ in TARGETS}  # in the targets' order


def targets(results: dict) -> list[dict]:
    measured = headline(results)
    out = []
    for key, what, goal, sense in TARGETS:
        value = measured.get(key)
        met = None if value is None else (value <= goal if sense == "<=" else value >= goal)
        off = None
        if value is not None and not met:
            off = round(value / goal, 2) if sense == "<=" else round(goal / value, 2) if value else None
        out.append({"id": key, "what": what, "goal": f"{sense} {goal:g}", "measured": value, "met": met,
                    "missed_by_x": off})
    return out


def _n(value, digits=1, unit="") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:.{digits}f}"
    return f"{value}{unit}"


def _row(label: str, stats: dict | None, note: str = "", digits: int = 1) -> str:
    stats = stats or {}
    return (f"| {label} | {_n(stats.get('median'), digits)} | {_n(stats.get('min'), digits)} | "
            f"{_n(stats.get('max'), digits)} | {stats.get('n', '–')} | {note} |")


def _mem(groups: dict) -> list[str]:
    lines = []
    for label, peak in sorted(groups.items()):
        if label == "driver" and not peak.get("zygote_hwm_mb"):
            lines.append(f"driver process {peak.get('process_hwm_mb', 0):.0f} MB")
            continue
        name = "worker (in the driver)" if label == "driver" else "worker"
        lines.append(f"{name}: tree PSS {peak['tree_pss_mb']:.0f} MB, RSS sum {peak['tree_rss_mb']:.0f} MB, "
                     f"zygote peak {peak['zygote_hwm_mb']:.0f} MB")
    return lines


def table(results: dict) -> str:
    every = results.get("sections", {})
    s = {name: section for name, section in every.items() if "error" not in section}
    lines = [f"Measured {results.get('date', '?')} on {_get(results, 'machine', 'cores')} cores "
             f"({_get(results, 'machine', 'cpu', default='?')}), load average before "
             f"{' / '.join(map(str, results.get('load_before', [])))}, after "
             f"{' / '.join(map(str, results.get('load_after', [])))}; "
             f"{results.get('runs')} runs per measurement ({results.get('class_runs')} per class size)"
             f"{', quick mode' if results.get('quick') else ''}; commit {results.get('commit')}.", "",
             "| | measurement (seconds unless stated) | median | min | max | n | |",
             "|---|---|---|---|---|---|---|"]

    def row(mark: str, label: str, stats, note: str = "", digits: int = 1) -> None:
        lines.append(_row(f"{mark} | {label}", stats, note, digits))

    d = s.get("dbt")
    if d:
        row("a", f"`{d['command']}` in-process (warm)", d["in_process"],
            f"first call in a fresh process {d['in_process_first']['wall_s']:.1f}", 2)
        row("a", f"`{d['command']}` as a `dbt` subprocess", d["cli"],
            f"**{_n(d['ratio'])}x** the in-process time (CPU {_n(d['ratio_cpu'])}x)", 2)
    b = s.get("build")
    if b:
        row("b", "warehouse build, fresh process (`make warehouse`)", b["process"],
            f"build_warehouse alone: median {_n(b['build_warehouse']['median'])}")
    c = s.get("course")
    if c:
        p = c["plain_nbclient"]
        row("c", "6 solved notebooks, plain nbclient, a fresh kernel each", p["wall"],
            f"kernel starts {_n(p['kernel_start']['median'])}, cells {_n(p['cells']['median'])}, "
            f"shutdowns {_n(p['shutdown']['median'])}; CPU {_n(p['cpu']['median'])}")
        w = c["worker_execute"]
        row("c", "the same 6 in the grading worker (warm zygote)", w["wall"],
            f"**{_n(c['ratios']['worker_vs_plain'], 2)}x** plain; CPU {_n(w['cpu']['median'])}; "
            f"zygote start {_n(c['worker_start']['zygote_start_s'])} once per worker")
        g = c["grade_one"]
        stages = g.get("stages", {})
        execute = sum((v.get("median") or 0) for k, v in stages.items() if k.startswith("execute"))
        checks = _get(stages, "hidden checks", "median")
        row("d", "one full submission graded end to end (warm worker)", g["wall"],
            f"**{_n(c['ratios']['grade_vs_plain'], 2)}x** plain nbclient; execute {_n(execute)}, "
            f"hidden checks {_n(checks)}; CPU {_n(g['cpu']['median'])}")
        st = c["stock_autograde"]
        if st["wall"]["n"]:
            row("d", "the same submission, stock `nbgrader autograde`", st["wall"],
                f"ours is **{_n(c['ratios']['grade_vs_stock'], 2)}x** its time; it scores "
                f"{_n(st['score'], 0)}/{_n(st['max'], 0)} on visible tests only")
        lines.append(f"| d | a second student with identical notebooks (work kept) | "
                     f"{g['cached_repeat']['wall_s']:.1f} | | | 1 | {_n(g['cached_repeat'].get('vs_first'), 2)}x "
                     "the first grading |")
        if g.get("unchanged"):
            lines.append(f"| d | the same submission again (work kept) | {g['unchanged']['wall_s']:.1f} | | | 1 | |")
        for stage, stats in sorted(stages.items()):
            counted = stage.startswith(("dbt ", "memo"))
            lines.append(f"| d | stage: {stage} | {_n(stats.get('median'), 2)} | {_n(stats.get('min'), 2)} | "
                         f"{_n(stats.get('max'), 2)} | {stats.get('n', '–')} | {'a count' if counted else ''} |")
        for name, stats in sorted(p.get("per_notebook", {}).items()):
            row("c", f"Run All of {name}, plain nbclient (a student's)", stats)
    o = s.get("one")
    if o:
        for label, what in (("cold", "`make grade STUDENT=x FORCE=1`, nothing kept, fresh process"),
                            ("unchanged", "`make grade STUDENT=x` again, unchanged (reused)")):
            if o.get(label):
                summary = " ".join(o[label]["summary"])
                summary = summary[summary.find("("):][:160] if "(" in summary else summary[:160]  # not the path
                lines.append(f"| d | {what} | {o[label]['wall_s']:.1f} | | | 1 | {summary} |")
    pr = s.get("prepare")
    if pr:
        for label in ("course_cold", "course_warm"):
            if pr.get(label):
                stages_ = ", ".join(f"{k} {v:.1f}" for k, v in (pr[label].get("stages") or {}).items())
                lines.append(f"| s | start-up: {pr[label]['what']} | {pr[label]['wall_s']:.1f} | | | 1 | {stages_} |")
    k = s.get("class")
    if k:
        for jobs in ("1", "2"):
            j = k["by_jobs"][jobs]
            row("e", f"class of {k['submissions']} (mixed), {jobs} worker{'s' if jobs == '2' else ''}: "
                     f"submissions/min", j["per_minute"],
                f"wall {_n(j['wall']['median'])} s; steady {_n(j['steady_per_minute']['median'])}/min after "
                f"{_n(j['startup_s']['median'])} s start-up; class of 300: {_n(j['class_of_300_min']['median'])} min")
        lines.append(f"| e | 2 workers vs 1 | {_n(k['speedup'], 2)}x | | | | scaling efficiency "
                     f"{_n(k['efficiency'], 2)} (steady state {_n(k['steady_speedup'], 2)}x) |")
        for jobs in ("1", "2"):
            mem = k["by_jobs"][jobs]["memory"]
            if mem:
                lines.append(f"| f | peak memory, {jobs} worker{'s' if jobs == '2' else ''} | | | | | "
                             f"{'; '.join(_mem(mem[0]['groups']))} |")
    m = s.get("monitor")
    if m and "sizes" in m:
        for size in m["sizes"]:
            row("g", f"monitor replay, {size['factor']}x incident ({size['rows_total']:,} rows)", size["replay_s"],
                f"s; {size['moments']} moments, {size['replay_ms_per_moment']} ms each", 2)
        if m.get("growth"):
            gr = m["growth"]
            lines.append(f"| g | monitor growth, {gr['rows_ratio']:g}x the rows, {gr['moments_ratio']:g}x the moments "
                         f"| | | | | replay {_n(gr['replay_time_ratio'], 2)}x: "
                         f"time ~ rows^{_n(gr['replay_exponent'], 2)} |")
    for name, section in every.items():
        if "error" in section:
            lines.append(f"| | section {name} failed | | | | | {' '.join(str(section['error']).split())[:200]} |")
    lines += ["", "| target | goal | measured | met |", "|---|---|---|---|"]
    for t in results.get("targets", []):
        met = "–" if t["met"] is None else "yes" if t["met"] else f"**no** ({t['missed_by_x']}x off)"
        lines.append(f"| {t['what']} | {t['goal']} | {_n(t['measured'], 2)} | {met} |")
    return "\n".join(lines)
