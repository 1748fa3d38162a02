"""Errors the course reports to people, in one or two sentences, without a traceback wall.

Every failure a student or an instructor can cause (a malformed CSV, a missing landing
file, a warehouse held by another process, a bad clock setting) is raised as a
``CourseError``. Command-line entry points print its message and exit non-zero; in a
Jupyter kernel IPython calls ``_render_traceback_`` and shows just the message.
"""

from __future__ import annotations


class CourseError(Exception):
    """A problem with a clear cause and a clear next step, stated in the message."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom error display
        return [f"{type(self).__name__}: {self}"]


class ClockError(CourseError):
    """The as-of clock setting cannot be read as a timestamp."""


class DataError(CourseError):
    """A raw data file is missing or malformed; the message names the file and line."""


class WarehouseBusy(CourseError):
    """Another process holds the DuckDB warehouse file (DuckDB allows one writer)."""


class WarehouseMissing(CourseError):
    """The incident warehouse has not been built yet."""


class BuildError(CourseError):
    """A step of the incident build failed; the previous warehouse was left untouched."""


class DbtCommandError(CourseError):
    """A dbt command string cannot be run (not a dbt command, unbalanced quotes...)."""


class NoAnswerYet(CourseError):
    """An answer cell has not been filled in yet."""


class SQLError(CourseError):
    """A query failed; shown as DuckDB's own message, without the Python traceback."""
