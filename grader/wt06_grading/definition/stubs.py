"""Solution stubs that stay valid in the cell's own language.

nbgrader replaces a solution region with a Python stub (``raise NotImplementedError()``).
In a ``%%sql`` cell that becomes a DuckDB parser error about Python code, and in a
``%%project_file x.yml`` cell it becomes broken YAML. Here a cell whose first line is a
cell magic keeps that line, and its stub is written in the language the magic runs:
SQL for ``%%sql`` and ``.sql`` files, a YAML comment for ``.yml`` files. Every stub says
"no answer yet", which the course's notebook tools turn into a readable message.
"""

from __future__ import annotations

from nbgrader.preprocessors import ClearSolutions

from wt06.settings import NO_ANSWER, PLACEHOLDERS  # one home: the course package (its magics drop them)

STUBS = PLACEHOLDERS
__all__ = ["NO_ANSWER", "STUBS", "cell_language", "MagicAwareClearSolutions"]

_FILE_MAGICS = ("%%project_file", "%%writefile")


def cell_language(source: str, default: str = "python") -> str:
    """The language a code cell's body is written in, judged by its cell magic."""
    first = source.split("\n", 1)[0].strip()
    if not first.startswith("%%"):
        return default
    magic, _, argument = first.partition(" ")
    if magic == "%%sql":
        return "sql"
    if magic in _FILE_MAGICS:
        suffix = argument.strip().rsplit(".", 1)[-1].lower()
        return {"sql": "sql", "yml": "yaml", "yaml": "yaml", "py": "python"}.get(suffix, "text")
    return default


class MagicAwareClearSolutions(ClearSolutions):
    """ClearSolutions with per-cell stubs for cell-magic cells (see module docstring)."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not cell.source.startswith("%%"):
            return super().preprocess_cell(cell, resources, cell_index)
        language = cell_language(cell.source)
        notebook_language = resources["language"]
        stubs = dict(self.code_stub)
        self.code_stub = {**stubs, notebook_language: STUBS[language]}
        try:
            magic_line, _, body = cell.source.partition("\n")
            cell.source = body
            cell, resources = super().preprocess_cell(cell, resources, cell_index)
            cell.source = magic_line + "\n" + cell.source
        finally:
            self.code_stub = stubs
        return cell, resources
