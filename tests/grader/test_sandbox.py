"""The sandbox: what a job can see, touch and leave behind, and how it ends.

One warm zygote serves every test here, as it serves a grading worker: so these tests
also show that nothing a job does reaches the next job.
"""

from __future__ import annotations

import json
import shutil

import pytest

from wt06_grading.sandbox.bwrap import COURSE_MOUNT, INCIDENTS_MOUNT, Limits, Zygote, ZygoteSpec, find_bwrap
from wt06_grading.sandbox.jail import JOB_ROOT

needs_bwrap = pytest.mark.skipif(find_bwrap() is None, reason="bubblewrap is not installed (make setup)")


@pytest.fixture(scope="module")
def zygote(incident_warehouse, tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(incident_warehouse, course / "warehouse.duckdb")
    incidents = tmp_path_factory.mktemp("incidents")
    (incidents / "secret.txt").write_text("the grading incidents")
    z = Zygote(ZygoteSpec(course=course, incidents=incidents, limits=Limits(tree_processes=200),
                           preload=("pandas", "duckdb", "sql.magic")))
    z.start()
    yield z
    z.close()


def _env():
    return {"PATH": "/usr/bin:/bin", "HOME": f"{JOB_ROOT}/home", "IPYTHONDIR": f"{JOB_ROOT}/ipython",
            "MPLCONFIGDIR": f"{JOB_ROOT}/mpl", "LANG": "C.UTF-8"}


def run(zygote, cells, *, hide=(INCIDENTS_MOUNT,), timeout=5, deadline=60, memory=2 << 30):
    spec = {"jail": {"hide": list(hide), "memory_bytes": memory, "processes": None}, "env": _env(),
            "cells": cells, "answers": [], "cell_timeout": timeout}
    outcome, output = zygote.run("notebook", spec, deadline=deadline)
    events = [json.loads(line) for line in output.decode().splitlines()]
    cells_out = {e["index"]: e["outputs"] for e in events if e["event"] == "cell"}
    return outcome, cells_out


def text(outputs) -> str:
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream") + \
        "".join(f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error")


@needs_bwrap
def test_a_job_sees_only_itself_has_no_capabilities_and_no_network(zygote):
    _, out = run(zygote, ["import os\nprint(sorted(p for p in os.listdir('/proc') if p.isdigit()), os.getpid())",
                          "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])",
                          "import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)",
                          "import urllib.request\nurllib.request.urlopen('http://example.com', timeout=2)"])
    assert text(out[0]).strip() == "['1', '2'] 2"
    assert text(out[1]).strip() == "0000000000000000"
    assert "ConnectionRefusedError" in text(out[2]) or "OSError" in text(out[2])
    assert "URLError" in text(out[3])


@needs_bwrap
def test_only_the_jobs_own_folder_is_writable_and_hidden_paths_are_hidden(zygote):
    _, out = run(zygote, [
        f"open('{JOB_ROOT}/mine.txt', 'w').write('ok'); print('wrote own')",
        f"open('{COURSE_MOUNT}/warehouse.duckdb', 'ab')",
        "open('/tmp/planted.py', 'w')",
        "open('/dev/shm/x', 'w').write('x'); print('shm ok')",
        f"import os\nprint(os.listdir('{INCIDENTS_MOUNT}'))",
        "import wt06_grading, os\nopen(os.path.join(os.path.dirname(wt06_grading.__file__), 'x.py'), 'w')",
        "print(open('/root/.bash_history').read())",
    ])
    assert "wrote own" in text(out[0])
    for index in (1, 2, 5):
        assert "Read-only file system" in text(out[index]) or "Permission denied" in text(out[index]), text(out[index])
    assert "shm ok" in text(out[3])
    assert "Permission denied" in text(out[4])
    assert "No such file" in text(out[6])


