"""The course's cell magic and input clean-up.

* ``%%project_file <path>``: ``%%writefile`` into this notebook's copy of the dbt
  project. The path is relative to the project, so the cell works in every working copy
  (and in grading, on a per-submission copy). YAML is checked before anything is written.
* Placeholder lines left in an answer cell (``# YOUR CODE HERE``, the stub's ``raise``,
  ``select error('no answer yet ...')``) are dropped before the cell runs when the cell
  holds an answer besides them, so a correct answer typed next to its placeholder counts.
  A cell that holds nothing but its placeholder still says "no answer yet".
"""

from __future__ import annotations

from wt06.errors import DataError, NoAnswerYet
from wt06.settings import NO_ANSWER, is_placeholder_line

_COMMENTS = ("#", "--")


def _has_content(lines: list[str]) -> bool:
    """Any line that is not blank, not a comment and not the cell's magic line."""
    for line in lines:
        text = line.strip()
        if text and not text.startswith(_COMMENTS) and not text.startswith("%%"):
            return True
    return False


def without_placeholders(text: str) -> str | None:
    """``text`` without placeholder lines, or None if nothing but placeholders is left."""
    lines = text.split("\n")
    kept = [line for line in lines if not is_placeholder_line(line)]
    if not _has_content(kept):
        return None
    return "\n".join(kept)


def drop_leftover_placeholders(lines: list[str]) -> list[str]:
    """IPython input transformer: drop placeholder lines next to a real answer."""
    if not any(is_placeholder_line(line) for line in lines):
        return lines
    kept = [line for line in lines if not is_placeholder_line(line)]
    return kept if _has_content(kept) else lines


def register(shell, session) -> None:
    """Register ``%%project_file`` for ``session`` and the placeholder clean-up."""
    import yaml

    def project_file(line: str, cell: str) -> None:
        relative = line.strip()
        target = (session.project / relative).resolve()
        if not relative or session.project.resolve() not in target.parents:
            raise DataError("write %%project_file followed by a path inside the dbt project, "
                            "e.g. %%project_file tests/assert_marts_fresh.sql")
        content = without_placeholders(cell)
        if content is None:
            raise NoAnswerYet(f"{NO_ANSWER}: write the content of {relative} in this cell.")
        if target.suffix in (".yml", ".yaml"):
            try:
                yaml.safe_load(content)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f" (line {mark.line + 2} of the cell)" if mark else ""
                raise DataError(f"{relative} is not valid YAML{where}: "
                                f"{getattr(exc, 'problem', exc)}. Nothing was written.") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content.strip("\n") + "\n")
        session.written.add(relative)
        print(f"Wrote {relative} in this notebook's copy of the dbt project.")

    shell.register_magic_function(project_file, magic_kind="cell", magic_name="project_file")
    cleanup = shell.input_transformers_cleanup
    if drop_leftover_placeholders not in cleanup:
        cleanup.insert(0, drop_leftover_placeholders)
