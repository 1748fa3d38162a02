"""``command``: the scheduler's command, checked by the production guard and run.

The property is the visible check's: on fresh copies of the incidents, the course's
production guard (``wt06.orchestrator.check_production_job``, which notebook 05's test
runs too) must accept it (a ``dbt run`` or ``dbt build`` that builds every model, with
node selection and harmless switches only: ``--empty``, ``--vars``, ``--target``,
``--defer``, ``run-operation``... are refused there, with the guard's reason), and running
it must build every model the reference command builds. The command runs only when the
guard accepts it, so nothing but node selection ever reaches dbt. Only a value that is not
a readable command (not a string, unbalanced quotes) cannot be checked at all.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from wt06.orchestrator import check_production_job
from wt06_grading.kinds.base import Finding, Kind, Known, RunIncident
from wt06_grading.kinds.running import Workspace


def allowed(command: str) -> list[str] | str:
    """The command's words, or why it cannot be read at all (what it asks dbt to do is
    the production guard's to judge, in ``run``)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return f"the command cannot be read ({exc})"
    if not words:
        return "the command is empty"
    return words


MAX_COMMAND = 2000  # characters: a scheduler command is a line, not a file


class Command(Kind):
    name = "command"
    answer_type = "value"
    default_incidents = ("canonical", "skipped_marts")
    properties = {
        "guard": "the production guard refuses the command there",
        "failed": "the command fails there",
        "left_out": "the command leaves models out there",
    }

    def task(self, question, answer):
        if not isinstance(answer, str):
            return f"{question.answer.name} must be a string such as 'dbt ...'"
        if len(answer) > MAX_COMMAND:
            return f"{question.answer.name} is {len(answer):,} characters long: a scheduler command is one line"
        words = allowed(answer)
        if isinstance(words, str):
            return words
        return {"words": words}

    def run_one(self, task: dict, incident: RunIncident, workspace: Path) -> dict:
        space = Workspace(workspace, incident)
        try:
            guard = check_production_job(" ".join(shlex.quote(w) for w in task["words"]),
                                         warehouse=space.warehouse, project=space.project, work=space.folder)
            # only a command the guard accepts reaches dbt (node selection, harmless switches)
            ran = space.dbt(task["words"]) if guard.ok else \
                {"success": False, "error": None, "nodes": [], "models_run": [], "listed": []}
            return {"run": ran, "guard": guard.ok, "guard_problems": guard.problems}
        finally:
            space.remove()

    def judge(self, question, got: dict, expected: dict, known: Known) -> Finding | None:
        if not got.get("guard"):
            return Finding("guard", "the production guard refuses the command: "
                                    + ("; ".join(got.get("guard_problems") or []) or "it would not build every model"))
        run = got.get("run") or {}
        if not run.get("success"):
            return Finding("failed", f"the command failed: {run.get('error') or 'a model failed'}")
        left_out = sorted(set(expected["run"]["models_run"]) - set(run.get("models_run") or []))
        if left_out or not run.get("models_run"):
            return Finding("left_out", f"the command leaves out {', '.join(left_out) or 'every model'}")
        return None
