"""A checker job: run the hidden checks' tasks on the grading incidents, in a jail.

The worker sends one checker job per submission: the tasks that the check kinds built
from the submission's answers (kinds/), and the incidents to run them on (read-only
warehouses under the sandbox's incidents mount). Each task runs in this process, one
after another, each on fresh copies in the job's own tmpfs; a task that fails becomes
an error result for that question alone. Results are raw (rows, dbt outcomes): the
worker judges them against the reference results, outside the sandbox.
"""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path


def run_job(spec: dict, emit) -> None:
    from wt06_grading.kinds import KINDS
    from wt06_grading.kinds.base import RunIncident

    reset_counts()
    incidents = [RunIncident(**raw) for raw in spec["incidents"]]
    workspace = Path.cwd()
    for task in spec["tasks"]:
        started = time.monotonic()
        kind = KINDS[task["kind"]]
        wanted = [i for i in incidents if i.id in task["incidents"]]
        per_incident: dict[str, float] = {}
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                result = kind.run(task["task"], wanted, workspace, per_incident)
        except Exception as exc:  # noqa: BLE001 (one broken answer must not stop the others)
            result = {"checker_error": f"{type(exc).__name__}: {exc}"[:600]}
        emit({"event": "result", "question": task["question"], "result": result,
              "seconds": round(time.monotonic() - started, 3), "per_incident": per_incident})
    emit_counts(emit)


def reset_counts() -> None:
    """Count this job's dbt work only (a forked job inherits the zygote's counters)."""
    from wt06.pipeline import dbt_runner

    dbt_runner.INVOCATIONS["count"] = dbt_runner.PARSES["count"] = 0


def emit_counts(emit) -> None:
    """How much dbt work the job did (the worker adds it up per submission; make bench shows it)."""
    from wt06.pipeline import dbt_runner

    emit({"event": "counts", "invocations": dbt_runner.INVOCATIONS["count"], "parses": dbt_runner.PARSES["count"]})
