"""Attack submissions, generated from the released notebooks and the instructor solutions.

Each attack is what a student who wants points without the skill would hand in: an
honest baseline (blank, hard-coded, wrong or full answers, built by the fixture helpers
of ``wt06_grading.definition.rehearsal``) plus the attack. The function that builds it says,
in its docstring, the threat and the outcome an honest grading engine gives.

Attacks come in *groups* (a family of attacks on the same notebooks: ``@attack(group,
base)`` adds one), and groups are graded in *batches*: one graded class each, since
grading is the expensive part. A batch grades the union of its groups' notebooks with one
course, one reference computation and one warm worker pair; each attacker submits only
its own group's notebooks, and its assertions read only those notebooks' rows (and the
submission's own notes), so a "not submitted" note for a notebook it never handed in can
never count as a detection. Every group joins the ``main`` batch unless it says otherwise:

* ``resources``: sleeping cells want a short cell timeout, and a fork bomb or a 6 GiB
  allocation wants one job at a time;
* ``solo=True``: an attack that must be alone in its batch (it would kill the worker, or
  change what the rest of the batch sees, if the engine failed to stop it) says why in
  its docstring, in a sentence starting "Alone in its batch:" (checked at import).

A batch grades its groups' honest baselines on all its notebooks (as ``aa_<kind>``, before
the attackers), a canary after them (``zz_<kind>``: a later student must be graded
exactly as the earlier one) and, where gradebook forging is in play, a bystander graded in
an earlier run whose gradebook rows must not change. The canary's and the attackers'
notebooks end with a cell naming the student, so no two of them are the same bytes: a
grader that reuses results by content cannot answer the canary (or the notebook where a
planted payload would pay off) from an execution that ran before the attacks.

``write_batch(batch, course, ctx)`` writes a batch's students in nbgrader's layout.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from wt06_grading.definition.rehearsal import (
    ASSIGNMENT,
    PARTLY_WRONG,
    _cell,
    _literal,
    _without_tests,
    answer,
    blank,
    hard_coded,
    insert_after,
    solved,
)
from wt06_grading.foundation.layout import REPO, SOURCE

from . import payloads

NB01, NB03, NB05 = "01_detect_staleness", "03_phantom_successes", "05_fix_and_prevent"
NB04 = "04_blast_radius"
NOTEBOOK_ORDER = [NB01, NB03, NB05]
MAIN = "main"  # the batch every group joins unless it names another
ALONE = "Alone in its batch:"
SECRET_NAMES = ("WT06_ATTACK_CANARY_SECRET", "AWS_SECRET_ACCESS_KEY")


# ----- what a graded class of attacks is ------------------------------------------------
@dataclass(frozen=True)
class Group:
    name: str
    only: tuple[str, ...]  # notebooks graded
    baselines: tuple[str, ...]  # honest baselines graded beside the attackers
    canary: str = "full"  # baseline graded again after the attackers (full marks: damage shows)
    jobs: int = 1
    cell_timeout: int = 30
    bystander: bool = False  # grade a bystander first, in a run of its own
    batch: str = MAIN  # the graded class this group joins


@dataclass(frozen=True)
class Batch:
    """One graded class: the groups graded together, and the settings they need."""

    name: str
    groups: tuple[Group, ...]

    @property
    def only(self) -> tuple[str, ...]:
        wanted = {n for g in self.groups for n in g.only}
        return tuple(sorted(wanted, key=lambda n: (NOTEBOOK_ORDER + sorted(wanted)).index(n)))

    @property
    def baselines(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(b for g in self.groups for b in g.baselines))

    @property
    def canary(self) -> str:
        (canary,) = {g.canary for g in self.groups}  # one canary per batch
        return canary

    @property
    def jobs(self) -> int:  # two workers where any group wants them (private gradebook copies)
        return max(g.jobs for g in self.groups)

    @property
    def cell_timeout(self) -> int:
        return max(g.cell_timeout for g in self.groups)

    @property
    def bystander(self) -> bool:
        return any(g.bystander for g in self.groups)


@dataclass
class Context:
    """What building one attacker needs."""

    student: str
    group: Group
    course: Path  # the course folder; submissions live in course/submitted/
    warehouse: Path  # the built canonical incident
    outside: Path  # a folder outside every work folder: nothing may appear in it
    ports: dict[str, int] = field(default_factory=dict)
    known: list | None = None  # incidents an oracle knows (built on demand)

    def base(self, kind: str, name: str):
        return BASELINES[kind](name, self.warehouse)


@dataclass(frozen=True)
class Attack:
    name: str
    group: str
    base: str  # the honest baseline its score is compared with
    build: Callable[[Context], dict]  # file name -> notebook | bytes | Link | Special
    says: str | None = None  # regex the attacker's grade table rows must match
    zero: tuple[str, ...] = ()  # questions that must score 0 (the answer is refused)
    probes: tuple[str, ...] = ()  # extra checks: "network", "daemon", "outside"

    @property
    def student(self) -> str:
        return f"attack_{self.name}"

    @property
    def doc(self) -> str:
        return " ".join((self.build.__doc__ or "").split())


# Files that are not notebooks.
@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Hardlink:
    target: str


@dataclass(frozen=True)
class Fifo:
    pass


@dataclass(frozen=True)
class Device:
    major: int
    minor: int


FOLDER = ""  # key of an entry that replaces the whole submission folder


# ----- honest baselines ---------------------------------------------------------------
WRONG = {  # plausible mistakes that run and pass no hidden check
    NB01: {"mart_staleness": None,  # measured with now() instead of the story's clock
           "dashboard_gap": PARTLY_WRONG[NB01]["dashboard_gap"]},
    NB03: {"phantom_successes": PARTLY_WRONG[NB03]["phantom_successes"], "root_cause": None},
    NB05: {"scheduler_command": PARTLY_WRONG[NB05]["scheduler_command"],
           "source_freshness": None,
           "freshness_test": "-- every row is a failure, fresh or not\n"
                             "select * from {{ ref('fct_revenue_daily') }}"},
}


def wrong(name: str, warehouse: Path | None = None):
    notebook = solved(name)
    for grade_id, source in WRONG.get(name, {}).items():
        cell = _cell(notebook, grade_id)
        if source is not None:
            answer(notebook, grade_id, source)
        elif grade_id == "mart_staleness":
            cell.source = cell.source.replace("as_of()", "now()")
        elif grade_id == "root_cause":
            cell.source = cell.source.replace("order by started_at desc", "order by started_at")
        elif grade_id == "source_freshness":
            cell.source = cell.source.replace("count: 24", "count: 1").replace("count: 48", "count: 2")
    return notebook


BASELINES: dict[str, Callable] = {
    "blank": lambda name, warehouse=None: blank(name),
    "hard_coded": lambda name, warehouse: hard_coded(name, warehouse),
    "wrong": wrong,
    "full": lambda name, warehouse=None: solved(name),
}


# ----- the registry ---------------------------------------------------------------------
GROUPS: dict[str, Group] = {}
ATTACKS: dict[str, Attack] = {}


def group(name: str, only, baselines, canary="full", **kwargs) -> Group:
    """Register a family of attacks; the canary's kind is always among its baselines."""
    baselines = tuple(dict.fromkeys([*baselines, canary]))
    GROUPS[name] = Group(name, tuple(only), baselines, canary, **kwargs)
    return GROUPS[name]


