"""A grading worker: grades submissions one after another, each in explicit stages.

``GradingWorker(bundle, scratch)`` prepares once what every submission needs (the
incidents built from the bundle, a warm zygote in the sandbox that has parsed the
course's dbt project) and then grades jobs:

1. **intake**: the submission's bytes -> parsed notebooks, with notes (intake.py);
2. **assemble**: each notebook rebuilt around the course's own cells (assemble.py);
3. **execute**: each notebook run in a jailed job, giving its outputs and the answers
   its code produced (sandbox/runner.py); a notebook whose answers are recomputed on
   other incidents (a kind that ``reruns``) runs again there, up to the answer cell;
4. **hidden checks**: one checker job runs every answer's task on the incidents
   (checks.py, kinds/, sandbox/checker.py); the results are judged against the reference;
5. **score**: rows for every graded cell of the course (scoring.py);
6. **feedback**: HTML pages and the graded notebooks (feedback.py).

Every stage returns a dataclass; a failure in any stage, whatever the submission did,
becomes rows with a reason for that submission alone: ``grade`` never raises because of
a submission (only because the sandbox cannot start: not the student's fault).

**What jobs see, and what stays here.** Jobs run through one client (jobs.py). A
notebook job sees the course's canonical incident only; a re-run or checker job on a
grading incident sees that incident's *view*: its warehouse and nothing else. What
happened there (its story, when it began, the generator's seed and parameters) stays
in this process (``self.known``) and is used only to judge, and a verdict about a
grading incident is made of fixed words (kinds/base.py): no data produced there reaches
a student.

**Identical work, once.** Executions, re-runs and checker results are kept by the digest
of what shaped them (memo.py), so an unchanged resubmission or a second student with the
same notebook or answer costs file reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import wt06
from wt06_grading.definition import incidents
from wt06_grading.definition.course import CourseModel
from wt06_grading.definition.questions import AnswerRef, Question
from wt06_grading.foundation import layout
from wt06_grading.foundation.contract import CourseBundle, Note, SandboxSpec, SubmissionJob, SubmissionResult
from wt06_grading.foundation.memo import Memo, digest
from wt06_grading.kinds import KINDS
from wt06_grading.kinds.base import Known, RunIncident
from wt06_grading.records import feedback
from wt06_grading.sandbox import bwrap
from wt06_grading.sandbox.runner import MAX_ANSWER_CHARS
from wt06_grading.submission import scoring
from wt06_grading.submission.assemble import assemble
from wt06_grading.submission.checks import HiddenChecks, dbt_counts
from wt06_grading.submission.execution import runner_for
from wt06_grading.submission.intake import Intake, take_in
from wt06_grading.submission.jobs import NO_DATA, JobClient

# What the zygote imports once, so no notebook pays for it (a module missing here only
# costs its import in each job).
PRELOAD = ("pandas", "duckdb", "yaml", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
           "IPython.core.interactiveshell", "sql.magic", "sql.store", "dbt.cli.main", "dbt.adapters.duckdb",
           "dbt.adapters.duckdb.impl", "wt06.notebook", "wt06.plots", "wt06.monitor",
           "wt06.pipeline.dbt_runner", "wt06.freshness", "wt06.singular_test", "wt06.orchestrator",
           "nbformat")
NO_SANDBOX_NOTE = "graded WITHOUT the sandbox (--no-sandbox): student code ran with the grader's rights"
JUPYTER_NOTE = ("graded in stock Jupyter kernels (--runner jupyter), WITHOUT the sandbox: student code ran "
                "with the grader's rights")
NOTEBOOK_SECONDS = 900  # a notebook's hard limit, whatever its cells' limits add up to
IDLE_GRACE = 15  # seconds past a cell's limit before a cell that ignores it ends its notebook


def _code_digest() -> str:
    """The grading code's own digest (the course package and the grader): part of every memo key."""
    root_digest = hashlib.sha256()
    for root in (layout.PACKAGE, Path(wt06.__file__).resolve().parent):
        for path in sorted(root.rglob("*.py")):
            root_digest.update(path.read_bytes())
    return root_digest.hexdigest()


