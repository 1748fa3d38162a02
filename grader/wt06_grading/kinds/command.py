"""``command``: the scheduler's command, checked by the production guard and run.

Only what the answer is about is honoured: a ``dbt run`` or ``dbt build`` with node
selection flags (``--select``/``-s``, ``--exclude``, ``--models``/``-m``,
``--full-refresh``). Anything else (``run-operation``, ``--args``, ``--target-path``,
``--log-path``, ``--profiles-dir``, ``--project-dir``, ``--vars``...) is refused before
anything runs. Then, on fresh copies of the incidents, the course's production guard
(``wt06.orchestrator.check_production_job``) must accept it, and running it must build
every model the reference command builds, running something.
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
    """The command's words, or why the grader will not run it."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return f"the command cannot be read ({exc})"
    if len(words) < 2 or words[0] != "dbt" or words[1] not in SUBCOMMANDS:
        return "the scheduler's command must be a `dbt run` or `dbt build` (with selection flags at most)"
    expect_value = False
    for word in words[2:]:
        if expect_value:
            if word.startswith("-"):
                return f"{word} is not a node selection"
            expect_value = False
            continue
        flag = word.split("=", 1)[0]
        if flag in SELECTION_FLAGS:
            expect_value = "=" not in word
        elif flag in SWITCHES:
            continue
        elif word.startswith("-"):
            return (f"{flag} is not something the scheduler's command needs: only node selection "
                    f"({', '.join(SELECTION_FLAGS)}) is checked")
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
                ran = space.dbt(task["words"])
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
