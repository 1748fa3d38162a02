"""Grades for the learning management system: the CSV that Canvas or Moodle imports.

A view of the gradebook (class_record.py), so it holds exactly the totals every other view
shows: for each student, nbgrader's score of every graded cell (a grader's score where
one was given, else the autograder's, plus extra credit), notebooks not graded yet
counting 0, out of the assignment's points. People come from the roster imported from
the LMS's own export (roster.py, ``make roster FILE=...``), identifiers as the LMS wrote
them; the command refuses without one.

* **Canvas** (Grades → Import), following its gradebook importer: a header ``Student,
  ID, SIS User ID, SIS Login ID, Section, <assignment>``; then ``Points Possible`` with
  the assignment's points; then one row per student. Canvas finds the student by ``ID``
  (its user id), else ``SIS User ID``, else ``SIS Login ID``, else the name; all four
  come from the roster. The assignment column is the roster's own header for it
  (``Title (id)``) when the export had one, so the grades land on that assignment; a new
  title creates one. An empty cell leaves the grade in Canvas as it is.
* **Moodle** (Grades → Import → CSV file): a header ``First name, Last name, ID number,
  Email address, <assignment>`` and one row per student, every row as long as the
  header; on import map "Identify user by" to the roster's identifier (the command says
  which: *Email address* → email address, *ID number* → ID number) and the grade column
  to the grade item. ``-`` means "no grade" (an empty cell would be imported into a new
  grade item as an empty grade). Moodle refuses an import whose identifier matches no
  user, so only roster people are written.

Left out, and listed: students not in the roster, and students no longer submitted
(their folder left ``submitted/``) unless ``include_removed``. Roster people without a
submission get an empty grade (Canvas) or ``-`` (Moodle), never a 0.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from wt06.errors import CourseError
from wt06_grading.records import class_record, roster

TITLE = "WT-06: The Data Is Stale"
FORMATS = ("canvas", "moodle")
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["First name", "Last name", "ID number", "Email address"]
MOODLE_NO_GRADE = "-"


@dataclass
class Export:
    path: Path
    students: int  # rows written
    roster: str  # where the people came from
    without_submission: list[str] = field(default_factory=list)
    waiting_for_grader: list[str] = field(default_factory=list)  # totals still missing a grader's score
    not_graded: list[str] = field(default_factory=list)  # some notebook not graded yet (counts 0)
    not_in_roster: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # no longer submitted: left out (or kept, if asked)
    included_removed: bool = False
    identify_by: str = ""  # Moodle: the column to map "Identify user by" to

    def remarks(self) -> list[str]:
        def names(items):
            return ", ".join(items[:10]) + (" ..." if len(items) > 10 else "")

        out = []
        if self.identify_by:
            out.append(f"in Moodle, map \"Identify user by\" to {self.identify_by!r} and the grade column to the "
                       "grade item")
        if self.without_submission:
            out.append(f"{len(self.without_submission)} without a submission (left empty): "
                       f"{names(self.without_submission)}")
        if self.waiting_for_grader:
            out.append(f"{len(self.waiting_for_grader)} still have answers to grade by hand in formgrader, so "
                       f"their totals may rise: {names(self.waiting_for_grader)}")
        if self.not_graded:
            out.append(f"{len(self.not_graded)} have notebooks not graded yet (counted 0): {names(self.not_graded)}")
        if self.not_in_roster:
            out.append(f"{len(self.not_in_roster)} graded but not in the roster, left out (import a newer roster, "
                       f"or --match): {names(self.not_in_roster)}")
        if self.removed:
            what = "included (--include-removed)" if self.included_removed else \
                "left out (--include-removed keeps them)"
            out.append(f"{len(self.removed)} no longer submitted, {what}: {names(self.removed)}")
        return out


def _number(value: float | None, empty: str = "") -> str:
    return empty if value is None else f"{round(value, 2):g}"


def _canvas_assignment(columns: list[str], title: str) -> str:
    """The roster's own header for the assignment (``Title (123)``) if it has one."""
    for column in columns:
        match = re.fullmatch(r"(.*?)\s*\((\d+)\)", column)
        if match and match.group(1).strip() == title:
            return column
    return title


def export_grades(course: Path, lms: str, dest: Path, *, title: str = TITLE, include_removed: bool = False,
                  gradebook_url: str | None = None, submitted: Path | None = None) -> Export:
    """Write ``dest`` (CSV, UTF-8) for ``lms`` ("canvas" or "moodle") from ``course``'s gradebook and roster."""
    lms = lms.lower()
    if lms not in FORMATS:
        raise ValueError(f"unknown LMS {lms!r}: choose one of {', '.join(FORMATS)}")
    people = roster.load(course)
    if people is None:
        raise CourseError(f"no roster yet: export the class from {lms.capitalize()} ("
                          + ("Grades → Export" if lms == "canvas" else "Grades → Export → Plain text file")
                          + ") and import it with `make roster FILE=<that csv>`, then export the grades again")
    if people.lms != lms:
        raise CourseError(f"the roster was imported from a {people.lms.capitalize()} export; the {lms.capitalize()} "
                          f"file needs {lms.capitalize()}'s identifiers: import its export with make roster FILE=...")
    record = class_record.load(course, gradebook_url=gradebook_url, submitted=submitted)
    by_student = {s.student: s for s in record.students}
    listed = people.by_student()
    done = Export(Path(dest), 0, people.source, included_removed=include_removed)
    done.not_in_roster = sorted(s.student for s in record.current if s.student not in listed)
    done.removed = sorted(s.student for s in record.removed)
    rows: list[tuple[roster.Person, float | None]] = []
    for person in people.people:
        view = by_student.get(person.student)
        if view is not None and view.removed and not include_removed:
            continue
        if view is None:
            done.without_submission.append(person.student)
            rows.append((person, None))
            continue
        rows.append((person, view.score))
        if view.waiting:
            done.waiting_for_grader.append(person.student)
        if len(view.graded) < len(view.notebooks):
            done.not_graded.append(person.student)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    top = record.max_score
    written = 0
    with dest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if lms == "canvas":
            column = _canvas_assignment(people.assignment_columns, title)
            writer.writerow(CANVAS_COLUMNS + [column])
            writer.writerow(["Points Possible", "", "", "", "", _number(top)])
            for person, score in rows:
                ids = person.ids
                writer.writerow([person.name or f"{person.last_name}, {person.first_name}", ids.get("ID", ""),
                                 ids.get("SIS User ID", ""), ids.get("SIS Login ID", ""), person.section,
                                 _number(score)])
        else:
            identify = "Email address" if people.match == "Email address" or all(p.email for p in people.people) \
                else people.match
            done.identify_by = identify
            header = MOODLE_COLUMNS + (["Username"] if identify == "Username" else []) + [title]
            writer.writerow(header)
            for person, score in rows:
                values = [person.first_name, person.last_name, person.ids.get("ID number", ""), person.email]
                if identify == "Username":
                    values.append(person.ids.get("Username", ""))
                if not (person.ids.get(identify) or (identify == "Email address" and person.email)):
                    continue  # Moodle would refuse the whole file for a row it cannot identify
                writer.writerow(values + [_number(score, MOODLE_NO_GRADE)])
                written += 1
    done.students = written if lms == "moodle" else len(rows)
    return done
