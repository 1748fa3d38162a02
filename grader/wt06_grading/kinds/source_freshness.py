"""``source_freshness``: the student's source YAML, judged by running ``dbt source freshness``.

The file the student's notebook wrote replaces the project's source file in a fresh
copy of the project; ``dbt source freshness`` then runs at the incident's now (raw data
a few hours old: nothing may error) and three days later with no new data (the stale raw
tables must error), on each incident.
"""

from __future__ import annotations

from pathlib import Path

from .base import Incident, Kind, Param, Verdict, where
from .running import Workspace, later


def statuses(run: dict) -> list[str]:
    return [status for _, _, status in run.get("nodes", [])]


class SourceFreshness(Kind):
    name = "source_freshness"
    answer_type = "file"
    params = (Param("later_hours", (int, float), 72, "hours after now at which stale raw data must error"),)
    default_incidents = ("canonical", "skipped_marts")

    def task(self, question, answer):
        return {"files": {question.answer.name: answer}, "later_hours": question.params["later_hours"]}

    def run(self, task: dict, incidents: list[Incident], workspace: Path) -> dict:
        out = {}
        for incident in incidents:
            space = Workspace(workspace, incident, task["files"], slot="a")
            try:
                out[incident.id] = {"story": incident.story,
                                    "now": space.dbt("dbt source freshness"),
                                    "later": space.dbt("dbt source freshness",
                                                       as_of=later(incident.now, task["later_hours"]))}
            finally:
                space.remove()
        return out

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        for incident, expected in reference.items():
            got = student.get(incident)
            place = where(expected["story"])
            if got is None:
                return Verdict(False, f"Nothing was run on {place}.")
            now, after = statuses(got["now"]), statuses(got["later"])
            tables = len(statuses(expected["now"]))
            if len(now) < tables:
                return Verdict(False, f"dbt checked the freshness of {len(now)} of the {tables} raw tables on "
                                      f"{place}: {got['now'].get('error') or question.hint}")
            if any(s not in ("pass", "warn") for s in now):
                return Verdict(False, f"On {place}, at the story's now (raw data a few hours old) source freshness "
                                      f"reports {sorted(set(now))}: it should not error. {question.hint}".strip())
            if any(s != "error" for s in after):
                return Verdict(False, f"On {place}, {question.params['later_hours']:g} hours later with no new data, "
                                      f"source freshness reports {sorted(set(after))}: it should error. "
                                      f"{question.hint}".strip())
        return Verdict(True)
