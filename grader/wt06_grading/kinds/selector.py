"""``selector``: a dbt node selector, judged by what ``dbt ls`` picks with it.

The student's selector runs through ``dbt ls --resource-type model --select <it>`` on a
fresh copy of the pristine project; it must pick exactly the models the reference
selector picks. Any selector that does (``marts.*``, ``tag:mart``, ``fct_*``...) is right.
"""

from __future__ import annotations

from pathlib import Path

from wt06_grading.kinds.base import Finding, Kind, Known, RunIncident
from wt06_grading.kinds.running import Workspace


class Selector(Kind):
    name = "selector"
    answer_type = "value"
    default_incidents = ("canonical",)
    properties = {
        "error": "dbt could not use the selector there",
        "selection": "the selector does not pick the models asked for there",
    }

    def task(self, question, answer):
        if not isinstance(answer, str) or not answer.strip():
            return f"{question.answer.name} must be a non-empty string"
        if answer.strip().startswith("-"):
            return f"{question.answer.name} is the selector alone, without --select"
        if len(answer) > MAX_SELECTOR:
            return f"{question.answer.name} is {len(answer):,} characters long: a selector is a few words"
        return {"selector": answer.strip()}

    def run_one(self, task: dict, incident: RunIncident, workspace: Path) -> dict:
        space = Workspace(workspace, incident)
        try:
            return space.dbt(["dbt", "ls", "--resource-type", "model", "--output", "name",
                              "--select", task["selector"]])
        finally:
            space.remove()

    def judge(self, question, got: dict, expected: dict, known: Known) -> Finding | None:
        if not got.get("success"):
            return Finding("error", f"dbt could not use the selector: {got.get('error') or 'it selected nothing'}")
        if sorted(got.get("listed", [])) != sorted(expected["listed"]):
            picked = ", ".join(sorted(got.get("listed", []))) or "nothing"
            return Finding("selection", f"the selector picks {picked}")
        return None


MAX_SELECTOR = 2000
