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

from wt06.errors import DbtCommandError
from wt06.foundation.tables import JOB_HISTORY
from wt06.pipeline import dbt_runner

BUILDING = ("run", "build")
# Flags that change *which* nodes run.
_SELECTION_FLAGS = ("--select", "-s", "--models", "-m", "--exclude", "--selector", "--resource-type",
                    "--resource-types", "--exclude-resource-type", "--exclude-resource-types")
# Flags that change neither which models are built nor what they are built from.
_HARMLESS_SWITCHES = ("--full-refresh", "--fail-fast", "-x")
_HARMLESS_WITH_VALUE = ("--threads",)
# Why the other flags a production job might carry are refused (any flag not listed here
# or above is refused too: a production job takes node selection, and nothing else).
_REFUSED_FLAGS = {
    "--empty": "it builds every model with no rows (a schema dry run): the dashboard would show nothing",
    "--vars": "it changes what the models compute; production uses the project's own variables",
    "--target": "it points the job at another warehouse than production's",
    "-t": "it points the job at another warehouse than production's",
    "--defer": "it reads models from another environment's state instead of building them",
    "--state": "it compares with another environment's state",
    "--favor-state": "it reads models from another environment's state instead of building them",
    "--profiles-dir": "it reads another profile than production's",
    "--project-dir": "it runs another project than production's",
    "--profile": "it reads another profile than production's",
}


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


def flag_problems(args: list[str]) -> list[str]:
    """Why the flags of a parsed ``dbt run``/``build`` have no place in a production job
    (empty: only node selection and harmless switches)."""
    problems = []
    flag, values = None, []

    def close() -> None:
        if flag is None:
            return
        if (flag in _SELECTION_FLAGS or flag in _HARMLESS_WITH_VALUE) and not values:
            problems.append(f"{flag} needs a value")
        if flag == "--threads" and values and not (len(values) == 1 and values[0].isdigit() and int(values[0]) > 0):
            problems.append("--threads takes one positive whole number")
        if flag in _HARMLESS_SWITCHES and values:
            problems.append(f"{' '.join(values)!r} after {flag} is not a flag: quote a selector with spaces")

    for word in args[1:]:
        if not word.startswith("-"):
            if flag is None:
                problems.append(f"{word!r} is not a flag: quote a selector with spaces")
            else:
                values.append(word)
            continue
        close()
        flag, _, value = word.partition("=")
        values = [value] if value else []
        if flag in _SELECTION_FLAGS or flag in _HARMLESS_WITH_VALUE or flag in _HARMLESS_SWITCHES:
            continue
        why = _REFUSED_FLAGS.get(flag, "a production job's command takes node selection only "
                                       "(--select, --exclude, --selector)")
        problems.append(f"{flag} has no place in a production job: {why}")
        flag = "(refused)"  # its values are part of the refused flag
    close()
    return problems


def check_production_job(command: str, *, warehouse: Path, project: Path, work: Path) -> JobCheck:
    """Accept a production job command only if it builds every model of the project, and
    carries nothing but node selection (and harmless switches such as ``--threads``).

    The command's own selection is listed with ``dbt ls`` (nothing is built) and compared
    with the project's models; a command that is not a ``dbt run``/``dbt build``, that
    carries a flag that changes what or how it builds (``--empty``, ``--vars``,
    ``--target``, ``--defer``...), or that leaves any model out, is refused with the reason.
    """
    try:
        args = dbt_runner.parse_command(command)
    except DbtCommandError as exc:
        return JobCheck(command, False, [str(exc)])
    if args[0] not in BUILDING:
        return JobCheck(command, False, [f"'dbt {args[0]}' builds no model: a production job "
                                         "must run dbt run or dbt build"])
    problems = flag_problems(args)
    if problems:
        return JobCheck(command, False, problems)

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
