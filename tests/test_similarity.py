"""Similar answers: normalisation that sees through renamed aliases, layout and notation, and a
class where only the copied pair is flagged."""

from __future__ import annotations

import shutil

import nbformat

from wt06_grading.definition.rehearsal import COPY_PAIR, write_class
from wt06_grading.records.similarity import THRESHOLD, answers, normalise, ratio, shared_sources, similar

GAP = """%%sql --save dashboard_gap
with staged as (select distinct order_date from stg_orders),
mart as (select order_date from fct_revenue_daily)
select s.order_date from staged as s left join mart as m on m.order_date = s.order_date
where m.order_date is null and s.order_date >= date '2024-01-01' order by s.order_date"""
GAP_COPY = """%%sql --save dashboard_gap
-- written by me
WITH X AS (SELECT DISTINCT Order_Date FROM STG_ORDERS),
     Y AS (SELECT order_date FROM fct_revenue_daily)
SELECT p.order_date FROM X p LEFT JOIN Y q ON q.order_date = p.order_date
WHERE q.order_date IS NULL AND p.order_date >= CAST('2024-01-01' AS DATE) ORDER BY p.order_date"""
GAP_EXCEPT = """%%sql --save dashboard_gap
select order_date from stg_orders except select order_date from fct_revenue_daily order by 1"""
GAP_NOT_IN = """%%sql --save dashboard_gap
select distinct order_date from stg_orders
where order_date not in (select order_date from fct_revenue_daily) order by order_date"""


def test_renamed_aliases_case_layout_literals_and_comments_normalise_away():
    assert normalise(GAP) == normalise(GAP_COPY)
    assert ratio(normalise(GAP), normalise(GAP_EXCEPT)) < THRESHOLD
    assert ratio(normalise(GAP_NOT_IN), normalise(GAP_EXCEPT)) < THRESHOLD
    assert normalise("rules = {'a': 1.0,  # mine\n 'b': [1, 2]}") == normalise('rules = {"a": 1.0, "b": [1, 2]}')
    assert normalise("x = 1") != normalise("y = 2")
    assert normalise("%%project_file models/x.yml\na: 1\nb: [2]") == normalise("%%project_file models/x.yml\nb: [2]\na: 1")
    assert normalise("not sql at all (((", "code") == normalise("not sql at all (((")  # never raises


def test_only_the_copied_pair_is_flagged_in_a_class(tmp_path):
    students = ["full_marks", "partly_right", "blank", *COPY_PAIR]
    write_class(tmp_path / "submitted", students, tmp_path / "unused.duckdb")  # no typed-in answers: no warehouse
    shutil.copytree(tmp_path / "submitted", tmp_path / "autograded")  # answer cells as grading keeps them
    clusters = similar(answers(tmp_path / "autograded", students), shared_sources(tmp_path))
    flagged = {(c.notebook, c.question): c.students for c in clusters}
    assert flagged == {("01_detect_staleness", "dashboard_gap"): sorted(COPY_PAIR),
                       ("01_detect_staleness", "mart_staleness"): sorted(COPY_PAIR)}
    assert all(c.identical for c in clusters)  # identical once aliases and layout are normalised
    # the model answer, shared by full_marks and partly_right on most questions, is not evidence
    notebook = nbformat.read(tmp_path / "autograded" / "full_marks" / "wt06" / "02_pipeline_logs.ipynb", 4)
    assert any(c.metadata.get("nbgrader", {}).get("solution") for c in notebook.cells)
