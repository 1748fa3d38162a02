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

from wt06.singular_test import run_states
from wt06_grading.kinds.base import Finding, Kind, Known, RunIncident
from wt06_grading.kinds.running import Workspace


class SingularTest(Kind):
    name = "singular_test"
    answer_type = "file"
    default_incidents = ("canonical", "skipped_marts")
    properties = {
        "error": "your test could not be run there",
        "states": "your test gives the wrong verdict in some of the states",
    }

    def task(self, question, answer):
        return {"files": {question.answer.name: answer}, "test": Path(question.answer.name).stem}

    def run_one(self, task: dict, incident: RunIncident, workspace: Path) -> dict:
        space = Workspace(workspace, incident, task["files"])
        try:
            outcome = run_states(space.warehouse, space.project, space.folder / "states-work", test=task["test"])
            return {"states": [{k: s[k] for k in ("state", "expected", "status")} for s in outcome["states"]]}
        except Exception as exc:  # noqa: BLE001 (the test does not compile, the rebuild fails...)
            return {"error": " ".join(str(exc).split())[:300]}
        finally:
            space.remove()

    def judge(self, question, got: dict, expected: dict, known: Known) -> Finding | None:
        if got.get("error") or not isinstance(got.get("states"), list):
            return Finding("error", f"your test could not be run: {got.get('error') or 'no result'}")
        # the states are the reference's (the matrix is the course's, not the answer's): a
        # state the student's run reports that the reference does not have is ignored
        wanted = {s["state"]: s["expected"] for s in expected["states"]}
        statuses = {s.get("state"): s.get("status") for s in got["states"] if isinstance(s, dict)}
        wrong = [(state, statuses.get(state), should) for state, should in wanted.items()
                 if statuses.get(state) != should]
        if not wrong:
            return None
        state, status, should = wrong[0]
        more = f" (and {len(wrong) - 1} other state(s))" if len(wrong) > 1 else ""
        return Finding("states", f"with {state}, your test says {status!r}: it should {should}{more}",
                       public=f"for one: {state}, where it should {should}")
