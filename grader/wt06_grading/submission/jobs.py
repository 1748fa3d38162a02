"""The worker's client for sandboxed jobs: one recipe for a job's spec, environment and events.

Every stage that runs something in the sandbox (executing a notebook, re-running it on
another incident for an answer, the hidden checks) asks ``JobClient.run`` for a job of a
kind, with what the job may see. The client builds the jail settings (limits, the paths
hidden from the job), the job's whole environment (nothing of the instructor's) and the
scratch folder of an unsandboxed job, runs it in the worker's zygote, and decodes the
JSON events the job wrote. Those are untrusted data: anything that is not a JSON object
on a line of its own is skipped, never interpreted.

**What a job sees.** The course's canonical incident (read-only), and of the grading
incidents' *views* only the ones named in ``sees``: a view is a folder holding the
incident's warehouse and nothing else (no scenario, seed, CSVs or record of what
happened: those stay with the worker, see worker.py).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wt06_grading.sandbox import bwrap
from wt06_grading.sandbox.jail import JOB_ROOT

NO_DATA = "no-data"  # a job's empty data folder: a grading incident comes without its inputs


def job_events(output: bytes) -> Iterator[dict]:
    """The JSON events a sandboxed job wrote, one per line (anything else it printed is skipped:
    the output is untrusted data, never code)."""
    for line in output.decode(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


@dataclass
class JobOutcome:
    """What a job did: how it ended (the zygote's outcome) and the events it wrote."""

    outcome: dict
    events: list[dict] = field(default_factory=list)
    lost: bool = False  # the job stopped the zygote itself (the worker starts a new one)

    @property
    def clean(self) -> bool:
        """Ended by itself, within its limits: its results are what the code did (memoisable)."""
        return not self.lost and not any(self.outcome.get(k) for k in ("timed_out", "stalled", "truncated")) \
            and self.outcome.get("status") == 0


class JobClient:
    """Runs the worker's jobs in its zygote (see the module docstring)."""

    def __init__(self, zygote: bwrap.Zygote, *, sandbox: bool, scratch: Path, limits: bwrap.Limits,
                 course: Path, views: Path) -> None:
        self.zygote, self.sandbox, self.scratch, self.limits = zygote, sandbox, Path(scratch), limits
        self._course, self._views = Path(course), Path(views)
        self._count = 0

    # ----- where things are, as a job sees them -----------------------------------------
    @property
    def course(self) -> str:
        return bwrap.COURSE_MOUNT if self.sandbox else str(self._course)

    @property
    def views(self) -> str:
        return bwrap.INCIDENTS_MOUNT if self.sandbox else str(self._views)

    def view(self, incident_id: str) -> str:
        """An incident's view folder (its warehouse only) as a job sees it."""
        return f"{self.views}/{incident_id}"

    def environment(self, root: str, extra: dict | None = None) -> dict:
        """A job's whole environment: the course's locations, the job's own scratch, nothing else."""
        course = self.course
        return {
            "PATH": bwrap.zygote_env()["PATH"], "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "HOME": f"{root}/home", "IPYTHONDIR": f"{root}/ipython", "MPLCONFIGDIR": f"{root}/mpl",
            "TMPDIR": f"{root}/tmp", "WT06_WAREHOUSE": f"{course}/warehouse.duckdb",
            "WT06_PROJECT_DIR": f"{course}/dbt_project", "WT06_DATA_DIR": f"{course}/data",
            "WT06_INCIDENTS_DIR": f"{course}/data/incidents",
            "WT06_WORK_DIR": f"{root}/work", "NBGRADER_EXECUTION": "autograde", "DO_NOT_TRACK": "1",
            "PLOOMBER_STATS_ENABLED": "false", "PLOOMBER_VERSION_CHECK_DISABLED": "true",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "agg", **(extra or {}),
        }

    def root(self) -> str:
        """The job's scratch root as it will see it (fixed in the jail, a fresh folder without)."""
        if self.sandbox:
            return JOB_ROOT
        self._count += 1
        return str(self.scratch / "jobs" / f"{os.getpid()}-{self._count}")

    # ----- running ------------------------------------------------------------------------
    def run(self, kind: str, body: dict, *, root: str, sees: Sequence[str] = (), deadline: float,
            idle: float | None = None, env: dict | None = None) -> JobOutcome:
        """Run one job of ``kind`` (zygote.JOB_KINDS) with ``body`` in its spec.

        ``sees``: the grading incidents (ids) whose views the job may read; the others are
        hidden. Raises bwrap.SandboxError when the sandbox cannot start at all.
        """
        spec = dict(body)
        spec["env"] = self.environment(root, env)
        if self.sandbox:
            if not sees:  # not even the views' names
                hidden = [bwrap.INCIDENTS_MOUNT]
            else:
                hidden = [f"{bwrap.INCIDENTS_MOUNT}/{p.name}" for p in sorted(self._views.iterdir())
                          if p.name not in sees] if self._views.is_dir() else []
            spec["jail"] = {"hide": hidden, "job_bytes": self.limits.job_bytes,
                            "memory_bytes": self.limits.job_memory_bytes, "file_bytes": self.limits.job_file_bytes,
                            "processes": None if os.getuid() == 0 else self.limits.job_processes}
        else:
            spec["jail"] = None
            spec["workdir"] = root
        try:
            outcome, output = self.zygote.run(kind, spec, deadline=deadline, idle=idle)
        except bwrap.SandboxLost:
            return JobOutcome({"status": None, "lost": True}, [], lost=True)
        finally:
            if not self.sandbox:
                shutil.rmtree(root, ignore_errors=True)
        return JobOutcome(outcome, list(job_events(output)))
