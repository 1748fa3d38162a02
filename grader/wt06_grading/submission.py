"""Grade one submission in isolation.

Everything happens in a private scratch folder: a copy of the incident warehouse and of
the dbt project (through the course's location settings), its own work folder, HOME and
Jupyter paths, and a kernel spec whose command a sandbox can wrap (``--sandbox``). The
order matters for trust: answers are read from the submitted file and checked by the
checker process *before* the student's code runs in the grading kernel, and verdicts
are written into the gradebook by this process afterwards.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .execute import KERNEL_DIED
from .hidden import Reference, verdicts
from .intake import Intake, take_in
from .release import ASSIGNMENT, nbgrader, tool_env

KERNEL_NAME = "wt06-submission"


@dataclass
class Settings:
    """What every submission of a batch shares."""

    released: dict  # notebook name -> released notebook
    reference: Reference
    warehouse: Path  # the built incident warehouse
    project: Path  # the pristine dbt project
    source: Path  # the instructor sources (source/wt06)
    only: list[str] | None = None  # grade just these notebooks (None: all)
    cell_timeout: int = 60
    sandbox: list[str] = field(default_factory=list)  # command prefix; {submission} = scratch folder
    checker_cache: dict = field(default_factory=dict)


@dataclass
class Row:
    student: str
    notebook: str
    question: str
    score: float | None
    max_score: float | None
    status: str
    reason: str = ""


@dataclass
class Graded:
    student: str
    rows: list[Row]
    needs_look: bool
    feedback: list[Path]
    autograded: list[Path]


def _sandbox(settings: Settings, folder: Path) -> list[str]:
    return [part.replace("{submission}", str(folder)) for part in settings.sandbox]


def _environment(settings: Settings, folder: Path) -> dict:
    (folder / "jupyter" / "kernels" / KERNEL_NAME).mkdir(parents=True)
    spec = {"argv": [*_sandbox(settings, folder), sys.executable, "-m", "ipykernel_launcher",
                     "-f", "{connection_file}"],
            "display_name": "WT-06 submission", "language": "python"}
    (folder / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json").write_text(json.dumps(spec))
    for name in ("home", "work", "runtime", "ipython", "mpl"):
        (folder / name).mkdir()
    shutil.copy(settings.warehouse, folder / "warehouse.duckdb")
    shutil.copytree(settings.project, folder / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs"))
    return tool_env({
        "HOME": str(folder / "home"), "JUPYTER_PATH": str(folder / "jupyter"),
        "JUPYTER_RUNTIME_DIR": str(folder / "runtime"), "IPYTHONDIR": str(folder / "ipython"),
        "MPLCONFIGDIR": str(folder / "mpl"),
        "WT06_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "WT06_PROJECT_DIR": str(folder / "dbt_project"),
        "WT06_WORK_DIR": str(folder / "work"),
        "WT06_AS_OF": settings.reference.scenarios["canonical"]["now"],
        "WT06_CELL_TIMEOUT": str(settings.cell_timeout),
        "DO_NOT_TRACK": "1", "PLOOMBER_STATS_ENABLED": "false",
        "PLOOMBER_VERSION_CHECK_DISABLED": "true",
    })


def _autograde(course: Path, student: str, db: Path, env: dict, notebook: str | None = None):
    args = ["autograde", ASSIGNMENT, "--student", student, "--create", "--force",
            f"--Execute.kernel_name={KERNEL_NAME}"]
    if notebook:
        args.append(f"--notebook={notebook}")
    return nbgrader(args, root=course, db=db, env=env, timeout=3600)


def _first_error(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}".strip()[:300]
    return ""


def _runtime_problems(name: str, notebook, intake: Intake) -> None:
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if output.get("ename") == "CellTimeoutError":
                intake.note(name, f"cell #{index + 1} ran longer than the time limit and was interrupted")
            elif output.get("ename") == KERNEL_DIED:
                intake.note(name, f"the kernel died in cell #{index + 1}; the cells after it were not run")


def grade_submission(student: str, folder: Path, settings: Settings, db: Path, scratch: Path) -> Graded:
    """Grade ``folder`` (one student's submission) into the gradebook file ``db``."""
    from nbgrader.api import Gradebook

    course = scratch / "course"
    shutil.copytree(settings.source, course / "source" / ASSIGNMENT)
    submitted = course / "submitted" / student / ASSIGNMENT
    submitted.mkdir(parents=True)
    intake = take_in(folder, settings.released)
    graded_names = [n for n in settings.released if settings.only is None or n in settings.only]
    for name in list(intake.problems):
        if name and name not in graded_names:
            del intake.problems[name]
    for name, notebook in intake.notebooks.items():
        for cell in notebook.cells:  # stored outputs are never graded; drop them early
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(notebook, submitted / f"{name}.ipynb")
    if (folder / "timestamp.txt").is_file():
        shutil.copy(folder / "timestamp.txt", submitted / "timestamp.txt")

    # 1. hidden checks, from the submitted answers, before any student code runs
    hidden = {name: verdicts(nb, settings.reference, sandbox=_sandbox(settings, scratch),
                             cache=settings.checker_cache)
              for name, nb in intake.notebooks.items() if name in graded_names}

    # 2. the student's code, in the (sandbox-wrappable) grading kernel
    env = _environment(settings, scratch)
    autograded = course / "autograded" / student / ASSIGNMENT
    failed = []
    to_grade = [n for n in intake.notebooks if n in graded_names]
    if to_grade:
        runs = [_autograde(course, student, db, env)] if settings.only is None else \
            [_autograde(course, student, db, env, notebook=n) for n in to_grade]
        missing = [n for n in to_grade if not (autograded / f"{n}.ipynb").is_file()]
        if any(run.returncode != 0 for run in runs) or missing:
            for name in to_grade:  # isolate the notebook that breaks nbgrader
                again = _autograde(course, student, db, env, notebook=name)
                if again.returncode != 0 or not (autograded / f"{name}.ipynb").is_file():
                    tail = (again.stderr.strip().splitlines() or ["nbgrader failed"])[-1][:200]
                    intake.note(name, f"could not be graded automatically ({tail}); scored 0")
                    failed.append(name)

    # 3. verdicts into the gradebook and the autograded notebooks
    rows: list[Row] = []
    with Gradebook(f"sqlite:///{db}", course_id="wt06") as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(ASSIGNMENT, student)
        for nb_record in submission.notebooks:
            name = nb_record.name
            if name not in graded_names:
                continue
            path = autograded / f"{name}.ipynb"
            graded_nb = nbformat.read(path, as_version=4) if name in to_grade and path.is_file() else None
            cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in graded_nb.cells} if graded_nb else {}
            if graded_nb is not None:
                _runtime_problems(name, graded_nb, intake)
            for grade in sorted(nb_record.grades, key=lambda g: g.name):
                verdict = hidden.get(name, {}).get(grade.name)
                cell = cells.get(grade.name)
                if name in failed or graded_nb is None:
                    grade.auto_score, grade.needs_manual_grade = 0, False
                if verdict is not None and not verdict.passed and graded_nb is not None:
                    if grade.auto_score:
                        grade.auto_score = 0
                    if cell is not None:
                        cell.outputs.append(nbformat.v4.new_output(
                            "error", ename="HiddenCheckFailed", evalue=verdict.message,
                            traceback=[f"HiddenCheckFailed: {verdict.message}"]))
                rows.append(_row(student, name, grade, cell, verdict, graded_nb is None))
            if graded_nb is not None:
                nbformat.write(graded_nb, path)
        gb.db.commit()
        for name in sorted(intake.problems):
            for sentence, look in intake.problems[name]:
                rows.append(Row(student, name or "(submission)", "(note)", None, None,
                                "needs a look" if look else "note", sentence))

    # 4. feedback (hidden tests redacted by the course's feedback preprocessors)
    feedback_run = nbgrader(["generate_feedback", ASSIGNMENT, "--student", student, "--force"],
                            root=course, db=db, env=env)
    feedback = sorted((course / "feedback" / student / ASSIGNMENT).glob("*.html"))
    if feedback_run.returncode != 0 and to_grade:
        intake.note("", "feedback could not be generated")
    return Graded(student, rows, intake.needs_look, feedback, sorted(autograded.glob("*.ipynb")))


def _score(grade) -> float:
    """A grade's score from its fields (nbgrader's ``score`` is computed by SQL on load)."""
    base = grade.manual_score if grade.manual_score is not None else (grade.auto_score or 0.0)
    return base + (grade.extra_credit or 0.0)


def _row(student, notebook, grade, cell, verdict, missing: bool) -> Row:
    if missing:
        return Row(student, notebook, grade.name, 0.0, grade.max_score, "missing", "notebook not graded")
    if grade.needs_manual_grade:
        return Row(student, notebook, grade.name, _score(grade), grade.max_score, "manual",
                   "to be graded by hand (nbgrader formgrader)")
    score = _score(grade)
    if score >= grade.max_score:
        return Row(student, notebook, grade.name, score, grade.max_score, "passed")
    reason = ""
    if cell is not None:
        visible = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"
                   and o.get("ename") != "HiddenCheckFailed"]
        reason = _first_error({"outputs": visible})
    if not reason and verdict is not None and not verdict.passed:
        reason = f"hidden check: {verdict.message}"
    return Row(student, notebook, grade.name, score, grade.max_score, "failed", reason)
