"""Hidden checks for one notebook: extract the answers, run the checker, judge.

``HiddenChecks.for_reference`` runs the instructor notebooks' answers once per batch;
``verdicts`` then runs a submission's answers through the same checker (a separate,
sandbox-wrappable process) and compares results in this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from wt06 import paths

from .answers import notebook_answers
from .checks import BY_TEST, CHECKS, Check, Verdict, build_tasks, judge
from .release import SOURCE, tool_env

CHECKER = Path(__file__).with_name("checker.py")
CHECKER_SECONDS = 900


def checks_for(notebook) -> list[Check]:
    """The hidden checks whose test cells are in ``notebook`` (by grade_id)."""
    ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    return [c for c in CHECKS if c.test_id in ids]


def run_checker(tasks: list[dict], scenarios: dict, *, sandbox: list[str] = (), env=None) -> dict:
    """Run the checker process on ``tasks``; its stdout is the results (JSON)."""
    if not tasks:
        return {}
    job = {"tasks": tasks, "scenarios": scenarios, "project": str(paths.project_dir())}
    command = [*sandbox, sys.executable, "-I", str(CHECKER)]
    try:
        done = subprocess.run(command, input=json.dumps(job), capture_output=True, text=True,
                              timeout=CHECKER_SECONDS, env=env or tool_env())
    except subprocess.TimeoutExpired:
        return {t["id"]: {"checker_error": f"checking took longer than {CHECKER_SECONDS} s"} for t in tasks}
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        problem = (done.stderr.strip().splitlines() or ["the checker stopped"])[-1][:300]
        return {t["id"]: {"checker_error": problem} for t in tasks}


@dataclass
class Reference:
    """The reference answers' results on every prepared incident."""

    scenarios: dict
    results: dict

    @classmethod
    def compute(cls, scenarios: dict) -> "Reference":
        results = {}
        for path in sorted(SOURCE.glob("*.ipynb")):
            notebook = nbformat.read(path, as_version=4)
            built = build_tasks(checks_for(notebook), *notebook_answers(notebook), list(scenarios))
            if built.unanswered:
                raise RuntimeError(f"{path.name}: the reference answers are incomplete: {built.unanswered}")
            results.update({k: sorted(v) if isinstance(v, (set, frozenset)) else v
                            for k, v in built.values.items()})  # JSON-safe, for the cache
            results.update(run_checker(built.tasks, scenarios))
        failed = {k: v["checker_error"] for k, v in results.items()
                  if isinstance(v, dict) and "checker_error" in v}
        if failed:
            raise RuntimeError(f"the reference answers could not be checked: {failed}")
        return cls(scenarios, results)


def verdicts(notebook, reference: Reference, *, sandbox: list[str] = (), env=None,
             cache: dict | None = None) -> dict[str, Verdict]:
    """test_id -> Verdict for every hidden check of ``notebook`` (a submitted notebook).

    ``cache`` maps a task (as JSON) to its result, so identical answers in a batch are
    run once: results depend only on the task.
    """
    checks = checks_for(notebook)
    built = build_tasks(checks, *notebook_answers(notebook), list(reference.scenarios))
    out = {test_id: Verdict(False, f"No answer to check: {problem}.")
           for test_id, problem in built.unanswered.items()}
    for test_id, value in built.values.items():
        out[test_id] = judge(BY_TEST[test_id], value, reference.results[test_id])
    cache = {} if cache is None else cache
    keys = {t["id"]: json.dumps({k: v for k, v in t.items() if k != "id"} | {"check": t["id"]},
                                sort_keys=True) for t in built.tasks}
    todo = [t for t in built.tasks if keys[t["id"]] not in cache]
    for test_id, result in run_checker(todo, reference.scenarios, sandbox=sandbox, env=env).items():
        cache[keys[test_id]] = result
    for task in built.tasks:
        out[task["id"]] = judge(BY_TEST[task["id"]], cache[keys[task["id"]]], reference.results[task["id"]])
    return out
