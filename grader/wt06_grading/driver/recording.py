"""How one graded submission is recorded, as its result arrives at the driver.

The gradebook first (one transaction: nbgrader's API, the one record of the class), then
the autograded notebooks formgrader shows (with the instructor's mark scheme in the cells
graded by hand), then the student's feedback pages, made from the gradebook. A cell
graded by hand keeps its grader's score when the student's answer there is the one the
grader saw, and is flagged for a second look when it changed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from wt06_grading.foundation.contract import SubmissionResult
from wt06_grading.foundation.layout import ASSIGNMENT
from wt06_grading.records import class_record, gradebook
from wt06_grading.records.views import write_student_feedback


def _answers(data: bytes | None, names: set[str]) -> dict[str, str]:
    """grade id -> source of the cells ``names`` in an (autograded) notebook's bytes."""
    if not data or not names:
        return {}
    try:
        notebook = json.loads(data)
    except ValueError:
        return {}
    out = {}
    for cell in notebook.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in names:
            source = cell.get("source", "")
            out[grade_id] = "".join(source) if isinstance(source, list) else str(source)
    return out


def _with_mark_schemes(data: bytes, schemes: dict[str, str]) -> bytes:
    """The autograded notebook formgrader shows, with the instructor's mark scheme in its cell."""
    if not schemes:
        return data
    try:
        notebook = json.loads(data)
    except ValueError:
        return data
    for cell in notebook.get("cells", []):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in schemes:
            cell["source"] = schemes[grade_id]
    return (json.dumps(notebook, indent=1, ensure_ascii=False) + "\n").encode()


def write_result(result: SubmissionResult, out: Path, gb, timestamp: str | None, *,
                 mark_schemes: dict[str, dict[str, str]] | None = None) -> None:
    """The gradebook (one transaction), then the autograded notebooks of the notebooks graded.

    A cell graded by hand keeps its grader's score as final when the student's answer is
    the one the grader saw (the previous autograded notebook's), and is flagged for a
    second look when it changed. Other notebooks' files are left as they are.
    """
    folder = out / "autograded" / result.student / ASSIGNMENT
    manual = {}
    for row in result.rows:
        if row.status == "manual" or row.score is None:
            manual.setdefault(row.notebook, set()).add(row.grade_id)
    changed = {}
    for notebook, names in manual.items():
        path = folder / f"{notebook}.ipynb"
        before = _answers(path.read_bytes() if path.is_file() else None, names)
        after = _answers(result.autograded.get(notebook), names)
        for name in names:
            changed[(notebook, name)] = name not in before or before.get(name) != after.get(name)
    gradebook.write_result(gb, result, timestamp, changed)
    for notebook in dict.fromkeys(r.notebook for r in result.rows):
        path = folder / f"{Path(notebook).name}.ipynb"
        data = result.autograded.get(notebook)
        if data is None:
            path.unlink(missing_ok=True)  # graded as missing this time: the old notebook is not this grade's
            continue
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(_with_mark_schemes(data, (mark_schemes or {}).get(notebook, {})))
        os.replace(tmp, path)


def refresh_student_feedback(gb, store, out: Path, result: SubmissionResult, release) -> None:
    """The student's feedback pages, from the gradebook: the pages the worker rendered of the
    notebooks just graded (rendered again here where a grader scored or commented), and the
    course total set on every page (it moved)."""
    record = class_record.build(gradebook.read_open(gb, [result.student]), store, course=out, students=[result.student],
                           release=release)
    for view in record.students:
        write_student_feedback(view, out, rendered=result.feedback, again=False)
