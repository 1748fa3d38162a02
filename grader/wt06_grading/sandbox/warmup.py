"""Warm dbt up once in the zygote, so checker jobs reuse its parse of the project.

dbt's first command on a project parses every file (about a second); it then keeps the
parse in ``target/partial_parse.msgpack`` and re-parses only files that changed. The
parse stays valid as long as the dbt version, the vars, the profile (the warehouse *path*
included) and dbt_project.yml are the same; the project's folder may move. So a checker
job does its dbt work in fixed *slots* (``<job>/slot-a``, ``slot-b``: the same paths in
every job), and a warm-up job parses the pristine project once per worker for each slot
(not the zygote itself: dbt opens DuckDB, whose threads would not survive its forks). The
worker hands the parses to every checker job, which starts from them: an unchanged
project is not parsed at all, a student's new or changed file is parsed alone, and if dbt
finds the parse unusable it parses in full, as it always would.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .jail import JOB_ROOT

SLOTS = ("a", "b")
PARSE_FILE = "partial_parse.msgpack"
_SEEDS: dict[str, bytes] = {}


def slot_folder(slot: str) -> Path:
    return Path(JOB_ROOT) / f"slot-{slot}"


def warm(project: str) -> dict[str, float]:
    """Parse ``project`` for every slot; keep the parse files in memory."""
    import time

    from wt06 import dbt_runner

    seconds = {}
    scratch = Path.cwd() / "warmup"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(project, scratch / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    for slot in SLOTS:
        started = time.monotonic()
        work = scratch / slot
        result = dbt_runner.invoke("dbt parse", as_of="2000-01-01 00:00:00",
                                   warehouse=slot_folder(slot) / "warehouse.duckdb",
                                   project=scratch / "dbt_project", work=work, record=False, quiet=True)
        dbt_runner.release()
        parsed = next(iter(sorted(work.rglob(PARSE_FILE))), None)
        if result.success and parsed is not None:
            _SEEDS[slot] = parsed.read_bytes()
        seconds[slot] = round(time.monotonic() - started, 3)
    shutil.rmtree(scratch, ignore_errors=True)
    return seconds


def seed(slot: str, target: Path) -> bool:
    """Put the zygote's parse for ``slot`` into dbt's ``target`` folder (False: none to give)."""
    data = _SEEDS.get(slot)
    if data is None:
        return False
    target.mkdir(parents=True, exist_ok=True)
    (target / PARSE_FILE).write_bytes(data)
    return True


def run_job(spec: dict, emit) -> None:
    """A warm-up job: parse the project for every slot and report the parse files."""
    import base64

    emit({"event": "warmed", "seconds": warm(spec["project"])})
    for slot, data in _SEEDS.items():
        emit({"event": "seed", "slot": slot, "data": base64.b64encode(data).decode()})


def load(seeds: dict[str, str]) -> None:
    """In a checker job: take the worker's parse files (from a warm-up job)."""
    import base64

    for slot, data in seeds.items():
        _SEEDS[slot] = base64.b64decode(data)
