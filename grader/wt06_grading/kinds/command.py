"""``command``: the scheduler's command, run on fresh copies of the incidents.

Only what the answer is about is honoured: a ``dbt run`` or ``dbt build`` with node
selection flags (``--select``/``-s``, ``--exclude``, ``--models``/``-m``, ``--full-refresh``).
Anything else (``run-operation``, ``--args``, ``--target-path``, ``--log-path``,
``--profiles-dir``, ``--project-dir``, ``--vars``...) is refused before anything runs.
After the command, every model the reference command builds must have been built and
the marts must be as new as staging.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from .base import Incident, Kind, Verdict, where
from .running import Workspace

SUBCOMMANDS = ("run", "build")
SELECTION_FLAGS = ("--select", "-s", "--models", "-m", "--exclude")
SWITCHES = ("--full-refresh",)

STATE_SQL = """
select (select max(order_date) from stg_orders),
       (select max(order_date) from fct_revenue_daily),
       (select max(signup_date) from fct_daily_signups)"""


def allowed(command: str) -> list[str] | str:
    """The command's words, or why the grader will not run it."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        return f"the command cannot be read ({exc})"
    if len(words) < 2 or words[0] != "dbt" or words[1] not in SUBCOMMANDS:
        return "the scheduler's command must be a `dbt run` or `dbt build` (with selection flags at most)"
    rest, expect_value = words[2:], False
    for word in rest:
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
        # a further word after a selection value: another selector of the same flag
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
        out = {}
        for incident in incidents:
            space = Workspace(workspace, incident, slot="a")
            try:
                ran = space.dbt(task["words"])
                staging, revenue, signups = space.sql(STATE_SQL)[0]
                out[incident.id] = {"story": incident.story, "run": ran,
                                    "behind": [m for m, d in (("fct_revenue_daily", revenue),
                                                              ("fct_daily_signups", signups))
                                               if d is None or (staging is not None and d < staging)]}
            finally:
                space.remove()
        return out

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        for incident, expected in reference.items():
            got = student.get(incident)
            place = where(expected["story"])
            if got is None:
                return Verdict(False, f"Nothing was run on {place}.")
            run = got["run"]
            if not run["success"]:
                return Verdict(False, f"On {place} the command failed: {run['error'] or 'a model failed'}")
            left_out = sorted(set(expected["run"]["models_run"]) - set(run["models_run"]))
            if left_out:
                return Verdict(False, f"On {place} the command leaves out {', '.join(left_out)}. "
                                      f"{question.hint}".strip())
            if got["behind"]:
                return Verdict(False, f"On {place} {', '.join(got['behind'])} is still behind staging "
                                      "after the command.")
        return Verdict(True)
