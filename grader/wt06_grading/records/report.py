"""The class analytics page: one self-contained HTML file for the instructor.

``make report`` (``wt06-grade report``) writes ``<course>/report.html`` from the class
record (class_record.py): the gradebook, a grader's scores included, explained by the
grading cache (reasons, notes, grading time). Every number is over the *current* class,
the students whose submission folder is still there; students no longer submitted are
listed apart. The page has:

* the score distribution, out of the assignment's points (the gradebook's totals, the
  notebooks not graded yet counting 0, as in every other view), and how many students
  each notebook has been graded for;
* the pass rate per question and per learning objective, over the answers graded so far
  (each rate says how many answers it is made of; the objectives and their graded cells
  are read from the README's "Learning objectives" table: one place to edit);
* the most common failure reasons, hidden-check messages grouped with numbers blanked;
* the submissions that need a manual look, and the answers waiting for a grader;
* similar answers: clusters of students whose answers to a question are near-identical
  after normalisation (similarity.py: SQL by its parsed tree, Python by its AST);
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

from wt06_grading.foundation.layout import REPO
from wt06_grading.records import class_record
from wt06_grading.records.class_record import GRADED, NOT_GRADED, REVIEW, WAITING, ClassRecord
from wt06_grading.records.similarity import MIN_TOKENS, THRESHOLD, class_clusters

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


def _passed(cell) -> bool:
    return cell.score is not None and cell.score >= cell.max_score - 1e-9


def build(record: ClassRecord, *, objectives: list[Objective] | None = None, clusters=None,
          title: str = "WT-06: The Data Is Stale", threshold: float | None = None) -> str:
    """The page's HTML from the class record (and ``clusters`` of similar answers, if computed)."""
    objectives = learning_objectives() if objectives is None else objectives
    students = record.current
    n = len(students)
    top = record.max_score
    totals = [s.score for s in students]
    per_question: dict[tuple[str, str], list[bool]] = defaultdict(list)
    per_objective: dict[str, list[bool]] = defaultdict(list)
    per_objective_students: dict[str, set[str]] = defaultdict(set)
    reasons: Counter = Counter()
    examples: dict[tuple[str, str], str] = {}
    coverage: Counter = Counter()
    for s in students:
        for notebook in s.graded:
            coverage[notebook.name] += 1
            for cell in notebook.cells:
                if cell.status in (WAITING, REVIEW, NOT_GRADED):
                    continue  # no score yet, or one a grader must look at again
                passed = _passed(cell)
                per_question[(cell.notebook, cell.grade_id)].append(passed)
                for objective in objectives:
                    if objective.covers(cell.notebook, cell.grade_id):
                        label = f"{objective.number}. {objective.text}"
                        per_objective[label].append(passed)
                        per_objective_students[label].add(s.student)
                if not passed and cell.reason and cell.status != GRADED:
                    key = (cell.grade_id, _group(cell.reason))
                    reasons[key] += 1
                    examples.setdefault(key, cell.reason)
    questions = [(f"{nb[:2]} {gid}", sum(v) / len(v)) for (nb, gid), v in sorted(per_question.items())]
    by_objective = [(label, sum(v) / len(v)) for label, v in sorted(per_objective.items(),
                                                                     key=lambda kv: int(kv[0].split(".")[0]))]
    seconds = [s.seconds for s in students if s.seconds]
    figures = _figures(totals, top, questions, by_objective, seconds or [0.0]) if n else {}
    looks = [[s.student, notebook or "(submission)", sentence] for s in students
             for notebook, sentence, look in s.all_notes if look]
    retried = [[s.student, s.attempts, s.worker] for s in students if s.attempts > 1]
    waiting = [[s.student, c.notebook, c.title, "a second look (the answer or the autograder's score changed)"
                if c.status == REVIEW else "not graded yet"] for s in students for c in s.waiting]
    slowest = sorted(students, key=lambda s: -s.seconds)[:10]
    workers: dict[str, list[float]] = defaultdict(list)
    for s in students:
        workers[s.worker or "?"].append(s.seconds)
    full = sum(1 for s in students if s.graded and all(_passed(c) for c in s.cells if c.status != WAITING))
    median = sorted(totals)[n // 2] if n else 0
    mean_seconds = sum(seconds) / len(seconds) if seconds else 0.0
    removed = record.removed
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}: class report</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}: class report</h1>",
        f"<p class='sub'>{n} submissions · written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · from the gradebook, "
        "a grader's scores included; notebooks not graded yet count 0"
        + (f" · {len(removed)} no longer submitted, not counted" if removed else "") + "</p>",
        "<div class='cards'>",
        f"<div class='card'><b>{n}</b>submissions</div>",
        f"<div class='card'><b>{median:g} / {top:g}</b>median score</div>",
        f"<div class='card'><b>{full}</b>every graded cell passed</div>",
        f"<div class='card'><b>{len({s for s, _, _ in looks})}</b>need a manual look</div>",
        f"<div class='card'><b>{len({w[0] for w in waiting})}</b>wait for a grader</div>",
        f"<div class='card'><b>{mean_seconds:.1f} s</b>mean grading time</div>",
        "</div>",
    ]
    if n:
        parts += [
            "<h2>Score distribution</h2>", f"<img alt='score distribution' src='{figures['scores']}'>",
            "<p>Notebooks graded so far:</p>",
            _table(["notebook", "submissions graded"], [[nb, coverage.get(nb, 0)] for nb in record.notebooks], {1}),
            "<details><summary>Scores by student (the gradebook's; – : notebook not graded yet)</summary>",
            _table(["student", "total"] + [nb[:2] for nb in record.notebooks],
                   [[s.student, f"{s.score:g} / {s.max_score:g}"]
                    + [f"{s.notebooks[nb].score:g}" if s.notebooks[nb].graded else "–" for nb in record.notebooks]
                    for s in students], set(range(1, 2 + len(record.notebooks)))),
            "</details>",
            "<h2>Pass rate per learning objective</h2>",
            "<p class='sub'>Over the answers graded so far (full marks = passed); a rate made of few answers "
            "says little.</p>",
            f"<img alt='pass rate per learning objective' src='{figures['objectives']}'>",
            _table(["objective", "pass rate", "answers", "submissions"],
                   [[label, f"{100 * rate:.0f}%", len(per_objective[label]), len(per_objective_students[label])]
                    for label, rate in by_objective], {1, 2, 3}),
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
            "<h2>Waiting for a grader</h2>",
            (_table(["student", "notebook", "question", "what"], waiting) if waiting else "<p>None.</p>")
            + "<p class='sub'>Grade them in formgrader (<code>make formgrade</code>), then <code>make feedback"
              "</code>.</p>",
        ]
        parts += _similar_section(clusters, threshold or THRESHOLD, MIN_TOKENS)
        if retried:
            parts += ["<p>Graded again after a worker was lost:</p>",
                      _table(["student", "attempts", "graded on"], retried, {1})]
        parts += ["<h2>Grading time per submission</h2>",
                  f"<img alt='grading time per submission' src='{figures['seconds']}'>",
                  _table(["worker", "submissions", "mean s", "max s"],
                         [[w, len(v), f"{sum(v) / len(v):.1f}", f"{max(v):.1f}"]
                          for w, v in sorted(workers.items())], {1, 2, 3}),
                  "<p>Slowest submissions:</p>",
                  _table(["student", "seconds", "worker", "attempts"],
                         [[s.student, f"{s.seconds:.1f}", s.worker, s.attempts] for s in slowest], {1, 3})]
    else:
        parts.append("<p>No graded submission yet: run <code>make grade</code> first.</p>")
    if removed:
        parts += ["<h2>No longer submitted</h2>",
                  "<p class='sub'>Their folder left <code>submitted/</code>; their grades stay in the gradebook, "
                  "out of every number above and out of the LMS files (unless exported with "
                  "<code>--include-removed</code>).</p>",
                  _table(["student", "score", "notebooks graded"],
                         [[s.student, f"{s.score:g} / {s.max_score:g}", len(s.graded)] for s in removed], {1, 2})]
    parts.append("</body></html>")
    return "\n".join(parts)


