"""The reference answers, and their results on every grading incident.

One source of truth: the model answers in the instructor notebooks' solution cells. The
solved notebooks are executed by a grading worker exactly as a student's are (same
sandbox, same answer extraction), and each answer's check task runs on the same
incidents, so a student's result is always compared with what the model answer gives on
the very same incident. Results are cached in the course's private state folder, keyed by
everything that shapes them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path

import nbformat

import wt06
from wt06_grading.foundation import layout, markers
from wt06_grading.kinds import KINDS

REFERENCE_CELL_SECONDS = 300  # a cell of a solved notebook (trusted code) may run this long


def solved_notebooks(source: Path = layout.SOURCE) -> dict[str, nbformat.NotebookNode]:
    """The instructor notebooks with their solutions in place and no hidden-test region."""
    solved = {}
    for path in sorted(Path(source).glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cell.source = markers.without_markers(cell.source)
            if markers.hidden_region(cell.source) is not None:
                cell.source = markers.without_hidden(cell.source)
        solved[path.stem] = notebook
    return solved


def solution_cells(source: Path = layout.SOURCE, *, raw: bool = False) -> dict[str, tuple[str, str]]:
    """grade_id -> (notebook name, solution source), for every solution cell.

    The source is the model answer as the student would write it (markers removed), or,
    with ``raw``, the instructor's cell as it is (markers and all).
    """
    cells = {}
    for path in sorted(Path(source).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                cells[meta["grade_id"]] = (path.stem, cell.source if raw else markers.without_markers(cell.source))
    return cells


def solution_only_lines(source: Path = layout.SOURCE, longer_than: int = 12) -> set[str]:
    """Distinctive lines that appear only inside the sources' solution regions.

    What a student copy must never contain. A line that also appears outside every
    solution (a blank, a ``select``, a starting point the student is given) proves
    nothing, and short lines are too common to count.
    """
    inside, outside = set(), set()
    for path in sorted(Path(source).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            kept = {line.strip() for line in markers.without_solution(cell.source).splitlines()}
            outside |= kept
            inside |= {line.strip() for line in markers.without_markers(cell.source).splitlines()} - kept
    return {line for line in inside - outside if len(line) > longer_than}


def project_files(source: Path = layout.SOURCE) -> dict[str, str]:
    """Project-relative path -> content, for every %%project_file answer (the fix)."""
    files = {}
    for _, text in solution_cells(source).values():
        magic, body = markers.split_magic(text)
        if magic.startswith("%%project_file"):
            files[magic.split(maxsplit=1)[1].strip()] = body
    return files


def cache_key(bundle, source: Path) -> str:
    """Everything that shapes reference results: the course, the solutions, the grader's code.

    Not the sandbox nor the notebook runner: the model answers are the instructor's
    trusted code and give the same results in the sandbox or out of it, in the fast runner
    or a Jupyter kernel (tests/grader/test_execution_parity.py), so one computation serves
    batches graded either way.
    """
    shaping = {k: v for k, v in bundle.settings.items()
               if k not in ("reference", "only", "cells", "cell_timeout", "runner")}
    digest = hashlib.sha256(json.dumps(shaping, sort_keys=True, default=str).encode())
    for name in sorted(bundle.files):
        digest.update(name.encode() + b"\0" + bundle.files[name])
    for path in sorted(Path(source).glob("*.ipynb")):
        digest.update(path.read_bytes())

    for root in (layout.PACKAGE, Path(wt06.__file__).parent):
        for path in sorted(root.rglob("*.py")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def compute(worker, source: Path = layout.SOURCE) -> dict:
    """question id -> {"answer": the model answer's value, "result": its result on each incident}.

    The result is what ``Kind.compare`` takes: incident id -> the checker's raw result
    there (or, for an answer that is not run, the value the notebook gave there).
    """
    answers, values = {}, {}
    # The instructor's notebooks are trusted and must not lose a reference to a loaded machine.
    worker.cell_timeout = max(worker.cell_timeout, REFERENCE_CELL_SECONDS)
    for name, notebook in solved_notebooks(source).items():
        if name not in worker.release:
            continue
        executed = worker.execute(name, copy.deepcopy(notebook))
        errors = [f"cell {i + 1}: {o.get('ename')}: {str(o.get('evalue'))[:200]}"
                  for i, c in enumerate(executed.notebook.cells) if c.cell_type == "code"
                  for o in c.get("outputs", []) if o.get("output_type") == "error"]
        if executed.lost or errors:
            raise RuntimeError(f"the instructor notebook {name} does not run cleanly in the grading sandbox: "
                               + ("; ".join(errors[:3]) or "it stopped the sandbox"))
        answers.update({(name, ref): state for ref, state in executed.answers.items()})
        values.update(worker.rerun_values(name, notebook, executed.answers))
    reference, tasks = {}, []
    for question in worker.questions:
        kind = KINDS[question.kind]
        state = answers.get((question.notebook, question.answer), {})
        if "value" not in state:
            raise RuntimeError(f"the model answer of {question.id} ({question.answer.name}) was not produced: "
                               f"{state.get('problem', 'nothing was saved')}")
        value = state["value"]
        task = kind.task(question, value)
        if isinstance(task, str):
            raise RuntimeError(f"the model answer of {question.id} cannot be checked: {task}")
        if task is not None:
            tasks.append({"question": question.id, "kind": question.kind, "task": task,
                          "incidents": [i.id for i in worker.checks.incidents_for(question)]})
            reference[question.id] = {"answer": value, "result": None}
        elif kind.reruns:
            broken = {i: r for i, r in values[question.id].items() if "value" not in r}
            if broken:
                raise RuntimeError(f"the model answer of {question.id} could not be computed on every incident: "
                                   + "; ".join(r.get("problem", "?") for r in broken.values()))
            reference[question.id] = {"answer": value, "result": values[question.id]}
        else:
            reference[question.id] = {"answer": value, "result": {worker.canonical: {"value": value}}}
    results = worker.checks.run_tasks(tasks)
    for task in tasks:
        result = results.get(task["question"])
        if result is None or "checker_error" in result:
            raise RuntimeError(f"the model answer of {task['question']} failed in the checker: "
                               f"{(result or {}).get('checker_error', 'no result')}")
        failed = {i: r["failed"] for i, r in result.items() if isinstance(r, dict) and "failed" in r}
        if failed:
            raise RuntimeError(f"the model answer of {task['question']} failed in the checker: "
                               + "; ".join(failed.values()))
        reference[task["question"]]["result"] = result
    for question in worker.questions:  # a model answer must pass its own check
        expected = reference[question.id]["result"]
        verdict = KINDS[question.kind].compare(question, expected, expected, worker.known)
        if not verdict.passed:
            raise RuntimeError(f"the model answer of {question.id} fails its own hidden check: {verdict.message}")
    return reference


def stored(bundle, course: Path, source: Path) -> Path:
    """Where the reference results of this course version are kept."""
    return layout.cache_dir(course) / "reference" / f"{cache_key(bundle, source)}.json"


def load_or_compute(bundle, worker_factory, course: Path, source: Path) -> dict:
    """The reference results, computed once per course version (two processes may both compute
    them; each writes a file of its own and the last rename wins, with identical content)."""
    path = stored(bundle, course, source)
    if path.is_file():
        return json.loads(path.read_text())
    worker = worker_factory()
    try:
        reference = compute(worker, source)
    finally:
        worker.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(reference))
    tmp.replace(path)
    return reference
