"""``source_freshness``: the student's source YAML, judged by replaying the history.

The file the student's notebook wrote replaces the project's source file in a fresh copy
of the project; in the checker, ``wt06.freshness.replay`` replays ``dbt source freshness``
at 09:00 on every day of each incident, with the configuration dbt itself parses from the
file (both ``config:`` and top-level forms, table overrides, ``freshness: null``),
counting only the rows loaded by each moment. The worker judges the replay with
``wt06.freshness.judge`` against what really happened (which the checker never sees): no
error on a day the loader delivered (a false alarm); on a loader outage, an error within
``detect_within_days`` of the first missed load; on every incident, an error within
``detect_within_days`` on each loader table that never goes longer without rows, if it
alone stopped (``missed_alone``). The same functions drive the visible check in notebook 05.
"""

from __future__ import annotations

from pathlib import Path

from wt06 import freshness
from wt06_grading.kinds.base import Finding, Kind, Known, Param, RunIncident
from wt06_grading.kinds.running import Workspace


class SourceFreshness(Kind):
    name = "source_freshness"
    answer_type = "file"
    params = (Param("detect_within_days", (int, float), 4, "days within which a loader outage must error"),)
    default_incidents = ("canonical", "skipped_marts", "loader_outage")
    properties = {
        "unreadable": "dbt cannot read the freshness configuration there",
        "false_alarm": "your configuration raises an error on a day the loader was delivering",
        "missed": "the loader stops, and your configuration does not error in time",
        "missed_alone": "if one loader table stopped receiving rows while the others went on, your "
                        "configuration would not error on it in time",
    }

    def task(self, question, answer):
        return {"files": {question.answer.name: answer}}

    def run_one(self, task: dict, incident: RunIncident, workspace: Path) -> dict:
        """What ``dbt source freshness`` would say at 09:00 on every day up to the incident's now
        (the replay alone: judging it needs what happened, which only the worker knows)."""
        space = Workspace(workspace, incident, task["files"])
        try:
            return {"replay": freshness.replay(space.warehouse, space.project, space.folder, until=incident.now)}
        except Exception as exc:  # noqa: BLE001 (dbt could not parse the file, say)
            return {"unreadable": " ".join(str(exc).split())[:300]}
        finally:
            space.remove()

    def judge(self, question, got: dict, expected: dict, known: Known) -> Finding | None:
        if "unreadable" in got or not isinstance(got.get("replay"), dict):
            return Finding("unreadable", "the freshness configuration could not be replayed: "
                                         f"{got.get('unreadable') or 'no result'}")
        days = question.params["detect_within_days"]
        try:
            verdict = freshness.judge(got["replay"], known.truth, detect_within_days=days)
        except (KeyError, TypeError, ValueError, IndexError):
            return Finding("unreadable", "the replay of your configuration could not be read")
        if verdict["passed"]:
            return None
        if verdict["false_alarms"]:
            first = verdict["false_alarms"][0]
            return Finding("false_alarm", f"your configuration raises {len(verdict['false_alarms'])} false "
                                          f"alarm(s) on days the loader was delivering, the first at "
                                          f"{first['moment']} ({', '.join(first['tables'])})")
        if known.truth.get("story") != "loader_outage" or verdict["detected_at"] is not None and \
                verdict["detection_delay_days"] <= days:
            if verdict.get("missed_alone"):
                tables = ", ".join(m["table"] for m in verdict["missed_alone"])
                return Finding("missed_alone", f"if {tables} alone stopped receiving rows, your configuration "
                                               f"would not error on it within {days:g} days")
        late = "never errors" if verdict["detected_at"] is None else \
            f"errors only after {verdict['detection_delay_days']:g} days"
        return Finding("missed", f"the loader stops, and your configuration {late} (it must error within "
                                 f"{days:g} days)")
