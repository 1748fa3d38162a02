"""nbgrader's region markers, and what the course reads between them.

Solution regions (``BEGIN SOLUTION`` / ``END SOLUTION``) hold the model answers; hidden
test regions (``BEGIN HIDDEN TESTS`` / ``END HIDDEN TESTS``) hold each question's
declaration (questions.py); mark scheme regions (``BEGIN MARK SCHEME`` / ``END MARK
SCHEME``) hold what a hand grader looks for, never shown to a student (feedback.py).
nbgrader matches the markers as substrings, so they work in any cell language
(``-- BEGIN SOLUTION`` in SQL, ``# BEGIN SOLUTION`` in YAML).
"""

from __future__ import annotations

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
BEGIN_MARK_SCHEME, END_MARK_SCHEME = "BEGIN MARK SCHEME", "END MARK SCHEME"
ALL = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)


def without_markers(text: str) -> str:
    """The solution as written: the region's content, without its delimiter lines."""
    return "\n".join(line for line in text.split("\n") if BEGIN_SOLUTION not in line and END_SOLUTION not in line)


def without_region(text: str, begin: str, end: str) -> str:
    """``text`` without the region between the lines holding ``begin`` and ``end`` (those included)."""
    kept, inside = [], False
    for line in text.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def without_solution(text: str) -> str:
    """What is left when the solution region is taken out (the student's starting point)."""
    return without_region(text, BEGIN_SOLUTION, END_SOLUTION)


def hidden_region(text: str) -> list[str] | None:
    """The lines between the hidden-test markers (None: the cell has no hidden region)."""
    lines, inside, found = [], False, False
    for line in text.split("\n"):
        if BEGIN_HIDDEN in line:
            inside, found = True, True
        elif END_HIDDEN in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines if found else None


def split_magic(source: str) -> tuple[str, str]:
    """``('%%sql --save name', 'select ...')`` for a cell-magic cell, ``('', source)`` otherwise."""
    if source.startswith("%%"):
        first, _, body = source.partition("\n")
        return first.strip(), body
    return "", source


def without_hidden(text: str) -> str:
    """The cell without its hidden-test region (markers included)."""
    return without_region(text, BEGIN_HIDDEN, END_HIDDEN)


def without_mark_scheme(text: str) -> str:
    """The cell without its mark scheme region (markers included): what a student may read."""
    return without_region(text, BEGIN_MARK_SCHEME, END_MARK_SCHEME)
