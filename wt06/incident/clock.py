"""The story's clock: one as-of timestamp that every freshness computation reads.

The incident happens in February 2024; a check against the machine's date would call
everything "1000 days stale". So nothing in the course reads the machine's date. The
as-of timestamp comes from, in order: an explicit argument, the ``WT06_AS_OF``
environment variable, or the scenario's own "now" (the morning the CEO looks: Monday
2024-02-12 09:00 in the canonical scenario). dbt reads the same value through the
``duckdb__current_timestamp`` override in the project's macros, which the dbt runner
feeds from this module.
"""

from __future__ import annotations

import os
from datetime import date, datetime

from wt06.errors import ClockError
from wt06.foundation.tables import TIMESTAMP_FORMAT
from wt06.incident.scenario import load_scenario
from wt06.settings import ENV_AS_OF

_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


def parse(value: str | datetime | date, *, source: str = "as-of") -> datetime:
    """Read a timestamp given as text ('2024-02-12 09:00') or as a date/datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).strip()
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ClockError(
        f"{source} value {text!r} is not a timestamp: "
        "write it as 'YYYY-MM-DD HH:MM', for example '2024-02-12 09:00'."
    )


def as_of(override: str | datetime | date | None = None, *, data_dir=None) -> datetime:
    """The moment every check is evaluated at (argument > WT06_AS_OF > scenario's now).

    ``data_dir`` names the scenario whose "now" is the default (the course's by default).
    """
    if override is not None:
        return parse(override)
    env = os.environ.get(ENV_AS_OF)
    if env:
        return parse(env, source=ENV_AS_OF)
    return load_scenario(data_dir).story_now  # the scenario knows its story's "now"


def sql_literal(moment: datetime) -> str:
    """A DuckDB timestamp literal for ``moment``."""
    return f"TIMESTAMP '{format_ts(moment)}'"


def format_ts(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP_FORMAT)


def describe(moment: datetime) -> str:
    """'Mon 2024-02-12 09:00': how notebooks and messages show a moment."""
    return moment.strftime("%a %Y-%m-%d %H:%M")