@dataclass
class Executed:
    notebook: nbformat.NotebookNode
    answers: dict[AnswerRef, dict] = field(default_factory=dict)  # {"value": ...} or {"problem": ...}
    notes: list[str] = field(default_factory=list)  # for the grade table, needing a look
    remarks: list[str] = field(default_factory=list)  # for the grade table, not needing one
    seconds: float = 0.0
    lost: bool = False  # the notebook stopped the sandbox
    reused: bool = False  # the same notebook's execution, kept (memo.py)
    counts: dict[str, int] = field(default_factory=dict)  # dbt invocations and parses in the job


class GradingWorker:
    """Grades submissions for one course bundle; owns one warm, sandboxed zygote."""

    def __init__(self, bundle: CourseBundle, scratch: Path, sandbox: SandboxSpec = SandboxSpec(), *,
                 limits: bwrap.Limits | None = None, incident_cache: Path | None = None,
                 memo: Path | None = None) -> None:

        bundle.verify()
        self.bundle = bundle
        self.course = CourseModel.from_json(bundle.settings)
        self.runner_name = self.course.runner
        self.sandbox = sandbox.enabled and self.runner_name == "sandbox"  # Jupyter kernels run outside it
        self.cell_timeout = self.course.cell_timeout
        self.reference = self.course.reference
        self.only = self.course.only
        self.scratch = Path(scratch)
        cache = incident_cache or os.environ.get(layout.ENV_INCIDENT_CACHE)
        self.incident_cache = Path(cache) if cache else self.scratch / "incidents"
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.release = {Path(name).stem: nbformat.reads(data.decode(), as_version=4)
                        for name, data in sorted(bundle.under("release").items())}
        self.questions = list(self.course.questions)
        self.manual = list(self.course.manual)
        self.answer_cells: dict[str, dict[AnswerRef, str]] = {}
        for question in self.questions:
            self.answer_cells.setdefault(question.notebook, {})[question.answer] = question.answer_cell
        self.course_dir, self.views, built = self._prepare()
        self.limits = limits or bwrap.Limits()
        self.zygote = bwrap.Zygote(bwrap.ZygoteSpec(
            course=self.course_dir, incidents=self.views, enabled=self.sandbox, limits=self.limits,
            preload=PRELOAD, parse=(f"{bwrap.COURSE_MOUNT if self.sandbox else self.course_dir}/dbt_project",)))
        self.jobs = JobClient(self.zygote, sandbox=self.sandbox, scratch=self.scratch, limits=self.limits,
                              course=self.course_dir, views=self.views)
        self.notebooks = runner_for(self.runner_name, self.jobs)  # execution.py
        # What the worker alone knows of each graded incident, and what a checker job is given.
        self.known = {b.spec.id: Known(b.spec.story, b.facts.get("truth", {})) for b in built}
        self.graded = [RunIncident(id=b.spec.id, warehouse=f"{self.jobs.view(b.spec.id)}/warehouse.duckdb",
                                now=b.now, moments=b.moments, project=f"{self.jobs.course}/dbt_project")
                       for b in built]
        self.digest = digest(bundle.shaping_digest(), _code_digest(), self.sandbox, self.runner_name)
        self.checks = HiddenChecks(graded=self.graded, known=self.known, jobs=self.jobs, course_digest=self.digest,
                                   memo=Memo(Path(memo) if memo else self.incident_cache.parent / "memo"))
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    # ----- preparation ----------------------------------------------------------------
    def _prepare(self):
        """The course's files, the incidents built, and the graded incidents' views."""
        course = self.scratch / "course"
        if course.exists():
            shutil.rmtree(course)
        for relative, data in self.bundle.under("course").items():
            target = course / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        cache = self.incident_cache
        cache.mkdir(parents=True, exist_ok=True)
        built = [incidents.build(spec, cache, course=course, project=course / "dbt_project")
                 for spec in self.course.incidents]
        for incident in built:  # where the notebooks look for them: next to the course's warehouse
            if incident.spec.story == incidents.CANONICAL:
                shutil.copy(incident.warehouse, course / "warehouse.duckdb")
            elif incident.spec.story == incidents.PUBLIC:
                shutil.copy(incident.warehouse, course / f"{incident.spec.name}.duckdb")
        graded = [b for b in built if b.spec.story != incidents.PUBLIC]
        views = self.scratch / "views"
        shutil.rmtree(views, ignore_errors=True)
        for incident in graded:  # a job sees an incident's warehouse, nothing else of it
            folder = views / incident.spec.id
            folder.mkdir(parents=True)
            try:
                os.link(incident.warehouse, folder / "warehouse.duckdb")
            except OSError:  # another file system
                shutil.copy(incident.warehouse, folder / "warehouse.duckdb")
        return course, views, graded

    @property
    def canonical(self) -> str:
        """The id of the course's own incident among the graded ones (the checks know it)."""
        return self.checks.canonical

    @property
    def memo(self) -> Memo:
        """Where executions, re-runs and checker results are kept (shared with the checks)."""
        return self.checks.memo

    @memo.setter
    def memo(self, memo: Memo) -> None:
        self.checks.memo = memo

    def close(self) -> None:
        self.zygote.close()

    # ----- stage 3: execute -------------------------------------------------------------
    def execute(self, name: str, notebook: nbformat.NotebookNode) -> Executed:
        """Run ``notebook`` in a jailed job on the course's incident (it sees no grading incident)."""
        started = time.monotonic()
        wanted = list(self.answer_cells.get(name, {}))
        cells = [c.source if c.cell_type == "code" else None for c in notebook.cells]
        key = digest(self.digest, "execute", name, cells, [[a.type, a.name] for a in wanted])
        kept = self.memo.get(key)
        if kept is not None:
            executed = _restore(notebook, kept)
            executed.seconds = time.monotonic() - started
            return executed
        deadline = min(NOTEBOOK_SECONDS, 30 + self.cell_timeout * max(1, sum(c is not None for c in cells)))
        ran = self.notebooks.run({"cells": cells, "answers": [{"type": a.type, "name": a.name} for a in wanted],
                                  "cell_timeout": self.cell_timeout},
                                 root=self.notebooks.root(), deadline=deadline, idle=self.cell_timeout + IDLE_GRACE)
        executed = Executed(notebook, lost=ran.lost)
        reached = -1
        for event in ran.events:
            kind = event.get("event")
            if kind == "cell" and isinstance(event.get("index"), int) and 0 <= event["index"] < len(notebook.cells):
                cell = notebook.cells[event["index"]]
                if cell.cell_type == "code":
                    cell.outputs = [nbformat.from_dict(o) for o in event.get("outputs", [])
                                    if isinstance(o, dict) and o.get("output_type") in
                                    ("stream", "display_data", "execute_result", "error")]
                    count = event.get("execution_count")
                    if not event.get("update"):  # a later cell updated a display: outputs only
                        cell.execution_count = count if isinstance(count, int) else None
                    if event.get("cut"):
                        cell.outputs.append(nbformat.v4.new_output(
                            "stream", name="stdout", text=f"\n... [{event['cut']:,} characters of output cut]\n"))
                reached = max(reached, event["index"])
            elif kind == "answer":
                ref = AnswerRef(str(event.get("type")), str(event.get("name")))
                if ref in wanted:
                    state = {k: event[k] for k in ("value", "problem") if k in event}
                    if len(json.dumps(state, default=str)) <= MAX_ANSWER_CHARS * 2:
                        executed.answers[ref] = state
            elif kind == "counts":
                executed.counts = dbt_counts(event)
        if ran.lost:
            executed.seconds = time.monotonic() - started
            return executed
        finished = self._mark_unfinished(executed, reached, ran.outcome)
        hit, executed.remarks = _what_cells_hit(notebook)
        executed.notes += hit
        if ran.clean and finished and not hit:
            self.memo.put(key, _kept(executed))
        executed.seconds = time.monotonic() - started
        return executed

    def _mark_unfinished(self, executed: Executed, reached: int, outcome: dict) -> bool:
        """Mark the cells a stopped notebook did not run; True when every code cell ran."""
        code_cells = [i for i, c in enumerate(executed.notebook.cells) if c.cell_type == "code"]
        unfinished = [i for i in code_cells if i > reached]
        if not unfinished:
            return True
        first = unfinished[0]
        if outcome.get("stalled"):
            why, ename = "this cell ignored its time limit and was stopped with its notebook", "CellStopped"
            executed.notes.append(f"cell #{first + 1} ran longer than the time limit and would not stop; "
                                  "the cells after it were not run")
        elif outcome.get("timed_out"):
            why, ename = "the notebook ran past its time limit while running this cell", "NotebookTimeout"
            executed.notes.append(f"the notebook ran past its time limit in cell #{first + 1}; "
                                  "the cells after it were not run")
        elif outcome.get("truncated"):
            why, ename = "this cell produced more output than a notebook may", "OutputLimit"
            executed.notes.append(f"cell #{first + 1} produced more output than a notebook may; "
                                  "the cells after it were not run")
        else:
            why, ename = "the kernel died while running this cell (os._exit, a crash or running out of memory)", \
                "KernelDied"
            executed.notes.append(f"the kernel died in cell #{first + 1}; the cells after it were not run")
        executed.notebook.cells[first].outputs = [nbformat.v4.new_output(
            "error", ename=ename, evalue=why, traceback=[f"{ename}: {why}"])]
        for index in unfinished[1:]:
            executed.notebook.cells[index].outputs = [nbformat.v4.new_output(
                "error", ename="NotRun", evalue=f"not run: the notebook stopped in cell #{first + 1}",
                traceback=[f"NotRun: not run: the notebook stopped in cell #{first + 1}"])]
        return False

    def rerun_values(self, name: str, notebook: nbformat.NotebookNode, canonical: dict[AnswerRef, dict]
                     ) -> dict[str, dict[str, dict]]:
        """Values of ``name``'s recomputed answers on each incident their questions name.

        question id -> incident id -> {"value"} or {"problem"}. The notebook runs again, up
        to the question's answer cell, on each grading incident, in a job that sees that
        incident's warehouse only (no data folder: what happened there is not for it to
        read); its outputs there are thrown away, only the answer is kept.
        """
        questions = [q for q in self.questions if q.notebook == name and KINDS[q.kind].reruns]
        out = {q.id: {self.canonical: dict(canonical.get(q.answer) or {"problem": "it was not assigned"})}
               for q in questions}
        index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(notebook.cells)}
        by_incident: dict[str, list[Question]] = {}
        for question in questions:
            for incident in self.checks.incidents_for(question):
                if incident.id != self.canonical:
                    by_incident.setdefault(incident.id, []).append(question)
        if not by_incident:
            return out
        root = self.notebooks.root()
        runs, order = [], []
        for incident_id, asked in by_incident.items():
            last = max(index.get(q.answer_cell, len(notebook.cells) - 1) for q in asked)
            runs.append({"env": {"WT06_WAREHOUSE": f"{self.jobs.view(incident_id)}/warehouse.duckdb",
                                 "WT06_DATA_DIR": f"{root}/{NO_DATA}"},
                         "cells": [c.source if c.cell_type == "code" else None for c in notebook.cells[: last + 1]]})
            order.append((incident_id, asked))
        wanted = sorted({q.answer for _, asked in order for q in asked}, key=lambda a: (a.type, a.name))
        body = {"runs": runs, "answers": [{"type": a.type, "name": a.name} for a in wanted],
                "cell_timeout": self.cell_timeout}
        key = digest(self.digest, "rerun", name, body)
        found = self.memo.get(key)
        if found is None:
            cells = sum(len(r["cells"]) for r in runs)
            ran = self.notebooks.run(body, root=root, sees=list(by_incident),
                                     deadline=min(NOTEBOOK_SECONDS, 30 + self.cell_timeout * cells),
                                     idle=self.cell_timeout + IDLE_GRACE)
            found = {}
            for event in ran.events:
                if event.get("event") == "answer" and isinstance(event.get("run"), int):
                    state = {k: event[k] for k in ("value", "problem") if k in event}
                    if len(json.dumps(state, default=str)) <= MAX_ANSWER_CHARS * 2:
                        found[f"{event['run']}:{event.get('type')}:{event.get('name')}"] = state
            if ran.clean:
                self.memo.put(key, found)
        for number, (incident_id, asked) in enumerate(order):
            for question in asked:
                state = found.get(f"{number}:{question.answer.type}:{question.answer.name}")
                out[question.id][incident_id] = state or {"problem": "it was not assigned when the notebook ran there"}
        return out

    # ----- all stages -------------------------------------------------------------------
    def grade(self, job: SubmissionJob) -> SubmissionResult:
        """Grade one submission; never raises because of what the submission contains."""
        started = time.monotonic()
        self.memo.read = getattr(job, "reuse", True)
        hits = self.memo.hits
        only = self.only
        names = [n for n in self.release if only is None or n in only]
        result = SubmissionResult(job.student, [], worker=self.name)
        try:
            intake = take_in(job, self.release, only)
        except Exception as exc:  # noqa: BLE001
            intake = Intake(notes=[Note("", f"the submission could not be read ({type(exc).__name__})")])
        result.notes += intake.notes
        if self.runner_name == "jupyter":
            result.notes.append(Note("", JUPYTER_NOTE, False))
        elif not self.sandbox:
            result.notes.append(Note("", NO_SANDBOX_NOTE, False))
        result.timings["intake"] = time.monotonic() - started

        executed: dict[str, Executed] = {}
        values: dict[str, dict] = {}  # recomputed answers on other incidents (question id -> incident -> state)
        notes: dict[str, list[str]] = {}
        failed: dict[str, str] = {}
        counts: dict[str, int] = {}
        for name in names:
            if name not in intake.notebooks:
                failed[name] = next((n.sentence for n in intake.notes if n.notebook == name), "notebook not graded")
                continue
            t = time.monotonic()
            try:
                assembled = assemble(self.release[name], intake.notebooks[name], self.answer_cells.get(name, {}))
                run = self.execute(name, assembled.notebook)
                if run.lost:
                    failed[name] = "the notebook stopped the grading sandbox"
                    result.notes.append(Note(name, "running this notebook stopped the grading sandbox; scored 0"))
                    continue
                executed[name] = run
                notes[name] = assembled.notes + run.notes
                _add(counts, run.counts)
                result.timings[f"execute {name}"] = time.monotonic() - t
                t = time.monotonic()
                values.update(self.rerun_values(name, assembled.notebook, run.answers))
                if any(KINDS[q.kind].reruns and q.notebook == name for q in self.questions):
                    result.timings[f"rerun {name}"] = time.monotonic() - t
            except bwrap.SandboxError:
                raise  # the sandbox cannot start: not this submission's fault; stop the batch
            except Exception as exc:  # noqa: BLE001
                detail = traceback.format_exception_only(type(exc), exc)[-1].strip()[:200]
                failed[name] = "could not be graded automatically"
                result.notes.append(Note(name, f"could not be graded automatically ({detail}); scored 0"))

        t = time.monotonic()
        answers = {(name, ref): state for name, run in executed.items() for ref, state in run.answers.items()}
        checked = self.checks.check([q for q in self.questions if q.notebook in executed], answers, self.reference,
                             values)
        result.timings["hidden checks"] = time.monotonic() - t
        for kind, seconds in checked.by_kind.items():
            result.timings[f"hidden checks: {kind}"] = seconds
        for incident, seconds in checked.by_incident.items():  # the instructor's view: ids, stories
            result.timings[f"hidden checks on {incident} ({self.known[incident].story})"] = seconds
        _add(counts, checked.counts)

        t = time.monotonic()
        for name in names:
            released = self.release[name]
            if name in failed:
                result.rows += scoring.missing_rows(name, released, failed[name])
                continue
            run = executed[name]
            rows = scoring.score_notebook(name, released, run.notebook, checked.verdicts)
            result.rows += rows
            result.notes += [Note(name, sentence) for sentence in notes[name]]
            result.notes += [Note(name, sentence, False) for sentence in run.remarks]
            result.autograded[name] = nbformat.writes(run.notebook).encode()
            try:
                result.feedback[name] = feedback.render(run.notebook, rows, notes[name] + run.remarks, title=name)
            except Exception as exc:  # noqa: BLE001
                result.notes.append(Note(name, f"feedback could not be rendered ({type(exc).__name__})"))
        result.timings["score and feedback"] = time.monotonic() - t
        result.timings["memo hits"] = float(self.memo.hits - hits)
        for key, value in counts.items():
            result.timings[key] = float(value)
        result.seconds = round(time.monotonic() - started, 3)
        return result


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value


