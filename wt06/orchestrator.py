"""The scheduler's job, as the orchestrator keeps it: its definition and change history.

The orchestrator stores every saved revision of the scheduled dbt job in the warehouse
(``raw.raw_job_revisions``: who, when, why, and the whole definition after the change).
``job_at`` reads the definition in effect at a moment. ``check_production_job`` is the
guard the incident calls for: it refuses a production job whose command leaves models
out, which is exactly what the broken revision did (dbt exits 0 for a partial run, so
nothing downstream can tell). The course's tests and notebook 05 use it; an orchestrator
would run it before saving a revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from . import dbt_runner
from .errors import DbtCommandError
from .tables import JOB_HISTORY

BUILDING = ("run", "build")
# Flags that change *which* nodes run; anything else (threads, target, vars...) does not.
_SELECTION_FLAGS = ("--select", "-s", "--models", "-m", "--exclude", "--selector", "--resource-type",
                    "--resource-types", "--exclude-resource-type", "--exclude-resource-types")


def job_at(con: duckdb.DuckDBPyConnection, moment: datetime) -> dict | None:
    """The scheduled job's definition in effect at ``moment`` (its latest revision by then)."""
    cursor = con.execute(f"select * from {JOB_HISTORY} where changed_at <= ? "
                         "order by changed_at desc limit 1", [moment])
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row))


@dataclass
class JobCheck:
    command: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        verdict = "accepted" if self.ok else "REFUSED"
        return f"{self.command!r}: {verdict}" + ("" if self.ok else ": " + "; ".join(self.problems))


def _selection_args(args: list[str]) -> list[str]:
    """The words of a parsed command that choose nodes (flags with their values)."""
    kept, taking = [], False
    for word in args[1:]:
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            taking = name in _SELECTION_FLAGS and "=" not in word
            if name in _SELECTION_FLAGS:
                kept.append(word)
            continue
        if taking:
            kept.append(word)
    return kept


def check_production_job(command: str, *, warehouse: Path, project: Path, work: Path) -> JobCheck:
    """Accept a production job command only if it builds every model of the project.

    The command's own selection is listed with ``dbt ls`` (nothing is built) and compared
    with the project's models; a command that is not a ``dbt run``/``dbt build``, or that
    leaves any model out, is refused with the reason.
    """
    try:
        args = dbt_runner.parse_command(command)
    except DbtCommandError as exc:
        return JobCheck(command, False, [str(exc)])
    if args[0] not in BUILDING:
        return JobCheck(command, False, [f"'dbt {args[0]}' builds no model: a production job "
                                         "must run dbt run or dbt build"])

    def listed(selection: list[str]) -> list[str]:
        result = dbt_runner.invoke(["dbt", "ls", "--resource-type", "model", "--output", "name",
                                    *selection], warehouse=warehouse, project=project, work=work,
                                   record=False)
        if not result.success:
            raise DbtCommandError(f"dbt could not list the selection of {command!r}: {result.error}")
        return sorted(result.listed)

    everything = listed([])
    try:
        chosen = listed([w for w in _selection_args(args) if not w.startswith("--resource-type")])
    except DbtCommandError as exc:
        return JobCheck(command, False, [str(exc)])
    left_out = sorted(set(everything) - set(chosen))
    if left_out:
        return JobCheck(command, False, [f"it leaves {len(left_out)} of {len(everything)} models out: "
                                         f"{', '.join(left_out)}"], chosen, left_out)
    return JobCheck(command, True, [], chosen, [])
