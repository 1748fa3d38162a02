"""Execute a notebook in this (jailed) process, and report its outputs and answers.

A notebook job does what a Jupyter kernel plus nbclient would, without either: an
IPython shell in this process runs the code cells in order, and every output a kernel
would send (streams, displays, results, errors) is captured into nbformat outputs. There
is no kernel to start, no messages to exchange and nothing to shut down: the process was
forked warm from the zygote and its whole PID namespace ends with it.

After each cell the job reports the cell's outputs and the course's declared answers as
they stand (a saved query, a variable's value, a project file): answers are what the code
*did*, so computed answers count and a leftover placeholder line does not. Everything is
reported as JSON events (see ``emit``); what the worker receives is untrusted data, capped
in size, never code.

Per-cell timeouts interrupt the cell (``CellTimeoutError``, which ``except Exception``
does not swallow) and the notebook goes on. Code that swallows even that (dbt's runner
catches BaseException and reports it as a failed command) is interrupted again every
second until the cell ends, and the cell is recorded as timed out whatever it printed; a
cell that refuses to stop is ended with the whole job by the zygote's deadline.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
import time

MAX_STREAM_CHARS = 100_000  # per cell and stream
MAX_DATA_CHARS = 2_000_000  # per display value (an image is ~50 kB)
MAX_OUTPUTS = 200  # per cell
MAX_ANSWER_CHARS = 200_000  # a query, a project file or a value's JSON


class CellTimeoutError(BaseException):
    """The cell ran past its time limit (a BaseException: `except Exception` does not catch it)."""


class _Cell:
    """The outputs of the cell being run, capped."""

    def __init__(self) -> None:
        self.outputs: list[dict] = []
        self.cut = 0
        self.clear_pending = False  # clear_output(wait=True): clear when the next output comes

    def _clear_if_pending(self) -> None:
        if self.clear_pending:
            self.outputs.clear()
            self.clear_pending = False

    def add(self, output: dict) -> None:
        self._clear_if_pending()
        if len(self.outputs) >= MAX_OUTPUTS:
            self.cut += 1
            return
        for key, value in list(output.get("data", {}).items()):
            if isinstance(value, str) and len(value) > MAX_DATA_CHARS:
                output["data"][key] = f"[{len(value):,} characters of {key} cut]"
        self.outputs.append(output)

    def stream(self, name: str, text: str) -> None:
        self._clear_if_pending()
        last = self.outputs[-1] if self.outputs else None
        if last is None or last.get("output_type") != "stream" or last["name"] != name:
            if len(self.outputs) >= MAX_OUTPUTS:
                self.cut += len(text)
                return
            last = {"output_type": "stream", "name": name, "text": ""}
            self.outputs.append(last)
        room = MAX_STREAM_CHARS - len(last["text"])
        if room > 0:
            last["text"] += text[:room]
        if len(text) > room:
            self.cut += len(text) - max(room, 0)


class _Stream(io.TextIOBase):
    def __init__(self, runner: Runner, name: str) -> None:
        self.runner, self.name = runner, name

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        self.runner.cell.stream(self.name, text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _FdCapture:
    """Output written to file descriptors 1 and 2 (a subprocess, ``os.write``, C code), as a
    Jupyter kernel captures it: the descriptors point at files in the job's folder, read
    after each cell."""

    def __init__(self, folder: str) -> None:
        self.files = {}
        for fd, name in ((1, "stdout"), (2, "stderr")):
            handle = os.open(os.path.join(folder, f".fd{fd}"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(handle, fd)
            os.close(handle)
            self.files[name] = [fd, 0]

    def read(self) -> list[tuple[str, str]]:
        out = []
        for name, state in self.files.items():
            fd, position = state
            try:
                size = os.fstat(fd).st_size
            except OSError:
                continue
            if size > position:
                data = os.pread(fd, min(size - position, MAX_STREAM_CHARS + 1), position)
                state[1] = size  # what is past the cap is skipped (the stream's own cap counts it)
                out.append((name, data.decode(errors="replace")))
        return out


class Runner:
    """An IPython shell whose outputs go into the current cell's output list."""

    def __init__(self) -> None:
        from IPython.core.displayhook import DisplayHook
        from IPython.core.displaypub import DisplayPublisher
        from IPython.core.interactiveshell import InteractiveShell

        runner = self

        class Publisher(DisplayPublisher):
            def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
                display_id = (transient or {}).get("display_id")
                if update and display_id is not None:  # as a Jupyter front end: replace, do not append
                    runner.update_display(display_id, dict(data), dict(metadata or {}))
                    return
                output = {"output_type": "display_data", "data": dict(data), "metadata": dict(metadata or {})}
                runner.cell.add(output)
                if display_id is not None and output in runner.cell.outputs:
                    runner.displays.setdefault(display_id, []).append((runner.index, output))

            def clear_output(self, wait=False):
                if wait:
                    runner.cell.clear_pending = True
                else:
                    runner.cell.outputs.clear()

        class Hook(DisplayHook):
            def start_displayhook(self):
                self._result = None

            def write_output_prompt(self):
                pass

            def write_format_data(self, format_dict, md_dict=None):
                self._result = (dict(format_dict), dict(md_dict or {}))

            def finish_displayhook(self):
                if self._result is not None:
                    data, metadata = self._result
                    runner.cell.add({"output_type": "execute_result", "data": data, "metadata": metadata,
                                     "execution_count": runner.count})  # Out[n] of In[n], as in Jupyter
                self._result = None

        self.cell = _Cell()
        self.index = -1  # the notebook cell being run
        self.count = 0  # its execution count
        self.cells: dict[int, _Cell] = {}  # every cell run so far (a display in it may be updated later)
        self.displays: dict[str, list[tuple[int, dict]]] = {}  # display id -> (cell, output) shown with it
        self.updated: set[int] = set()  # earlier cells whose displays a later cell updated
        self.fd_capture: _FdCapture | None = None
        self.shell = InteractiveShell.instance(displayhook_class=Hook, display_pub_class=Publisher,
                                               colors="nocolor")
        self.shell.enable_gui = lambda gui=None: None  # %matplotlib inline needs no event loop
        self.shell._showtraceback = self._record_error
        self.shell.showtraceback_orig = self.shell.showtraceback

    def _record_error(self, etype, evalue, stb) -> None:
        name = getattr(etype, "__name__", str(etype))
        self.cell.add({"output_type": "error", "ename": str(name), "evalue": str(evalue)[:5000],
                       "traceback": [str(line)[:5000] for line in list(stb)[-60:]]})

    def update_display(self, display_id: str, data: dict, metadata: dict) -> None:
        """``update_display``: every output shown with ``display_id`` takes the new data."""
        for index, output in self.displays.get(display_id, []):
            output["data"], output["metadata"] = data, metadata
            if index != self.index:
                self.updated.add(index)

    def run_cell(self, source: str, timeout: float, index: int = -1) -> tuple[list[dict], int | None, int]:
        """Run one cell; (outputs, execution count, characters cut)."""
        self.cell = _Cell()
        self.index = index
        self.cells[index] = self.cell
        self.count = self.shell.execution_count  # the number this cell runs as
        message = f"the cell ran longer than {timeout:g} s and was interrupted"
        timed_out = False

        def on_timeout(signum, frame):
            nonlocal timed_out
            timed_out = True
            raise CellTimeoutError(message)

        previous = signal.signal(signal.SIGALRM, on_timeout)
        signal.setitimer(signal.ITIMER_REAL, timeout, 1.0)  # then every second until the cell ends
        try:
            self.shell.run_cell(source, store_history=True, silent=False)
        except CellTimeoutError as exc:  # raised between IPython's own handlers
            self._record_error(CellTimeoutError, exc, [f"CellTimeoutError: {exc}"])
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        if self.fd_capture is not None:  # what the cell's code (or a program it ran) wrote to fd 1 and 2
            for name, text in self.fd_capture.read():
                self.cell.stream(name, text)
        if timed_out and not any(o.get("ename") == "CellTimeoutError" for o in self.cell.outputs):
            self._record_error(CellTimeoutError, CellTimeoutError(message), [])  # something swallowed it
        for output in self.cell.outputs:
            if output.get("ename") == "CellTimeoutError":
                output["traceback"] = [f"CellTimeoutError: {output['evalue']}"]
        return self.cell.outputs, self.shell.execution_count - 1, self.cell.cut