def attack(group_name: str, base: str, *, says: str | None = None, zero=(), probes=(), solo=False):
    """Register the decorated builder as an attack of ``group_name``, graded in that group's
    batch; ``solo``: in a batch of its own, for the reason its docstring gives after
    "Alone in its batch:"."""
    def register(build):
        name = build.__name__
        where = group_name
        if solo:
            if ALONE not in " ".join((build.__doc__ or "").split()):
                raise ValueError(f"attack {name} is graded alone: its docstring must say why, in a "
                                 f"sentence starting {ALONE!r}")
            parent = GROUPS[group_name]
            where = f"{group_name}-{name}"
            group(where, parent.only, (base,), cell_timeout=parent.cell_timeout, jobs=parent.jobs,
                  batch=where)
        ATTACKS[name] = Attack(name, where, base, build, says, tuple(zero), tuple(probes))
        return build
    return register


def attacks_in(group_name: str) -> list[Attack]:
    return [a for a in ATTACKS.values() if a.group == group_name]


def batches() -> dict[str, Batch]:
    """batch name -> the batch of every group that has attacks, main first."""
    names = sorted({g.batch for g in GROUPS.values() if attacks_in(g.name)}, key=lambda b: (b != MAIN, b))
    return {b: Batch(b, tuple(g for g in GROUPS.values() if g.batch == b and attacks_in(g.name)))
            for b in names}


def batch_of(group_name: str) -> str:
    return GROUPS[group_name].batch


def attacks_in_batch(batch: Batch) -> list[Attack]:
    return [a for g in batch.groups for a in attacks_in(g.name)]


