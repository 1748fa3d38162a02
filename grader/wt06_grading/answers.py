"""Read a student's answers out of a submitted notebook, without running any of it.

Answers are taken from the notebook file as it was submitted, before the student's code
ever runs in the grading kernel, so nothing the kernel does can change what is graded:

* a ``%%sql --save <name>`` cell is a query; later saves of the same name win, and a
  query that selects from another saved query is composed the way jupysql composes it
  (a ``WITH`` clause), so the query is exactly what the student's kernel ran;
* a ``%%project_file <path>`` cell is the content of a project file;
* a Python answer cell assigns a literal (``scheduler_command = "dbt run"``).
"""

from __future__ import annotations

import ast
import shlex
from dataclasses import dataclass

import sqlparse

NO_ANSWER = "no answer yet"


@dataclass
class Answer:
    """One answer: its value, or why there is none."""

    value: object = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _save_name(magic_line: str) -> str | None:
    words = shlex.split(magic_line, posix=True)
    for flag in ("--save", "-S"):
        if flag in words and words.index(flag) + 1 < len(words):
            return words[words.index(flag) + 1]
    return None


def _tables(query: str) -> list[str]:
    from sql.util import extract_tables_from_query  # jupysql's own parser (sqlglot)

    return extract_tables_from_query(query)


class SavedQueries:
    """The snippets a notebook saves, stored and composed as jupysql does."""

    def __init__(self) -> None:
        self.queries: dict[str, str] = {}
        self.depends: dict[str, list[str]] = {}

    def save(self, name: str, body: str) -> None:
        query = sqlparse.format(body, strip_comments=True)
        others = [k for k in self.queries if k != name]
        self.depends[name] = [t for t in _tables(query) if t in others] if others else []
        self.queries[name] = query

    def _closure(self, names: list[str]) -> list[str]:
        ordered = []
        for name in names:
            ordered += self._closure(self.depends.get(name, [])) + [name]
        return list(dict.fromkeys(ordered))

    def render(self, name: str) -> str:
        query = self.queries[name]
        deps = self._closure(self.depends.get(name, []))
        if not deps:
            return query.strip()
        ctes = ",".join(f" {d} AS ({_strip_semicolon(self.queries[d])})" for d in deps)
        return f"WITH{ctes}{query}"


def _strip_semicolon(query: str) -> str:
    stripped = query.rstrip()
    return stripped[:-1] if stripped.endswith(";") else query


def notebook_answers(notebook) -> tuple[SavedQueries, dict[str, str], dict[str, str]]:
    """(saved queries, project files by path, python answer cell sources by grade_id)."""
    saved, files, python = SavedQueries(), {}, {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        first, _, body = source.partition("\n")
        if first.startswith("%%sql"):
            name = _save_name(first)
            if name:
                saved.save(name, body)
        elif first.startswith("%%project_file"):
            files[first.split(maxsplit=1)[1].strip() if len(first.split()) > 1 else ""] = body
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and not first.startswith("%%"):
            python[meta.get("grade_id")] = source
    return saved, files, python


def query_answer(saved: SavedQueries, name: str) -> Answer:
    if name not in saved.queries:
        return Answer(problem=f"no saved query named {name!r} (keep the first line %%sql --save {name})")
    text = saved.render(name)
    if NO_ANSWER in text.lower():
        return Answer(problem=f"{NO_ANSWER}: the query {name!r} was not written")
    return Answer(text)


def file_answer(files: dict[str, str], path: str) -> Answer:
    if path not in files:
        return Answer(problem=f"no cell writes {path} (keep the first line %%project_file {path})")
    if NO_ANSWER in files[path].lower():
        return Answer(problem=f"{NO_ANSWER}: {path} was not written")
    return Answer(files[path])


def value_answer(python: dict[str, str], grade_id: str, variable: str) -> Answer:
    """The literal the answer cell assigns to ``variable``."""
    source = python.get(grade_id)
    if source is None:
        return Answer(problem=f"the answer cell {grade_id!r} is missing")
    if NO_ANSWER in source.lower():
        return Answer(problem=f"{NO_ANSWER}: {variable} was not assigned")
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return Answer(problem=f"the answer cell is not valid Python (line {exc.lineno}): {exc.msg}")
    values = [node.value for node in tree.body if isinstance(node, ast.Assign)
              and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets)]
    if not values:
        return Answer(problem=f"the answer cell does not assign {variable}")
    try:
        return Answer(ast.literal_eval(values[-1]))
    except ValueError:
        return Answer(problem=f"write {variable} as a plain value (a string, a set of names...), "
                              "not an expression the grader would have to run")
