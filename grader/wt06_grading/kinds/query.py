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

from wt06.foundation.results import compare as compare_results
from wt06_grading.kinds.base import Finding, Kind, Known, Param, QuestionError, RunIncident
from wt06_grading.kinds.running import query


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
    properties = {
        "error": "your query raised an error there",
        "columns": "your query does not return the columns asked for there",
        "rows": "your query's rows are not what that incident's data gives",
    }

    def validate(self, raw: dict, where_: str) -> dict:
        params = super().validate(raw, where_)
        if params["moments"] not in ("now", "replay"):
            raise QuestionError(f"{where_}: moments must be now or replay")
        return params

    def task(self, question, answer):
        return {"sql": answer, "moments": question.params["moments"]}

    def run_one(self, task: dict, incident: RunIncident, workspace: Path) -> dict:
        moments = incident.moments if task["moments"] == "replay" else [incident.now]
        return {"at": {m: query(incident.warehouse, task["sql"], m) for m in moments}}

    def judge(self, question, got: dict, expected: dict, known: Known) -> Finding | None:
        columns = [c.lower() for c in question.params["columns"]]
        replay = question.params["moments"] == "replay"
        for moment, wanted_result in expected["at"].items():
            place = f"at as_of() = {moment}" if replay else "at the story's now"
            result = (got.get("at") or {}).get(moment)
            if not isinstance(result, dict) or "error" in result:
                error = result.get("error") if isinstance(result, dict) else "no result"
                return Finding("error", f"{place} your query failed: {error}")
            if any(c not in result.get("columns", []) for c in columns):
                have = ", ".join(result.get("columns", [])) or "none"
                return Finding("columns", f"{place} your query has no column "
                                          f"{', '.join(c for c in columns if c not in result.get('columns', []))} "
                                          f"(its columns: {have})")
            wanted = {"columns": columns,
                      "rows": [[row[wanted_result["columns"].index(c)] for c in columns]
                               for row in wanted_result["rows"]]}
            same = compare_results(result, wanted, ordered=question.params["ordered"],
                                   tolerance=float(question.params["tolerance"]), where="your incident " + place)
            if not same:
                return Finding("rows", same.message)
        return None
