"""``singular_test``: the student's dbt singular test, judged on many warehouse states.

One stale/fresh pair can be passed by a test with memory (it fails the first time it
runs in a warehouse, passes afterwards) or by luck. ``wt06.singular_test.run_states``
puts a copy of each incident through a dozen states with real dbt runs: the incident as
it stands, right after a full rebuild, just inside and just past the SLA, one mart stale,
an empty mart, the SLA variable set above and below the marts' age, each state tested
twice; the expected verdict follows from the state and the SLA, not from a reference.
The same function drives the visible check in notebook 05. On another incident (other
dates, another clock) a date or a number of hours typed in fails too.
"""

from __future__ import annotations

from pathlib import Path

from .base import Incident, Kind, Verdict, where
from .running import Workspace


class SingularTest(Kind):
    name = "singular_test"
    answer_type = "file"
    default_incidents = ("canonical", "skipped_marts")

    def task(self, question, answer):
        return {"files": {question.answer.name: answer}, "test": Path(question.answer.name).stem}

    def run(self, task: dict, incidents: list[Incident], workspace: Path) -> dict:
        from wt06.singular_test import run_states

        out = {}
        for incident in incidents:
            space = Workspace(workspace, incident, task["files"])
            try:
                outcome = run_states(space.warehouse, space.project, space.folder / "states-work", test=task["test"])
                out[incident.id] = {"story": incident.story, "passed": outcome["passed"],
                                    "states": [{k: s[k] for k in ("state", "expected", "status")}
                                               for s in outcome["states"]]}
            except Exception as exc:  # noqa: BLE001 (the test does not compile, the rebuild fails...)
                out[incident.id] = {"story": incident.story, "passed": False,
                                    "error": " ".join(str(exc).split())[:300]}
            finally:
                space.remove()
        return out

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        for incident, expected in reference.items():
            got = student.get(incident) or {}
            place = where(expected["story"])
            if got.get("error"):
                return Verdict(False, f"On {place} your test could not be run: {got['error']}")
            wrong = [s for s in got.get("states", []) if s["status"] != s["expected"]]
            if wrong or not got.get("passed"):
                first = wrong[0] if wrong else {"state": "a state", "status": "?", "expected": "?"}
                more = f" (and {len(wrong) - 1} other state(s))" if len(wrong) > 1 else ""
                return Verdict(False, f"On {place}, with {first['state']}, your test says {first['status']!r}: "
                                      f"it should {first['expected']}{more}. {question.hint}".strip())
        return Verdict(True)