def grade_cells(notebook, *, tests=True):
    return [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade" if tests else "solution")]


def _code_after_setup(notebook, source: str):
    return insert_after(notebook, "setup", source)


def _on_cell(ctx: Context, base: str, name: str, grade_id: str, source: str):
    """``base`` with the answer cell ``grade_id`` replaced by ``source`` (magic line kept)."""
    notebook = ctx.base(base, name)
    _cell(notebook, grade_id).source = source
    return {f"{name}.ipynb": notebook}


# ===== 1. cells: the course's ids, not the submission's =================================
group("cells", [NB01], ["blank", "hard_coded", "full"])

DETECT_CELLS = r"(?i)delet|missing|restor|metadata|edited|changed|renam|duplicat|type|grade.?id|points|checksum|not part"


@attack("cells", "hard_coded", says=DETECT_CELLS)
def delete_tests(ctx):
    """Threat: with the test cells gone, the hidden checks keyed by the submission's grade ids
    never run, and nbgrader restores the visible tests, which literals pass (issue 8: 18/18).
    Expected: the hidden check runs anyway; hard-coded answers score as the hard-coded baseline."""
    return {f"{NB01}.ipynb": _without_tests(ctx.base("hard_coded", NB01))}


@attack("cells", "hard_coded", says=DETECT_CELLS)
def strip_test_metadata(ctx):
    """Threat: test cells whose nbgrader metadata is removed are no longer test cells for a
    grader that reads the submission's metadata. Expected: found by the course's checksums
    or graded as deleted; no more than the hard-coded baseline."""
    notebook = ctx.base("hard_coded", NB01)
    for cell in grade_cells(notebook):
        del cell.metadata["nbgrader"]
    return {f"{NB01}.ipynb": notebook}


@attack("cells", "hard_coded", says=DETECT_CELLS)
def strip_all_metadata(ctx):
    """Threat: no cell carries nbgrader metadata (answers, tests, setup). Expected: the
    course's cells are found by their content or scored 0; never above the baseline."""
    notebook = ctx.base("hard_coded", NB01)
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
    return {f"{NB01}.ipynb": notebook}


@attack("cells", "hard_coded", says=DETECT_CELLS)
def rename_test_ids(ctx):
    """Threat: test cells renamed to grade ids the course does not have: the hidden checks
    keyed by the submitted ids find nothing. Expected: the course's ids get their verdicts."""
    notebook = ctx.base("hard_coded", NB01)
    for cell in grade_cells(notebook):
        cell.metadata["nbgrader"]["grade_id"] += "_renamed"
    return {f"{NB01}.ipynb": notebook}


@attack("cells", "hard_coded", says=DETECT_CELLS)
def rename_answer_ids(ctx):
    """Threat: answer cells renamed, so a grader that looks answers up by grade id finds
    none and perhaps skips the check. Expected: scored as the baseline or 0."""
    notebook = ctx.base("hard_coded", NB01)
    for cell in grade_cells(notebook, tests=False):
        cell.metadata["nbgrader"]["grade_id"] += "_renamed"
    return {f"{NB01}.ipynb": notebook}


@attack("cells", "hard_coded", says=DETECT_CELLS)
def duplicate_test_cells(ctx):
    """Threat: each test cell duplicated (same grade id) with a harmless copy first, so a
    grader keyed by id may keep the copy. Expected: one verdict per course id, no more
    than the baseline."""
    notebook = ctx.base("hard_coded", NB01)
    for cell in grade_cells(notebook):
        copy = nbformat.v4.new_code_cell("pass", metadata=json.loads(json.dumps(cell.metadata)))
        notebook.cells.insert(notebook.cells.index(cell), copy)
    return {f"{NB01}.ipynb": notebook}


@attack("cells", "hard_coded", says=DETECT_CELLS)
def duplicate_answer_cells(ctx):
    """Threat: each answer cell duplicated (same grade id), the copy holding something else,
    hoping the grader checks one while the kernel ran the other. Expected: no more than
    the baseline."""
    notebook = ctx.base("hard_coded", NB01)
    for cell in grade_cells(notebook, tests=False):
        first = cell.source.split("\n", 1)[0]
        copy = nbformat.v4.new_code_cell(first + "\nselect 1 as x",
                                         metadata=json.loads(json.dumps(cell.metadata)))
        notebook.cells.insert(notebook.cells.index(cell), copy)
    return {f"{NB01}.ipynb": notebook}


def _retyped(notebook, cells, kind):
    for cell in cells:
        index = notebook.cells.index(cell)
        maker = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_raw_cell
        notebook.cells[index] = maker(cell.source, metadata=cell.metadata)
    return notebook


@attack("cells", "hard_coded", says=DETECT_CELLS)
def retype_tests_markdown(ctx):
    """Threat: test cells turned into markdown cells: nothing runs them, yet they keep their
    grade ids. Expected: the course's test code runs (or the cell scores 0)."""
    notebook = ctx.base("hard_coded", NB01)
    return {f"{NB01}.ipynb": _retyped(notebook, grade_cells(notebook), "markdown")}


@attack("cells", "hard_coded", says=DETECT_CELLS)
def retype_tests_raw(ctx):
    """Threat: test cells turned into raw cells. Expected: as for markdown."""
    notebook = ctx.base("hard_coded", NB01)
    return {f"{NB01}.ipynb": _retyped(notebook, grade_cells(notebook), "raw")}


@attack("cells", "hard_coded", says=DETECT_CELLS + r"|no answer|no saved query")
def retype_answers_raw(ctx):
    """Threat: answer cells turned into raw cells (their queries never run, the checks may be
    skipped). Expected: no answer, 0 for those questions."""
    notebook = ctx.base("hard_coded", NB01)
    return {f"{NB01}.ipynb": _retyped(notebook, grade_cells(notebook, tests=False), "raw")}


@attack("cells", "hard_coded")
def forged_points(ctx):
    """Threat: test cells claim 100 points each. Expected: points come from the course's
    gradebook only; the maximum and the score stay the course's."""
    notebook = ctx.base("hard_coded", NB01)
    for cell in grade_cells(notebook):
        cell.metadata["nbgrader"]["points"] = 100
    return {f"{NB01}.ipynb": notebook}


@attack("cells", "full")
def forged_points_full(ctx):
    """Threat: a full-marks notebook whose test cells claim 100 points: more than full
    marks. Expected: exactly the full baseline's points."""
    notebook = ctx.base("full", NB01)
    for cell in grade_cells(notebook):
        cell.metadata["nbgrader"]["points"] = 100
    return {f"{NB01}.ipynb": notebook}


@attack("cells", "hard_coded", says=DETECT_CELLS)
def forged_bonus_cell(ctx):
    """Threat: a new graded cell the course never had (grade id 'bonus', 50 points) that
    always passes. Expected: ignored (no row, no points) or scored 0."""
    notebook = ctx.base("hard_coded", NB01)
    cell = nbformat.v4.new_code_cell("print('bonus')", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "bonus", "points": 50,
        "schema_version": 3}})
    notebook.cells.append(cell)
    return {f"{NB01}.ipynb": notebook}


@attack("cells", "hard_coded", says=DETECT_CELLS)
def forged_checksum(ctx):
    """Threat: test cells replaced by `pass`, with their metadata checksum recomputed so a
    grader comparing the submission with itself sees no edit. Expected: the course's test
    code runs; no more than the baseline."""
    from nbgrader.utils import compute_checksum

    notebook = ctx.base("hard_coded", NB01)
    for cell in grade_cells(notebook):
        cell.source = "pass"
        cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
    return {f"{NB01}.ipynb": notebook}


def _swallowing(ctx, code):
    return {f"{NB01}.ipynb": _code_after_setup(ctx.base("blank", NB01), code)}


@attack("cells", "blank")
def swallow_excepthook(ctx):
    """Threat: sys.excepthook and IPython's traceback display replaced by no-ops, so failing
    test cells show no error. Expected: a failed test still fails (0, as blank)."""
    return _swallowing(ctx, payloads.SWALLOW_EXCEPTHOOK)


@attack("cells", "blank")
def swallow_custom_exc(ctx):
    """Threat: IPython's set_custom_exc swallows every exception in later cells. Expected: 0."""
    return _swallowing(ctx, payloads.SWALLOW_CUSTOM_EXC)


@attack("cells", "blank")
def swallow_builtins(ctx):
    """Threat: builtins.AssertionError and the course's errors rebound to a harmless
    Warning. Expected: 0, as blank."""
    return _swallowing(ctx, payloads.SWALLOW_BUILTINS)


@attack("cells", "blank")
def swallow_clear_output(ctx):
    """Threat: a post_run_cell hook clears a cell's output whenever it raised, so the
    executed notebook shows failing tests without their error. Expected: 0, as blank."""
    return _swallowing(ctx, payloads.SWALLOW_CLEAR_OUTPUT)


# ===== 2. intake: regular files only ====================================================
group("intake", [NB01], ["blank", "full"])
NOT_REGULAR = r"(?i)link|regular|not a (notebook|file)|special|device|fifo|pipe|outside|refus|missing"


