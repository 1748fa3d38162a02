"""The class analytics page: one self-contained HTML file for the instructor.

``make report`` (``wt06-grade report``) reads what grading left behind, the per-student
records of the last batches (rows, notes, grading time; see engine.py) and the gradebook
(for scores including the TAs' manual grades), and writes ``<course>/report.html``:

* the score distribution (autograded + manual, out of the assignment's points);
* the pass rate per question and per learning objective (the objectives and their graded
  cells are read from the README's "Learning objectives" table: one place to edit);
* the most common failure reasons, hidden-check messages grouped with numbers blanked;
* the submissions that need a manual look, and why;
* grading time per submission (and per worker).

Plots are PNGs embedded as data URIs: the page needs no network and no other file.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .contract import SubmissionResult
from .engine import ResultStore
from .layout import REPO

OBJECTIVES_HEADING = "## Learning objectives"


@dataclass
class Objective:
    number: str
    text: str
    cells: list[tuple[str, str]]  # (notebook prefix "02", cell id)

    def covers(self, notebook: str, grade_id: str) -> bool:
        return any(notebook.startswith(prefix) and grade_id in (cell, f"test_{cell}")
                   for prefix, cell in self.cells)


def learning_objectives(readme: Path = REPO / "README.md") -> list[Objective]:
    """The README's objectives table: ``| 4 | Read dbt selector syntax | 02: `a`; 05: `b` |``."""
    if not readme.is_file():
        return []
    text = readme.read_text()
    start = text.find(OBJECTIVES_HEADING)
    if start < 0:
        return []
    out = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("## "):
            break
        parts = [p.strip() for p in line.strip().strip("|").split("|")]
        if len(parts) != 3 or not parts[0].isdigit():
            continue
        cells = []
        for segment in parts[2].split(";"):
            match = re.match(r"\s*(\d+):(.*)", segment)
            if match:
                cells += [(match.group(1), name) for name in re.findall(r"`([^`]+)`", match.group(2))]
        out.append(Objective(parts[0], parts[1], cells))
    return out


