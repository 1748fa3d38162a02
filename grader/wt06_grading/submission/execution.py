"""How a submitted notebook is executed for grading: one interface, two back ends.

Both take the same request (the notebook's code cells, the answers to report, the cell
time limit; or ``runs``: the same cells again on other incidents, for their answers
only) and give the same events the grading worker reads (jobs.py): each cell's outputs,
the answers as they stand after each cell, dbt's work counted.

* ``SandboxNotebooks`` (the default): the warm sandboxed runner, a jailed fork of the
  worker's zygote running the cells in an IPython shell (sandbox/runner.py). Chosen for
  speed (no kernel to start or stop) and containment.
* ``JupyterNotebooks``: stock Jupyter, ``nbclient`` driving an ``ipykernel``, the kernel
  students use; outside the sandbox (the grade table says so). For an instructor who
  wants the students' own kernel, and as the reference the fast runner is held to:
  tests/grader/test_execution_parity.py runs the course's notebooks and the fixture class
  through both and requires the same outputs, answers and grades (display updates,
  output written to file descriptors and cell time limits included).

Known differences, kept on purpose: the sandboxed runner reads output written to file
descriptors 1 and 2 after each cell, so in a cell that both prints and writes to a
descriptor the two streams' relative order may differ from Jupyter's (the text is the
same); a Jupyter kernel's cell that ignores the interrupt of its time limit is ended with
its kernel, the sandboxed runner's with its job (either way the notebook stops there).
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import threading
import time
from typing import Protocol

import nbformat

from wt06_grading.sandbox.runner import _Cell
from wt06_grading.submission.jobs import JobClient, JobOutcome

KERNEL_NAME = "python3"
RUNNERS = ("sandbox", "jupyter")


class NotebookRunner(Protocol):
    """Runs a notebook request (see the module docstring) and returns what the job did."""

    name: str

    def root(self) -> str:
        """The scratch folder the next run works in, as its code sees it."""
        ...

    def run(self, body: dict, *, root: str, sees=(), deadline: float, idle: float | None = None) -> JobOutcome:
        ...


class SandboxNotebooks:
    """The warm sandboxed runner: a job of kind ``notebook`` in the worker's zygote."""

    name = "sandbox"

    def __init__(self, jobs: JobClient) -> None:
        self.jobs = jobs

    def root(self) -> str:
        return self.jobs.root()

    def run(self, body: dict, *, root: str, sees=(), deadline: float, idle: float | None = None) -> JobOutcome:
        return self.jobs.run("notebook", body, root=root, sees=sees, deadline=deadline, idle=idle)