def _kept(executed: Executed) -> dict:
    """An execution as memo data: each code cell's outputs, the answers, the table's sentences."""
    return {"cells": [{"outputs": c.get("outputs", []), "count": c.get("execution_count")}
                      if c.cell_type == "code" else None for c in executed.notebook.cells],
            "answers": [[ref.type, ref.name, state] for ref, state in executed.answers.items()],
            "notes": executed.notes, "remarks": executed.remarks, "counts": executed.counts}


def _restore(notebook: nbformat.NotebookNode, kept: dict) -> Executed:
    for cell, saved in zip(notebook.cells, kept["cells"]):
        if cell.cell_type == "code" and saved is not None:
            cell.outputs = [nbformat.from_dict(o) for o in saved["outputs"]]
            cell.execution_count = saved["count"]
    return Executed(notebook, {AnswerRef(t, n): state for t, n, state in kept["answers"]},
                    list(kept["notes"]), list(kept["remarks"]), reused=True)


_CUT = re.compile(r"\[([\d,]+) characters of output cut\]")
_REPORTED = {"CellTimeoutError", "NotRun", "CellStopped", "NotebookTimeout", "OutputLimit", "KernelDied"}


def _what_cells_hit(notebook: nbformat.NotebookNode) -> tuple[list[str], list[str]]:
    """Sentences for the grade table: cells stopped by a limit (a look is needed), and answer
    cells that raised or output that was cut (no look needed: the notebook says so too).

    An answer cell that raised (a query jupysql could not parse, a value Python could not
    build) leaves only "no answer yet" in its test cell; the table says why.
    """
    notes, remarks = [], []
    for index, cell in enumerate(notebook.cells):
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        names = {str(o.get("ename")) for o in errors}
        where = f"cell #{index + 1}"
        if "CellTimeoutError" in names:
            notes.append(f"{where} ran longer than the time limit and was interrupted")
        elif "MemoryError" in names:
            notes.append(f"{where} ran out of memory (MemoryError: a notebook's memory is limited)")
        elif errors and not names & _REPORTED and cell.metadata.get("nbgrader", {}).get("solution"):
            first = errors[0]
            detail = " ".join(f"{first.get('ename')}: {first.get('evalue')}".split())[:160]
            remarks.append(f"the answer in {where} could not run ({detail})")
        cut = next((m.group(1) for o in cell.get("outputs", []) if o.get("output_type") == "stream"
                    for m in [_CUT.search(str(o.get("text", "")))] if m), None)
        if cut:
            remarks.append(f"{where} printed more than a notebook may; its output was cut ({cut} characters)")
    return notes, remarks