# ----- answers --------------------------------------------------------------------
_PLAIN = (str, int, float, bool, type(None))


def plain_value(value, depth: int = 0):
    """A JSON-able copy of ``value``: text, a number, a bool, None, or a list or dict of those.

    Checks exact types only, so nothing a student's class defines (``__eq__``, ``__iter__``,
    ``__str__``) runs here; a set becomes a sorted list. Raises ValueError naming what the
    value is instead.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if depth >= 2:
        raise ValueError("a value nested this deep is not an answer")
    if kind in (list, tuple, set, frozenset):
        items = list(value)
        if len(items) > 1000:
            raise ValueError(f"a {kind.__name__} of {len(items)} items is too large to be an answer")
        plain = [plain_value(item, depth + 1) for item in items]
        return sorted(plain, key=repr) if kind in (set, frozenset) else plain
    if kind is dict:
        if len(value) > 50 or any(type(key) is not str for key in value):
            raise ValueError("a dict answer has at most 50 keys, all of them text")
        return {key: plain_value(item, depth + 1) for key, item in value.items()}
    raise ValueError(f"a {kind.__name__}, not a plain value (a string, a number or a set of strings)")


def _saved_query(name: str):
    from sql.store import store

    if name not in list(store._data):
        return None
    return str(store._data[name])


def read_answer(answer: dict, shell) -> dict:
    """The current state of one declared answer: {"value": ...} or {"problem": ...} or {}."""
    kind, name = answer["type"], answer["name"]
    try:
        if kind == "query":
            text = _saved_query(name)
            return {} if text is None else {"value": text[:MAX_ANSWER_CHARS]}
        if kind == "value":
            if name not in shell.user_ns:
                return {}
            return {"value": plain_value(shell.user_ns[name])}
        if kind == "file":
            from wt06 import notebook

            session = getattr(notebook, "_current", None)
            if session is None:
                return {}
            path = os.path.join(str(session.project), name)
            if not os.path.isfile(path):
                return {}
            with open(path, encoding="utf-8", errors="replace") as handle:
                return {"value": handle.read(MAX_ANSWER_CHARS)}
    except ValueError as exc:
        return {"problem": str(exc)}
    except Exception as exc:  # noqa: BLE001 (whatever the student's code did to the tools)
        return {"problem": f"the answer could not be read ({type(exc).__name__})"}
    raise ValueError(f"unknown answer type {kind!r}")


def answers_json(shell, answers: list[dict]) -> str:
    """Every declared answer's state as JSON text: what a stock Jupyter kernel reports to the
    kernel back end (execution.py) through ``user_expressions``, without running a cell."""
    return json.dumps([{**answer, **read_answer(answer, shell)} for answer in answers], default=str)


def run_again(runner: Runner, spec: dict, emit) -> None:
    """Run the same notebook again on other incidents, for the answers only.

    ``spec["runs"]``: [{"env": {...}, "cells": [...]}]. Each run starts from an empty
    namespace and no saved query, with the course's locations pointed at its incident;
    outputs are not reported (they are about incidents the student must not see), only
    each run's answers after its last cell.
    """
    from sql.store import store

    answers = spec.get("answers", [])
    timeout = float(spec.get("cell_timeout", 60))
    for number, run in enumerate(spec["runs"]):
        runner.shell.reset(new_session=False)
        store._data.clear()
        os.environ.update(run["env"])
        for source in run["cells"]:
            if source is not None:
                emit({"event": "begin", "run": number})
                runner.run_cell(source, timeout)
                runner.updated.clear()
        for answer in answers:
            state = read_answer(answer, runner.shell)
            emit({"event": "answer", "run": number, "type": answer["type"], "name": answer["name"], **state})


def _as_in_a_kernel() -> None:
    """What libraries decide at import from "am I in a Jupyter kernel?" (imported here in the
    zygote, without one), set as a kernel sets it: pandas shows up to 20 columns (not the
    width of a terminal there is none of)."""
    import pandas as pd

    pd.set_option("display.max_columns", 20)


def run_job(spec: dict, emit) -> None:
    """Run the notebook in ``spec`` ({"cells": [...], "answers": [...], "cell_timeout": s}).

    With ``"runs"`` instead of ``"cells"``: the notebook's answers on other incidents
    (``run_again``).
    """
    sys.stdin = open(os.devnull)
    for variable in ("HOME", "IPYTHONDIR", "MPLCONFIGDIR", "TMPDIR", "WT06_WORK_DIR"):
        if os.environ.get(variable):
            os.makedirs(os.environ[variable], exist_ok=True)
    runner = Runner()
    _as_in_a_kernel()
    sys.stdout, sys.stderr = _Stream(runner, "stdout"), _Stream(runner, "stderr")
    try:
        runner.fd_capture = _FdCapture(os.getcwd())
    except OSError:  # no writable folder: fd-level output is lost, as before
        runner.fd_capture = None
    from wt06_grading.sandbox.checker import emit_counts, reset_counts

    reset_counts()
    if "runs" in spec:
        run_again(runner, spec, emit)
        return
    answers = spec.get("answers", [])
    known: dict[str, str] = {}
    timeout = float(spec.get("cell_timeout", 60))
    emit({"event": "start", "pid": os.getpid()})
    for index, source in enumerate(spec["cells"]):
        if source is None:  # a markdown cell
            continue
        started = time.monotonic()
        emit({"event": "begin", "index": index})
        outputs, count, cut = runner.run_cell(source, timeout, index)
        emit({"event": "cell", "index": index, "outputs": outputs, "execution_count": count, "cut": cut,
              "seconds": round(time.monotonic() - started, 3)})
        for earlier in sorted(runner.updated):  # a display this cell updated: that cell's outputs again
            emit({"event": "cell", "index": earlier, "outputs": runner.cells[earlier].outputs,
                  "execution_count": None, "cut": runner.cells[earlier].cut, "seconds": 0.0, "update": True})
        runner.updated.clear()
        for answer in answers:
            state = read_answer(answer, runner.shell)
            digest = json.dumps(state, sort_keys=True, default=str)
            key = f"{answer['type']}:{answer['name']}"
            if state and known.get(key) != digest:
                known[key] = digest
                emit({"event": "answer", "type": answer["type"], "name": answer["name"], "cell": index, **state})
    emit_counts(emit)