@attack("intake", "blank", says=NOT_REGULAR)
def symlink_to_instructor(ctx):
    """Threat: the notebook is a symlink to the instructor's source (issue 8: graded as the
    instructor's solutions, 18/18). Expected: refused as not a regular file, graded missing."""
    return {f"{NB01}.ipynb": Symlink(str(SOURCE / f"{NB01}.ipynb"))}


@attack("intake", "blank", says=NOT_REGULAR)
def symlink_to_passwd(ctx):
    """Threat: the notebook is a symlink to /etc/passwd: the grader reads (and may echo)
    a system file. Expected: refused, graded missing, nothing of the file echoed."""
    return {f"{NB01}.ipynb": Symlink("/etc/passwd")}


@attack("intake", "blank", says=NOT_REGULAR)
def symlink_to_classmate(ctx):
    """Threat: the notebook is a relative symlink (../../) to a classmate's submission.
    Expected: refused, graded missing."""
    return {f"{NB01}.ipynb": Symlink(f"../../aa_full/{ASSIGNMENT}/{NB01}.ipynb")}


@attack("intake", "blank", says=NOT_REGULAR)
def symlink_folder(ctx):
    """Threat: the submission folder itself is a symlink to the instructor's source folder
    (a path that leaves the submission folder). Expected: refused, graded missing."""
    return {FOLDER: Symlink(str(SOURCE))}


@attack("intake", "blank", says=NOT_REGULAR)
def hardlink_to_instructor(ctx):
    """Threat: the notebook is a hard link to the instructor's source (same inode: no
    symlink to see). Expected: refused (a file with other links), graded missing."""
    return {f"{NB01}.ipynb": Hardlink(str(SOURCE / f"{NB01}.ipynb"))}


@attack("intake", "blank", says=NOT_REGULAR)
def hardlink_to_classmate(ctx):
    """Threat: the notebook is a hard link to a classmate's submitted notebook.
    Expected: refused, graded missing. Which of two linked files is the original cannot be
    told from the files, so the classmate's is refused too and both need a look: the link
    targets the blank classmate, whose score does not change, not the full-marks canary."""
    return {f"{NB01}.ipynb": Hardlink(str(ctx.course / "submitted" / "aa_blank" / ASSIGNMENT / f"{NB01}.ipynb"))}


@attack("intake", "blank")
def timestamp_symlink(ctx):
    """Threat: timestamp.txt is a symlink to /etc/shadow, copied by the grader into places
    the kernel can read. Expected: ignored or refused; nothing of it reaches the outputs."""
    return {f"{NB01}.ipynb": ctx.base("blank", NB01), "timestamp.txt": Symlink("/etc/shadow")}


@attack("intake", "blank", says=NOT_REGULAR)
def fifo(ctx):
    """Threat: the notebook is a FIFO: reading it blocks forever and the batch hangs.
    Expected: refused without being opened; the batch completes."""
    return {f"{NB01}.ipynb": Fifo()}


@attack("intake", "blank", says=NOT_REGULAR)
def device_zero(ctx):
    """Threat: the notebook is a character device like /dev/zero: reading it never ends
    and fills memory. Expected: refused without being read; the batch completes."""
    return {f"{NB01}.ipynb": Device(1, 5)}


@attack("intake", "blank", says=NOT_REGULAR)
def symlink_to_dev_zero(ctx):
    """Threat: the notebook is a symlink to /dev/zero. Expected: refused, batch completes."""
    return {f"{NB01}.ipynb": Symlink("/dev/zero")}


# ===== 3. persistence: nothing a notebook writes is trusted later ========================
group("persistence", [NB01, NB03], ["hard_coded"], bystander=True)


def _planted(ctx, code):
    return {f"{NB01}.ipynb": _code_after_setup(ctx.base("hard_coded", NB01), code)}


@attack("persistence", "hard_coded")
def kernel_spec(ctx):
    """Threat: notebook 01 rewrites every kernel spec it can write (issue 8: the grading
    kernel.json lived in the writable scratch folder): later kernels boot a payload that
    writes full marks into the gradebook. Expected: later notebooks start from the
    grader's own spec; no score above the hard-coded baseline."""
    return _planted(ctx, payloads.kernel_spec(ctx.student))


@attack("persistence", "hard_coded")
def ipython_startup(ctx):
    """Threat: IPython startup files and kernel configs planted in every IPYTHONDIR and
    HOME (and the environment's etc/ipython) run in later kernels. Expected: nothing planted
    runs later; scores as the baseline."""
    return _planted(ctx, payloads.ipython_startup(ctx.student))


@attack("persistence", "hard_coded")
def nbgrader_config(ctx):
    """Threat: nbgrader/Jupyter config files (Python, executed by the grader's own nbgrader
    process) planted or appended in the course root, the grader's working folder, HOME and
    the environment. Expected: the grader reads no config a kernel could write."""
    return _planted(ctx, payloads.nbgrader_config(ctx.student))


@attack("persistence", "hard_coded")
def home_dotfiles(ctx):
    """Threat: HOME dotfiles a later process reads: user site-packages .pth and
    usercustomize, ~/.ipython startup, ~/.jupyter config, ~/.dbt/profiles.yml, in the
    kernel's HOME and the grader's. Expected: none of them is read later."""
    return _planted(ctx, payloads.home_dotfiles(ctx.student))


@attack("persistence", "hard_coded")
def plant_modules(ctx):
    """Threat: wt06.py, duckdb.py, pandas.py, sql.py, nbgrader.py, sitecustomize.py and a
    .pth planted in every writable folder on sys.path, every process's working folder and
    HOME, to run in later notebooks, later students and the grader. Expected: nothing
    outside the job's folder is writable; scores as the baseline."""
    return _planted(ctx, payloads.plant_modules(ctx.student))


@attack("persistence", "hard_coded")
def monkeypatch_modules(ctx):
    """Threat: wt06, duckdb, pandas, jupysql, json and IPython patched in memory, hoping
    notebook 03 runs in the same interpreter and inherits the patches. Expected: each
    notebook starts clean; scores as the baseline."""
    return _planted(ctx, payloads.monkeypatch(ctx.student))


