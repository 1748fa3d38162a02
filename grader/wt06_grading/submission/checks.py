"""Stage 4, the hidden checks: a student's answers judged on the grading incidents.

``HiddenChecks`` is given the course's questions, the grading incidents (what running on
them needs, and apart from it what the worker alone knows of each: its story and truth),
a job client and a memo. For each question it turns the student's answer into its kind's
task (or a verdict at once: no answer, an answer too long, one its kind cannot run), runs
every new task in **one** checker job that sees only the incidents the tasks name, and
judges each result against the reference with the kind's ``compare``. Identical tasks
(same course, same answer, same incidents) are read from the memo instead of run.

It depends on the job client's ``run``/``root`` only (jobs.py), so it is tested with a
fake one (tests/grader/test_checks.py); the worker (worker.py) and the reference
computation (reference.py) share it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field

from wt06_grading.definition.questions import AnswerRef, Question
from wt06_grading.foundation.memo import Memo, digest
from wt06_grading.kinds import KINDS
from wt06_grading.kinds.base import CANONICAL, Known, RunIncident, Verdict
from wt06_grading.sandbox.runner import MAX_ANSWER_CHARS

CHECKER_SECONDS = 900
# The most an answer may be, by type: a query, a project file, a Python value as JSON.
ANSWER_LIMITS = {"query": 20_000, "file": 100_000, "value": 20_000}
_SANDBOX_PATHS = re.compile(r"(/wt06/[\w./-]*|/tmp/wt06-job[\w./-]*|/tmp/tmp\w+[\w./-]*)")
NOT_FINISHED = "Your answer could not be checked: the checker did not finish (it ran out of time or memory)."


def clean_message(message: str) -> str:
    """A verdict message without any path of the grader's or the sandbox's."""
    return _SANDBOX_PATHS.sub("<grading copy>", message)


@dataclass
class Checked:
    verdicts: dict[str, Verdict] = field(default_factory=dict)  # question id -> verdict
    seconds: float = 0.0
    by_kind: dict[str, float] = field(default_factory=dict)  # kind -> checker seconds
    by_incident: dict[str, float] = field(default_factory=dict)  # incident id -> checker seconds
    counts: dict[str, int] = field(default_factory=dict)  # dbt invocations and parses in the job


class HiddenChecks:
    """Judges answers on the grading incidents (see the module docstring)."""

    def __init__(self, *, graded: list[RunIncident], known: dict[str, Known], jobs, memo: Memo,
                 course_digest: str) -> None:
        self.graded, self.known, self.jobs, self.memo = graded, known, jobs, memo
        self.course_digest = course_digest
        self.canonical = next(i.id for i in graded if known[i.id].story == CANONICAL)
        self.task_seconds: dict[str, float] = {}  # question id -> seconds its last checker task took

    def incidents_for(self, question: Question) -> list[RunIncident]:
        """The incidents ``question`` is checked on: the canonical one, then its stories' variants."""
        chosen, per_story = [], {}
        for incident in self.graded:
            story = self.known[incident.id].story
            if story not in question.incidents:
                continue
            if story != CANONICAL:
                taken = per_story.get(story, 0)
                if question.variants is not None and taken >= question.variants:
                    continue
                per_story[story] = taken + 1
            chosen.append(incident)
        return chosen

    def check(self, questions: list[Question], answers: dict[tuple[str, AnswerRef], dict],
              reference: dict, values: dict[str, dict] | None = None) -> Checked:
        """Verdicts for ``questions`` from the student's ``answers``, judged against ``reference``.

        ``answers``: (notebook, answer) -> {"value"} or {"problem"}, as the notebook's run
        left them; ``values``: for a kind that ``reruns``, question id -> incident id -> the
        answer the notebook gave when it ran there (worker.rerun_values).
        """
        started = time.monotonic()
        checked, tasks = Checked(), []
        for question in questions:
            kind = KINDS[question.kind]
            state = answers.get((question.notebook, question.answer))
            refused = _refusal(question, state)
            if refused:
                checked.verdicts[question.id] = Verdict(False, refused)
                continue
            task = kind.task(question, state["value"])
            if isinstance(task, str):
                checked.verdicts[question.id] = Verdict(False, f"Not accepted as an answer: {task}.")
            elif task is None:
                student = (values or {}).get(question.id) if kind.reruns else None
                student = student or {self.canonical: {"value": state["value"]}}
                checked.verdicts[question.id] = self.compare(question, student, reference[question.id]["result"])
            else:
                tasks.append({"question": question.id, "kind": question.kind, "task": task,
                              "incidents": [i.id for i in self.incidents_for(question)]})
        results = self.run_tasks(tasks, checked)
        by_id = {q.id: q for q in questions}
        for task in tasks:
            question = by_id[task["question"]]
            result = results.get(task["question"])
            if result is None or "checker_error" in result:
                checked.verdicts[question.id] = Verdict(False, NOT_FINISHED)
            else:
                checked.verdicts[question.id] = self.compare(question, result, reference[question.id]["result"])
        for verdict in checked.verdicts.values():
            verdict.message = clean_message(verdict.message)
        checked.seconds = time.monotonic() - started
        return checked

    def compare(self, question: Question, student: dict, expected: dict) -> Verdict:
        """The kind's verdict; a grader bug is a sentence for the table, never a crash of the batch."""
        try:
            return KINDS[question.kind].compare(question, student, expected, self.known)
        except Exception as exc:  # noqa: BLE001 (a grader bug must not stop the batch; the table says so)
            return Verdict(False, f"Your answer could not be judged (a grader error: {type(exc).__name__}); "
                                  "your instructor will look at it.")

    def run_tasks(self, tasks: list[dict], checked: Checked | None = None) -> dict:
        """Results of ``tasks`` (question id -> raw result per incident), identical ones from the memo.

        One checker job runs what is new; it sees the views of the grading incidents its
        tasks run on, and is given of each only what running needs (kinds/base.RunIncident).
        A result is kept only when the job ended by itself within its limits.
        """
        if not tasks:
            return {}
        by_id = {i.id: i for i in self.graded}
        keys = {t["question"]: digest(self.course_digest, "check", t["kind"], t["task"], t["incidents"])
                for t in tasks}
        results, todo = {}, []
        for task in tasks:
            kept = self.memo.get(keys[task["question"]])
            if kept is not None:
                results[task["question"]] = kept
            else:
                todo.append(task)
        if not todo:
            return results
        needed = sorted({i for t in todo for i in t["incidents"]})
        ran = self.jobs.run("checker", {"tasks": todo, "incidents": [vars(by_id[i]) for i in needed]},
                            root=self.jobs.root(), sees=needed, deadline=CHECKER_SECONDS)
        kinds = {t["question"]: t["kind"] for t in todo}
        for event in ran.events:
            if event.get("event") == "result" and event.get("question") in kinds:
                question, result = event["question"], event.get("result") or {}
                results[question] = result
                self.task_seconds[question] = event.get("seconds")
                if checked is not None and isinstance(event.get("seconds"), (int, float)):
                    _time(checked, kinds[question], event, self.known)
                if ran.clean:
                    self.memo.put(keys[question], result)
            elif event.get("event") == "counts" and checked is not None:
                checked.counts = dbt_counts(event)
        for task in todo:
            results.setdefault(task["question"], {"checker_error": "the checker did not finish"})
        return results


