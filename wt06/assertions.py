"""The visible checks' building blocks: each raises AssertionError with one sentence
that says what to look at, never the expected answer.

* ``expect_columns``: the result has the columns, holding the kind of values named;
* ``matches_practice``: the saved query, re-run on the practice incident, gives that
  incident's published expected result (so a typed-in answer fails here, not only in
  the grade);
* ``follows_the_clock``: a duration measured against ``as_of()`` moves when the clock
  moves (``now()`` does not; neither does a typed-in timestamp).
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from . import incidents, results
from .errors import DataError

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
    frame = session.on_practice(session.saved_sql(name))
    verdict = results.compare(results.from_frame(frame), spec["result"], ordered=spec["ordered"],
                              tolerance=spec["tolerance"], where="the practice incident")
    assert verdict, (
        f"Re-run on the practice incident (another incident, shipped with the course), your "
        f"query {name} does not give that incident's answer: {verdict.message}. A query that "
        "finds the answer from the data gives the right one on every incident; one with a "
        "date, a run id or a selector typed in does not.")


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