# ===== 4. escape: reading what is secret, writing what is not ours ========================
group("escape", [NB01], ["blank", "wrong", "hard_coded", "full"], jobs=2, bystander=True)


def _blank_with(ctx, code):
    return {f"{NB01}.ipynb": _code_after_setup(ctx.base("blank", NB01), code)}


@attack("escape", "blank")
def read_solutions(ctx):
    """Threat: grep the filesystem (and other processes' /proc/<pid>/root) for 'BEGIN
    SOLUTION' and hidden tests, read grader/source and the reference caches, print them
    into the feedback and answer with them (issue 8: 56 solution lines printed). Expected:
    nothing found; no solution line in the feedback; scores as blank."""
    return _blank_with(ctx, payloads.read_solutions(ctx.student))


@attack("escape", "blank")
def read_classmates(ctx):
    """Threat: read a classmate's submission (the course's submitted/ folder, other
    scratch folders) and answer with it. Expected: not readable; scores as blank."""
    return _blank_with(ctx, payloads.read_classmates(ctx.student))


@attack("escape", "wrong")
def write_gradebook(ctx):
    """Threat: find the gradebook through the grader's command line and write manual_score
    and extra_credit for ourselves, into the course's or a private copy (issue 8: JOBS=2
    private gradebooks). Expected: unreachable, and kernel-written scores are reset."""
    return {f"{NB01}.ipynb": _code_after_setup(ctx.base("wrong", NB01), payloads.write_gradebook(ctx.student))}


@attack("escape", "blank")
def proc_root(ctx):
    """Threat: through /proc/<pid>/root of processes outside the kernel's namespace, read
    the instructor's sources and write the gradebook (issue 8: 18/18). Expected: a separate
    PID namespace shows no outside process; scores as blank."""
    return _blank_with(ctx, payloads.proc_root(ctx.student))


@attack("escape", "hard_coded")
def corrupt_caches(ctx):
    """Threat: overwrite the reference-result and scenario caches and grader/.wt06 (issue 8:
    full-marks students then scored 0 with exit status 0). Expected: not writable; later
    students are graded as before. Graded with the others: a file it managed to overwrite
    carries its marker line, so the harness names it, and the canary graded after it shows
    the damage."""
    return {f"{NB01}.ipynb": _code_after_setup(ctx.base("hard_coded", NB01),
                                               payloads.corrupt(ctx.student, "caches"))}


@attack("escape", "hard_coded")
def corrupt_warehouses(ctx):
    """Threat: overwrite the built incident warehouse, the grading incidents' warehouses
    and the repository's data/ warehouse. Expected: not writable; later students graded
    as before. Graded with the others, as corrupt_caches is."""
    return {f"{NB01}.ipynb": _code_after_setup(ctx.base("hard_coded", NB01),
                                               payloads.corrupt(ctx.student, "warehouses"))}


@attack("escape", "blank")
def environment_secrets(ctx):
    """Threat: print os.environ and every readable /proc/<pid>/environ into the feedback
    (the grader's environment holds the instructor's secrets). Expected: the kernel's
    environment holds no secret."""
    return _blank_with(ctx, payloads.env_secrets(ctx.student))


@attack("escape", "blank")
def html_injection(ctx):
    """Threat: <script>, onerror, javascript: links, iframes and SVG onload in outputs and
    error messages, to run in whoever opens the feedback. Expected: the feedback HTML holds
    no active content from the student."""
    return _blank_with(ctx, payloads.html_injection())


@attack("escape", "blank", probes=("network",))
def loopback_network(ctx):
    """Threat: connect to a service on the grading machine's loopback (a canary the harness
    runs) and listen on a port the machine's processes can reach. Expected: no network."""
    return _blank_with(ctx, payloads.network(ctx.student, ctx.ports["canary"], ctx.ports["listen"]))


# ===== 5. resources: bounded memory, processes, output and time ===========================
# Its own batch: sleeping cells want a short cell timeout (each costs one), and a fork bomb
# or a 6 GiB allocation is graded with one job at a time, nothing beside it.
group("resources", [NB01], ["blank"], cell_timeout=20, batch="resources")


def _answer_cell(ctx, code, grade_id="dashboard_gap"):
    """Put ``code`` in a new cell right before the answer cell ``grade_id`` of a blank 01."""
    notebook = ctx.base("blank", NB01)
    index = notebook.cells.index(_cell(notebook, grade_id))
    notebook.cells.insert(index, nbformat.v4.new_code_cell(code))
    return {f"{NB01}.ipynb": notebook}


@attack("resources", "blank", says=r"(?i)memory|MemoryError|killed|died|limit")
def memory_6gib(ctx):
    """Threat: allocate and touch 6 GiB. Expected: the job's memory limit stops it
    (MemoryError or the job killed), the table says so, other students are unaffected."""
    return _answer_cell(ctx, payloads.MEMORY_BOMB)


@attack("resources", "blank", says=r"(?i)time|timeout|interrupt|limit|longer")
def sleep_forever(ctx):
    """Threat: a cell that sleeps forever. Expected: interrupted at the cell timeout, the
    rest of the notebook runs, the table says which cell ran too long."""
    return _answer_cell(ctx, payloads.SLEEP_FOREVER)


@attack("resources", "blank", says=r"(?i)time|timeout|interrupt|limit|longer|killed")
def sleep_ignoring_interrupts(ctx):
    """Threat: a cell that ignores SIGINT, then sleeps forever: the interrupt does not stop
    it. Expected: the job's deadline ends it; the batch goes on; the table says so."""
    return _answer_cell(ctx, payloads.SLEEP_IGNORING_INTERRUPTS)


@attack("resources", "blank", says=r"(?i)output|characters|cut|MB|large|limit")
def output_100mb(ctx):
    """Threat: print 100 MB. Expected: output capped, the table or feedback says it was cut,
    the feedback stays small."""
    return _answer_cell(ctx, payloads.OUTPUT_BOMB)


