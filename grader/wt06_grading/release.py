"""Generate the student notebooks from the instructor sources with nbgrader.

``generate_assignment`` runs in a scratch copy of the course folder when releasing, so
it never touches the instructor's gradebook or leaves ``release/`` behind; the result is
copied to ``notebooks/``, where students find it. Committed student notebooks are this
command's output, byte for byte (a test regenerates and compares them). Grading calls
``generate`` on the course folder itself: that also registers the assignment's graded
cells in the course's gradebook.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import layout


def nbgrader(args: list[str], *, root: Path, db_url: str | None = None, cwd: Path = layout.GRADER, env=None,
             timeout=None) -> subprocess.CompletedProcess:
    """Run an nbgrader command with this course's config against the course folder ``root``."""
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}",
               f"--CourseDirectory.db_url={db_url or layout.gradebook_url(root)}"]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env or layout.tool_env(),
                          timeout=timeout)


def generate(root: Path, db_url: str | None = None) -> Path:
    """Generate the release of ``root/source/<assignment>`` into ``root/release/<assignment>``."""
    source = Path(root) / "source" / layout.ASSIGNMENT
    if not source.is_dir():
        shutil.copytree(layout.SOURCE, source)
    result = nbgrader(["generate_assignment", layout.ASSIGNMENT, "--force"], root=root, db_url=db_url)
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{result.stdout}\n{result.stderr}")
    return Path(root) / "release" / layout.ASSIGNMENT


def release(dest: Path = layout.RELEASE_NOTEBOOKS) -> list[Path]:
    """Regenerate the student notebooks into ``dest`` (replacing the notebooks there)."""
    with tempfile.TemporaryDirectory(prefix="wt06-release-") as tmp:
        generated = generate(Path(tmp), db_url=f"sqlite:///{tmp}/gradebook.db")
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.glob("*.ipynb"):
            old.unlink()
        return [Path(shutil.copy(notebook, dest / notebook.name)) for notebook in sorted(generated.glob("*.ipynb"))]
