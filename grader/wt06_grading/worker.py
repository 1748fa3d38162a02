"""A grading worker: grades submissions one after another, each in explicit stages.

``GradingWorker(bundle, scratch)`` prepares once what every submission needs (the
incidents built from the bundle, a warm zygote in the sandbox) and then grades jobs:

1. **intake**: the submission's bytes -> parsed notebooks, with notes (intake.py);
2. **assemble**: each notebook rebuilt around the course's own cells (assemble.py);
3. **execute**: each notebook run in a jailed job, giving its outputs and the answers
   its code produced (sandbox/runner.py);
4. **hidden checks**: one checker job runs every answer's task on the incidents
   (kinds/, sandbox/checker.py); the results are judged here against the reference;
5. **score**: rows for every graded cell of the course (scoring.py);
6. **feedback**: HTML pages and the graded notebooks (feedback.py).

Every stage returns a dataclass; a failure in any stage, whatever the submission did,
becomes rows with a reason for that submission alone: ``grade`` never raises because of
a submission.
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

from . import feedback, incidents, scoring
from .assemble import assemble
from .contract import CourseBundle, Note, SandboxSpec, SubmissionJob, SubmissionResult
from .intake import Intake, take_in
from .kinds import KINDS
from .kinds.base import Incident, Verdict
from .questions import AnswerRef, ManualCell, Question
from .sandbox import bwrap
from .sandbox.jail import JOB_ROOT
from .sandbox.runner import MAX_ANSWER_CHARS

# What the zygote imports once, so no notebook pays for it (a module missing here only
# costs its import in each job).
PRELOAD = ("pandas", "duckdb", "yaml", "matplotlib.pyplot", "matplotlib_inline.backend_inline",
           "IPython.core.interactiveshell", "sql.magic", "sql.store", "dbt.cli.main", "dbt.adapters.duckdb",
           "dbt.adapters.duckdb.impl", "wt06.notebook", "wt06.plots", "wt06.monitor", "wt06.dbt_runner",
           "nbformat")
NO_SANDBOX_NOTE = "graded WITHOUT the sandbox (--no-sandbox): student code ran with the grader's rights"
NOTEBOOK_SECONDS = 900  # a notebook's hard limit, whatever its cells' limits add up to
IDLE_GRACE = 15  # seconds past a cell's limit before a cell that ignores it ends its notebook
CHECKER_SECONDS = 900
_SANDBOX_PATHS = re.compile(r"(/wt06/[\w./-]*|/tmp/wt06-job[\w./-]*|/tmp/tmp\w+[\w./-]*)")


def question_from(raw: dict) -> Question:
    return Question(**{**raw, "answer": AnswerRef(**raw["answer"]), "incidents": tuple(raw["incidents"])})


def job_events(output: bytes):
    """The JSON events a sandboxed job wrote, one per line (anything else it printed is skipped:
    the output is untrusted data, never code)."""
    for line in output.decode(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def clean_message(message: str) -> str:
    """A verdict message without any path of the grader's or the sandbox's."""
    return _SANDBOX_PATHS.sub("<grading copy>", message)


@dataclass
class Executed:
    notebook: nbformat.NotebookNode
    answers: dict[AnswerRef, dict] = field(default_factory=dict)  # {"value": ...} or {"problem": ...}
    notes: list[str] = field(default_factory=list)  # for the grade table, needing a look
    remarks: list[str] = field(default_factory=list)  # for the grade table, not needing one
    seconds: float = 0.0


@dataclass
class Checked:
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # question id -> verdict
    seconds: float = 0.0


class GradingWorker:
    """Grades submissions for one course bundle; owns one warm, sandboxed zygote."""

    def __init__(self, bundle: CourseBundle, scratch: Path, sandbox: SandboxSpec = SandboxSpec(), *,
                 limits: bwrap.Limits | None = None, incident_cache: Path | None = None) -> None:
        from .bundle import ENV_INCIDENT_CACHE

        bundle.verify()
        self.bundle = bundle
        self.settings = bundle.settings
        self.sandbox = sandbox.enabled
        self.cell_timeout = int(self.settings["cell_timeout"])
        self.reference = self.settings["reference"]
        self.only = self.settings.get("only")
        self.scratch = Path(scratch)
        cache = incident_cache or os.environ.get(ENV_INCIDENT_CACHE)
        self.incident_cache = Path(cache) if cache else self.scratch / "incidents"
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.release = {Path(name).stem: nbformat.reads(data.decode(), as_version=4)
                        for name, data in sorted(bundle.under("release").items())}
        self.questions = [question_from(q) for q in self.settings["questions"]]
        self.manual = [ManualCell(**m) for m in self.settings["manual"]]
        self.answer_cells: dict[str, dict[AnswerRef, str]] = {}
        for question in self.questions:
            self.answer_cells.setdefault(question.notebook, {})[question.answer] = question.answer_cell
        self.course_dir, self.incident_dir, self.built = self._prepare()
        self.limits = limits or bwrap.Limits()
        self.zygote = bwrap.Zygote(bwrap.SandboxSpec(
            course=self.course_dir, incidents=self.incident_dir, enabled=self.sandbox, limits=self.limits,
            preload=PRELOAD, parse=(f"{self._paths()[0]}/dbt_project",)))
        self._results_cache: dict[str, dict] = {}
        self.task_seconds: dict[str, float] = {}  # question id -> seconds its last checker task took
        self._jobs = 0
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    # ----- preparation ----------------------------------------------------------------
    def _prepare(self):
        course = self.scratch / "course"
        if course.exists():
            shutil.rmtree(course)
        for relative, data in self.bundle.under("course").items():
            target = course / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        cache = self.incident_cache
        cache.mkdir(parents=True, exist_ok=True)
        built = [incidents.build(incidents.IncidentSpec(**spec), cache, course=course,
                                 project=course / "dbt_project") for spec in self.settings["incidents"]]
        for incident in built:  # where the notebooks look for them: next to the course's warehouse
            if incident.spec.story == incidents.CANONICAL:
                shutil.copy(incident.warehouse, course / "warehouse.duckdb")
            elif incident.spec.story == incidents.PUBLIC:
                shutil.copy(incident.warehouse, course / f"{incident.spec.name}.duckdb")
        return course, cache, [b for b in built if b.spec.story != incidents.PUBLIC]

    def _paths(self):
        """(course, incidents) as a job sees them: mount points in the sandbox, host paths without."""
        if self.sandbox:
            return bwrap.COURSE_MOUNT, bwrap.INCIDENTS_MOUNT
        return str(self.course_dir), str(self.incident_dir)

    def incidents_for(self, question: Question) -> list[Incident]:
        course, mount = self._paths()
        chosen, per_story = [], {}
        for built in self.built:
            if built.spec.story not in question.incidents:
                continue
            if built.spec.story != incidents.CANONICAL:
                taken = per_story.get(built.spec.story, 0)
                if question.variants is not None and taken >= question.variants:
                    continue
                per_story[built.spec.story] = taken + 1
            chosen.append(Incident(id=built.spec.id, story=built.spec.story,
                                   warehouse=f"{mount}/{built.folder.name}/warehouse.duckdb", now=built.now,
                                   moments=built.moments, facts=built.facts, project=f"{course}/dbt_project",
                                   data=f"{mount}/{built.folder.name}/data"))
        return chosen

    def _job_spec(self, env: dict) -> dict:
        self._jobs += 1
        spec = {"env": env}
        if self.sandbox:
            spec["jail"] = {"hide": [], "job_bytes": self.limits.job_bytes,
                            "memory_bytes": self.limits.job_memory_bytes, "file_bytes": self.limits.job_file_bytes,
                            "processes": None if os.getuid() == 0 else self.limits.job_processes}
            root = JOB_ROOT
        else:
            spec["jail"] = None
            root = str(self.scratch / "jobs" / f"{os.getpid()}-{self._jobs}")
            spec["workdir"] = root
        return spec | {"root": root}

    def _env(self, root: str) -> dict:
        course, _ = self._paths()
        return {
            "PATH": bwrap.zygote_env()["PATH"], "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "HOME": f"{root}/home", "IPYTHONDIR": f"{root}/ipython", "MPLCONFIGDIR": f"{root}/mpl",
            "TMPDIR": f"{root}/tmp", "WT06_WAREHOUSE": f"{course}/warehouse.duckdb",
            "WT06_PROJECT_DIR": f"{course}/dbt_project", "WT06_DATA_DIR": f"{course}/data",
            "WT06_INCIDENTS_DIR": f"{course}/data/incidents",
            "WT06_WORK_DIR": f"{root}/work", "NBGRADER_EXECUTION": "autograde", "DO_NOT_TRACK": "1",
            "PLOOMBER_STATS_ENABLED": "false", "PLOOMBER_VERSION_CHECK_DISABLED": "true",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "agg",
        }

    def close(self) -> None:
        self.zygote.close()

    # ----- stage 3: execute -------------------------------------------------------------
    def execute(self, name: str, notebook: nbformat.NotebookNode) -> Executed:
        """Run ``notebook`` in a jailed job on the course's incident (it sees no grading incident)."""
        started = time.monotonic()
        spec = self._job_spec({})
        root = spec.pop("root")
        spec["env"] = self._env(root)
        if spec["jail"] is not None:
            spec["jail"]["hide"] = [bwrap.INCIDENTS_MOUNT]
        wanted = list(self.answer_cells.get(name, {}))
        spec.update(cells=[c.source if c.cell_type == "code" else None for c in notebook.cells],
                    answers=[{"type": a.type, "name": a.name} for a in wanted],
                    cell_timeout=self.cell_timeout)
        deadline = min(NOTEBOOK_SECONDS, 30 + self.cell_timeout * max(1, sum(
            1 for c in notebook.cells if c.cell_type == "code")))
        try:
            outcome, output = self.zygote.run("notebook", spec, deadline=deadline,
                                              idle=self.cell_timeout + IDLE_GRACE)
        finally:
            if spec["jail"] is None:
                shutil.rmtree(root, ignore_errors=True)
        executed = Executed(notebook)
        reached = -1
        for event in job_events(output):
            kind = event.get("event")
            if kind == "cell" and isinstance(event.get("index"), int) and 0 <= event["index"] < len(notebook.cells):
                cell = notebook.cells[event["index"]]
                if cell.cell_type == "code":
                    cell.outputs = [nbformat.from_dict(o) for o in event.get("outputs", [])
                                    if isinstance(o, dict) and o.get("output_type") in
                                    ("stream", "display_data", "execute_result", "error")]
                    count = event.get("execution_count")
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
        self._mark_unfinished(executed, reached, outcome)
        hit, executed.remarks = _what_cells_hit(notebook)
        executed.notes += hit
        executed.seconds = time.monotonic() - started
        return executed

    def _mark_unfinished(self, executed: Executed, reached: int, outcome: dict) -> None:
        code_cells = [i for i, c in enumerate(executed.notebook.cells) if c.cell_type == "code"]
        unfinished = [i for i in code_cells if i > reached]
        if not unfinished:
            return
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
        executed.notebook.cells[first].outputs = [scoring.nbformat.v4.new_output(
            "error", ename=ename, evalue=why, traceback=[f"{ename}: {why}"])]
        for index in unfinished[1:]:
            executed.notebook.cells[index].outputs = [nbformat.v4.new_output(
                "error", ename="NotRun", evalue=f"not run: the notebook stopped in cell #{first + 1}",
                traceback=[f"NotRun: not run: the notebook stopped in cell #{first + 1}"])]

    def rerun_values(self, name: str, notebook: nbformat.NotebookNode, canonical: dict[AnswerRef, dict]
                     ) -> dict[str, dict[str, dict]]:
        """Values of ``name``'s computed answers on each incident their questions name.

        question id -> incident id -> {"story", "value"} or {"story", "problem"}. The
        notebook runs again, up to the question's answer cell, on each grading incident;
        its outputs there are thrown away (they are about an incident the student must
        not see), only the answer is kept.
        """
        questions = [q for q in self.questions if q.notebook == name and getattr(KINDS[q.kind], "reruns", False)]
        out = {q.id: {self.built[0].spec.id: {"story": incidents.CANONICAL,
                                              **(canonical.get(q.answer) or {"problem": "it was not assigned"})}}
               for q in questions}
        index = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(notebook.cells)}
        by_incident: dict[str, tuple[Incident, list[Question]]] = {}
        for question in questions:
            for incident in self.incidents_for(question):
                if incident.story != incidents.CANONICAL:
                    by_incident.setdefault(incident.id, (incident, []))[1].append(question)
        if not by_incident:
            return out
        runs, order = [], []
        for incident, asked in by_incident.values():
            last = max(index.get(q.answer_cell, len(notebook.cells) - 1) for q in asked)
            runs.append({"env": {"WT06_WAREHOUSE": incident.warehouse, "WT06_DATA_DIR": incident.data},
                         "cells": [c.source if c.cell_type == "code" else None for c in notebook.cells[: last + 1]]})
            order.append((incident, asked))
        spec = self._job_spec({})
        root = spec.pop("root")
        spec["env"] = self._env(root)
        if spec["jail"] is not None:  # this job sees the incidents it runs on, and no other
            used = {incident.warehouse for incident, _ in order}
            spec["jail"]["hide"] = [f"{bwrap.INCIDENTS_MOUNT}/{b.folder.name}" for b in self.built
                                    if not any(f"/{b.folder.name}/" in w for w in used)]
        wanted = sorted({q.answer for _, asked in order for q in asked}, key=lambda a: (a.type, a.name))
        spec.update(runs=runs, answers=[{"type": a.type, "name": a.name} for a in wanted],
                    cell_timeout=self.cell_timeout)
        cells = sum(len(r["cells"]) for r in runs)
        try:
            deadline = min(NOTEBOOK_SECONDS, 30 + self.cell_timeout * cells)
            _, output = self.zygote.run("notebook", spec, deadline=deadline,
                                        idle=self.cell_timeout + IDLE_GRACE)
        except bwrap.SandboxLost:
            output = b""
        found: dict[tuple[int, AnswerRef], dict] = {}
        for event in job_events(output):
            if event.get("event") == "answer" and isinstance(event.get("run"), int):
                state = {k: event[k] for k in ("value", "problem") if k in event}
                if len(json.dumps(state, default=str)) <= MAX_ANSWER_CHARS * 2:
                    found[(event["run"], AnswerRef(str(event.get("type")), str(event.get("name"))))] = state
        for number, (incident, asked) in enumerate(order):
            for question in asked:
                state = found.get((number, question.answer)) or {
                    "problem": "it was not assigned when the notebook ran there"}
                out[question.id][incident.id] = {"story": incident.story, **state}
        return out

    # ----- stage 4: hidden checks -------------------------------------------------------
    def check(self, questions: list[Question], answers: dict[tuple[str, AnswerRef], dict],
              reference: dict, values: dict[str, dict] | None = None) -> Checked:
        """Verdicts for ``questions`` from the student's ``answers``, judged against ``reference``."""
        started = time.monotonic()
        checked, tasks = Checked(), []
        for question in questions:
            kind = KINDS[question.kind]
            state = answers.get((question.notebook, question.answer))
            if not state:
                checked.verdicts[question.id] = Verdict(False, f"No answer to check: {_no_answer(question)}.")
                continue
            if "problem" in state:
                checked.verdicts[question.id] = Verdict(False, f"{question.answer.name} could not be read as an "
                                                               f"answer: {state['problem']}.")
                continue
            value = state["value"]
            task = kind.task(question, value)
            if isinstance(task, str):
                checked.verdicts[question.id] = Verdict(False, f"Your answer could not be checked: {task}.")
            elif task is None:
                student = (values or {}).get(question.id, value) if getattr(kind, "reruns", False) else value
                checked.verdicts[question.id] = kind.compare(question, student, reference[question.id]["result"])
            else:
                chosen = self.incidents_for(question)
                tasks.append({"question": question.id, "kind": question.kind, "task": task,
                              "incidents": [i.id for i in chosen], "_incidents": chosen})
        results = self._run_tasks(tasks)
        for task in tasks:
            question = next(q for q in questions if q.id == task["question"])
            result = results.get(task["question"])
            if result is None or "checker_error" in result:
                problem = (result or {}).get("checker_error", "the checker did not finish")
                checked.verdicts[question.id] = Verdict(False, f"Your answer could not be checked: {problem}")
            else:
                try:
                    checked.verdicts[question.id] = KINDS[question.kind].compare(
                        question, result, reference[question.id]["result"])
                except Exception as exc:  # noqa: BLE001 (a malformed result is the answer's fault)
                    checked.verdicts[question.id] = Verdict(False, f"Your answer could not be judged "
                                                                   f"({type(exc).__name__}).")
        for verdict in checked.verdicts.values():
            verdict.message = clean_message(verdict.message)
        checked.seconds = time.monotonic() - started
        return checked

    def _run_tasks(self, tasks: list[dict]) -> dict:
        """Results of ``tasks`` (question id -> raw result), identical tasks run once per worker."""
        if not tasks:
            return {}
        keys = {t["question"]: hashlib.sha256(json.dumps(
            [t["kind"], t["task"], [(i.id, i.warehouse) for i in t["_incidents"]]], sort_keys=True,
            default=str).encode()).hexdigest() for t in tasks}
        todo = [t for t in tasks if keys[t["question"]] not in self._results_cache]
        if todo:
            incident_list = {i.id: i for t in todo for i in t["_incidents"]}
            spec = self._job_spec({})
            root = spec.pop("root")
            spec["env"] = self._env(root)
            spec["tasks"] = [{k: v for k, v in t.items() if k != "_incidents"} for t in todo]
            spec["incidents"] = [vars(i) for i in incident_list.values()]
            try:
                outcome, output = self.zygote.run("checker", spec, deadline=CHECKER_SECONDS)
            except bwrap.SandboxLost:
                outcome, output = {"timed_out": True}, b""
            for event in job_events(output):
                if event.get("event") == "result" and event.get("question") in keys:
                    self._results_cache[keys[event["question"]]] = event.get("result") or {}
                    self.task_seconds[event["question"]] = event.get("seconds")
            if outcome.get("timed_out"):
                for t in todo:
                    self._results_cache.setdefault(keys[t["question"]], {
                        "checker_error": f"checking took longer than {CHECKER_SECONDS} s"})
        return {q: self._results_cache[k] for q, k in keys.items() if k in self._results_cache}

    # ----- all stages -------------------------------------------------------------------
    def grade(self, job: SubmissionJob) -> SubmissionResult:
        """Grade one submission; never raises because of what the submission contains."""
        started = time.monotonic()
        only = self.only
        names = [n for n in self.release if only is None or n in only]
        result = SubmissionResult(job.student, [], worker=self.name)
        try:
            intake = take_in(job, self.release, only)
        except Exception as exc:  # noqa: BLE001
            intake = Intake(notes=[Note("", f"the submission could not be read ({type(exc).__name__})")])
        result.notes += intake.notes
        if not self.sandbox:
            result.notes.append(Note("", NO_SANDBOX_NOTE, False))
        result.timings["intake"] = time.monotonic() - started

        executed: dict[str, Executed] = {}
        values: dict[str, dict] = {}  # computed answers on other incidents (question id -> incident -> state)
        notes: dict[str, list[str]] = {}
        failed: dict[str, str] = {}
        for name in names:
            if name not in intake.notebooks:
                failed[name] = next((n.sentence for n in intake.notes if n.notebook == name), "notebook not graded")
                continue
            t = time.monotonic()
            try:
                assembled = assemble(self.release[name], intake.notebooks[name], self.answer_cells.get(name, {}))
                executed[name] = self.execute(name, assembled.notebook)
                notes[name] = assembled.notes + executed[name].notes
                values.update(self.rerun_values(name, assembled.notebook, executed[name].answers))
            except bwrap.SandboxLost:
                failed[name] = "the notebook stopped the grading sandbox"
                result.notes.append(Note(name, "running this notebook stopped the grading sandbox; scored 0"))
            except bwrap.SandboxError:
                raise  # the sandbox cannot start: not this submission's fault; stop the batch
            except Exception as exc:  # noqa: BLE001
                detail = traceback.format_exception_only(type(exc), exc)[-1].strip()[:200]
                failed[name] = "could not be graded automatically"
                result.notes.append(Note(name, f"could not be graded automatically ({detail}); scored 0"))
            result.timings[f"execute {name}"] = time.monotonic() - t

        t = time.monotonic()
        answers = {(name, ref): state for name, run in executed.items() for ref, state in run.answers.items()}
        checked = self.check([q for q in self.questions if q.notebook in executed], answers, self.reference,
                             values)
        result.timings["hidden checks"] = time.monotonic() - t

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
        result.seconds = round(time.monotonic() - started, 3)
        return result


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


def _no_answer(question: Question) -> str:
    answer = question.answer
    if answer.type == "query":
        return f"no query was saved as {answer.name!r} (keep the first line %%sql --save {answer.name} and run it)"
    if answer.type == "file":
        return f"{answer.name} was not written (run the cell that starts with %%project_file {answer.name})"
    return f"{answer.name} was not assigned"
