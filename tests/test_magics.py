"""Placeholder lines left next to a real answer do not zero it; a cell of placeholders says so."""

from __future__ import annotations

import pytest

from wt06.lab.magics import drop_leftover_placeholders, without_placeholders
from wt06.settings import NO_ANSWER, PLACEHOLDERS


@pytest.mark.parametrize("language, answer", [
    ("python", 'scheduler_command = "dbt run"'),
    ("sql", "select 1 as answer"),
    ("yaml", "version: 2"),
])
def test_a_placeholder_next_to_an_answer_is_dropped(language, answer):
    for cell in (PLACEHOLDERS[language] + "\n" + answer, answer + "\n" + PLACEHOLDERS[language]):
        kept = without_placeholders(cell)
        assert kept is not None and kept.strip() == answer
        assert NO_ANSWER not in "".join(drop_leftover_placeholders(cell.splitlines(keepends=True)))


@pytest.mark.parametrize("language", ["python", "sql", "yaml"])
def test_a_cell_of_placeholders_only_is_still_no_answer(language):
    cell = "%%sql --save x\n" + PLACEHOLDERS[language] if language == "sql" else PLACEHOLDERS[language]
    assert without_placeholders(cell) is None
    lines = cell.splitlines(keepends=True)
    assert drop_leftover_placeholders(lines) == lines


def test_project_file_writes_the_answer_without_its_placeholder(tmp_path):
    from IPython.core.interactiveshell import InteractiveShell

    from wt06.errors import NoAnswerYet
    from wt06.lab.magics import register

    class FakeSession:
        project = tmp_path / "dbt_project"
        written: set = set()

    FakeSession.project.mkdir()
    shell = InteractiveShell.instance()
    try:
        register(shell, FakeSession)
        body = "-- YOUR ANSWER HERE\nselect error('no answer yet: write your query here')\nselect 1 as stale\n"
        shell.run_cell_magic("project_file", "tests/assert_marts_fresh.sql", body)
        assert (FakeSession.project / "tests/assert_marts_fresh.sql").read_text() == "select 1 as stale\n"
        with pytest.raises(NoAnswerYet):
            shell.run_cell_magic("project_file", "tests/x.sql", PLACEHOLDERS["sql"])
        result = shell.run_cell(PLACEHOLDERS["python"] + '\nanswer = "dbt run"')
        assert result.success and shell.user_ns["answer"] == "dbt run"
    finally:
        InteractiveShell.clear_instance()
