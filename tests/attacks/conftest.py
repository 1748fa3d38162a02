"""The grading harness of the attack suite: grade a class of attacks, and watch everything.

``run_grading`` is the one place the suite calls the grading entry point
(``wt06_grading.batch.grade_class``), with its default sandbox setting. It runs the
batch in a child process contained by the *harness* (not by the engine under test), so
that an attack that beats the engine cannot hurt the machine or this test session:

* a PID namespace of its own (``unshare --pid --mount-proc``): ``kill -9 -1`` and a killed
  grader end inside it, and every process left behind dies when the batch ends;
* a cgroup capping processes (a fork bomb) and memory (above the 6 GiB attack, so an
  engine without limits is still caught), and a wall-clock deadline;
* a HOME of its own (the HOME the grader was given: planting there is an attack on a
  later notebook or student, and the suite hashes it).

Around each graded class the harness hashes every file the engine must protect (the
repository: instructor sources, data, dbt project, notebooks, the grader and its caches
under grader/.wt06; the work folder's grading caches and the built warehouse; the
virtual environment; the grader's HOME; the course's copy of the sources), diffs after,
names the attack a change came from (planted files carry a marker line), and restores
the files so one group's damage never spills into the next group or the developer's
checkout.

Grade once, assert many: the groups of attacks are graded in as few *batches* as they
allow (submissions.py says which and why): each batch is graded once per session, on a
course of its own, and every test reads its result. The main batch's course first grades
a bystander (blank notebooks, in a run of its own): that run also warms the engine's
caches and the grader's HOME before any snapshot. The grading caches it uses are this
process's copies (tests/conftest.py): no other test process writes into the folders the
harness watches, so the suite can run on one xdist worker while other tests run on the
other (``make test``: the suite is one xdist group).

Running it: ``make test`` runs it with everything else (it needs root, as CI has, for the
PID namespace and the cgroup); ``pytest tests/attacks/test_cells.py`` runs one family
(grading its whole batch); ``pytest -m "not attacks"`` leaves it out. Run one session of
the suite at a time on a checkout: two sessions watch (and restore) the same checkout and
virtual environment and would report, and undo, each other's attacks. While it runs, edit
nothing under grader/, wt06/, data/, dbt_project/ or notebooks/: a change there is
reported and undone.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import REPO  # tests/conftest.py

from .payloads import MARK
from .submissions import (
    ATTACKS,
    BASELINES,
    GROUPS,
    MAIN,
    SECRET_NAMES,
    Batch,
    Context,
    Group,
    attacks_in,
    batch_of,
    batches,
    known_incidents,
    notebooks_of,
    students,
    write_batch,
    write_student,
)

VENV = Path(sys.prefix)
PRUNE = {".git", ".venv", "__pycache__", ".pytest_cache", "node_modules", ".ruff_cache", ".mypy_cache", ".hypothesis",
         ".ipynb_checkpoints"}
PIDS_MAX = 1024
MEMORY_MAX = 9 << 30


# ----- markers and parametrization ---------------------------------------------------------
def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    empty = [item for item in items if item.nodeid.endswith("[NOTSET]")]  # a check no attack here needs
    if empty:
        config.hook.pytest_deselected(items=empty)
        items[:] = [item for item in items if item not in empty]
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.attacks)


def module_groups(module) -> list[str]:
    """The groups of attacks a test module covers (its GROUPS, solo groups included)."""
    wanted = getattr(module, "GROUPS", [])
    return [g for g in GROUPS if any(g == w or g.startswith(w + "-") for w in wanted) and attacks_in(g)]


def pytest_generate_tests(metafunc):
    if "graded" not in metafunc.fixturenames:
        return
    groups = module_groups(metafunc.module)
    if "attacker" in metafunc.fixturenames:
        function = metafunc.function
        pairs = [(batch_of(g), a.name) for g in groups for a in attacks_in(g)
                 if (not getattr(function, "only_detectable", False) or a.says)
                 and (not getattr(function, "only_refused", False) or a.zero)
                 and (not getattr(function, "only_probes", False) or a.probes)]
        metafunc.parametrize(("graded", "attacker"), pairs, indirect=True, scope="module",
                             ids=[f"{b}:{a}" for b, a in pairs])
    else:
        names = [b for b in batches() if any(batch_of(g) == b for g in groups)]
        metafunc.parametrize("graded", names, indirect=True, scope="module")


# ----- containment: a cgroup and a PID namespace around the batch -------------------------
class Containment:
    """A cgroup (v1 or v2) capping processes and memory for everything the batch starts."""

    def __init__(self, name: str) -> None:
        self.folders: list[Path] = []
        self.problems: list[str] = []
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        v1 = {c: p for line in lines for _, cs, p in [line.split(":", 2)] for c in cs.split(",") if cs}
        if v1:
            for controller, limit in (("pids", ("pids.max", PIDS_MAX)),
                                      ("memory", ("memory.limit_in_bytes", MEMORY_MAX))):
                base = Path("/sys/fs/cgroup") / controller / v1.get(controller, "/").lstrip("/")
                self._make(base / name, *limit)
        else:
            path = next(p for line in lines for _, cs, p in [line.split(":", 2)] if not cs)
            base = Path("/sys/fs/cgroup") / path.lstrip("/")
            folder = self._make(base / name, "pids.max", PIDS_MAX)
            if folder:
                try:
                    (folder / "memory.max").write_text(str(MEMORY_MAX))
                except OSError as exc:
                    self.problems.append(f"memory.max: {exc}")
        if not self.folders:
            pytest.fail("the attack suite contains each graded class in a cgroup (fork bombs, "
                        "6 GiB allocations) and could not create one: run it as root, "
                        f"as CI does ({'; '.join(self.problems)})")

    def _make(self, folder: Path, limit_file: str, value: int) -> Path | None:
        try:
            folder.mkdir(exist_ok=True)
            (folder / limit_file).write_text(str(value))
            self.folders.append(folder)
            return folder
        except OSError as exc:
            self.problems.append(f"{folder}: {exc}")
            return None

    def join(self) -> None:  # in the child, before exec
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def members(self) -> set[int]:
        pids = set()
        for folder in self.folders:
            try:
                pids |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
            except OSError:
                pass
        return pids

    def close(self) -> None:
        for _ in range(50):
            members = self.members()
            if not members:
                break
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)
        for folder in self.folders:
            for _ in range(20):
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


RUNNER = r'''
import json, os, sys, time, traceback
from pathlib import Path

args = json.loads(sys.argv[1])
out = {"status": "started", "pid": os.getpid()}
Path(args["result"]).write_text(json.dumps(out))
started = time.time()
try:
    from wt06_grading.batch import grade_class
    grade_class(Path(args["course"]), submitted=Path(args["submitted"]), jobs=args["jobs"],
                only=args["only"], cell_timeout=args["cell_timeout"], progress=False)
    out["status"] = "completed"
except BaseException as exc:
    out["status"] = "raised"
    out["error"] = "".join(traceback.format_exception(exc))[-4000:]
out["seconds"] = round(time.time() - started, 1)
time.sleep(1)
leftovers = []
for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) in (1, os.getpid()):
        continue
    try:
        state, parent = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[:2]
        command = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError, ValueError):
        continue
    # this process's own multiprocessing resource tracker (started with the Dask cluster)
    # lives as long as this process and ends with it: not something grading left behind
    if int(parent) == os.getpid() and "multiprocessing.resource_tracker" in command:
        continue
    if state != "Z":
        leftovers.append([int(entry), command[:600]])
out["leftovers"] = leftovers
Path(args["result"]).write_text(json.dumps(out))
'''


@dataclass
class Outcome:
    status: str  # completed | raised | killed (the grader died) | timeout
    seconds: float
    error: str = ""
    leftovers: list = field(default_factory=list)  # [pid, command line] alive after the batch


def run_grading(course: Path, submitted: Path, *, only, jobs: int, cell_timeout: int, home: Path,
                env: dict, deadline: float, log: Path) -> Outcome:
    """Grade ``submitted`` into ``course`` with the default grading entry point, contained."""
    if not shutil.which("unshare"):
        pytest.fail("the attack suite needs util-linux's unshare (a PID namespace per graded class)")
    result = log.with_suffix(".json")
    args = json.dumps({"course": str(course), "submitted": str(submitted), "only": list(only),
                       "jobs": jobs, "cell_timeout": cell_timeout, "result": str(result)})
    containment = Containment(f"wt06-attacks-{os.getpid()}-{course.parent.name}-{submitted.name}")
    command = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc",
               "sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c", RUNNER, args]
    started = time.time()
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=REPO, env={**env, "HOME": str(home)}, stdin=subprocess.DEVNULL,
                                   stdout=output, stderr=subprocess.STDOUT, preexec_fn=containment.join,
                                   start_new_session=True)
        try:
            process.wait(timeout=deadline)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    containment.close()
    seconds = time.time() - started
    try:
        data = json.loads(result.read_text())
    except (OSError, ValueError):
        data = {"status": "started"}
    tail = log.read_text(errors="replace")[-3000:]
    if timed_out:
        return Outcome("timeout", seconds, f"the batch ran past the harness's deadline ({deadline:.0f} s)\n{tail}")
    if data.get("status") == "started":
        return Outcome("killed", seconds, f"the grader died (exit status {process.returncode})\n{tail}")
    return Outcome(data["status"], seconds, data.get("error", ""), data.get("leftovers", []))


# ----- watching files ------------------------------------------------------------------------
@dataclass
class Diff:
    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    grown: list[str] = field(default_factory=list)  # new files where the engine keeps a cache (not a change)

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.removed)

    def paths(self) -> list[str]:
        return self.new + self.changed + self.removed


class Tree:
    """One folder the engine must not change: scanned before and after, restorable."""

    def __init__(self, label: str, root: Path, *, content: bool = True, restore: bool = True,
                 prune=PRUNE, keep=(), top_level: bool = False, grows=()) -> None:
        self.label, self.root, self.content, self.restorable = label, root, content, restore
        # folders the engine adds entries to by design (the memo of verdicts, keyed by content):
        # a new file there is expected; a changed or removed one is still a change
        self.grows = [str(root / g) + os.sep for g in grows]
        self.top_level = top_level  # only the files directly in root (new modules planted there)
        self.prune, self.keep = set(prune), [root / k for k in keep]
        self.backup: Path | None = None
        self.before: dict = {}

    def _walk(self):
        if self.root.is_file() or self.root.is_symlink():
            yield self.root
            return
        for folder, dirs, files in os.walk(self.root):
            names = [d for d in dirs if d not in self.prune]
            dirs[:] = [] if self.top_level else names
            for name in files + names:  # folders too: a planted folder left empty is still read
                yield Path(folder) / name

    def scan(self) -> dict[str, tuple]:
        out = {}
        for path in self._walk():
            key = str(path)
            try:
                info = path.lstat()
            except OSError:
                continue
            if path.is_symlink():
                out[key] = ("link", os.readlink(path))
            elif path.is_dir():
                out[key] = ("folder",)
            elif not path.is_file():
                out[key] = ("special", info.st_mode)
            elif self.content:
                digest = hashlib.sha256()
                with path.open("rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
                out[key] = ("file", digest.hexdigest())
            else:
                out[key] = ("file", info.st_size, info.st_mtime_ns)
        return out

    def start(self, scratch: Path) -> None:
        self.before = self.scan()
        if self.restorable and self.root.exists():
            self.backup = scratch / re.sub(r"\W", "_", self.label)
            shutil.rmtree(self.backup, ignore_errors=True)
            sources = [self.root] if self.content else [k for k in self.keep if k.exists()]
            if self.top_level:
                sources = [p for p in self.root.iterdir() if p.is_file() or p.is_symlink()]
            for source in sources:
                target = self.backup / source.relative_to(self.root) if source != self.root else self.backup
                if source.is_dir():
                    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns(*self.prune),
                                    dirs_exist_ok=True)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, target, follow_symlinks=False)

    def diff(self) -> Diff:
        after = self.scan()
        new = set(after) - set(self.before)
        grown = {k for k in new if any((k + os.sep).startswith(g) for g in self.grows)}
        return Diff(new=sorted(new - grown), grown=sorted(grown),
                    changed=sorted(k for k in set(after) & set(self.before) if after[k] != self.before[k]),
                    removed=sorted(set(self.before) - set(after)))

    def restore(self, diff: Diff) -> list[str]:
        """Undo ``diff``; the paths that could not be restored."""
        lost = []
        for key in sorted(diff.new + diff.grown, key=len):  # a new folder goes with everything in it
            path = Path(key)
            try:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                lost.append(key)
        for key in diff.changed + diff.removed:
            path = Path(key)
            saved = self.backup / path.relative_to(self.root) if self.backup and path != self.root else self.backup
            if saved is None or not (saved.exists() or saved.is_symlink()):
                lost.append(key)
                continue
            try:
                if saved.is_dir() and not saved.is_symlink():
                    path.mkdir(parents=True, exist_ok=True)
                    continue
                if path.is_symlink() or path.is_file():
                    path.unlink()
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(saved, path, follow_symlinks=False)
            except OSError:
                lost.append(key)
        return lost


def planted_by(path: str) -> str | None:
    """The attacker whose marker line a file carries, if any."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return None
    match = re.search(MARK.encode() + rb" (\w+)", head)
    return match.group(1).decode() if match else None


