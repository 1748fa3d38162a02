"""``monitor_rules``: the student's monitor (three rules), replayed over incidents.

The answer is a dict ``{"phantom": <SQL>, "duration": <SQL>, "staleness_hours": <n>}``
(the student's saved queries, rendered). In the checker, ``wt06.monitor.replay`` evaluates
the rules at every moment of each incident (each run's end and 09:00 daily), each seeing
only what was known then. The worker measures each rule against what happened
(``wt06.monitor.metrics``: false alarms, time to detect, whether it still alerts at the
end) and compares it with the reference rules' on the same incidents: no more false
alarms, detection wherever the reference detects and no later than ``slack_hours`` after
it, and no falling silent before the incident is over. The same functions drive notebook
06's table and visible check.
"""

from __future__ import annotations

from pathlib import Path

from wt06.monitor import RULES, SLACK_HOURS, metrics, replay, rules_problems
from wt06_grading.kinds.base import Finding, Kind, Known, Param, RunIncident
from wt06_grading.kinds.running import Workspace


class MonitorRules(Kind):
    name = "monitor_rules"
    answer_type = "value"
    params = (Param("slack_hours", dict, {}, "rule -> hours a rule may detect later than the reference's"),)
    default_incidents = ("canonical", "skipped_marts", "loader_outage")
    properties = {
        "error": "one of your rules raised an error there",
        "false_alarm": "one of your rules alarms before anything went wrong there",
        "silent": "one of your rules never alerts there, yet the incident is one it can catch",
        "late": "one of your rules alerts later than it could there",
        "forgets": "one of your rules falls silent again before the incident is over there "
                   "(has it learned the incident as the new normal?)",
    }

    def task(self, question, answer):
        problems = rules_problems(answer)
        if problems:
            return "; ".join(problems)
        return {"rules": answer}

    def run_one(self, task: dict, incident: RunIncident, workspace: Path) -> dict:
        """The rules' alerts at every moment of the incident (judging them needs what happened,
        which only the worker knows)."""
        space = Workspace(workspace, incident)
        try:
            return {"replay": replay(space.warehouse, space.project, space.folder, task["rules"], now=incident.now)}
        finally:
            space.remove()

    def judge(self, question, got: dict, expected: dict, known: Known) -> Finding | None:
        try:
            mine, ref = metrics(got["replay"], known.truth), metrics(expected["replay"], known.truth)
        except (KeyError, TypeError, ValueError, IndexError):
            return Finding("error", "the replay of your rules could not be read")
        slack = {**SLACK_HOURS, **question.params["slack_hours"]}
        for rule in RULES:
            m, r = mine[rule], ref[rule]
            if m.get("error"):
                return Finding("error", f"the {rule} rule: {m['error']}")
            if m["false_alarms"] > r["false_alarms"]:
                return Finding("false_alarm", f"the {rule} rule alarms {m['false_alarms']} time(s) before anything "
                                              "went wrong")
            if r["detected_at"] is not None and m["detected_at"] is None:
                return Finding("silent", f"the {rule} rule never alerts, yet this incident is one it can catch")
            if r["detected_at"] is not None and m["hours_to_detect"] > r["hours_to_detect"] + float(slack[rule]):
                return Finding("late", f"the {rule} rule alerts {m['hours_to_detect']:g} h after the incident "
                                       "began, later than it could")
            if r["alerting_at_end"] and not m["alerting_at_end"]:
                return Finding("forgets", f"the {rule} rule falls silent again before the incident is over "
                                          "(has it learned the incident as the new normal?)")
        return None
