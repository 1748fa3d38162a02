"""Take in one student's submission folder: what can be graded, and what went wrong.

Runs before any of the student's code does. Every problem becomes a sentence in the
grade table and the feedback, and each has a fixed outcome:

* a notebook that is not valid JSON, or not submitted: graded as missing (0 points);
* a notebook saved under another name: graded under its expected name, if exactly one
  unknown notebook carries that notebook's cells;
* a locked cell (setup or tests) edited or deleted: restored from the instructor's
  version by nbgrader before grading (noted, no penalty);
* stored outputs, however large: cleared before grading (noted if large).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

LARGE_BYTES = 5_000_000


@dataclass
class Intake:
    notebooks: dict[str, nbformat.NotebookNode] = field(default_factory=dict)  # name -> parsed
    problems: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # name -> (sentence, look?)

    def note(self, name: str, sentence: str, *, look: bool = True) -> None:
        """Record a problem with notebook ``name`` ("" = the whole submission)."""
        self.problems.setdefault(name, []).append((sentence, look))

    @property
    def needs_look(self) -> bool:
        return any(look for notes in self.problems.values() for _, look in notes)


def _grade_ids(notebook) -> set[str]:
    return {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells} - {None}


def _read(path: Path):
    try:
        return nbformat.read(path, as_version=4), None
    except (json.JSONDecodeError, nbformat.reader.NotJSONError):
        return None, f"{path.name} is not a valid notebook (its JSON is broken or incomplete)"
    except Exception as exc:  # nbformat validation and other read failures
        return None, f"{path.name} could not be read as a notebook ({type(exc).__name__}: {str(exc)[:120]})"


def _locked_changes(name: str, submitted, released, intake: Intake) -> None:
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in submitted.cells}
    deleted, edited = [], []
    for cell in released.cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("locked"):
            continue
        mine = by_id.get(meta["grade_id"])
        if mine is None:
            deleted.append(meta["grade_id"])
        elif mine.source != cell.source:
            edited.append(meta["grade_id"])
    if deleted:
        intake.note(name, f"locked cell(s) deleted and restored before grading: {', '.join(deleted)}")
    if edited:
        intake.note(name, f"locked cell(s) edited and restored before grading: {', '.join(edited)}")


def take_in(folder: Path, released: dict[str, nbformat.NotebookNode]) -> Intake:
    """Read ``folder`` (one student's submission) against the released notebooks."""
    intake = Intake()
    files = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    if not files:
        intake.note("", "empty submission: no notebook was submitted")
        return intake
    unknown = {}
    for path in files:
        notebook, problem = _read(path)
        if path.stem in released:
            if problem:
                intake.note(path.stem, problem + "; graded as missing")
                continue
            intake.notebooks[path.stem] = notebook
            if path.stat().st_size > LARGE_BYTES:
                intake.note(path.stem, f"the submitted notebook was {path.stat().st_size / 1e6:.0f} MB "
                                       "(stored outputs); outputs were cleared before grading", look=False)
        elif notebook is not None:
            unknown[path.name] = notebook
    for name in released:
        if name in intake.notebooks or name in intake.problems:
            continue
        wanted = _grade_ids(released[name])
        matches = [f for f, nb in unknown.items() if len(wanted & _grade_ids(nb)) >= len(wanted) / 2]
        if len(matches) == 1:
            intake.notebooks[name] = unknown.pop(matches[0])
            intake.note(name, f"submitted as {matches[0]}; graded as {name}.ipynb (renamed)")
        else:
            intake.note(name, f"{name}.ipynb was not submitted; graded as missing (0 points)")
    for name, notebook in intake.notebooks.items():
        _locked_changes(name, notebook, released[name], intake)
    for stray in unknown:
        intake.note("", f"{stray} is not part of the assignment and was ignored", look=False)
    return intake
