"""The notebook that is graded: the course's cells, in the course's order, with the student's answers.

A submission's cells are matched to the released notebook's by the course's own grade
ids, never trusted for what they claim:

* a locked cell (the setup, every test cell) is the released cell, whatever the
  submission holds in its place: an edited copy is restored, a deleted one put back
  where it belongs, a duplicate dropped;
* an answer cell keeps the student's text under the course's metadata; an answer cell
  whose metadata was stripped is found by what it answers (the ``%%sql --save`` name, the
  variable, the ``%%project_file`` path); a deleted one gets the released stub back, so
  its question fails with "no answer yet";
* every other cell is the student's own (scratch work) and runs where they put it;
  metadata it carries that claims grade ids or points the course does not have is
  removed, so it can neither earn points nor replace a course cell.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import nbformat

from wt06_grading.definition.questions import AnswerRef, provided_answers


@dataclass
class Assembled:
    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)  # sentences for the grade table


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _grade_id(cell) -> str | None:
    value = _meta(cell).get("grade_id")
    return value if isinstance(value, str) else None


def _is_locked(released_cell) -> bool:
    """A cell the student may not change: locked, or a test cell (graded, not an answer)."""
    meta = _meta(released_cell)
    return bool(meta.get("locked") or (meta.get("grade") and not meta.get("solution")))


def _plain(cell) -> nbformat.NotebookNode:
    """A student's own cell: their source, no nbgrader metadata, no outputs."""
    kind = cell.get("cell_type", "code")
    source = cell.get("source", "")
    if kind == "code":
        return nbformat.v4.new_code_cell(source)
    if kind == "markdown":
        return nbformat.v4.new_markdown_cell(source)
    return nbformat.v4.new_raw_cell(source)


def _course_cell(released, source: str | None = None) -> nbformat.NotebookNode:
    cell = copy.deepcopy(released)
    if source is not None:
        cell["source"] = source
    if cell.get("cell_type") == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def _answer_of(cell, wanted: dict[AnswerRef, str]) -> str | None:
    """The grade id of the answer cell a plain student cell stands in for, if any."""
    if cell.get("cell_type") != "code":
        return None
    for answer in provided_answers(cell.get("source", "")):
        if answer in wanted:
            return wanted[answer]
    return None


def assemble(released: nbformat.NotebookNode, submitted: nbformat.NotebookNode,
             answers: dict[AnswerRef, str]) -> Assembled:
    """The notebook to grade. ``answers`` maps each answer the course reads to its cell's grade id."""
    course = {_grade_id(c): c for c in released.cells if _grade_id(c)}
    order = [_grade_id(c) or None for c in released.cells]
    out = Assembled(nbformat.v4.new_notebook(metadata=copy.deepcopy(released.metadata)))
    placed: list[tuple[str | None, nbformat.NotebookNode]] = []  # (course grade id or None, cell)
    edited, duplicated, forged = [], [], []
    for cell in submitted.cells:
        claimed = _grade_id(cell)
        if claimed in course and claimed not in {g for g, _ in placed}:
            release_cell = course[claimed]
            if _is_locked(release_cell):
                if cell.get("source", "") != release_cell.get("source", ""):
                    edited.append(claimed)
                placed.append((claimed, _course_cell(release_cell)))
            else:
                placed.append((claimed, _course_cell(release_cell, cell.get("source", ""))))
        elif claimed in course:
            duplicated.append(claimed)
            if not _is_locked(course[claimed]):
                placed.append((None, _plain(cell)))
        else:
            if claimed or _meta(cell):
                forged.append(claimed or "(no id)")
            placed.append((None, _plain(cell)))

    missing = [g for g in order if g and g not in {p for p, _ in placed}]
    wanted = {answer: grade_id for answer, grade_id in answers.items() if grade_id in missing}
    found = []
    for index, (grade_id, cell) in enumerate(placed):
        if grade_id is None:
            stands_for = _answer_of(cell, wanted)
            if stands_for is not None and stands_for in missing:
                placed[index] = (stands_for, _course_cell(course[stands_for], cell.get("source", "")))
                missing.remove(stands_for)
                found.append(stands_for)
                wanted = {a: g for a, g in wanted.items() if g != stands_for}
    for grade_id in missing:  # back where it belongs: after the course cell before it
        before = order[: order.index(grade_id)]
        present = [g for g, _ in placed]
        anchor = max((present.index(g) for g in before if g in present), default=-1)
        placed.insert(anchor + 1, (grade_id, _course_cell(course[grade_id])))

    out.notebook.cells = [cell for _, cell in placed]
    restored = [g for g in missing if g not in found]
    if edited:
        out.notes.append(f"locked cell(s) edited and restored before grading: {', '.join(edited)}")
    if restored:
        locked = [g for g in restored if _is_locked(course[g])]
        answers_back = [g for g in restored if g not in locked]
        if locked:
            out.notes.append(f"locked cell(s) deleted and restored before grading: {', '.join(locked)}")
        if answers_back:
            out.notes.append(f"answer cell(s) deleted; graded as unanswered: {', '.join(answers_back)}")
    if found:
        out.notes.append(f"answer cell(s) without their grading metadata, found by what they answer: "
                         f"{', '.join(found)}")
    if duplicated:
        out.notes.append(f"duplicated course cell(s): only the first copy counts: {', '.join(sorted(set(duplicated)))}")
    if forged:
        out.notes.append(f"cell(s) carrying grading metadata the course does not have were treated as your "
                         f"own cells: {', '.join(sorted(set(forged)))}")
    return out
