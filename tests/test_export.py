"""The student export: exactly what students need, nothing of the grader, safe to repeat."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOK_NAMES = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
TOP_LEVEL = sorted(["notebooks", "data", "dbt_project", "wt06", "pyproject.toml", "requirements.txt",
                    "environment.yml", "postBuild", "start", ".gitignore", "README.md", "Makefile",
                    ".wt06-student-export"])
GRADER_THINGS = ("wt06_grading", "nbgrader_config.py", "gradebook")
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """One export, read but never changed by the tests that use it."""
    from wt06_grading.definition.export import export

    return export(tmp_path_factory.mktemp("student") / "wt06-student")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file's content and executable bit, by path relative to ``root``."""
    return {str(p.relative_to(root)): (p.read_bytes(), os.access(p, os.X_OK)) for p in _files(root)}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in folder.rglob("*")}


def _export_command(dest: Path) -> subprocess.CompletedProcess:
    """``python -m wt06_grading export DEST`` as the Makefile runs it (from grader/)."""
    return subprocess.run([sys.executable, "-m", "wt06_grading", "export", str(dest)],
                          cwd=REPO / "grader", capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_the_export_holds_exactly_the_student_entries(exported):
    assert sorted(p.name for p in exported.iterdir()) == TOP_LEVEL
    assert sorted(p.name for p in (exported / "notebooks").iterdir()) == NOTEBOOK_NAMES
    assert len(NOTEBOOK_NAMES) == 6
    assert sorted(p.name for p in (exported / "data").iterdir()) == ["incidents", "landing", "raw", "scenario.json"]
    from wt06 import incidents

    for name in incidents.PUBLIC:  # the practice incident and the drills, with their expected results
        assert (exported / "data" / "incidents" / name / "scenario.json").is_file()
        assert (exported / "data" / "incidents" / name / "expected.json").is_file()
    assert (exported / "dbt_project" / "dbt_project.yml").is_file()
    assert (exported / "wt06" / "notebook.py").is_file()
    built = {"__pycache__", "target", "logs", "work", ".ipynb_checkpoints", "warehouse.duckdb"}
    assert not [p for p in exported.rglob("*") if p.name in built or p.suffix == ".pyc"]
    for script in ("postBuild", "start"):
        assert os.access(exported / script, os.X_OK), f"{script} lost its executable bit"


def test_no_file_holds_a_solution_a_hidden_test_or_anything_of_the_grader(exported):
    from wt06_grading.definition.reference import solution_only_lines

    solution_lines = solution_only_lines()
    assert len(solution_lines) > 30
    leaks = set()
    for path in _files(exported):
        relative = path.relative_to(exported)
        assert relative.parts[0] not in {"grader", "tests", ".ci", "binder", ".binder"}, relative
        assert not any(thing in part for part in relative.parts for thing in GRADER_THINGS), relative
        text = path.read_text()
        for forbidden in LEAK_MARKERS + GRADER_THINGS:
            assert forbidden not in text, f"{relative} contains {forbidden!r}"
        if path.suffix == ".ipynb":
            lines = [line for cell in nbformat.reads(text, as_version=4).cells
                     for line in cell.source.splitlines()]
        else:
            lines = text.splitlines()
        leaks |= {(str(relative), line.strip()) for line in lines if line.strip() in solution_lines}
    assert not leaks, f"solution lines in the export: {sorted(leaks)}"


def test_the_export_copies_the_repository_files_unchanged(exported):
    for relative in ["pyproject.toml", "requirements.txt", "environment.yml", "postBuild", "start",
                     "data/scenario.json", *[f"notebooks/{n}" for n in NOTEBOOK_NAMES]]:
        assert (exported / relative).read_bytes() == (REPO / relative).read_bytes(), relative
    for folder in ("data/raw", "data/landing", "data/incidents", "dbt_project", "wt06"):
        source = {p.relative_to(REPO / folder) for p in _files(REPO / folder)
                  if not {"__pycache__", "target", "logs"} & set(p.parts) and p.suffix not in (".pyc", ".duckdb")}
        assert {p.relative_to(exported / folder) for p in _files(exported / folder)} == source, folder


def test_exporting_twice_gives_the_same_tree_and_keeps_what_it_did_not_write(tmp_path):
    from wt06_grading.definition.export import export

    dest = export(tmp_path / "student")
    first = _tree(dest)
    (dest / ".git").mkdir()  # the clone of the public repository an instructor exports into
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (dest / "LICENSE").write_text("the instructor's own file\n")
    (dest / "data" / "warehouse.duckdb").write_text("a build product")  # inside an exported entry
    export(dest)
    again = _tree(dest)
    assert again.pop(".git/HEAD") == (b"ref: refs/heads/main\n", False)
    assert again.pop("LICENSE") == (b"the instructor's own file\n", False)
    assert again == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["student"], "scratch folder left behind"


def test_the_command_exports_and_reminds_about_the_badge_placeholder(tmp_path):
    from wt06_grading.definition.export import BADGE_PLACEHOLDER

    result = _export_command(tmp_path / "new" / "student")
    assert result.returncode == 0, result.stderr
    assert f"wrote the student course to {tmp_path / 'new' / 'student'}" in result.stdout
    if BADGE_PLACEHOLDER in (REPO / "README.md").read_text():
        assert BADGE_PLACEHOLDER in result.stdout
    assert sorted(p.name for p in (tmp_path / "new" / "student").iterdir()) == TOP_LEVEL


@pytest.mark.parametrize("case", ["inside the repository", "the repository itself",
                                  "a non-empty folder", "a file", "an export holding a file it did not write"])
def test_refusals_write_nothing_and_say_why_in_one_sentence(case, tmp_path):
    from wt06_grading.definition.export import MARKER, export

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    (tmp_path / "file.txt").write_text("mine")
    if case.startswith("an export"):  # an older export that did not write `start`; the instructor did
        marker = export(tmp_path / "older") / MARKER
        marker.write_text(marker.read_text().replace("start\n", ""))
    dest, expected = {
        "inside the repository": (REPO / "notebooks" / "student-export", "inside the course repository"),
        "the repository itself": (REPO, "inside the course repository"),
        "a non-empty folder": (tmp_path / "notes", "is not a previous student export"),
        "a file": (tmp_path / "file.txt", "is a file"),
        "an export holding a file it did not write": (tmp_path / "older", "start was not written by a previous export"),
    }[case]
    repo_before, tmp_before = _snapshot(REPO / "notebooks"), _snapshot(tmp_path)
    result = _export_command(dest)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.startswith("error: ") and expected in message and "\n" not in message, message
    assert result.stdout == ""
    assert _snapshot(REPO / "notebooks") == repo_before
    assert _snapshot(tmp_path) == tmp_before
    assert not (REPO / "notebooks" / "student-export").exists()


def test_a_solution_in_notebooks_stops_the_export_before_anything_is_written(tmp_path, monkeypatch):
    import shutil

    from wt06_grading.definition import export as exporting

    repo = tmp_path / "repo"  # a course whose notebooks/ holds an instructor notebook by mistake
    for name in ["notebooks", "data", "dbt_project", "wt06"]:
        shutil.copytree(REPO / name, repo / name, ignore=shutil.ignore_patterns("work", "*.duckdb*", "target"))
    for name in ["README.md", "Makefile", ".gitignore", *exporting.COPIED]:
        shutil.copy2(REPO / name, repo / name)
    shutil.copy2(REPO / "grader" / "source" / "wt06" / "05_fix_and_prevent.ipynb", repo / "notebooks")
    monkeypatch.setattr(exporting, "REPO", repo)
    with pytest.raises(exporting.ExportRefused, match="05_fix_and_prevent.ipynb contains 'BEGIN SOLUTION'"):
        exporting.export(tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo"]


def test_the_student_makefile_is_the_main_makefile_cut_down(exported):
    student = (exported / "Makefile").read_text()
    main = (REPO / "Makefile").read_text()
    for block in student.split("\n\n")[1:]:  # everything but the header comment
        if not block.startswith(".PHONY"):
            assert block in main, f"the student Makefile's block is not the main one's:\n{block}"
    help_text = subprocess.run(["make", "-s", "-C", str(exported), "help"], capture_output=True,
                               text=True, check=True).stdout
    assert re.findall(r"make (\S+)", help_text) == ["help", "setup", "warehouse", "reset", "lab"]
    dry_run = subprocess.run(["make", "-n", "-C", str(exported), "lab"], capture_output=True, text=True)
    assert dry_run.returncode == 0, dry_run.stderr
    for step in ("pip install", "-r requirements.txt", "python -m wt06 warehouse"):
        assert step in dry_run.stdout
    assert re.search(r"jupyter lab (--allow-root )?notebooks/01_detect_staleness\.ipynb", dry_run.stdout)


def test_the_student_readme_tells_how_to_start_check_reset_and_read_the_clock(exported):
    from wt06_grading.definition.export import binder_badge, binder_url

    readme = (exported / "README.md").read_text()
    assert binder_badge() in readme, "the student README's Binder badge differs from the main README's"
    notebook = binder_url().split("urlpath=lab/tree/", 1)[1]
    assert (exported / notebook).is_file()
    for must in ("make lab", "make reset", "as_of()", "notebooks/", "no answer yet", "test cell",
                 "Mon 2024-02-12 09:00"):
        assert must in readme, f"the student README does not mention {must!r}"
    assert "{{" not in readme


@pytest.mark.slow
def test_the_first_notebook_runs_from_the_export_with_the_exports_own_code(tmp_path):
    """Build the warehouse with the export's code, run notebook 1 there: only 'no answer yet' stops it."""
    from wt06_grading.definition.export import export

    dest = export(tmp_path / "student")
    env = dict(os.environ, PYTHONPATH=str(dest),
               WT06_WAREHOUSE=str(dest / "data" / "warehouse.duckdb"),
               WT06_WORK_DIR=str(dest / "data" / "work"))
    for name in ("WT06_DATA_DIR", "WT06_PROJECT_DIR", "WT06_AS_OF"):
        env.pop(name, None)  # the defaults resolve inside the export
    build = subprocess.run([sys.executable, "-m", "wt06", "warehouse", "--quiet"], cwd=dest, env=env,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    assert f"Built the incident warehouse {dest / 'data' / 'warehouse.duckdb'}" in build.stdout
    assert "marts end 2024-02-08" in build.stdout

    notebook = nbformat.read(dest / "notebooks" / "01_detect_staleness.ipynb", as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell("import wt06\nprint(wt06.__file__)"))
    NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(dest / "notebooks")}}).execute(env=env)

    assert notebook.cells[0].outputs[0].text.strip() == str(dest / "wt06" / "__init__.py")
    setup = next(c for c in notebook.cells if 'start("01_detect_staleness")' in c.get("source", ""))
    shown = "".join(o.get("text", "") for o in setup.outputs)
    assert shown.startswith("WT-06 01_detect_staleness: a fresh copy of the incident in "
                            "data/work/01_detect_staleness."), shown
    assert (dest / "data" / "work" / "01_detect_staleness" / "warehouse.duckdb").is_file()
    errors = [f"{o.ename}: {o.evalue}" for c in notebook.cells if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors, "a blank notebook should stop at its first answer cell"
    assert all("no answer yet" in e for e in errors), errors
