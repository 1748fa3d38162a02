"""The class list, imported from the LMS's own export (``make roster FILE=...``).

An LMS matches an imported grade to a person by *its* identifiers (Canvas: its user ID,
SIS User ID or SIS Login ID; Moodle: the email address, ID number or username), which
nbgrader does not know. So the LMS files are built from the LMS's own export:

* **Canvas**: Grades → Export (the gradebook CSV): ``Student`` ("Last, First"), ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section``, then assignment columns; a ``Points
  Possible`` row (and "Manual Posting"/"Muted" rows) come before the students.
* **Moodle**: Grades → Export → Plain text file (CSV): ``First name``, ``Last name`` (or
  ``Surname``), ``ID number``, ``Institution``, ``Department``, ``Email address``, then
  grade items; a participants download (``First name``, ``Last name``, ``Email address``,
  maybe ``Username``) works too.

Each roster row is tied to an nbgrader student id (the name of the student's folder in
``submitted/``) through one of its identifier columns: the one whose values match the
gradebook's students most often (``--match COLUMN`` chooses it). The names, emails and
the LMS user id go into the gradebook's students (nbgrader's own fields; formgrader shows
them); the LMS's identifier columns are kept as given in ``<course>/roster.json``
(git-ignored: it holds personal data), from which lms.py writes the import files.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from wt06.errors import CourseError
from wt06_grading.foundation import layout
from wt06_grading.records import gradebook

ROSTER = "roster.json"
CANVAS_IDS = ("SIS Login ID", "SIS User ID", "ID")  # in order of preference when nothing matches yet
MOODLE_IDS = ("ID number", "Username", "Email address")
_SKIP_ROWS = ("points possible", "muted", "manual posting")


class RosterError(CourseError):
    """The file is not an LMS export this course can read; the message says what it lacks."""


@dataclass
class Person:
    student: str  # the nbgrader student id
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    name: str = ""  # as the LMS writes it (Canvas: "Last, First")
    ids: dict[str, str] = field(default_factory=dict)  # the LMS's identifier columns, as exported
    section: str = ""


@dataclass
class Roster:
    lms: str  # canvas | moodle
    match: str  # the column that holds nbgrader's student ids
    people: list[Person]
    source: str = ""  # the file it came from
    imported: str = ""  # when (UTC, ISO 8601): kept in roster.json for the instructor
    assignment_columns: list[str] = field(default_factory=list)  # the LMS's own assignment headers

    def by_student(self) -> dict[str, Person]:
        return {p.student: p for p in self.people}


@dataclass
class Imported:
    roster: Roster
    path: Path
    matched: list[str]  # roster people who have a submission in the gradebook
    unmatched_gradebook: list[str]  # gradebook students the roster does not list

    def sentence(self) -> str:
        lines = [f"imported {len(self.roster.people)} students from {self.roster.source} ({self.roster.lms} export) "
                 f"into the gradebook and {self.path}; nbgrader ids are the roster's {self.roster.match!r} column",
                 f"  {len(self.matched)} of them have a submission in the gradebook"]
        if self.unmatched_gradebook:
            more = " ..." if len(self.unmatched_gradebook) > 20 else ""
            lines.append(f"  not in the roster (the LMS files will leave them out): "
                         f"{', '.join(self.unmatched_gradebook[:20])}{more}"
                         " -- if they are in the LMS, import again with --match naming the column that holds "
                         "their folder names")
        return "\n".join(lines)


def _rows(path: Path) -> list[list[str]]:
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise RosterError(f"cannot read the roster {path} ({exc.strerror}): give the CSV your LMS exported "
                          "(make roster FILE=...)") from None
    except UnicodeDecodeError:
        raise RosterError(f"{path} is not UTF-8 text: export the CSV from the LMS again (UTF-8)") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]


def _split_name(name: str) -> tuple[str, str]:
    if "," in name:
        last, first = name.split(",", 1)
        return first.strip(), last.strip()
    parts = name.split()
    return (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else ("", name.strip())


def read(path: Path) -> tuple[str, list[str], list[dict[str, str]]]:
    """(lms, header, rows as dicts) of an LMS export; raises RosterError for anything else."""
    rows = _rows(path)
    if not rows:
        raise RosterError(f"{path} is empty: export the class from the LMS (Canvas: Grades → Export; Moodle: "
                          "Grades → Export → Plain text file)")
    header = [h.strip() for h in rows[0]]
    if len(header) > 1 and header[0].startswith("Student") and header[1] == "ID":
        lms = "canvas"
        if "Section" not in header:
            raise RosterError(f"{path} looks like a Canvas gradebook export but has no Section column: export it "
                              "again from Grades → Export")
    elif "First name" in header and ("Email address" in header or "ID number" in header):
        lms = "moodle"
    else:
        raise RosterError(f"{path} is neither a Canvas gradebook export (Student, ID, ..., Section) nor a Moodle "
                          "grades or participants export (First name, Last name, Email address): its columns are "
                          f"{', '.join(header[:8])}")
    people = []
    for number, row in enumerate(rows[1:], start=2):
        if row and row[0].strip().lower().startswith(_SKIP_ROWS):
            continue
        if len(row) < len(header):
            row = row + [""] * (len(header) - len(row))
        elif len(row) > len(header):
            raise RosterError(f"{path}, line {number}: {len(row)} fields where the header has {len(header)}")
        people.append({h: v.strip() for h, v in zip(header, row)})
    return lms, header, people


def _person(lms: str, row: dict[str, str], student: str) -> Person:
    if lms == "canvas":
        first, last = _split_name(row.get("Student", ""))
        ids = {k: row.get(k, "") for k in ("ID", "SIS User ID", "SIS Login ID", "Integration ID", "Root Account")
               if k in row}
        return Person(student, first, last, "", row.get("Student", ""), ids, row.get("Section", ""))
    last = row.get("Last name", row.get("Surname", ""))
    ids = {k: row.get(k, "") for k in ("ID number", "Username", "Email address") if k in row}
    return Person(student, row.get("First name", ""), last, row.get("Email address", ""),
                  f"{row.get('First name', '')} {last}".strip(), ids)


def import_roster(path: Path, course: Path, *, match: str | None = None, gradebook_url: str | None = None,
                  submitted: Path | None = None) -> Imported:
    """Read the LMS export at ``path``, tie its rows to nbgrader ids, store them (see the module)."""
    lms, header, rows = read(path)
    candidates = CANVAS_IDS if lms == "canvas" else MOODLE_IDS
    url = gradebook_url or layout.gradebook_url(course)
    known = set(gradebook.read(url).submissions) if _exists(url) else set()
    folder = Path(submitted or layout.submitted_dir(course))
    if folder.is_dir():
        known |= {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
    if match:
        if match not in header:
            raise RosterError(f"{path} has no column {match!r}; its identifier columns are "
                              f"{', '.join(c for c in candidates if c in header)}")
        column = match
    else:
        present = [c for c in candidates if c in header and any(r.get(c) for r in rows)]
        if not present:
            raise RosterError(f"{path} has no identifier values in {', '.join(candidates)}: export it again with "
                              "the students' identifiers")
        column = max(present, key=lambda c: (sum(r.get(c, "") in known for r in rows), -present.index(c)))
    people, seen = [], set()
    for row in rows:
        student = row.get(column, "").strip()
        if not student or student in seen:
            continue
        seen.add(student)
        people.append(_person(lms, row, student))
    if not people:
        raise RosterError(f"{path} lists no student with a value in its {column!r} column")
    assignment_columns = [h for h in header if h not in ("Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                                                         "Integration ID", "Root Account")]
    roster = Roster(lms, column, people, str(path), datetime.now(UTC).isoformat(timespec="seconds"),
                    assignment_columns if lms == "canvas" else [])
    with gradebook.open_gradebook(url) as gb:
        for person in people:
            gb.update_or_create_student(person.student, first_name=person.first_name or None,
                                        last_name=person.last_name or None, email=person.email or None,
                                        lms_user_id=(person.ids.get("ID") if lms == "canvas" else None) or None)
    target = Path(course) / ROSTER
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(roster), indent=1, ensure_ascii=False))
    tmp.replace(target)
    in_gradebook = set(gradebook.read(url).submissions)
    return Imported(roster, target, sorted(p.student for p in people if p.student in in_gradebook),
                    sorted(in_gradebook - {p.student for p in people}))


def _exists(url: str) -> bool:
    return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).is_file()


def load(course: Path) -> Roster | None:
    path = Path(course) / ROSTER
    if not path.is_file():
        return None
    raw = json.loads(path.read_text())
    return Roster(raw["lms"], raw["match"], [Person(**p) for p in raw["people"]], raw.get("source", ""),
                  raw.get("imported", ""), raw.get("assignment_columns", []))