@attack("resources", "blank", says=r"(?i)kernel|died|crash|killed")
def kill_kernel(ctx):
    """Threat: the kernel kills itself (SIGKILL). Expected: the cells after it are marked
    not run, the table says the kernel died, the batch goes on."""
    return _answer_cell(ctx, payloads.KILL_KERNEL)


@attack("resources", "blank", probes=("daemon",))
def leave_a_daemon(ctx):
    """Threat: a double-forked daemon in its own session that outlives the kernel, listening
    on a port. Expected: killed when the notebook's job ends (its PID namespace dies)."""
    return _answer_cell(ctx, payloads.daemon(ctx.student, ctx.ports["daemon"]))


@attack("resources", "blank", says=r"(?i)process|fork|limit|killed|time", solo=True)
def fork_bomb(ctx):
    """Threat: a fork bomb. Expected: the job's process limit stops it, its processes die
    with the job, later students are graded as before. Alone in its batch: were the
    process limit to fail, the bomb would fill the batch's cgroup and leave the worker
    unable to fork, failing every student graded after it with nothing naming the cause."""
    return _answer_cell(ctx, payloads.FORK_BOMB)


@attack("resources", "blank", solo=True)
def kill_the_grader(ctx):
    """Threat: SIGKILL every ancestor process and every process whose command line says
    nbgrader or wt06_grading (the batch grader shares the PID namespace). Expected: nothing
    outside the job is visible; the batch completes. Alone in its batch: were the PID
    namespace to fail, it would kill the worker and the driver, and a batch killed with
    everyone in it cannot say which attack did it."""
    return _answer_cell(ctx, payloads.kill_grader())


@attack("resources", "blank", solo=True)
def kill_everything(ctx):
    """Threat: kill -9 -1 (every process the user may signal). Expected: only the job's own
    processes die; the batch completes. Alone in its batch: for the reason kill_the_grader
    is (it kills the worker if the job's namespace fails)."""
    return _answer_cell(ctx, payloads.KILL_ALL)


# ===== 6. answers that stop a batch (answer extraction in the grader's process) ===========
# Once each had a class of its own; they are graded in the main batch now: were one to stop
# the batch again, every test of the batch fails with the grader's traceback, which names
# the answer it could not read.
group("stoppers", [NB01], ["blank"])
group("stoppers05", [NB05], ["blank"])
UNREADABLE = (r"(?i)quot|pars|read|deep|nest|recurs|long|large|size|token|valid|plain value|string|type|could not"
              r"|died|crash")


@attack("stoppers", "blank", says=UNREADABLE)
def unclosed_quote(ctx):
    """Threat: `%%sql --save "dashboard_gap` with an unclosed quote (issue 8: ValueError in the
    grader, no grade table for anyone). Expected: this answer scores 0 with a reason."""
    return _on_cell(ctx, "blank", NB01, "dashboard_gap",
                    '%%sql --save "dashboard_gap\nselect distinct order_date from stg_orders')


@attack("stoppers", "blank", says=UNREADABLE)
def huge_query(ctx):
    """Threat: a 3 MB query (sqlparse's token limit stopped the batch). Expected: 0 with a
    reason, the batch goes on."""
    days = ", ".join(f"date '2000-01-01' + {i}" for i in range(100_000))
    return _on_cell(ctx, "blank", NB01, "dashboard_gap",
                    "%%sql --save dashboard_gap\nselect distinct order_date from stg_orders\n"
                    f"where order_date > date '2024-02-08' and order_date not in ({days})")


@attack("stoppers05", "blank", says=UNREADABLE)
def unhashable_command(ctx):
    """Threat: `scheduler_command = {["dbt run"]}` (TypeError: unhashable in literal_eval).
    Expected: 0 with a reason, the batch goes on."""
    return _on_cell(ctx, "blank", NB05, "scheduler_command", 'scheduler_command = {["dbt run"]}')


@attack("stoppers05", "blank", says=UNREADABLE)
def deep_expression(ctx):
    """Threat: `scheduler_command = 1+1+...` of 100k terms (RecursionError in the AST).
    Expected: 0 with a reason, the batch goes on."""
    return _on_cell(ctx, "blank", NB05, "scheduler_command",
                    "scheduler_command = " + "+".join(["1"] * 100_000))


# ===== 7. dbt answers: a freshness test judged on many states, commands that stay commands
group("dbt", [NB05], ["hard_coded", "full"], cell_timeout=60)
REFUSED_COMMAND = r"(?i)flag|option|only|not allowed|refus|run-operation|--args|target-path|log-path|profiles-dir|project-dir"


@attack("dbt", "hard_coded")
def stateful_freshness_test(ctx):
    """Threat: a singular test that fails the first time it runs in a warehouse and passes
    afterwards (state kept with run_query): it passes a single stale/fresh pair (issue 8:
    5 -> 8). Expected: judged on several states, it earns nothing."""
    return _on_cell(ctx, "hard_coded", NB05, "freshness_test",
                    "%%project_file tests/assert_marts_fresh.sql\n" + payloads.STATEFUL_TEST)


@attack("dbt", "hard_coded")
def random_freshness_test(ctx):
    """Threat: a test that fails at random, half of the time. Expected: judged on several
    states, it earns nothing (with N states it passes with probability 4^-N)."""
    return _on_cell(ctx, "hard_coded", NB05, "freshness_test",
                    "%%project_file tests/assert_marts_fresh.sql\n" + payloads.RANDOM_TEST)


@attack("dbt", "hard_coded")
def env_var_in_test(ctx):
    """Threat: the freshness test raises a compile error carrying env_var() values, which the
    grader copies into the verdict message (issue 8). Expected: no secret in the checker's
    environment, none in the grade table or the feedback."""
    return _on_cell(ctx, "hard_coded", NB05, "freshness_test",
                    "%%project_file tests/assert_marts_fresh.sql\n" + payloads.env_var_test(list(SECRET_NAMES)))


def _command(ctx, command: str):
    return _on_cell(ctx, "full", NB05, "scheduler_command", f"scheduler_command = {command!r}")


