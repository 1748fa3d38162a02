"""``query``: a saved ``%%sql --save <answer>`` query, re-run on every incident.

The query the student's notebook saved (composed with the snippets it selects from, as
jupysql composes it) runs on each incident's warehouse at the story's now, or at every
replay moment (``moments: replay``, for rules a monitor evaluates as time passes). Its
rows must equal the reference query's rows on the same incident and moment, in the
declared columns (extra columns are fine), in order unless ``ordered: false``, numbers
within ``tolerance``. A query with a date, a run id or a count typed in gives the right
rows on the student's incident only.
"""

from __future__ import annotations

from pathlib import Path

from .base import Incident, Kind, Param, Verdict, where
from .running import query


class Query(Kind):
    name = "query"
    answer_type = "query"
    params = (
        Param("columns", list, help="the columns compared, e.g. [run_id, started_at]"),
        Param("ordered", bool, True, "whether row order matters"),
        Param("tolerance", (int, float), 0.0, "how far numbers may be from the reference"),
        Param("moments", str, "now", "now (the story's now) or replay (every replay moment)"),
    )
    default_incidents = ("canonical", "skipped_marts")

    def validate(self, raw: dict, where_: str) -> dict:
        params = super().validate(raw, where_)
        if params["moments"] not in ("now", "replay"):
            from .base import QuestionError

            raise QuestionError(f"{where_}: moments must be now or replay")
        return params

    def task(self, question, answer):
        return {"sql": answer, "moments": question.params["moments"]}

    def run(self, task: dict, incidents: list[Incident], workspace: Path) -> dict:
        out = {}
        for incident in incidents:
            moments = incident.moments if task["moments"] == "replay" else [incident.now]
            out[incident.id] = {"story": incident.story,
                                "at": {m: query(incident.warehouse, task["sql"], m) for m in moments}}
        return out

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        from wt06.results import compare

        columns = [c.lower() for c in question.params["columns"]]
        replay = question.params["moments"] == "replay"
        for incident, expected_runs in reference.items():
            story = expected_runs["story"]
            own = story == "canonical"
            got_runs = (student.get(incident) or {}).get("at", {})
            for moment, expected in expected_runs["at"].items():
                place = where(story) + (f" at as_of() = {moment}" if replay and own else
                                        " at one of the replayed moments" if replay else "")
                got = got_runs.get(moment)
                if got is None or "error" in got:
                    reason = got["error"] if got else "no result"
                    return Verdict(False, f"On {place} your query failed: {reason}")
                wanted = {"columns": columns, "rows": [[row[expected["columns"].index(c)] for c in columns]
                                                       for row in expected["rows"]]}
                result = compare(got, wanted, ordered=question.params["ordered"],
                                 tolerance=float(question.params["tolerance"]), where=place, show_values=own)
                if not result:
                    message = result.message[0].upper() + result.message[1:]
                    return Verdict(False, f"{message}. {question.hint}".strip())
        return Verdict(True)
