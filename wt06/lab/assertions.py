"""The visible checks' building blocks: each raises AssertionError with one sentence
that says what to look at, never the expected answer.

* ``expect_columns``: the result has the columns, holding the kind of values named;
* ``matches_practice``: the saved query, re-run on the practice incident, gives that
  incident's published expected result (so a typed-in answer fails here, not only in
  the grade); a rule a monitor replays is compared at every replay moment, as the grader
  compares it on its own incidents;
* ``matches_drills``: a student's function, run on public incidents (the practice
  incident and drills), gives each one's published answer (the hidden check re-runs the
  notebook on secret incidents of the same stories);
* ``follows_the_clock``: a duration measured against ``as_of()`` moves when the clock
  moves (``now()`` does not; neither does a typed-in timestamp).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from wt06 import incidents
from wt06.errors import DataError
from wt06.foundation import results
from wt06.incident.warehouse import set_clock

_KINDS = {
    "time": (pd.api.types.is_datetime64_any_dtype, "dates or timestamps"),
    "number": (pd.api.types.is_numeric_dtype, "numbers"),
    "text": (lambda s: pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s), "text"),
}


def expect_columns(frame: pd.DataFrame, **kinds: str) -> None:
    """Assert ``frame`` has each column, holding the kind of value named.

    ``kinds`` maps a column to "time" (a date or timestamp), "number" or "text"; the
    AssertionError names the column and what it holds instead.
    """
    for column, kind in kinds.items():
        check, words = _KINDS[kind]
        assert column in frame.columns, (
            f"the query must return a column named {column}; it returns {list(frame.columns)}")
        if len(frame) and frame[column].notna().any():
            assert check(frame[column]), (
                f"the column {column} should hold {words}, not {frame[column].dtype}")


def matches_practice(session, name: str) -> None:
    """Assert the saved query ``name`` gives the practice incident's expected result."""
    published = incidents.expected(incidents.PRACTICE).get("queries", {})
    if name not in published:
        raise DataError(f"the practice incident has no expected result for {name!r}: "
                        "regenerate them with 'make release'.")
    spec = published[name]
    sql = session.saved_sql(name)
    if "moments" in spec:
        _matches_practice_at_every_moment(session, name, sql, spec)
        return
    frame = session.on_practice(sql)
    verdict = results.compare(results.from_frame(frame), spec["result"], ordered=spec["ordered"],
                              tolerance=spec["tolerance"], where="the practice incident")
    assert verdict, (
        f"Re-run on the practice incident (another incident, shipped with the course), your "
        f"query {name} does not give that incident's answer: {verdict.message}. A query that "
        "finds the answer from the data gives the right one on every incident; one with a "
        "date, a run id or a selector typed in does not.")


def _matches_practice_at_every_moment(session, name: str, sql: str, spec: dict) -> None:
    """The rule, replayed on the practice incident at each published moment (the first
    phantom run's start, every later run's finish, its now), against that moment's answer."""
    session.on_practice("select 1")  # the practice copy, made on first use
    con = session._practice
    now = con.execute("select main.as_of()").fetchone()[0]
    try:
        for moment, expected in spec["moments"].items():
            set_clock(con, datetime.fromisoformat(moment))
            frame = session.on_practice(sql)
            verdict = results.compare(results.from_frame(frame), expected, ordered=spec["ordered"],
                                      tolerance=spec["tolerance"], where=f"the practice incident at {moment}")
            assert verdict, (
                f"Replayed on the practice incident (another incident, shipped with the course) at "
                f"every moment a monitor would run it, your rule {name} does not give that moment's "
                f"answer: {verdict.message}. At each moment the rule may only see what was known "
                "then (runs finished by as_of()); a date or a run id typed in fails here.")
    finally:
        set_clock(con, now)


def matches_drills(session, name: str, compute, drills) -> None:
    """Assert ``compute(<a session on each public incident in drills>)`` gives its published
    value ``name`` (compared as the grader compares values: text, or a set of texts)."""
    for drill in drills:
        published = incidents.expected(drill).get("values", {})
        if name not in published:
            raise DataError(f"{incidents.LABELS[drill]} has no expected value for {name!r}: "
                            "regenerate them with 'make release'.")
        got = compute(session.on_public(drill))
        assert _normalised(got) == _normalised(published[name]), (
            f"On {incidents.LABELS[drill]} (another incident shipped with the course: "
            f"{incidents.describe(incidents.story_of(drill))}), your computation gives "
            f"{_shown(got)}, which is not that incident's answer. Compute it from that incident's "
            "project and run log: an answer typed in for your incident is wrong there.")


def _normalised(value):
    if isinstance(value, (set, frozenset, list, tuple)):
        return sorted({str(v).strip() for v in value})
    return str(value).strip()


def _shown(value) -> str:
    if isinstance(value, (set, frozenset, list, tuple)):
        return "{" + ", ".join(repr(v) for v in sorted(value, key=str)) + "}"
    return repr(value)


def follows_the_clock(session, name: str, column: str, *, hours: float = 10.0,
                      tolerance: float = 0.06) -> None:
    """Assert that ``column`` of the saved query grows by ``hours`` when the clock does."""
    now = session.saved(name)
    later_moment = session.as_of + timedelta(hours=hours)
    original = session.as_of
    try:
        session.set_clock(later_moment)
        later = session.saved(name)
    finally:
        session.set_clock(original)
    assert len(now) == len(later) and len(now), f"{name} returns different rows at another moment"
    shift = pd.to_numeric(later[column]) - pd.to_numeric(now[column])
    assert (shift.sub(hours).abs() <= tolerance).all(), (
        f"{column} should grow with the story's clock (as_of()): moved {hours:g} h later it "
        f"changes by {', '.join(f'{s:g}' for s in shift)} h. Measure against as_of(), not now() "
        "or current_timestamp (your computer's clock), and type no timestamp in.")
