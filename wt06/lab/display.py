"""How a notebook shows things: errors in one readable line, prose with computed numbers,
charts with the course's look.

SQL errors and the course's own errors are shown as one message (``SQLError: ...``,
``NoAnswerYet: ...``) instead of a traceback wall: a student needs the sentence, not
the stack.
"""

from __future__ import annotations

import duckdb

from wt06.errors import NoAnswerYet, SQLError
from wt06.settings import NO_ANSWER


def sql_message(exc: BaseException) -> str:
    """DuckDB's message without its error-class prefix noise."""
    text = str(exc)
    for prefix in ("Invalid Input Error: ",):
        text = text.replace(prefix, "")
    return text


def show_errors_briefly(shell) -> None:
    """Show SQL errors (also those jupysql wraps in a UsageError) as one line."""
    from IPython.core.error import UsageError

    def handler(shell, etype, value, tb, tb_offset=None):
        cause = value.__cause__ if isinstance(value, UsageError) else None
        error = cause if isinstance(cause, duckdb.Error) else value
        if isinstance(error, duckdb.Error):
            message = sql_message(error)
            kind = NoAnswerYet if NO_ANSWER in message else SQLError
            lines = [f"{kind.__name__}: {message}"]
            shell._showtraceback(kind, message, lines)
            return lines
        return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)

    shell.set_custom_exc((duckdb.Error, UsageError), handler)


def markdown(text: str) -> None:
    """Show prose whose numbers were computed in the cell (so they never drift)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def setup_plots(shell) -> None:
    import matplotlib

    shell.run_line_magic("matplotlib", "inline")
    matplotlib.rcParams.update({"figure.figsize": (9, 4), "figure.dpi": 100,
                                "axes.grid": True, "grid.alpha": 0.3,
                                "axes.spines.top": False, "axes.spines.right": False})