# ----- the loopback watcher (network attacks) -----------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Loopback:
    """A canary service the kernel must not reach, and a probe of the port it may listen on."""

    def __init__(self) -> None:
        self.ports = {"canary": free_port(), "listen": free_port(), "daemon": free_port()}
        self.reached: list[bytes] = []  # what the canary received
        self.served: list[bytes] = []  # what a service of the kernel's told us
        self._stop = threading.Event()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", self.ports["canary"]))
        self.server.listen(8)
        self.server.settimeout(0.3)
        self.threads = [threading.Thread(target=self._serve, daemon=True),
                        threading.Thread(target=self._probe, daemon=True)]
        for thread in self.threads:
            thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    self.reached.append(conn.recv(200) or b"(connected)")
                except OSError:
                    self.reached.append(b"(connected)")

    def _probe(self) -> None:
        while not self._stop.is_set():
            for name in ("listen", "daemon"):
                try:
                    with socket.create_connection(("127.0.0.1", self.ports[name]), timeout=0.3) as s:
                        s.settimeout(0.5)
                        try:
                            data = s.recv(200)
                        except OSError:
                            data = b""
                        self.served.append(data or f"(connected to {name})".encode())
                except OSError:
                    pass
            time.sleep(0.25)

    def close(self) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.server.close()