@attack("dbt", "full", says=REFUSED_COMMAND, zero=("test_scheduler_command",), probes=("outside",))
def command_run_operation(ctx):
    """Threat: `dbt run-operation run_query --args ... --profiles-dir <the instructor's>`:
    arbitrary SQL in the checker, without the checker's lock-down, copying an instructor
    notebook out (issue 8). Expected: only dbt run/build with selection flags is accepted;
    0 for the question, nothing written."""
    sql = (f"copy (select content from read_text('{SOURCE / (NB05 + '.ipynb')}')) "
           f"to '{ctx.outside / 'stolen.csv'}' (format csv)")
    args = json.dumps({"sql": sql})
    return _command(ctx, f"dbt run-operation run_query --profiles-dir {REPO / 'dbt_project'} --args '{args}'")


@attack("dbt", "full", says=REFUSED_COMMAND, zero=("test_scheduler_command",), probes=("outside",))
def command_target_path(ctx):
    """Threat: `dbt run --target-path /tmp/... --log-path /tmp/...`: the checker writes where
    the student says (issue 8: accepted today). Expected: refused, 0, nothing written."""
    return _command(ctx, f"dbt run --target-path {ctx.outside / 'target'} --log-path {ctx.outside / 'logs'}")


@attack("dbt", "full", says=REFUSED_COMMAND, zero=("test_scheduler_command",))
def command_profiles_dir(ctx):
    """Threat: `dbt run --profiles-dir <the instructor's project>`: a profile without the
    checker's lock-down. Expected: refused, 0."""
    return _command(ctx, f"dbt run --profiles-dir {REPO / 'dbt_project'}")


@attack("dbt", "full", says=REFUSED_COMMAND, zero=("test_scheduler_command",))
def command_project_dir(ctx):
    """Threat: `dbt run --project-dir <the instructor's project>`: dbt runs (and writes
    target/ and logs/) in the instructor's project. Expected: refused, 0, nothing written."""
    return _command(ctx, f"dbt run --project-dir {REPO / 'dbt_project'}")


# ===== 8. data of a grading incident, carried out by a message or a value (issue 20) ======
group("leaks", [NB01, NB04], ["hard_coded", "full"])
RUN_LOG_TEXT = ("(select string_agg(run_id || ' ' || cast(started_at as varchar) || ' ' || models_run, '; ' "
                "order by run_id) from raw.raw_pipeline_runs)")
ON_MY_INCIDENT = "(select count(*) from raw.raw_pipeline_runs where run_id = 'run_001') > 0"


@attack("leaks", "hard_coded")
def error_exfiltration(ctx):
    """Threat: each query gives its typed-in rows where it recognises the student's own
    incident and fails on purpose elsewhere with error(<the run log>): the database's error
    text, shown in the verdict, carried a grading incident's run log into the feedback
    (issue 20: four resubmissions revealed one grading incident each). Expected: scores as
    the hard-coded baseline, and no page or row holds a grading incident's run id or date."""
    notebook = ctx.base("hard_coded", NB01)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        first, _, sql = cell.source.partition("\n")
        if meta.get("solution") and first.startswith("%%sql"):
            cell.source = (f"{first}\nselect * from (\n{sql.strip().rstrip(';')}\n) as typed_in\n"
                           f"where case when {ON_MY_INCIDENT} then true else error({RUN_LOG_TEXT}) end")
    return {f"{NB01}.ipynb": notebook}


def _affected_models_then(ctx, code: str):
    """A full-marks notebook 04 whose affected_models cell goes on with ``code``: the cell a
    re-run on a grading incident runs, up to and including the answer."""
    notebook = ctx.base("full", NB04)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "affected_models")
    cell.source = cell.source.rstrip() + "\n" + code
    return {f"{NB04}.ipynb": notebook}


@attack("leaks", "full")
def rerun_reads_incident_files(ctx):
    """Threat: the re-run of notebook 04 on a grading incident (for affected_models) reads the
    files next to that incident's warehouse (what happened, the generator's seed, the raw
    CSVs) and every incident folder it can list, and returns them inside the answer (issue
    20: incident.json and scenario.json were readable). Expected: the job sees that incident's
    warehouse only, so the answer stays the computed one; nothing read reaches any page."""
    return _affected_models_then(ctx, payloads.READ_INCIDENT_FILES)


@attack("leaks", "full")
def type_name_smuggling(ctx):
    """Threat: on a grading incident, affected_models becomes an object whose class name is that
    incident's run log: a message saying "affected_models could not be read: a <type name>"
    carried it out (issue 20). Expected: 0 for the question there at most (as a wrong answer),
    and the type name in no page or row."""
    return _affected_models_then(ctx, payloads.TYPE_NAME_SMUGGLING)


# ===== 8. fingerprinting the grading incidents ============================================
group("oracle", [NB01, NB03], ["hard_coded"])


@attack("oracle", "hard_coded")
def incident_oracle(ctx):
    """Threat: a query that recognises which incident it runs on (a digest of the run log)
    and answers with that incident's literal rows, for every incident a student can build:
    the canonical one, the public generator's seeds the grader used (101, 202) and the
    practice incident if there is one (issue 8: 15/18 from a hard-coded base). Expected:
    the grading incidents are secret and fresh per course: as the hard-coded baseline."""
    known = ctx.known if ctx.known is not None else []
    out = {}
    for name in ctx.group.only:
        notebook = ctx.base("hard_coded", name)
        for grade_id, sql in _reference_queries(name).items():
            try:
                answer(notebook, grade_id, oracle_query(sql, known))
            except Exception:  # noqa: BLE001 (a reference the oracle cannot run keeps its hard-coded answer)
                continue
        out[f"{name}.ipynb"] = notebook
    return out


FINGERPRINT = ("(select md5(string_agg(run_id || '@' || cast(started_at as varchar), ',' "
               "order by run_id)) from raw.raw_pipeline_runs)")