@needs_bwrap
def test_nothing_a_job_does_reaches_the_next_job(zygote):
    """Notebook A monkeypatches modules, sets jupysql options, moves, plants; notebook B is untouched."""
    run(zygote, [
        "import pandas, duckdb, os, sys, builtins\n"
        "pandas.DataFrame = None\nduckdb.connect = None\nbuiltins.AssertionError = Exception\n"
        "os.environ['PLANTED'] = '1'\nos.chdir('/')\nsys.path.insert(0, '/tmp/wt06-job')",
        "%load_ext sql\n%config SqlMagic.displaylimit = 1",
        f"open('{JOB_ROOT}/pandas.py', 'w').write('raise SystemExit')\n"
        "import subprocess\nsubprocess.Popen(['sleep', '1000'])",
    ])
    _, out = run(zygote, [
        "import pandas, duckdb, os, builtins\n"
        "print(type(pandas.DataFrame).__name__, callable(duckdb.connect), builtins.AssertionError is Exception)",
        "print(os.environ.get('PLANTED'), os.getcwd(), os.listdir('.'))",
        "%load_ext sql\nfrom sql.magic import SqlMagic\nprint(SqlMagic.displaylimit.default_value)",
        "print(sorted(p for p in os.listdir('/proc') if p.isdigit()))",
    ])
    assert text(out[0]).strip() == "type True False"
    assert text(out[1]).startswith(f"None {JOB_ROOT} ") and "pandas.py" not in text(out[1])
    assert text(out[2]).strip() != "1"
    assert text(out[3]).strip() == "['1', '2']"


@needs_bwrap
def test_a_cell_timeout_interrupts_the_cell_and_not_the_notebook(zygote):
    outcome, out = run(zygote, ["import time\ntry:\n    time.sleep(60)\nexcept Exception:\n    pass",
                                "print('next cell ran')"], timeout=1)
    assert "CellTimeoutError" in text(out[0])
    assert "next cell ran" in text(out[1]) and not outcome["timed_out"]


@needs_bwrap
def test_a_timeout_swallowed_by_the_cells_code_still_counts(zygote):
    # dbt's runner catches BaseException: a timeout inside a dbt call must not turn into an answer
    swallow = ("import time\nfor _ in range(5):\n    try:\n        time.sleep(60)\n    except BaseException:\n"
               "        print('swallowed')\nprint('finished anyway')")
    outcome, out = run(zygote, [swallow, "print('next cell ran')"], timeout=1, deadline=30)
    assert "CellTimeoutError" in text(out[0]) and "swallowed" in text(out[0])
    assert "next cell ran" in text(out[1]) and not outcome["timed_out"]


@needs_bwrap
def test_a_cell_that_will_not_stop_is_ended_with_its_job(zygote):
    outcome, out = run(zygote, ["import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass",
                                "print('never')"], timeout=1, deadline=4)
    assert outcome["timed_out"] and 1 not in out


@needs_bwrap
def test_a_dying_job_reports_what_ran_before(zygote):
    outcome, out = run(zygote, ["print('first')", "import os\nos._exit(3)", "print('never')"])
    assert text(out[0]).strip() == "first" and 1 not in out and outcome["status"] == 3


@needs_bwrap
@pytest.mark.slow
def test_memory_processes_and_output_are_bounded(zygote):
    _, out = run(zygote, ["x = bytearray(6 << 30)"], memory=2 << 30)
    assert "MemoryError" in text(out[0])
    outcome, out = run(zygote, ["import os\nfor _ in range(400):\n    if os.fork() == 0:\n        import time\n"
                                "        time.sleep(30)\n        os._exit(0)",
                                "print('after')"], timeout=10, deadline=30)
    assert "BlockingIOError" in text(out[0]) or "Resource temporarily unavailable" in text(out[0]) or \
        outcome["timed_out"], text(out.get(0, []))
    _, out = run(zygote, ["print('x' * 50_000_000)", "print('done')"])
    assert len(text(out[0])) < 200_000 and "done" in text(out[1])
    _, out = run(zygote, ["print('still serving')"])
    assert "still serving" in text(out[0])


def test_without_bubblewrap_grading_stops_with_one_sentence(tmp_path, monkeypatch):
    from wt06_grading.sandbox import bwrap

    monkeypatch.setattr(bwrap, "find_bwrap", lambda: None)
    with pytest.raises(bwrap.SandboxError, match="make setup.*--no-sandbox"):
        Zygote(ZygoteSpec(course=tmp_path)).start()


@needs_bwrap
def test_a_cell_that_ignores_its_limit_stops_at_the_idle_limit_not_the_deadline(zygote):
    spec = {"jail": {"hide": [INCIDENTS_MOUNT], "processes": None}, "env": _env(), "answers": [], "cell_timeout": 1,
            "cells": ["import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"]}
    outcome, _ = zygote.run("notebook", spec, deadline=120, idle=3)
    assert outcome["stalled"] and outcome["seconds"] < 30
