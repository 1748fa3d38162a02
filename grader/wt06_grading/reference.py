"""The reference answers, read from the instructor notebooks: their solution cells.

One source of truth: the model answer a student sees in the instructor's notebook is
exactly what the hidden checks compare against, and what the tests use as "the fix".
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import nbformat

from .release import SOURCE

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"


def without_markers(text: str) -> str:
    """The solution as written: the region's content, without its delimiter lines."""
    return "\n".join(line for line in text.split("\n") if BEGIN not in line and END not in line)


def without_solution(text: str) -> str:
    """What is left when the solution region is taken out (the student's starting point)."""
    kept, inside = [], False
    for line in text.split("\n"):
        if BEGIN in line:
            inside = True
        elif END in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def split_magic(source: str) -> tuple[str, str]:
    """``('%%sql --save name', 'select ...')`` for a cell-magic cell, ``('', source)`` otherwise."""
    if source.startswith("%%"):
        first, _, body = source.partition("\n")
        return first.strip(), body
    return "", source


@lru_cache(maxsize=None)
def solution_cells() -> dict[str, tuple[str, str]]:
    """grade_id -> (notebook name, cell source) for every solution cell of the sources."""
    cells = {}
    for path in sorted(Path(SOURCE).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cells[meta["grade_id"]] = (path.stem, cell.source)
    return cells


def solution_only_lines(longer_than: int = 12) -> set[str]:
    """Distinctive lines that appear only inside the sources' solution regions.

    What a student copy must never contain. A line that also appears outside every
    solution (a blank, a ``select``, a starting point the student is given) proves
    nothing, and short lines are too common to count.
    """
    inside, outside = set(), set()
    for path in sorted(Path(SOURCE).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            kept = {line.strip() for line in without_solution(cell.source).splitlines()}
            outside |= kept
            inside |= {line.strip() for line in without_markers(cell.source).splitlines()} - kept
    return {line for line in inside - outside if len(line) > longer_than}


def reference_sql(grade_id: str) -> str:
    magic, body = split_magic(solution_cells()[grade_id][1])
    assert magic.startswith("%%sql"), f"{grade_id} is not a %%sql answer"
    return without_markers(body).strip()


def reference_value(grade_id: str):
    """The literal a Python answer cell assigns (e.g. scheduler_command = "dbt run")."""
    tree = ast.parse(without_markers(solution_cells()[grade_id][1]))
    (assignment,) = [node for node in tree.body if isinstance(node, ast.Assign)]
    return ast.literal_eval(assignment.value)


def reference_project_files() -> dict[str, str]:
    """Project-relative path -> content, for every %%project_file answer (the fix)."""
    files = {}
    for _, source in solution_cells().values():
        magic, body = split_magic(source)
        if magic.startswith("%%project_file"):
            files[magic.split(maxsplit=1)[1].strip()] = without_markers(body)
    return files
