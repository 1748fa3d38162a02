"""Write the student-only copy of the course: the public repository that Binder launches.

The instructor repository holds solutions, hidden tests and grading code; students must
get none of them. So the export copies an allowlist (the student notebooks, the
incident's inputs, the dbt project without its answer-bearing runbooks, the course
package, the build files) rather than deleting known instructor files from a full copy,
which would leak whatever is added next. The student Makefile, .gitignore and README are
generated from the main ones, so their commands and the Binder badge cannot drift apart.

A marker file makes a folder recognisable as a previous export: exporting again into it
(say, a clone of the public repository) replaces exactly the entries the marker lists and
keeps everything else, such as ``.git``. Any other non-empty folder is refused.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from wt06.errors import CourseError
from wt06.incident import clock
from wt06.incident.scenario import load_scenario
from wt06_grading.foundation import markers
from wt06_grading.foundation.layout import REPO

MARKER = ".wt06-student-export"
COPIED = ("pyproject.toml", "requirements.txt", "environment.yml", "postBuild", "start")
GENERATED = (".gitignore", "README.md", "Makefile", MARKER)
ENTRIES = ("notebooks", "data", "dbt_project", "wt06", *COPIED, *GENERATED)

# Rules of the main Makefile the student Makefile keeps, recipes unchanged.
STUDENT_RULES = ("help", "setup", "$(STAMP)", "$(WAREHOUSE)", "warehouse", "reset", "lab")
STUDENT_README = Path(__file__).with_name("student_README.md")
# The Binder badge lives in one place, the main README; this is its placeholder repository.
BADGE_PLACEHOLDER = "YOUR-GITHUB-USER/YOUR-STUDENT-REPO"
LEAK_MARKERS = markers.ALL


class ExportRefused(CourseError):
    """The destination cannot take an export; nothing was written."""


BADGE = re.compile(r"\[!\[[^\]]*\]\([^)]*\)\]\((https://mybinder\.org/v2/[^)\s]+)\)")


def binder_badge(readme: Path | None = None) -> str:
    """The Binder badge of the main README (Markdown), which the student README repeats."""
    readme = readme or REPO / "README.md"
    found = BADGE.search(readme.read_text())
    if not found:
        raise ExportRefused(f"{readme} has no Binder badge (a link to https://mybinder.org/v2/...); "
                            "add one near the top.")
    return found.group(0)


def binder_url(readme: Path | None = None) -> str:
    """The URL the Binder badge opens."""
    return BADGE.fullmatch(binder_badge(readme)).group(1)


def student_makefile(main: str) -> str:
    """The main Makefile with only the students' rules (and every variable) kept.

    The Makefile is read as blocks separated by blank lines; a block whose first
    non-comment line is a rule is kept only if it is one of STUDENT_RULES.
    """
    blocks = main.strip("\n").split("\n\n")
    header = ("# The course's commands: `make lab` sets everything up, builds the incident warehouse\n"
              "# and opens JupyterLab on notebook 1. Generated from the course's main Makefile.")
    kept, found = [header], set()
    for block in blocks[1:] if blocks[0].startswith("#") else blocks:
        code = [line for line in block.splitlines() if not line.startswith("#")]
        rule = re.match(r"([^\s:#=]+)\s*:(?!=)", code[0]) if code else None
        if rule and rule.group(1) == ".PHONY":
            phony = [t for t in code[0].split(":", 1)[1].split() if t in STUDENT_RULES]
            kept.append(".PHONY: " + " ".join(phony))
        elif rule is None:  # variables and exports
            kept.append(block)
        elif rule.group(1) in STUDENT_RULES:
            found.add(rule.group(1))
            kept.append(block)
    missing = [r for r in STUDENT_RULES if r not in found]
    if missing:
        raise ExportRefused(f"the main Makefile has no rule for {', '.join(missing)}, "
                            "which the student Makefile needs.")
    return "\n\n".join(kept) + "\n"


def student_gitignore(main: str) -> str:
    """The main .gitignore without the lines about grader/, which students do not have."""
    return "\n".join(line for line in main.splitlines() if "grader" not in line) + "\n"


def student_readme() -> str:
    now = load_scenario(REPO / "data").story_now
    return (STUDENT_README.read_text()
            .replace("{{binder_badge}}", binder_badge())
            .replace("{{now}}", clock.describe(now)))


def _previous_entries(dest: Path) -> list[str]:
    """The entries a previous export wrote into ``dest`` (empty for a new or empty folder).

    Raises ExportRefused when ``dest`` must not be written: inside this repository, a
    file, or a non-empty folder that is not a previous export.
    """
    repo = REPO.resolve()
    if dest == repo or repo in dest.parents:
        raise ExportRefused(f"{dest} is inside the course repository; export to a folder outside it.")
    if dest.exists() and not dest.is_dir():
        raise ExportRefused(f"{dest} is a file, not a folder; export to a new or empty folder.")
    if not dest.exists() or not any(dest.iterdir()):
        return []
    marker = dest / MARKER
    if not marker.is_file():
        raise ExportRefused(f"{dest} is not empty and is not a previous student export; "
                            "export to a new or empty folder.")
    listed = {line.strip() for line in marker.read_text().splitlines()}
    previous = [name for name in ENTRIES if name in listed]  # never anything we do not write
    for name in ENTRIES:
        if name not in previous and ((dest / name).exists() or (dest / name).is_symlink()):
            raise ExportRefused(f"{dest / name} was not written by a previous export; "
                                "move it out of the way first.")
    return previous


def _write_tree(root: Path) -> None:
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    if not notebooks:
        raise ExportRefused(f"{REPO / 'notebooks'} holds no notebooks; run make release first.")
    (root / "notebooks").mkdir()
    for notebook in notebooks:
        shutil.copy2(notebook, root / "notebooks" / notebook.name)
    for folder in ("raw", "landing", "incidents"):  # incidents/: the practice incident and drills
        shutil.copytree(REPO / "data" / folder, root / "data" / folder,
                        ignore=shutil.ignore_patterns("*.duckdb*", "work"))
    shutil.copy2(REPO / "data" / "scenario.json", root / "data" / "scenario.json")
    shutil.copytree(REPO / "dbt_project", root / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs", ".user.yml", "__pycache__"))
    shutil.copytree(REPO / "wt06", root / "wt06", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in COPIED:
        shutil.copy2(REPO / name, root / name)
    (root / ".gitignore").write_text(student_gitignore((REPO / ".gitignore").read_text()))
    (root / "Makefile").write_text(student_makefile((REPO / "Makefile").read_text()))
    (root / "README.md").write_text(student_readme())
    (root / MARKER).write_text(
        "Written by the WT-06 course's student export (`make export` in the course repository).\n"
        "Exporting again into this folder replaces these entries and keeps everything else:\n"
        + "".join(f"{name}\n" for name in ENTRIES))


def _refuse_leaks(root: Path) -> None:
    """A last look for solution or hidden-test markers (say, a source notebook in notebooks/)."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            text = path.read_text(errors="replace")
            for marker in LEAK_MARKERS:
                if marker in text:
                    raise ExportRefused(f"{path.relative_to(root)} contains {marker!r}; "
                                        "nothing was exported.")


def export(dest: Path) -> Path:
    """Write the student-only tree into ``dest`` and return its absolute path.

    The tree is written into a scratch folder beside ``dest`` first and moved into place
    only when complete, so a failure while writing leaves ``dest`` as it was.
    """
    dest = Path(dest).expanduser().resolve()
    previous = _previous_entries(dest)  # refuses before anything is written
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.export-", dir=dest.parent))
    try:
        _write_tree(staging)
        _refuse_leaks(staging)
        dest.mkdir(exist_ok=True)
        for name in previous:
            old = dest / name
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old)
            else:
                old.unlink(missing_ok=True)
        for entry in sorted(staging.iterdir()):
            shutil.move(entry, dest / entry.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def placeholder_note() -> str | None:
    """A reminder when the Binder badge still points at the placeholder repository."""
    if BADGE_PLACEHOLDER in binder_badge():
        return (f"note: the Binder badge still points at {BADGE_PLACEHOLDER}; replace it in "
                f"{REPO / 'README.md'} with the public repository's owner/name and export again.")
    return None
