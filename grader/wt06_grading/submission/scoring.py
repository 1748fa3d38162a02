"""Scores per graded cell: nbgrader's rules for what ran, the hidden checks for what it means.

A test cell earns its points when it ran without an error or stderr output (nbgrader's
``determine_grade``) *and* its question's hidden check passed; a failed hidden check
zeroes the cell and adds its message to the cell's outputs, where the student reads it
in the feedback. Rows are made for every graded cell of the course, in course order,
from the course's own list: a submission cannot add, remove or rename one.
"""

from __future__ import annotations

import nbformat
from nbgrader.utils import determine_grade

from wt06_grading.foundation.contract import GradeRow, graded_cells
from wt06_grading.kinds.base import Verdict

HIDDEN_FAILED = "HiddenCheckFailed"


def hidden_output(message: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=HIDDEN_FAILED, evalue=message,
                                  traceback=[f"{HIDDEN_FAILED}: {message}"])


def first_error(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error" and output.get("ename") != HIDDEN_FAILED:
            return f"{output.get('ename')}: {output.get('evalue')}".strip()[:300]
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "the cell wrote to stderr: " + str(output.get("text", "")).strip()[:200]
    return ""


def missing_rows(notebook: str, released: nbformat.NotebookNode, reason: str) -> list[GradeRow]:
    return [GradeRow(notebook, grade_id, points, 0.0, "missing", reason)
            for _, grade_id, points, _ in graded_cells(notebook, released)]


def score_notebook(notebook: str, released: nbformat.NotebookNode, executed: nbformat.NotebookNode,
                   verdicts: dict[str, Verdict]) -> list[GradeRow]:
    """Rows for ``notebook``; adds each failed hidden check's message to its cell's outputs."""
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in executed.cells
             if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")}
    rows = []
    for _, grade_id, points, _ in graded_cells(notebook, released):
        cell = cells.get(grade_id)
        if cell is None:  # assemble() always places every course cell; this is a safety net
            rows.append(GradeRow(notebook, grade_id, points, 0.0, "failed", "the cell was not graded"))
            continue
        meta = cell.metadata.nbgrader
        meta["points"] = points  # the course's points, whatever the submission claimed
        visible, _ = determine_grade(cell)
        if meta.get("solution"):  # graded by hand
            if visible == 0:
                rows.append(GradeRow(notebook, grade_id, points, 0.0, "failed", "no answer was written"))
            else:
                rows.append(GradeRow(notebook, grade_id, points, None, "manual",
                                     "to be graded by hand (nbgrader formgrader)"))
            continue
        verdict = verdicts.get(grade_id) or Verdict(False, "the hidden check did not run")
        reason = first_error(cell)
        if not verdict.passed:
            cell.setdefault("outputs", []).append(hidden_output(verdict.message))
        score = float(visible or 0) if verdict.passed else 0.0
        if score >= points:
            rows.append(GradeRow(notebook, grade_id, points, score, "passed"))
        else:
            rows.append(GradeRow(notebook, grade_id, points, score, "failed",
                                 reason or f"hidden check: {verdict.message}"))
    return rows
