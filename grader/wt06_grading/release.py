"""Generate the student notebooks from the instructor sources with nbgrader.

``generate_assignment`` runs in a scratch copy of the course folder, so generating
never touches the instructor's gradebook or leaves ``release/`` behind; the result is
copied to ``notebooks/``, where students find it. Committed student notebooks are this
command's output, byte for byte (a test regenerates and compares them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

GRADER = Path(__file__).resolve().parent.parent
REPO = GRADER.parent
ASSIGNMENT = "wt06"
SOURCE = GRADER / "source" / ASSIGNMENT


def tool_env(extra: dict | None = None) -> dict:
    """The environment for nbgrader subprocesses: this Python's bin folder first on PATH.

    nbgrader runs helper programs (``alembic``) by name; with an unactivated virtual
    environment they are only found through PATH.
    """
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def nbgrader(args: list[str], *, root: Path, db: Path | str | None = None, cwd: Path = GRADER, env=None,
             timeout=None) -> subprocess.CompletedProcess:
    """Run an nbgrader command with this course's config against the course folder ``root``.

    ``db`` is a SQLite file or a database URL (``postgresql+psycopg://...``).
    """
    env = env or tool_env()
    url = db if isinstance(db, str) and "://" in db else f"sqlite:///{db or root / 'gradebook.db'}"
    command = [sys.executable, "-m", "nbgrader", *args,
               f"--CourseDirectory.root={root}", f"--CourseDirectory.db_url={url}"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout)


def generate(root: Path, db: Path | str | None = None) -> Path:
    """Generate the release of ``root/source/wt06`` into ``root/release/wt06``.

    Also registers the assignment in the gradebook ``db`` (default ``root/gradebook.db``).
    """
    result = nbgrader(["generate_assignment", ASSIGNMENT, "--force"], root=root, db=db)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stdout}\n{result.stderr}")
    return root / "release" / ASSIGNMENT


def scratch_course(folder: Path) -> Path:
    """A course folder in ``folder`` holding a copy of the instructor sources."""
    shutil.copytree(SOURCE, folder / "source" / ASSIGNMENT)
    return folder


def release(dest: Path = REPO / "notebooks") -> list[Path]:
    """Regenerate the student notebooks into ``dest`` (replacing the notebooks there)."""
    with tempfile.TemporaryDirectory(prefix="wt06-release-") as tmp:
        generated = generate(scratch_course(Path(tmp)))
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.glob("*.ipynb"):
            old.unlink()
        written = []
        for notebook in sorted(generated.glob("*.ipynb")):
            written.append(Path(shutil.copy(notebook, dest / notebook.name)))
    return written