def _reference_queries(name: str) -> dict[str, str]:
    from wt06_grading.definition.reference import solution_cells
    from wt06_grading.foundation.markers import split_magic

    out: dict[str, str] = {}
    for grade_id, (owner, source) in solution_cells().items():
        if owner != name or not source.startswith("%%sql"):
            continue
        sql = split_magic(source)[1].strip().rstrip(";")
        # a query that selects from an earlier saved one gets it as a CTE, as jupysql composes it
        used = [(n, q) for n, q in out.items() if re.search(rf"\b{n}\b", sql)]
        if used:
            ctes = ", ".join(f"{n} as ({q})" for n, q in used)
            sql = f"with {ctes}, {sql[5:]}" if sql.lower().startswith("with ") else f"with {ctes} {sql}"
        out[grade_id] = sql
    return out


@dataclass(frozen=True)
class Known:
    label: str
    warehouse: Path
    now: str


def known_incidents(folder: Path, canonical: Path) -> list[Known]:
    """Build every incident a student could build with the public generator."""
    from wt06.incident.scenario import Scenario, ScenarioParams, load_scenario
    from wt06.pipeline.build import build_warehouse

    seeds = (101, 202)  # the seeds the grader once used, fixed and public (now: from the course secret)
    wanted = [("canonical", None, load_scenario().params)]
    wanted += [(f"seed-{seed}", None, ScenarioParams.variant(seed)) for seed in seeds]
    out = []
    from wt06 import incidents  # the incidents shipped with the course (practice, drills)

    for name in incidents.PUBLIC:
        shipped = incidents.ensure_built(name).as_json()
        out.append(Known(name, Path(shipped["warehouse"]), str(shipped["truth"]["now"])))
    for label, _, params in wanted:
        if label == "canonical":
            out.append(Known(label, canonical, str(Scenario(params).story_now)))
            continue
        data = folder / label / "data"
        warehouse = folder / label / "warehouse.duckdb"
        if not warehouse.exists():
            Scenario(params).write(data)
            build_warehouse(warehouse, data_dir=data, work=folder / label / "build")
        out.append(Known(label, warehouse, str(Scenario(params).story_now)))
    return out


def oracle_query(reference_sql: str, known: list[Known]) -> str:
    """A query returning, on each known incident, that incident's answer typed in."""
    from wt06.incident.warehouse import connect

    rows, columns = [], None
    for incident in known:
        con = connect(incident.warehouse, as_of=incident.now)
        try:
            cursor = con.execute(reference_sql)
            columns = [d[0] for d in cursor.description]
            result = cursor.fetchall()
            print_key = con.execute(f"select {FINGERPRINT}").fetchone()[0]
        finally:
            con.close()
        rows += [(print_key, i, *row) for i, row in enumerate(result)]
    if not rows:
        return reference_sql
    values = ",\n    ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
    return (f"select {', '.join(columns)} from (values\n    {values}\n) "
            f"as oracle(fingerprint, position, {', '.join(columns)})\n"
            f"where fingerprint = {FINGERPRINT}\norder by position")


# ----- writing a batch ---------------------------------------------------------------------
def students(batch: Batch) -> dict[str, tuple[str, Attack | None]]:
    """student -> (baseline kind, attack or None), in grading order."""
    out = {f"aa_{kind}": (kind, None) for kind in batch.baselines}
    out |= {a.student: (a.base, a) for a in attacks_in_batch(batch)}
    out[f"zz_{batch.canary}"] = (batch.canary, None)
    return out


def notebooks_of(batch: Batch, student: str) -> tuple[str, ...]:
    """The notebooks ``student`` hands in: an attacker its own group's, the others all."""
    attack_ = ATTACKS.get(student[len("attack_"):]) if student.startswith("attack_") else None
    return GROUPS[attack_.group].only if attack_ is not None else batch.only


def _signed(content, student: str):
    """A notebook ending with a cell that names the student (other content: as it is)."""
    if not hasattr(content, "cells"):
        return content
    content.cells.append(nbformat.v4.new_markdown_cell(f"Handed in by {student}."))
    return content


def _write_entry(path: Path, content) -> None:
    if isinstance(content, Symlink):
        path.symlink_to(content.target)
    elif isinstance(content, Hardlink):
        os.link(content.target, path)
    elif isinstance(content, Fifo):
        os.mkfifo(path)
    elif isinstance(content, Device):
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(content.major, content.minor))
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(nbformat.writes(content).encode())


def write_student(submitted: Path, student: str, entries: dict) -> Path:
    target = submitted / student / ASSIGNMENT
    if FOLDER in entries:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_entry(target, entries[FOLDER])
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name, content in entries.items():
        _write_entry(target / name, content)
    return target


def write_batch(batch: Batch, submitted: Path, make_context: Callable[[str], Context]) -> dict:
    """Write every student of ``batch`` under ``submitted``; student -> its files' digests."""
    written = {}
    order = students(batch)
    # baselines first: attacks link to them
    for student, (kind, attack_) in sorted(order.items(), key=lambda kv: kv[1][1] is not None):
        ctx = make_context(student)
        entries = {f"{n}.ipynb": ctx.base(kind, n) for n in notebooks_of(batch, student)}
        if attack_ is not None:
            built = attack_.build(ctx)
            entries = {FOLDER: built[FOLDER]} if FOLDER in built else entries | built
        if not student.startswith("aa_"):  # see the module docstring: no two alike
            entries = {name: _signed(content, student) for name, content in entries.items()}
        write_student(submitted, student, entries)
        written[student] = _digest(entries)
    return written


def _digest(entries: dict) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(entries.items()):
        digest.update(name.encode() + repr(content if not hasattr(content, "cells") else
                                           nbformat.writes(content)).encode())
    return digest.hexdigest()


def submitted_text(entries_folder: Path) -> str:
    """Everything a student handed in, as text (what the student already knows)."""
    texts = []
    for path in sorted(entries_folder.glob("*.ipynb")):
        if path.is_file() and not path.is_symlink():
            try:
                texts.append(path.read_text(errors="replace"))
            except OSError:
                pass
    return "\n".join(texts)
