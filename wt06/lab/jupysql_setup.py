"""Wire jupysql (``%%sql`` cells) to the notebook's own warehouse connection.

One plain DuckDB connection per kernel, handed to jupysql and shared with dbt running
in-process: DuckDB gives both the same database instance, so nobody meets its
one-writer lock (see DESIGN.md).
"""

from __future__ import annotations

from wt06.settings import telemetry_off

CONNECTION_NAME = "_wt06_connection"
SETTINGS = ("SqlMagic.displaylimit = 30", "SqlMagic.feedback = 0", "SqlMagic.displaycon = False")


def setup_jupysql(shell, con) -> None:
    telemetry_off()  # jupysql reports usage unless told not to, at import
    if "sql" not in shell.extension_manager.loaded:
        from unittest import mock

        # jupysql looks for settings in the nearest pyproject.toml, finds the course
        # package's (which has none for it) and prints a hint about the 'toml' package.
        with mock.patch("sql.util.find_path_from_root", return_value=None):
            shell.run_line_magic("load_ext", "sql")
    shell.user_ns[CONNECTION_NAME] = con
    shell.run_line_magic("sql", f"{CONNECTION_NAME} --alias warehouse")
    for setting in SETTINGS:
        shell.run_line_magic("config", setting)


def saved_query_text(name: str) -> str | None:
    """The SQL a ``%%sql --save <name>`` cell saved, with the saved queries it reads
    rendered as CTEs (None: no cell saved that name in this kernel)."""
    from sql.store import store

    if name not in list(store):  # jupysql's store raises UsageError for `in`
        return None
    return str(store[name])
