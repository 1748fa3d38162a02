"""The README's learning-objectives table, kept in step with the questions.

Each question declares the learning objective it assesses (``objective: 5`` in its
hidden-test declaration; a cell graded by hand carries ``wt06: {objective: 8}`` in its
cell metadata). The README's table keeps what a person writes (the objectives' numbers
and wording); its "graded cells" column is generated from the declarations by
``wt06-grade release`` (``make release``), so adding a question never means editing the
README by hand, and a fast test fails when the README and the notebooks disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

from wt06_grading.definition.questions import CourseQuestions
from wt06_grading.foundation import layout
from wt06_grading.kinds.base import QuestionError

README = layout.REPO / "README.md"
HEADING = "## Learning objectives"
_ROW = re.compile(r"^\|\s*(\d+)\s*\|([^|]*)\|([^|]*)\|\s*$")


def cells_by_objective(course: CourseQuestions) -> dict[int, str]:
    """objective -> its "graded cells" text: ``02: `a`, `b`; 05: `c` (graded by hand)``."""
    cells: dict[int, dict[str, list[str]]] = {}
    for question in course.questions:
        cells.setdefault(question.objective, {}).setdefault(question.notebook[:2], []).append(
            f"`{question.answer_cell}`")
    for manual in course.manual:
        cells.setdefault(manual.objective, {}).setdefault(manual.notebook[:2], []).append(
            f"`{manual.id}` (graded by hand, with a mark scheme)")
    return {objective: "; ".join(f"{notebook}: {', '.join(names)}" for notebook, names in by_notebook.items())
            for objective, by_notebook in cells.items()}


def synced(readme: str, course: CourseQuestions) -> str:
    """The README with its objectives table's "graded cells" column made from ``course``."""
    start = readme.find(HEADING)
    if start < 0:
        raise QuestionError(f"the README has no '{HEADING}' section")
    end = readme.find("\n## ", start + len(HEADING))
    end = len(readme) if end < 0 else end
    wanted = cells_by_objective(course)
    lines, seen = [], set()
    for line in readme[start:end].split("\n"):
        match = _ROW.match(line)
        if match:
            number = int(match.group(1))
            seen.add(number)
            line = f"| {number} | {match.group(2).strip()} | {wanted.get(number, '(none yet)')} |"
        lines.append(line)
    unknown = sorted(set(wanted) - seen)
    if unknown:
        raise QuestionError(f"questions name objective(s) {', '.join(map(str, unknown))}, which the README's "
                            f"objectives table does not have: add a row for each")
    return readme[:start] + "\n".join(lines) + readme[end:]


def sync_readme(course: CourseQuestions, readme: Path = README) -> bool:
    """Rewrite the README's graded-cells column if it changed; whether it did."""
    text = readme.read_text()
    new = synced(text, course)
    if new != text:
        readme.write_text(new)
    return new != text
