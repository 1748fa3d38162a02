"""Grades for the learning management system: the CSV that Canvas or Moodle imports.

Scores come from the gradebook (``gradebook.scores``), so they include what graders gave
by hand in formgrader (the postmortem) and any overrides: the total of an nbgrader grade
is its manual score where there is one, else the autograder's, plus extra credit.

* **Canvas** (Grades → Import): the columns of Canvas's own gradebook export, which its
  import reads back: ``Student`` ("Last, First"), ``ID`` (Canvas user id), ``SIS User
  ID``, ``SIS Login ID``, ``Section``, then one column per assignment. The second row,
  ``Points Possible``, gives the assignment's points. Canvas matches a row to a student
  by ID, SIS User ID or SIS Login ID; we fill ID from nbgrader's ``lms_user_id`` (when
  the course's students were imported with it) and the SIS columns from nbgrader's
  student id. An unknown assignment name creates the assignment on import.
* **Moodle** (Grades → Import → CSV file): an identity column and one column per grade
  item; on import the teacher maps "Identify user by" (here ``Email address`` or ``ID
  number``, which holds nbgrader's student id) and the grade column to a grade item (or
  a new one). We write the columns of Moodle's own export: ``First name``, ``Last name``,
  ``ID number``, ``Email address``, then ``<assignment> (Real)``.

A student without a submission gets an empty cell (both systems then leave the grade as
it was), never a 0 that would overwrite a grade typed in the LMS. Students whose
submission still has cells waiting for a grader are counted in the returned summary.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from . import gradebook

TITLE = "WT-06: The Data Is Stale"
FORMATS = ("canvas", "moodle")


@dataclass
class Export:
    path: Path
    students: int
    without_submission: list[str]
    waiting_for_grader: list[str]  # totals still missing a manual grade


def _rows(db) -> tuple[list[dict], float]:
    per_student = gradebook.scores(db)
    people = gradebook.students(db)
    top = max((sum(nb["max_score"] for nb in notebooks.values())
               for notebooks in per_student.values() if notebooks), default=0.0)
    rows = []
    for student in sorted(per_student):
        notebooks = per_student[student]
        info = people.get(student, {})
        rows.append({
            "id": student, "first": info.get("first_name", ""), "last": info.get("last_name", ""),
            "email": info.get("email", ""), "lms": info.get("lms_user_id", ""),
            "score": sum(nb["score"] for nb in notebooks.values()) if notebooks else None,
            "waiting": any(nb["needs_manual_grade"] for nb in notebooks.values()),
        })
    return rows, top


def _number(value: float | None) -> str:
    return "" if value is None else f"{round(value, 2):g}"


def export_grades(db, lms: str, dest: Path, *, title: str = TITLE) -> Export:
    """Write ``dest`` (CSV, UTF-8) for ``lms`` ("canvas" or "moodle") from the gradebook ``db``."""
    lms = lms.lower()
    if lms not in FORMATS:
        raise ValueError(f"unknown LMS {lms!r}: choose one of {', '.join(FORMATS)}")
    rows, top = _rows(db)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if lms == "canvas":
            writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title])
            writer.writerow(["Points Possible", "", "", "", "", _number(top)])
            for r in rows:
                name = f"{r['last']}, {r['first']}" if r["last"] or r["first"] else r["id"]
                writer.writerow([name, r["lms"], r["id"], r["id"], "", _number(r["score"])])
        else:
            writer.writerow(["First name", "Last name", "ID number", "Email address", f"{title} (Real)"])
            for r in rows:
                writer.writerow([r["first"], r["last"], r["id"], r["email"], _number(r["score"])])
    return Export(dest, len(rows), [r["id"] for r in rows if r["score"] is None],
                  [r["id"] for r in rows if r["waiting"]])
