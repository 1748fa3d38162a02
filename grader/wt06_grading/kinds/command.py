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

from .base import Incident, Kind, Verdict, where
from .running import Workspace

SUBCOMMANDS = ("run", "build")
SELECTION_FLAGS = ("--select", "-s", "--models", "-m", "--exclude")
SWITCHES = ("--full-refresh",)


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


class Command(Kind):
    name = "command"
    answer_type = "value"
    default_incidents = ("canonical", "skipped_marts")

    def task(self, question, answer):
        if not isinstance(answer, str):
            return f"{question.answer.name} must be a string such as 'dbt ...'"
        words = allowed(answer)
        if isinstance(words, str):
            return words
        return {"words": words}

    def run(self, task: dict, incidents: list[Incident], workspace: Path) -> dict:
        from wt06.orchestrator import check_production_job

        out = {}
        for incident in incidents:
            space = Workspace(workspace, incident)
            try:
                guard = check_production_job(" ".join(shlex.quote(w) for w in task["words"]),
                                             warehouse=space.warehouse, project=space.project,
                                             work=space.folder)
                # only a command the guard accepts reaches dbt (node selection, harmless switches)
                ran = space.dbt(task["words"]) if guard.ok else \
                    {"success": False, "error": None, "nodes": [], "models_run": [], "listed": []}
                out[incident.id] = {"story": incident.story, "run": ran, "guard": guard.ok,
                                    "guard_problems": guard.problems}
            finally:
                space.remove()
        return out

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        for incident, expected in reference.items():
            got = student.get(incident)
            place = where(expected["story"])
            if got is None:
                return Verdict(False, f"Nothing was run on {place}.")
            if not got["guard"]:
                why = "; ".join(got["guard_problems"]) if expected["story"] == "canonical" else \
                    "it would not build every model"
                return Verdict(False, f"The production guard refuses the command on {place}: {why}. "
                                      f"{question.hint}".strip())
            run = got["run"]
            if not run["success"]:
                return Verdict(False, f"On {place} the command failed: {run['error'] or 'a model failed'}")
            left_out = sorted(set(expected["run"]["models_run"]) - set(run["models_run"]))
            if left_out or not run["models_run"]:
                return Verdict(False, f"On {place} the command leaves out {', '.join(left_out) or 'every model'}. "
                                      f"{question.hint}".strip())
        return Verdict(True)
