"""One comparison of a query result with an expected one: the practice check's and the grader's."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pandas as pd

from wt06.foundation import results

EXPECTED = {"columns": ["mart", "newest_date", "hours_stale"],
            "rows": [["fct_daily_signups", "2023-10-10", 62.8], ["fct_revenue_daily", "2023-10-10", 62.8]]}


def _frame(rows):
    return results.from_frame(pd.DataFrame(rows, columns=["mart", "newest_date", "hours_stale", "extra"]))


def test_equal_answers_compare_equal_whatever_their_types_order_and_extra_columns():
    mine = _frame([["fct_revenue_daily", pd.Timestamp("2023-10-10"), Decimal("62.83"), 1],
                   ["fct_daily_signups", date(2023, 10, 10), 62.79, 2]])
    assert results.compare(mine, EXPECTED, ordered=False, tolerance=0.051)
    assert not results.compare(mine, EXPECTED, ordered=True, tolerance=0.051)


def test_a_difference_names_the_column_and_the_students_value_never_the_expected_one():
    mine = _frame([["fct_daily_signups", "2023-10-10", 17000.4, 0], ["fct_revenue_daily", "2023-10-10", 62.8, 0]])
    verdict = results.compare(mine, EXPECTED, ordered=True, where="the practice incident")
    assert not verdict and "hours_stale" in verdict.message and "17000.4" in verdict.message
    assert "62.8" not in verdict.message and "row 1" in verdict.message
    fewer = results.compare(_frame([["fct_daily_signups", "2023-10-10", 62.8, 0]]), EXPECTED)
    assert not fewer and "1 row(s)" in fewer.message and "2" not in fewer.message.replace("1 row", "")
    missing = results.compare(results.from_rows(["mart"], [["x"]]), EXPECTED)
    assert not missing and "newest_date" in missing.message


def test_plain_values_are_json():
    assert results.plain(datetime(2024, 2, 8, 18, 14, 39)) == "2024-02-08 18:14:39"
    assert results.plain(pd.NaT) is None and results.plain(Decimal("1.50")) == 1.5
    assert results.plain({"b", "a"}) == ["a", "b"]
