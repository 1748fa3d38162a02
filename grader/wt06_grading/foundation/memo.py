"""Identical work done once: results kept by the digest of everything that shaped them.

Checking is behavioural and therefore costly (DESIGN.md): a notebook is executed, an
answer re-run on incidents, dbt replayed over states. The same notebook (the same code
cells) in the same course, or the same answer checked on the same incidents, gives the
same result, so the worker keeps each result under a digest of its inputs: the course's
digest (release, project, data, incidents, settings that shape results, and the grading
code), the kind of work, and the work's own inputs (the cells, the task). A resubmitted
notebook, or a second student with the same query, costs a file read.

What is kept is only what finished by itself within its limits (a notebook stopped by
a time limit on a loaded machine is run again next time). Entries are JSON files in a
folder the workers of one machine share (written atomically), never mounted in the
sandbox. ``make grade FORCE=1`` recomputes everything (and refreshes the entries).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path


def digest(*parts) -> str:
    """A digest of JSON-able parts (order matters, dict keys do not)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


class Memo:
    """A folder of results by digest; ``None`` folder: remembers nothing."""

    def __init__(self, folder: Path | None, *, read: bool = True) -> None:
        self.folder = Path(folder) if folder else None
        self.read = read  # False: compute everything again (and keep the new results)
        self.hits = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        if self.folder is None or not self.read:
            return None
        try:
            value = json.loads(self._path(key).read_text())
        except (OSError, ValueError):
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: dict) -> None:
        if self.folder is None:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(value, handle, separators=(",", ":"), default=str)
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