def _group(reason: str) -> str:
    """A failure reason with its specifics blanked, so alike failures count together."""
    reason = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
    reason = re.sub(r"\d+(\.\d+)?", "N", reason)
    return reason[:160]


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _figures(totals: list[float], top: float, questions: list[tuple[str, float]],
             objectives: list[tuple[str, float]], seconds: list[float]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    fig, ax = plt.subplots(figsize=(7, 3))
    steps = max(1, int(top) + 1) if top <= 60 else 40  # one bar per point on small assignments
    edges = [-0.5 + i * (top + 1) / steps for i in range(steps + 1)]
    ax.hist(totals, bins=edges, color="#3a6ea5", edgecolor="white")
    ax.set_xlabel(f"score (out of {top:g})")
    ax.set_ylabel("submissions")
    ax.set_title("Score distribution")
    out["scores"] = _png(fig)
    for key, items, title in (("questions", questions, "Pass rate per question"),
                              ("objectives", objectives, "Pass rate per learning objective")):
        fig, ax = plt.subplots(figsize=(7, 0.32 * max(len(items), 3) + 0.8))
        labels = [label for label, _ in items][::-1]
        values = [100 * rate for _, rate in items][::-1]
        ax.barh(labels, values, color=["#c0504d" if v < 50 else "#4f9a5a" for v in values])
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of submissions passing")
        ax.set_title(title)
        ax.tick_params(axis="y", labelsize=8)
        out[key] = _png(fig)
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist(seconds, bins=min(30, max(5, len(seconds) // 3)), color="#8064a2", edgecolor="white")
    ax.set_xlabel("seconds per submission (on a worker)")
    ax.set_ylabel("submissions")
    ax.set_title("Grading time per submission")
    out["seconds"] = _png(fig)
    return out


def _table(head: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td class='{'n' if i in numeric else ''}'>{html.escape(str(v))}</td>"
                         for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:2em auto;max-width:980px;color:#222}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
.sub{color:#666} .cards{display:flex;gap:1em;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}
.card b{display:block;font-size:1.5em} table{border-collapse:collapse;font-size:.85em;width:100%}
th,td{border-bottom:1px solid #e4e4e4;padding:.25em .5em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums} img{max-width:100%}
"""


def build(results: list[SubmissionResult], *, book: dict[str, dict[str, dict]] | None = None,
          objectives: list[Objective] | None = None, title: str = "WT-06: The Data Is Stale") -> str:
    """The page's HTML. ``book``: the gradebook's scores (gradebook.scores), manual grades included."""
    objectives = learning_objectives() if objectives is None else objectives
    results = sorted(results, key=lambda r: r.student)
    n = len(results)
    top = max((r.max_score for r in results), default=0.0)
    book = {s: nbs for s, nbs in (book or {}).items() if nbs}
    graded = {row.notebook for r in results for row in r.rows}  # notebooks this course grades
    totals = [sum(v["score"] for nb, v in book[r.student].items() if nb in graded) if r.student in book
              else r.score for r in results]
    per_question: dict[tuple[str, str], list[bool]] = defaultdict(list)
    per_objective: dict[str, list[bool]] = defaultdict(list)
    reasons: Counter = Counter()
    examples: dict[tuple[str, str], str] = {}
    for r in results:
        for row in r.rows:
            if row.status == "manual":
                continue  # graded by hand: not a pass or a fail of the autograder
            passed = row.status == "passed"
            per_question[(row.notebook, row.grade_id)].append(passed)
            for objective in objectives:
                if objective.covers(row.notebook, row.grade_id):
                    per_objective[f"{objective.number}. {objective.text}"].append(passed)
            if not passed and row.reason:
                key = (row.grade_id, _group(row.reason))
                reasons[key] += 1
                examples.setdefault(key, row.reason)
    questions = [(f"{nb[:2]} {gid}", sum(v) / len(v)) for (nb, gid), v in sorted(per_question.items())]
    by_objective = [(label, sum(v) / len(v)) for label, v in per_objective.items()]
    seconds = [r.seconds for r in results if r.seconds]
    figures = _figures(totals, top, questions, by_objective, seconds or [0.0]) if n else {}
    looks = [[r.student, notebook or "(submission)", sentence] for r in results
             for notebook, sentence, look in r.notes if look]
    retried = [[r.student, r.attempts, r.worker] for r in results if r.attempts > 1]
    waiting = sorted(r.student for r in results
                     if (any(v["needs_manual_grade"] for nb, v in book[r.student].items() if nb in graded)
                         if r.student in book else any(row.status == "manual" for row in r.rows)))
    slowest = sorted(results, key=lambda r: -r.seconds)[:10]
    workers: dict[str, list[float]] = defaultdict(list)
    for r in results:
        workers[r.worker or "?"].append(r.seconds)
    passed_all = sum(1 for r in results if all(row.status in ("passed", "manual") for row in r.rows))
    median = sorted(totals)[n // 2] if n else 0
    mean_seconds = sum(seconds) / len(seconds) if seconds else 0.0
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}: class report</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}: class report</h1>",
        f"<p class='sub'>{n} submissions · written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · "
        "scores include manual grades where a grader gave them</p>",
        "<div class='cards'>",
        f"<div class='card'><b>{n}</b>submissions</div>",
        f"<div class='card'><b>{median:g} / {top:g}</b>median score</div>",
        f"<div class='card'><b>{passed_all}</b>every autograded cell passed</div>",
        f"<div class='card'><b>{len({s for s, _, _ in looks})}</b>need a manual look</div>",
        f"<div class='card'><b>{mean_seconds:.1f} s</b>mean grading time</div>",
        "</div>",
    ]
    if n:
        parts += [
            "<h2>Score distribution</h2>", f"<img alt='score distribution' src='{figures['scores']}'>",
            "<h2>Pass rate per learning objective</h2>",
            f"<img alt='pass rate per learning objective' src='{figures['objectives']}'>",
            _table(["objective", "pass rate", "answers"],
                   [[label, f"{100 * rate:.0f}%", len(per_objective[label])] for label, rate in by_objective], {1, 2}),
            "<h2>Pass rate per question</h2>",
            f"<img alt='pass rate per question' src='{figures['questions']}'>",
            _table(["notebook", "question", "pass rate", "answers"],
                   [[nb, gid, f"{100 * sum(v) / len(v):.0f}%", len(v)]
                    for (nb, gid), v in sorted(per_question.items())], {2, 3}),
            "<h2>Most common failure reasons</h2>",
            "<p class='sub'>Failed cells grouped by question and message (numbers and quoted values "
            "blanked); one example of each.</p>",
            _table(["count", "question", "example"],
                   [[count, gid, examples[(gid, group)][:300]]
                    for (gid, group), count in reasons.most_common(20)], {0}),
            "<h2>Submissions that need a manual look</h2>",
            _table(["student", "notebook", "why"], looks) if looks else "<p>None.</p>",
        ]
        if retried:
            parts += ["<p>Graded again after a worker was lost:</p>",
                      _table(["student", "attempts", "graded on"], retried, {1})]
        parts += [f"<p>{len(waiting)} submission(s) have cells waiting for a grader "
                  "in formgrader.</p>",
                  "<h2>Grading time per submission</h2>",
                  f"<img alt='grading time per submission' src='{figures['seconds']}'>",
                  _table(["worker", "submissions", "mean s", "max s"],
                         [[w, len(v), f"{sum(v) / len(v):.1f}", f"{max(v):.1f}"]
                          for w, v in sorted(workers.items())], {1, 2, 3}),
                  "<p>Slowest submissions:</p>",
                  _table(["student", "seconds", "worker", "attempts"],
                         [[r.student, f"{r.seconds:.1f}", r.worker, r.attempts] for r in slowest], {1, 3})]
    else:
        parts.append("<p>No graded submission yet: run <code>make grade</code> first.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(course: Path, *, out: Path | None = None, gradebook_url: str | None = None) -> Path:
    """``course/report.html`` from the course's grading records and gradebook."""
    from . import gradebook

    course = Path(course)
    results = ResultStore(course).results()
    book = None
    url = gradebook_url or gradebook.gradebook_url(course)
    if results and (not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).is_file()):
        book = gradebook.scores(url)
    target = Path(out or course / "report.html")
    target.write_text(build(results, book=book))
    return target
