"""``selector``: a dbt node selector, judged by what ``dbt ls`` picks with it.

The student's selector runs through ``dbt ls --resource-type model --select <it>`` on a
fresh copy of the pristine project; it must pick exactly the models the reference
selector picks. Any selector that does (``marts.*``, ``tag:mart``, ``fct_*``...) is right.
"""

from __future__ import annotations

from pathlib import Path

from .base import Incident, Kind, Verdict
from .running import Workspace


class Selector(Kind):
    name = "selector"
    answer_type = "value"
    default_incidents = ("canonical",)

    def task(self, question, answer):
        if not isinstance(answer, str) or not answer.strip():
            return f"{question.answer.name} must be a non-empty string"
        if answer.strip().startswith("-"):
            return f"{question.answer.name} is the selector alone, without --select"
        return {"selector": answer.strip()}

    def run(self, task: dict, incidents: list[Incident], workspace: Path) -> dict:
        out = {}
        for incident in incidents:
            space = Workspace(workspace, incident)
            try:
                out[incident.id] = space.dbt(["dbt", "ls", "--resource-type", "model", "--output", "name",
                                              "--select", task["selector"]])
            finally:
                space.remove()
        return out

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        for incident, expected in reference.items():
            got = student.get(incident)
            if got is None:
                return Verdict(False, "dbt did not run your selector.")
            if not got["success"]:
                return Verdict(False, f"dbt could not use the selector: {got['error']}")
            if sorted(got["listed"]) != sorted(expected["listed"]):
                picked = ", ".join(sorted(got["listed"])) or "nothing"
                return Verdict(False, f"The selector picks {picked}. {question.hint}".strip())
        return Verdict(True)
