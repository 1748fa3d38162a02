"""``source_freshness``: the student's source YAML, judged by replaying the history.

The file the student's notebook wrote replaces the project's source file in a fresh copy
of the project; ``wt06.freshness.check`` then replays ``dbt source freshness`` at 09:00 on
every day of each incident, with the configuration dbt itself parses from the file (both
``config:`` and top-level forms, table overrides, ``freshness: null``), counting only the
rows loaded by each moment, and judges it against what really happened: no error on a
day the loader delivered (a false alarm); on a loader outage, an error within
``detect_within_days`` of the first missed load; on every incident, an error within
``detect_within_days`` on each loader table that never goes longer without rows, if it
alone stopped (``missed_alone``). The same function drives the visible check in notebook 05.
"""

from __future__ import annotations

from pathlib import Path

from .base import Incident, Kind, Param, Verdict, where
from .running import Workspace


class SourceFreshness(Kind):
    name = "source_freshness"
    answer_type = "file"
    params = (Param("detect_within_days", (int, float), 4, "days within which a loader outage must error"),)
    default_incidents = ("canonical", "skipped_marts", "loader_outage")

    def task(self, question, answer):
        return {"files": {question.answer.name: answer}, "days": question.params["detect_within_days"]}

    def run(self, task: dict, incidents: list[Incident], workspace: Path) -> dict:
        from wt06 import freshness

        out = {}
        for incident in incidents:
            space = Workspace(workspace, incident, task["files"])
            try:
                verdict = freshness.check(space.warehouse, space.project, space.folder, incident.facts["truth"],
                                          detect_within_days=task["days"])["verdict"]
                out[incident.id] = {"story": incident.story, "passed": verdict["passed"],
                                    "false_alarms": len(verdict["false_alarms"]),
                                    "first_false_alarm": (verdict["false_alarms"] or [{}])[0].get("moment"),
                                    "detected": verdict["detected_at"] is not None,
                                    "delay_days": verdict["detection_delay_days"],
                                    "missed_alone": [m["table"] for m in verdict.get("missed_alone", [])]}
            except Exception as exc:  # noqa: BLE001 (dbt could not parse the file, say)
                out[incident.id] = {"story": incident.story, "passed": False,
                                    "error": " ".join(str(exc).split())[:300]}
            finally:
                space.remove()
        return out

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        days = question.params["detect_within_days"]
        for incident, expected in reference.items():
            got = student.get(incident) or {}
            place = where(expected["story"])
            own = expected["story"] == "canonical"
            if got.get("error"):
                return Verdict(False, f"On {place} the freshness configuration could not be replayed: "
                                      f"{got['error']}")
            if got.get("passed"):
                continue
            if got.get("false_alarms"):
                first = f", the first at {got['first_false_alarm']}" if own else ""
                return Verdict(False, f"On {place} your configuration raises {got['false_alarms']} false "
                                      f"alarm(s) on days the loader was delivering{first}. {question.hint}".strip())
            if expected["story"] == "loader_outage":
                late = "never errors" if not got.get("detected") else f"errors only after {got['delay_days']:g} days"
                return Verdict(False, f"On {place} the loader stops, and your configuration {late} "
                                      f"(it must error within {days:g} days). {question.hint}".strip())
            return Verdict(False, f"On {place} your configuration does not pass the replay. {question.hint}".strip())
        return Verdict(True)
