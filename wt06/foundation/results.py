"""Query results as plain JSON, and the one comparison of a result with an expected one.

Used by the visible checks (a student's query re-run on the practice incident against
its published expected results) and by the grader (the same query on secret incidents
against the reference answer's results): one definition of "the same answer".

* values: dates and timestamps as ISO text (a midnight timestamp equals its date),
  numbers as floats compared within ``tolerance``, everything else as text;
* rows: compared in order when ``ordered``, else as a multiset;
* columns: the expected ones, by name; extra columns are ignored.

A difference is described by the first differing column and row, with the student's
value only: a message never shows the expected value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

Result = dict  # {"columns": [...], "rows": [[...], ...]}


def plain(value: Any) -> Any:
    """One value as JSON: None, bool, number, or text (dates and times as ISO text)."""
    if value is None:
        return None
    try:
        import pandas as pd

        if value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
            return None
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
    except ImportError:  # pragma: no cover - pandas is always installed with the course
        pass
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    return str(value)


def from_frame(frame) -> Result:
    """A pandas DataFrame (or anything with ``columns`` and ``itertuples``) as a Result."""
    columns = [str(c) for c in frame.columns]
    rows = [[plain(v) for v in row] for row in frame.itertuples(index=False, name=None)]
    return {"columns": columns, "rows": rows}


def from_rows(columns: Iterable[str], rows: Iterable[Iterable[Any]]) -> Result:
    return {"columns": list(columns), "rows": [[plain(v) for v in row] for row in rows]}


def _comparable(value: Any, tolerance: float) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.time() == time(0) and len(value) > 10:
            return moment.date().isoformat()  # a midnight timestamp is its date
        return moment.isoformat(sep=" ") if len(value) > 10 else value
    return value


def _same(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= tolerance + 1e-9
    return a == b


def _sort_key(row: list) -> tuple:
    return tuple((v is None, str(type(v).__name__), str(v) if not isinstance(v, float) else f"{v:020.6f}")
                 for v in row)


@dataclass
class Comparison:
    passed: bool
    message: str = ""

    def __bool__(self) -> bool:
        return self.passed


def compare(actual: Result, expected: Result, *, ordered: bool = True, tolerance: float = 0.0,
            where: str = "this incident", show_values: bool = True) -> Comparison:
    """Is ``actual`` the same answer as ``expected``? The message names the first difference.

    ``show_values=False`` leaves the student's value out of the message too (the grader's
    secret incidents: a value there would tell the student something about them).
    """
    columns = list(expected["columns"])
    have = list(actual["columns"])
    missing = [c for c in columns if c not in have]
    if missing:
        return Comparison(False, f"the answer has no column {', '.join(missing)} "
                                 f"(its columns: {', '.join(have) or 'none'})")
    index = [have.index(c) for c in columns]
    mine = [[_comparable(row[i], tolerance) for i in index] for row in actual["rows"]]
    theirs = [[_comparable(v, tolerance) for v in row] for row in expected["rows"]]
    if len(mine) != len(theirs):
        return Comparison(False, f"on {where} it returns {len(mine)} row(s), which is not the "
                                 "number of rows the answer has there")
    if not ordered:
        mine, theirs = sorted(mine, key=_sort_key), sorted(theirs, key=_sort_key)
    for number, (row, ref) in enumerate(zip(mine, theirs), start=1):
        for column, value, wanted in zip(columns, row, ref):
            if not _same(value, wanted, tolerance):
                place = f"row {number}" if ordered else "a row (rows compared in any order)"
                yours = f" (yours: {value!r})" if show_values else ""
                return Comparison(False, f"on {where}, {place}: the column {column} differs{yours}")
    return Comparison(True)