def _similar_section(clusters, threshold: float, min_tokens: int) -> list[str]:
    head = ["<h2>Similar answers</h2>",
            f"<p class='sub'>Students whose answers to a question match for at least {100 * threshold:.0f}% of their "
            f"tokens after normalisation (SQL: parsed, aliases renamed in order, identifiers in one case, whitespace, "
            f"comments and literal notation normalised; Python: its syntax tree; prose: its words). Answers "
            f"shorter than {min_tokens} tokens, and answers near the model answer or the blank starting point, "
            f"are not compared. A cluster is a reason to read the answers side by side, not a verdict.</p>"]
    if clusters is None:
        return head + ["<p>Not computed.</p>"]
    if not clusters:
        return head + ["<p>None.</p>"]
    return head + [_table(["notebook", "question", "students", "similarity"],
                          [[c.notebook, c.question, ", ".join(c.students),
                            "identical after normalisation" if c.identical else f"{100 * c.similarity:.0f}%"]
                           for c in clusters])]


def write_report(course: Path, *, out: Path | None = None, gradebook_url: str | None = None) -> Path:
    """``course/report.html`` from the course's gradebook and grading cache."""
    course = Path(course)
    record = class_record.load(course, gradebook_url=gradebook_url)
    clusters = class_clusters(course, [s.student for s in record.current]) if record.current else []
    target = Path(out or course / "report.html")
    target.write_text(build(record, clusters=clusters))
    return target