# ----- reading what grading produced ---------------------------------------------------------
def read_table(path: Path) -> dict[str, list[dict]] | None:
    if not path.is_file():
        return None
    table: dict[str, list[dict]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            table.setdefault(row["student"], []).append(row)
    return table


def read_gradebook(db: Path) -> list[tuple]:
    """(student, notebook, grade id, auto, manual, extra credit) for every grade of the course."""
    if not db.is_file():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return sorted(con.execute("""
            select sa.student_id, n.name, bc.name, g.auto_score, g.manual_score, g.extra_credit
            from grade g
            join submitted_notebook sn on g.notebook_id = sn.id
            join submitted_assignment sa on sn.assignment_id = sa.id
            join notebook n on sn.notebook_id = n.id
            join base_cell bc on g.cell_id = bc.id""").fetchall(), key=repr)
    except sqlite3.Error as exc:
        return [("(unreadable gradebook)", str(exc))]
    finally:
        con.close()


@dataclass
class GradedClass:
    """One graded batch of attacks and everything observed around it."""

    group: Batch  # the batch (its groups, notebooks, canary, bystander)
    course: Path
    outcome: Outcome
    table: dict | None
    students: dict  # student -> (baseline kind, attack or None)
    changes: dict[str, Diff]  # tree label -> what changed
    lost: list[str]  # changes the harness could not undo
    gradebook: list[tuple]
    bystander_before: list[tuple]
    outside: Path
    outside_left: list[str]
    loopback: Loopback | None
    secrets: dict[str, str]
    scans: dict = field(default_factory=dict)  # batch-wide scans, computed once (each family's module asks)

    def notebooks(self, student: str) -> tuple[str, ...]:
        """The notebooks ``student`` handed in (an attacker: its own group's)."""
        return notebooks_of(self.group, student)

    def rows(self, student: str, notebooks=None) -> list[dict]:
        """``student``'s rows; with ``notebooks``, only theirs and the submission's own notes."""
        assert self.table is not None, f"the batch wrote no grade table: {self.outcome.status}\n{self.outcome.error}"
        rows = self.table.get(student, [])
        if notebooks is not None:
            rows = [r for r in rows if r["notebook"] in notebooks or r["notebook"] == "(submission)"]
        return rows

    def scores(self, student: str, notebooks=None) -> dict[tuple[str, str], float]:
        return {(r["notebook"], r["question"]): float(r["score"] or 0)
                for r in self.rows(student, notebooks) if r["question"] != "(note)"}

    def feedback(self, student: str) -> dict[str, str]:
        folder = self.course / "feedback" / student
        return {str(p): p.read_text(errors="replace") for p in sorted(folder.rglob("*.html"))} \
            if folder.is_dir() else {}

    def planted(self) -> dict[str, list[str]]:
        """attacker -> changed files (anywhere) carrying its marker line."""
        out: dict[str, list[str]] = {}
        for diff in self.changes.values():
            for path in diff.new + diff.changed:
                who = planted_by(path)
                if who:
                    out.setdefault(who, []).append(path)
        return out


# ----- session: secrets, warm caches ----------------------------------------------------------
@pytest.fixture(scope="session")
def canary_secrets() -> dict[str, str]:
    """Values an instructor's environment might hold: none may reach a student."""
    return {name: f"s3cr3t{secrets.token_hex(12)}" for name in SECRET_NAMES}


@pytest.fixture(scope="session")
def attack_env(incident_warehouse, grading_cache, canary_secrets) -> dict:
    """The grader's environment: this process's locations (its copies of the warehouses and
    the grading cache, its work folder), never the session's shared cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WT06_TESTS_")}
    return {**env, **canary_secrets, "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="session")
def grader_home(tmp_path_factory) -> Path:
    """The HOME the grader runs with (an instructor's HOME): the same for every class."""
    return tmp_path_factory.mktemp("wt06-attacks-home")


@dataclass
class Prepared:
    """A batch's course before the graded run: its folder, HOME and bystander's rows."""

    batch: Batch
    folder: Path
    course: Path
    bystander_before: list


def _course(batch: Batch, tmp_path_factory) -> tuple[Path, Path]:
    from wt06_grading.foundation.layout import SOURCE

    folder = tmp_path_factory.mktemp(f"wt06-attacks-{batch.name}")
    shutil.copytree(SOURCE, folder / "course" / "source" / "wt06")
    return folder, folder / "course"


def _bystander(batch: Batch, folder: Path, course: Path, *, home: Path, env: dict) -> list[tuple]:
    """Grade a bystander (blank notebooks) in a run of its own; its gradebook rows."""
    write_student(course / "bystanders", "bystander", {f"{n}.ipynb": BASELINES["blank"](n) for n in batch.only})
    first = run_grading(course, course / "bystanders", only=batch.only, jobs=batch.jobs,
                        cell_timeout=batch.cell_timeout, home=home, env=env, deadline=1800,
                        log=folder / "bystander.log")
    assert first.status == "completed", f"grading the bystander failed:\n{first.error}"
    (course / "grades.csv").unlink(missing_ok=True)
    return [r for r in read_gradebook(course / "gradebook.db") if r[0] == "bystander"]


@pytest.fixture(scope="session")
def warm(incident_warehouse, grading_cache, attack_env, grader_home, tmp_path_factory) -> Prepared:
    """The main batch's course, its bystander graded: this first run also warms the
    engine's caches and the grader's HOME, so they exist before any snapshot."""
    batch = batches()[MAIN]
    folder, course = _course(batch, tmp_path_factory)
    before = _bystander(batch, folder, course, home=grader_home, env=attack_env)
    return Prepared(batch, folder, course, before)


@pytest.fixture(scope="session")
def oracle_incidents(incident_warehouse, tmp_path_factory):
    return known_incidents(tmp_path_factory.mktemp("wt06-attacks-known"), incident_warehouse)


# ----- one graded class ------------------------------------------------------------------------
def _trees(course: Path, home: Path) -> list[Tree]:
    from wt06.foundation import paths

    # this process's scratch: its copies of the built warehouses and of the grading cache, its
    # work folder; no other test process writes there (tests/conftest.py)
    scratch = paths.warehouse_path().parent
    return [  # the repository's course files (not tests/ or docs/: a developer may be editing them)
        *(Tree(f"repository {name}", REPO / name) for name in ("grader", "wt06", "data", "dbt_project", "notebooks")),
        Tree("repository top level", REPO, top_level=True),
        Tree("work folder and caches", scratch, grows=("grading-cache/memo",)),
        Tree("virtual environment", VENV, content=False, keep=("share/jupyter", "etc")),
        Tree("grader HOME", home),
        Tree("course sources", course / "source"),
    ]


def grade_batch(batch: Batch, prepared: Prepared, *, attack_env, canary_secrets, grader_home, known) -> GradedClass:
    """Write the batch's students, grade them contained, and diff every watched tree."""
    folder, course, home = prepared.folder, prepared.course, grader_home
    outside = Path(f"/tmp/wt06-attacks-outside-{os.getpid()}-{batch.name}")
    shutil.rmtree(outside, ignore_errors=True)
    from wt06.foundation import paths

    needs = {a for g in batch.groups for a in attacks_in(g.name)}
    loopback = Loopback() if any(p in ("network", "daemon") for a in needs for p in a.probes) else None

    def context(student: str) -> Context:
        attack_ = ATTACKS.get(student[len("attack_"):]) if student.startswith("attack_") else None
        group = GROUPS[attack_.group] if attack_ else Group(batch.name, batch.only, batch.baselines, batch.canary)
        return Context(student, group, course, paths.warehouse_path(), outside,
                       ports=loopback.ports if loopback else {}, known=known)

    roster = students(batch)
    write_batch(batch, course / "submitted", context)

    trees = _trees(course, home)
    backups = folder / "backups"
    for tree in trees:
        tree.start(backups)
    handed_in = sum(len(notebooks_of(batch, s)) for s in roster)
    deadline = 600 + 60 * handed_in / batch.jobs + 10 * batch.cell_timeout
    try:
        outcome = run_grading(course, course / "submitted", only=batch.only, jobs=batch.jobs,
                              cell_timeout=batch.cell_timeout, home=home, env=attack_env, deadline=deadline,
                              log=folder / "grading.log")
    finally:
        if loopback:
            loopback.close()
        changes = {tree.label: tree.diff() for tree in trees}
        lost = [p for tree in trees for p in tree.restore(changes[tree.label])]
        outside_left = [str(p) for p in outside.rglob("*")] if outside.exists() else []
        shutil.rmtree(outside, ignore_errors=True)
    return GradedClass(batch, course, outcome, read_table(course / "grades.csv"), roster, changes, lost,
                       read_gradebook(course / "gradebook.db"), prepared.bystander_before, outside,
                       outside_left, loopback, canary_secrets)


@pytest.fixture(scope="session")
def graded_batches(warm, attack_env, canary_secrets, grader_home, tmp_path_factory, request) -> dict:
    """batch name -> its GradedClass, each batch graded once per session, on first use."""
    done: dict[str, GradedClass] = {}

    def get(name: str) -> GradedClass:
        if name not in done:
            batch = batches()[name]
            if name == MAIN:
                prepared = warm
            else:
                folder, course = _course(batch, tmp_path_factory)
                before = _bystander(batch, folder, course, home=grader_home, env=attack_env) \
                    if batch.bystander else []
                prepared = Prepared(batch, folder, course, before)
            known = request.getfixturevalue("oracle_incidents") if "oracle" in {g.name for g in batch.groups} \
                else None
            done[name] = grade_batch(batch, prepared, attack_env=attack_env, canary_secrets=canary_secrets,
                                     grader_home=grader_home, known=known)
        return done[name]

    return get


@pytest.fixture(scope="module")
def graded(request, graded_batches) -> GradedClass:
    return graded_batches(request.param)


@pytest.fixture
def attacker(request):
    return ATTACKS[request.param]


# ----- what a grading incident is made of, to look for it where students read ---------------
@pytest.fixture(scope="session")
def grading_incident_data(grading_cache) -> dict[str, set[str]]:
    """Tokens only the course's grading incidents hold: their run ids, the days of their runs
    and their generator seeds (nothing a public incident, the released notebooks or the
    course's own incident also holds). Feedback and grade tables must hold none of them."""
    import duckdb

    from wt06 import incidents as public_incidents
    from wt06.foundation import paths
    from wt06_grading.definition import incidents

    def tokens(warehouse: Path) -> set[str]:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            rows = con.execute("select run_id, cast(cast(started_at as date) as varchar) from raw.raw_pipeline_runs")
            return {value for row in rows.fetchall() for value in row}
        finally:
            con.close()

    def days(warehouse: Path) -> set[str]:
        """Every day from a public incident's first row to a week past its clock: its replays and
        charts may show any of them (a secret incident's days that fall there prove nothing)."""
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            first, last = con.execute(
                "select least((select min(order_date) from raw.raw_orders), (select min(cast(started_at as date)) "
                "from raw.raw_pipeline_runs)), greatest((select max(cast(started_at as date)) from "
                "raw.raw_pipeline_runs), (select max(order_date) from raw.raw_orders))").fetchone()
        finally:
            con.close()
        return {str(first + timedelta(days=n)) for n in range((last - first).days + 8)}

    known = tokens(paths.warehouse_path()) | days(paths.warehouse_path())
    for name in public_incidents.PUBLIC:
        warehouse = public_incidents.ensure_built(name).warehouse
        known |= tokens(warehouse) | days(warehouse)
    released = "\n".join(p.read_text() for p in sorted((REPO / "notebooks").glob("*.ipynb")))
    secret: dict[str, set[str]] = {}
    specs = incidents.grading_specs(REPO / "grader", paths.data_dir(), paths.project_dir())
    for spec in specs:
        if spec.story in (incidents.CANONICAL, incidents.PUBLIC):
            continue
        built = incidents.build(spec, Path(grading_cache) / "incidents", course=REPO, project=paths.project_dir())
        mine = {t for t in tokens(built.warehouse) - known if t not in released}
        mine.add(str(json.loads(spec.params)["seed"]))
        secret[spec.id] = mine
    assert all(secret.values()), "the grading incidents hold nothing of their own to look for"
    return secret
