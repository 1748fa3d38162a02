"""The course's stack renders in a real JupyterLab: jupysql on a native DuckDB connection
gives HTML tables, matplotlib gives images, and an unanswered exercise shows as an error.

The notebooks here are small samples written at test time; they exercise the same
machinery (JupyterLab 4.6, jupysql, duckdb, matplotlib, chromium) as the course notebooks.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UNANSWERED = 'raise Exception("no answer yet: write your query")'


def sample_notebook(folder: Path, name: str, *, unanswered_at: int | None = None) -> Path:
    """A notebook shaped like a course notebook: connect with jupysql on a DuckDB file,
    query, plot; with an unanswered exercise at cell ``unanswered_at`` if given."""
    cells = [
        new_markdown_cell("# Sample: is the data stale?"),
        new_code_cell(
            "import duckdb, matplotlib\n"
            "import matplotlib.pyplot as plt\n"
            "%matplotlib inline\n"
            f"con = duckdb.connect('{name}.duckdb')\n"
            "con.execute(\"create or replace table orders as select date '2024-02-01' + i::int as"
            " order_date, 10 * i as revenue from range(8) t(i)\")\n"
            "%load_ext sql\n"
            "%sql con"
        ),
        new_code_cell("%%sql\nselect max(order_date) as last_order, count(*) as n from orders"),
        new_code_cell(
            "rows = con.execute('select order_date, revenue from orders order by 1').fetchall()\n"
            "fig, ax = plt.subplots(figsize=(6, 3))\n"
            "ax.plot([r[0] for r in rows], [r[1] for r in rows], marker='o')\n"
            "ax.set_title('revenue per day')\n"
            "fig.autofmt_xdate()\n"
            "plt.show()"
        ),
    ]
    if unanswered_at is not None:
        cells.insert(unanswered_at, new_code_cell(UNANSWERED))
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"},
    })
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """One folder for the module's notebooks, so one JupyterLab server serves them all."""
    return tmp_path_factory.mktemp("notebooks")


def test_unanswered_exercise_is_the_only_error(run_all_in_lab, folder):
    result = run_all_in_lab(sample_notebook(folder, "unanswered", unanswered_at=4))

    assert len(result.errors) == 1, result.errors
    (error,) = result.errors
    assert "no answer yet" in error.text and error.kind == "error"
    assert error.cell == 4 and "no answer yet" in error.source
    assert result.images >= 1, f"no plot rendered; see {result.screenshot}"
    assert result.tables >= 1, f"no query result rendered as a table; see {result.screenshot}"
    assert result.not_run == []
    assert result.screenshot.is_file()


def test_answered_notebook_shows_no_error(run_all_in_lab, folder):
    result = run_all_in_lab(sample_notebook(folder, "answered"))

    assert result.errors == [], f"see {result.screenshot}"
    assert result.images >= 1 and result.tables >= 1, f"see {result.screenshot}"
    assert result.not_run == []


def test_keep_going_runs_the_cells_after_an_unanswered_exercise(run_all_in_lab, folder):
    """Run All alone would stop at cell 2 and leave the query and the plot unrun."""
    result = run_all_in_lab(sample_notebook(folder, "early", unanswered_at=2), keep_going=True)

    assert [(e.cell, e.kind) for e in result.errors] == [(2, "error")], result.errors
    assert result.not_run == []
    assert result.images >= 1 and result.tables >= 1, f"see {result.screenshot}"
