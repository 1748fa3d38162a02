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

from datetime import datetime, time
from pathlib import Path

from .base import Incident, Kind, Param, Verdict, where
from .running import query


def _cell(value):
    """One value in a comparable form: a midnight timestamp equals its date."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in " T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.time() == time(0):
            return moment.date().isoformat()
        return moment.replace(microsecond=0).isoformat(sep=" ")
    return value


def _close(a, b, tolerance: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= max(tolerance, 1e-6)
    return a == b


def first_difference(mine: list[tuple], theirs: list[tuple], columns: tuple[str, ...],
                     tolerance: float) -> str | None:
    """Where two row lists first differ, in words that do not reveal the expected values."""
    if len(mine) != len(theirs):
        return f"it returns {len(mine)} row(s) where {len(theirs)} were expected"
    for number, (row, expected) in enumerate(zip(mine, theirs), start=1):
        for column, a, b in zip(columns, row, expected):
            if not _close(a, b, tolerance):
                return f"row {number} differs in column {column}"
    return None


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
        columns = tuple(c.lower() for c in question.params["columns"])
        replay = question.params["moments"] == "replay"
        for incident, expected_runs in reference.items():
            story = expected_runs["story"]
            got_runs = (student.get(incident) or {}).get("at", {})
            for moment, expected in expected_runs["at"].items():
                place = where(story) + (f" at as_of() = {moment}" if replay and story == "canonical" else
                                        " at one of the replayed moments" if replay else "")
                got = got_runs.get(moment)
                if got is None or "error" in got:
                    reason = got["error"] if got else "no result"
                    return Verdict(False, f"On {place} your query failed: {reason}")
                missing = [c for c in columns if c not in got["columns"]]
                if missing:
                    return Verdict(False, f"Your query does not return the column(s) {', '.join(missing)}.")
                mine = [tuple(_cell(row[got["columns"].index(c)]) for c in columns) for row in got["rows"]]
                theirs = [tuple(_cell(row[expected["columns"].index(c)]) for c in columns)
                          for row in expected["rows"]]
                if not question.params["ordered"]:
                    mine, theirs = sorted(mine, key=repr), sorted(theirs, key=repr)
                difference = first_difference(mine, theirs, columns, float(question.params["tolerance"]))
                if difference:
                    return Verdict(False, f"On {place} your query is not right: {difference}. {question.hint}".strip())
        return Verdict(True)
