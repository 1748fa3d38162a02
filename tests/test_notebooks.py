"""The course notebooks: instructor versions run clean, student versions are generated and blank."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

SOURCE = REPO / "grader" / "source" / "wt06"
STUDENT = REPO / "notebooks"
NAMES = sorted(p.stem for p in SOURCE.glob("*.ipynb"))


def _nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _execute(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def _errors(notebook) -> list[str]:
    return [f"cell {i}: {o.ename}: {o.evalue}" for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]


def _graded_outputs(notebook) -> dict[str, list]:
    """Outputs of answer and test cells, without volatile fields."""
    graded = {}
    for cell in notebook.cells:
        meta = _nbgrader_meta(cell)
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade")):
            graded[meta["grade_id"]] = [
                {k: v for k, v in o.items() if k not in ("execution_count", "metadata")}
                for o in cell.outputs]
    return graded


@pytest.fixture(scope="session")
def executed_twice(incident_warehouse) -> dict[str, tuple]:
    """Every instructor notebook executed twice in a row (the second run starts over)."""
    return {name: (_execute(SOURCE / f"{name}.ipynb"), _execute(SOURCE / f"{name}.ipynb"))
            for name in NAMES}


def test_there_is_one_notebook_per_phase():
    assert NAMES == ["01_detect_staleness", "02_pipeline_logs", "03_phantom_successes",
                     "04_blast_radius", "05_fix_and_prevent", "06_agent_lens"]
    assert sorted(p.stem for p in STUDENT.glob("*.ipynb")) == NAMES


@pytest.mark.slow
def test_instructor_notebooks_pass_nbgrader_validate(incident_warehouse):
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate",
                             *[str(SOURCE / f"{n}.ipynb") for n in NAMES]],
                            capture_output=True, text=True, timeout=900)
    assert result.stdout.count("Success! Your notebook passes all the tests.") == len(NAMES), \
        result.stdout[-3000:]


@pytest.mark.slow
def test_blank_student_notebooks_pass_no_test(incident_warehouse):
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate", "--invert",
                             *[str(STUDENT / f"{n}.ipynb") for n in NAMES]],
                            capture_output=True, text=True, timeout=900)
    assert result.stdout.count("Success! The notebook does not pass any tests.") == len(NAMES), \
        result.stdout[-3000:]


@pytest.mark.slow
def test_instructor_notebooks_run_without_error_and_repeat_exactly(executed_twice):
    for name, (first, second) in executed_twice.items():
        assert _errors(first) == [], f"{name}: {_errors(first)}"
        assert _graded_outputs(first) == _graded_outputs(second), f"{name}: Run All twice differs"
        for cell in first.cells:
            for output in cell.get("outputs", []):
                if output.output_type == "stream":
                    assert output.name != "stderr", f"{name}: stderr output: {output.text[:300]}"


@pytest.mark.slow
def test_executed_notebooks_contain_their_plots(executed_twice):
    for name, (notebook, _) in executed_twice.items():
        plot_cells = [c for c in notebook.cells if c.cell_type == "code" and "plots." in c.source]
        for cell in plot_cells:
            images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
            assert len(images) == 1, f"{name}: a plotting cell shows {len(images)} images"
        if name != "05_fix_and_prevent":
            assert plot_cells, f"{name} draws no chart"


@pytest.mark.slow
def test_blank_student_notebooks_fail_only_with_no_answer_yet(incident_warehouse):
    for name in NAMES:
        notebook = _execute(STUDENT / f"{name}.ipynb")
        errors = _errors(notebook)
        assert errors, f"{name}: a blank notebook should stop at its first answer cell"
        assert all("no answer yet" in e for e in errors), f"{name}: {errors}"
        assert not any("Parser Error" in e or "NotImplementedError()" in e for e in errors)


def test_student_notebooks_hold_no_solution_no_hidden_test_and_no_output():
    from wt06_grading.reference import solution_only_lines

    solution_lines = solution_only_lines()
    assert len(solution_lines) > 30
    for path in STUDENT.glob("*.ipynb"):
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                       "grader/wt06_grading"):
            assert marker not in text, f"{path.name} contains {marker!r}"
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for line in cell.source.splitlines():
                assert line.strip() not in solution_lines, f"{path.name} leaks a solution line: {line}"
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


def test_committed_source_notebooks_carry_no_output():
    for path in SOURCE.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


def test_make_release_regenerates_the_student_notebooks_identically(tmp_path):
    from wt06_grading.release import release

    release(tmp_path)
    for name in NAMES:
        assert (tmp_path / f"{name}.ipynb").read_bytes() == (STUDENT / f"{name}.ipynb").read_bytes(), \
            f"{name}: notebooks/ is out of date; run make release"


def test_every_notebook_starts_with_the_shared_locked_setup_cell():
    for name in NAMES:
        notebook = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
        setup = next(c for c in notebook.cells if c.cell_type == "code")
        assert setup.source == f'from wt06.notebook import start\n\ncourse = start("{name}")'
        assert _nbgrader_meta(setup) | {"locked": True} == _nbgrader_meta(setup)


def test_the_students_starting_sources_file_is_the_incident_projects():
    from wt06_grading.markers import split_magic, without_solution
    from wt06_grading.reference import solution_cells

    _, source = solution_cells(raw=True)["source_freshness"]
    magic, body = split_magic(source)
    assert magic == "%%project_file models/staging/_sources.yml"
    incident = (REPO / "dbt_project/models/staging/_sources.yml").read_text()
    assert without_solution(body).rstrip("\n") == incident.rstrip("\n")


def test_readme_maps_every_learning_objective_to_graded_cells():
    from wt06_grading.reference import solution_cells

    readme = (REPO / "README.md").read_text()
    table = readme.split("## Learning objectives", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in table.splitlines() if re.match(r"\|\s*\d\s*\|", r)]
    assert [int(r.split("|")[1]) for r in rows] == list(range(1, 9))
    for row in rows:
        ids = re.findall(r"`([a-z_]+)`", row.split("|")[3])
        assert ids, f"objective row without graded cells: {row}"
        for grade_id in ids:
            assert grade_id in solution_cells(), f"{grade_id} (README) is not an answer cell"
