"""``monitor_rules``: the student's monitor (three rules), replayed over incidents.

The answer is a dict ``{"phantom": <SQL>, "duration": <SQL>, "staleness_hours": <n>}``
(the student's saved queries, rendered). ``wt06.monitor.evaluate`` replays the rules at
every moment of each incident (each run's end and 09:00 daily), each seeing only what
was known then, and measures false alarms, time to detect and whether a rule still
alerts at the end; ``wt06.monitor.judge`` compares that with the reference rules' on
the same incidents: no more false alarms, detection wherever the reference detects and
no later than ``slack_hours`` after it, and no falling silent before the incident is over.
The same functions drive notebook 06's table and visible check.
"""

from __future__ import annotations

from pathlib import Path

from .base import Incident, Kind, Param, Verdict, where
from .running import Workspace


class MonitorRules(Kind):
    name = "monitor_rules"
    answer_type = "value"
    params = (Param("slack_hours", dict, {}, "rule -> hours a rule may detect later than the reference's"),)
    default_incidents = ("canonical", "skipped_marts", "loader_outage")

    def task(self, question, answer):
        from wt06.monitor import rules_problems

        problems = rules_problems(answer)
        if problems:
            return "; ".join(problems)
        return {"rules": answer}

    def run(self, task: dict, incidents: list[Incident], workspace: Path) -> dict:
        from wt06.monitor import evaluate

        out = {}
        for incident in incidents:
            space = Workspace(workspace, incident)
            try:
                metrics = evaluate(task["rules"], [{"name": incident.id, "warehouse": str(space.warehouse),
                                                    "truth": incident.facts["truth"]}],
                                   space.project, space.folder)
                out[incident.id] = {"story": incident.story, "metrics": metrics[incident.id]}
            except Exception as exc:  # noqa: BLE001
                out[incident.id] = {"story": incident.story, "error": " ".join(str(exc).split())[:300]}
            finally:
                space.remove()
        return out

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        from wt06.monitor import judge

        for got in student.values():
            if got.get("error"):
                return Verdict(False, f"On {where(got['story'])} your rules could not be replayed: {got['error']}")
        words = {incident: where(expected["story"]) for incident, expected in reference.items()}
        verdict = judge({i: r["metrics"] for i, r in student.items() if "metrics" in r},
                        {i: r["metrics"] for i, r in reference.items()},
                        slack_hours=question.params["slack_hours"], words=words)
        if verdict["passed"]:
            return Verdict(True)
        more = f" (and {len(verdict['problems']) - 1} more)" if len(verdict["problems"]) > 1 else ""
        return Verdict(False, f"{verdict['problems'][0]}{more}. {question.hint}".strip())