def dbt_counts(event: dict) -> dict[str, int]:
    """The dbt invocations and parses a job reported, as timing rows."""
    return {f"dbt {k}": int(v) for k, v in event.items() if k in ("invocations", "parses") and isinstance(v, int)}


def _time(checked: Checked, kind: str, event: dict, known: dict[str, Known]) -> None:
    checked.by_kind[kind] = checked.by_kind.get(kind, 0.0) + float(event["seconds"])
    for incident, seconds in (event.get("per_incident") or {}).items():
        if incident in known and isinstance(seconds, (int, float)):
            checked.by_incident[incident] = checked.by_incident.get(incident, 0.0) + seconds


def _refusal(question: Question, state: dict | None) -> str | None:
    """Why an answer is not run at all (none, unreadable, too long), else None."""
    if not state:
        return f"No answer to check: {_no_answer(question)}."
    if "problem" in state:
        return f"{question.answer.name} could not be read as an answer: {state['problem']}."
    value = state["value"]
    size = len(value) if isinstance(value, str) else len(json.dumps(value, default=str))
    limit = ANSWER_LIMITS.get(question.answer.type, MAX_ANSWER_CHARS)
    if size > limit:
        return f"Not accepted as an answer: {question.answer.name} is {size:,} characters long, more than {limit:,}."
    return None


def _no_answer(question: Question) -> str:
    answer = question.answer
    if answer.type == "query":
        return f"no query was saved as {answer.name!r} (keep the first line %%sql --save {answer.name} and run it)"
    if answer.type == "file":
        return f"{answer.name} was not written (run the cell that starts with %%project_file {answer.name})"
    return f"{answer.name} was not assigned"
