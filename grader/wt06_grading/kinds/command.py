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

from .base import Finding, Incident, Kind, Known
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

    def run_one(self, task: dict, incident: Incident, workspace: Path) -> dict:
        from wt06.orchestrator import check_production_job

        space = Workspace(workspace, incident)
        try:
            guard = check_production_job(" ".join(shlex.quote(w) for w in task["words"]),
                                         warehouse=space.warehouse, project=space.project, work=space.folder)
            ran = space.dbt(task["words"])
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
