"""The class the benchmark grades: the test suite's fixture submissions, in a realistic mix.

The fixtures are generated from the course's own notebooks by
``wt06_grading.definition.rehearsal``, run here as a program (it writes nbgrader's layout;
nothing is imported from tests/). From them the benchmark makes a class of any size
with a fixed mix of kinds: full marks, partly right, typed-in (hard-coded) answers,
blank, and broken submissions. Copies of one fixture differ the way two students'
work does: every SQL answer and project file carries its author's comment, so the
grader cannot reuse one student's check results for another (a worker runs identical
check tasks once); a Python answer (a selector, a command) stays identical, as it
often is between students.

Two fixtures are left out of the mix on purpose: ``infinite_loop`` costs exactly the
cell time limit (60 s by default) whatever the grader does, and ``huge_output`` the
time to print 50 MB; both are tested by the test suite, not benchmarked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ASSIGNMENT = "wt06"
BROKEN = ["kernel_crash", "edited_tests", "deleted_tests", "malformed_json", "missing", "renamed", "edited_setup",
          "empty"]
# Ten students in a row: four full marks, two partly right, one each typed-in and blank,
# two broken. The first five name every kind, so even a class of five is mixed.
PATTERN = ["full_marks", "broken", "partly_right", "hard_coded", "blank",
           "full_marks", "partly_right", "full_marks", "broken", "full_marks"]


def write_fixtures(folder: Path, env: dict | None = None) -> Path:
    """The fixture class, written by the test suite's generator into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "wt06_grading.definition.rehearsal", str(folder)], capture_output=True,
                          text=True, env=env, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"the fixture generator failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return folder


def mix(size: int) -> list[tuple[str, str]]:
    """(student, fixture) for a class of ``size``, in the fixed mix of kinds."""
    chosen, counts, broken = [], {}, 0
    for index in range(size):
        kind = PATTERN[index % len(PATTERN)]
        if kind == "broken":
            fixture = BROKEN[broken % len(BROKEN)]
            broken += 1
        else:
            fixture = kind
        counts[fixture] = counts.get(fixture, 0) + 1
        chosen.append((f"{fixture}_{counts[fixture]:02d}", fixture))
    return chosen


def _personalise(notebook, student: str) -> None:
    """Put the student's name into each SQL answer and project file, as a comment."""
    for cell in notebook.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        first, _, rest = cell.source.partition("\n")
        if first.startswith("%%sql"):
            cell.source = f"{first}\n-- {student}\n{rest}"
        elif first.startswith("%%project_file") and first.rstrip().endswith((".yml", ".yaml")):
            cell.source = f"{first}\n# {student}\n{rest}"
        elif first.startswith("%%project_file"):
            cell.source = f"{first}\n-- {student}\n{rest}"


def write_class(fixtures: Path, dest: Path, size: int) -> list[dict]:
    """Write a class of ``size`` into ``dest`` (nbgrader's submitted/ layout); who is what."""
    roster = []
    for student, fixture in mix(size):
        source = fixtures / fixture / ASSIGNMENT
        target = dest / student / ASSIGNMENT
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(source.iterdir()) if source.is_dir() else []:
            data = path.read_bytes()
            try:
                notebook = nbformat.reads(data.decode(), as_version=4)
            except Exception:  # noqa: BLE001 (a deliberately broken file is copied as it is)
                (target / path.name).write_bytes(data)
                continue
            _personalise(notebook, student)
            (target / path.name).write_text(nbformat.writes(notebook))
        roster.append({"student": student, "fixture": fixture,
                       "kind": "broken" if fixture in BROKEN else fixture})
    return roster


def copy_submission(fixtures: Path, fixture: str, dest: Path, student: str) -> Path:
    target = dest / student / ASSIGNMENT
    shutil.copytree(fixtures / fixture / ASSIGNMENT, target)
    return target