class JupyterNotebooks:
    """Stock Jupyter: nbclient and an ipykernel per notebook run, with the job's environment."""

    name = "jupyter"

    def __init__(self, jobs: JobClient, *, grace: float = 15.0) -> None:
        if jobs.sandbox:
            raise ValueError("stock Jupyter kernels run outside the sandbox: grade with the sandbox off")
        self.jobs = jobs
        self.grace = grace  # seconds past a cell's limit before a cell that ignores its interrupt is killed
        self._count = 0

    def root(self) -> str:
        self._count += 1
        return str(self.jobs.scratch / "kernels" / f"{os.getpid()}-{self._count}")

    def run(self, body: dict, *, root: str, sees=(), deadline: float, idle: float | None = None) -> JobOutcome:
        events: list[dict] = []
        outcome = {"status": 0, "timed_out": False, "stalled": False, "truncated": False}
        end = time.monotonic() + deadline
        try:
            runs = body.get("runs") or [{"env": {}, "cells": body["cells"]}]
            for number, run in enumerate(runs):
                env = self.jobs.environment(root, run.get("env"))
                for variable in ("HOME", "IPYTHONDIR", "MPLCONFIGDIR", "TMPDIR", "WT06_WORK_DIR"):
                    os.makedirs(env[variable], exist_ok=True)
                os.makedirs(os.path.join(root, "no-data"), exist_ok=True)
                status = self._execute(run["cells"], body.get("answers", []), float(body.get("cell_timeout", 60)),
                                       env, root, events, end, run=number if "runs" in body else None)
                outcome.update(status)
                if status.get("status") or status.get("timed_out") or status.get("stalled"):
                    break
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return JobOutcome(outcome, events)

    # ----- one kernel, one notebook -----------------------------------------------------
    def _execute(self, sources: list, answers: list[dict], timeout: float, env: dict, root: str,
                 events: list[dict], end: float, *, run: int | None) -> dict:
        from nbclient import NotebookClient
        from nbclient.exceptions import DeadKernelError

        notebook = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_code_cell(s) if s is not None else nbformat.v4.new_markdown_cell("") for s in sources])
        client = NotebookClient(notebook, timeout=timeout, interrupt_on_timeout=True, allow_errors=True,
                                kernel_name=KERNEL_NAME, record_timing=False, resources={"metadata": {"path": root}})
        emitted: dict[int, str] = {}
        known: dict[str, str] = {}
        status: dict = {}
        with client.setup_kernel(env=env, cwd=root):
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                if time.monotonic() > end:
                    return {"timed_out": True}
                started = time.monotonic()
                watchdog = threading.Timer(min(timeout + self.grace, max(0.1, end - started)),
                                           lambda: client.km.kill_kernel() if client.km else None)
                watchdog.start()
                try:
                    if run is None:
                        events.append({"event": "begin", "index": index})
                    client.execute_cell(cell, index)
                except DeadKernelError:
                    stalled = time.monotonic() - started >= timeout + self.grace - 0.5
                    timed_out = time.monotonic() >= end
                    status = {"status": None if stalled or timed_out else 70, "stalled": stalled and not timed_out,
                              "timed_out": stalled or timed_out}
                finally:
                    watchdog.cancel()
                seconds = time.monotonic() - started
                if status:
                    break
                if seconds >= timeout:  # nbclient interrupted it: the same words as the sandboxed runner
                    _as_timeout(cell, timeout)
                if run is not None:
                    continue
                capped = _Cell()
                for output in cell.outputs:
                    output = dict(output)
                    if output.get("output_type") == "stream":
                        capped.stream(output["name"], output.get("text", ""))
                    else:
                        output.pop("transient", None)
                        capped.add(output)
                events.append({"event": "cell", "index": index, "outputs": capped.outputs,
                               "execution_count": cell.execution_count, "cut": capped.cut,
                               "seconds": round(seconds, 3)})
                emitted[index] = json.dumps(capped.outputs, sort_keys=True, default=str)
                for earlier, cell_before in enumerate(notebook.cells[:index]):  # displays a later cell updated
                    if earlier in emitted and cell_before.cell_type == "code":
                        now = [dict(o) for o in cell_before.outputs]
                        if json.dumps(now, sort_keys=True, default=str) != emitted[earlier]:
                            events.append({"event": "cell", "index": earlier, "outputs": now, "execution_count": None,
                                           "cut": 0, "seconds": 0.0, "update": True})
                            emitted[earlier] = json.dumps(now, sort_keys=True, default=str)
                for state in _answers(client, answers):
                    key = f"{state['type']}:{state['name']}"
                    digest = json.dumps({k: v for k, v in state.items() if k in ("value", "problem")},
                                        sort_keys=True, default=str)
                    if ("value" in state or "problem" in state) and known.get(key) != digest:
                        known[key] = digest
                        events.append({"event": "answer", "cell": index, **state})
            if not status:
                if run is not None:
                    events += [{"event": "answer", "run": run, **state} for state in _answers(client, answers)
                               if "value" in state or "problem" in state]
                events.append({"event": "counts", **_counts(client)})
        return status


def _as_timeout(cell, timeout: float) -> None:
    message = f"the cell ran longer than {timeout:g} s and was interrupted"
    interrupted = [o for o in cell.outputs if o.get("output_type") == "error" and o.get("ename") == "KeyboardInterrupt"]
    for output in interrupted:
        output["ename"], output["evalue"], output["traceback"] = ("CellTimeoutError", message,
                                                                  [f"CellTimeoutError: {message}"])
    if not interrupted:  # the code swallowed the interrupt
        cell.outputs.append(nbformat.v4.new_output("error", ename="CellTimeoutError", evalue=message,
                                                   traceback=[f"CellTimeoutError: {message}"]))


def _user_expression(client, expression: str):
    """The value of ``expression`` in the kernel, without running a cell (None if it failed)."""
    msg_id = client.kc.execute("", silent=True, store_history=False, user_expressions={"wt06": expression})
    reply = client.wait_for_reply(msg_id)
    found = ((reply or {}).get("content", {}).get("user_expressions") or {}).get("wt06") or {}
    if found.get("status") != "ok":
        return None
    try:
        return ast.literal_eval(found["data"]["text/plain"])
    except (KeyError, ValueError, SyntaxError):
        return None


def _answers(client, answers: list[dict]) -> list[dict]:
    if not answers:
        return []
    text = _user_expression(client, "__import__('wt06_grading.sandbox.runner', fromlist=['answers_json'])"
                                    f".answers_json(get_ipython(), {answers!r})")
    try:
        states = json.loads(text) if isinstance(text, str) else []
    except ValueError:
        return []
    return [s for s in states if isinstance(s, dict)]


def _counts(client) -> dict:
    found = _user_expression(client, "(__import__('wt06.pipeline.dbt_runner', fromlist=['x']).INVOCATIONS['count'], "
                                     "__import__('wt06.pipeline.dbt_runner', fromlist=['x']).PARSES['count'])")
    if isinstance(found, tuple) and len(found) == 2:
        return {"invocations": int(found[0]), "parses": int(found[1])}
    return {}


def runner_for(name: str, jobs: JobClient) -> NotebookRunner:
    if name == "jupyter":
        return JupyterNotebooks(jobs)
    if name == "sandbox":
        return SandboxNotebooks(jobs)
    raise ValueError(f"no notebook runner {name!r} (choose {', '.join(RUNNERS)})")
