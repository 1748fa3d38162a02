"""Generate the student notebooks from the instructor sources with nbgrader.

``generate_assignment`` runs in a scratch copy of the course folder when releasing, so
it never touches the instructor's gradebook or leaves ``release/`` behind; the result is
copied to ``notebooks/``, where students find it. Committed student notebooks are this
command's output, byte for byte (a test regenerates and compares them). Grading calls
``generate`` on the course folder itself: that also registers the assignment's graded
cells in the course's gradebook.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from wt06_grading.foundation import layout
from wt06_grading.records.gradebook import open_gradebook


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


def release_digest(source: Path) -> str:
    """What shapes the release: the instructor notebooks, the course's nbgrader settings, nbgrader."""
    import nbgrader

    digest = hashlib.sha256(nbgrader.__version__.encode())
    for path in [*sorted(Path(source).glob("*.ipynb")), layout.GRADER / "nbgrader_config.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def _registered(root: Path, db_url: str | None, release: Path) -> bool:
    """Whether the gradebook already knows this release: its notebooks and graded cells."""
    import nbformat

    try:
        with open_gradebook(db_url or layout.gradebook_url(root)) as gb:
            assignment = gb.find_assignment(layout.ASSIGNMENT)
            known = {(nb.name, cell.name) for nb in assignment.notebooks for cell in nb.grade_cells}
            known_notebooks = {nb.name for nb in assignment.notebooks}
    except Exception:  # noqa: BLE001 (no such assignment, a new database: register it)
        return False
    wanted, notebooks = set(), set()
    for path in sorted(release.glob("*.ipynb")):
        notebooks.add(path.stem)
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade"):
                wanted.add((path.stem, meta["grade_id"]))
    return wanted == known and notebooks == known_notebooks


def generate_cached(root: Path, cache: Path, db_url: str | None = None) -> Path:
    """``generate``, skipped when this release was generated before and the gradebook knows it.

    nbgrader's generate_assignment (a subprocess, seconds) runs once per instructor-notebook
    contents; later ``make grade`` runs copy the kept release into ``root/release/`` (where
    formgrader reads it) after checking that the gradebook holds its notebooks and cells.
    """
    source = Path(root) / "source" / layout.ASSIGNMENT
    if not source.is_dir():
        shutil.copytree(layout.SOURCE, source)
    kept = Path(cache) / "release" / release_digest(source)
    target = Path(root) / "release" / layout.ASSIGNMENT
    if kept.is_dir() and _registered(root, db_url, kept):
        target.mkdir(parents=True, exist_ok=True)
        for path in sorted(kept.glob("*.ipynb")):
            if not (target / path.name).is_file() or (target / path.name).read_bytes() != path.read_bytes():
                shutil.copy(path, target / path.name)
        return target
    released = generate(root, db_url)
    kept.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=kept.parent, prefix=".release-"))
    for path in sorted(released.glob("*.ipynb")):
        shutil.copy(path, tmp / path.name)
    shutil.rmtree(kept, ignore_errors=True)
    try:
        tmp.rename(kept)
    except OSError:  # another process kept the same release meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return released


def release(dest: Path = layout.RELEASE_NOTEBOOKS) -> list[Path]:
    """Regenerate the student notebooks into ``dest`` (replacing the notebooks there)."""
    with tempfile.TemporaryDirectory(prefix="wt06-release-") as tmp:
        generated = generate(Path(tmp), db_url=f"sqlite:///{tmp}/gradebook.db")
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.glob("*.ipynb"):
            old.unlink()
        return [Path(shutil.copy(notebook, dest / notebook.name)) for notebook in sorted(generated.glob("*.ipynb"))]
