"""The assertions every graded batch of attacks gets (imported by each test module).

Per attacker, on the notebooks it handed in (a batch grades the union of its groups'
notebooks; the rows of one an attacker never submitted say "not submitted" and prove
nothing about it): (1) no question scores above the honest baseline graded in the same run,
refused answers score 0; (2) nothing outside its work folder carries its mark, no
forbidden path appears, its probes (network, daemons) find nothing; (4) where the attack
is detectable, the grade table says what happened; and nothing secret or active reaches
its feedback. Per class: (3) the batch completes with every student's rows; no shared
file changed; the gradebook holds only what the grader wrote (other students' rows
untouched); a later student is graded exactly as an earlier one; no process outlives
the batch.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

from conftest import REPO

from .payloads import XSS

EPSILON = 1e-9


def _completed(graded) -> None:
    assert graded.outcome.status == "completed" and graded.table is not None, (
        f"the batch did not complete ({graded.outcome.status}, {graded.outcome.seconds:.0f} s): "
        f"{graded.outcome.error[-2500:]}")


def _questions(graded) -> set:
    return {q for student, (kind, attack) in graded.students.items() if attack is None
            for q in graded.scores(student)}


# ----- per class -----------------------------------------------------------------------------
def test_batch_completes_with_every_students_rows(graded):
    """(3) The batch completes and every student has a verdict for every course question."""
    _completed(graded)
    questions = _questions(graded)
    assert questions, "the honest baselines got no rows at all"
    missing = {s: sorted(questions - set(graded.scores(s))) for s in graded.students}
    missing = {s: m for s, m in missing.items() if m}
    assert not missing, f"students without a verdict for some course questions: {missing}"


def test_a_later_student_is_graded_as_an_earlier_one(graded):
    """Nothing an attacker did changes the grade of a student graded after it."""
    _completed(graded)
    kind = graded.group.canary
    before, after = graded.scores(f"aa_{kind}"), graded.scores(f"zz_{kind}")
    def status(student):
        return {(r["notebook"], r["question"]): r["status"] for r in graded.rows(student) if r["question"] != "(note)"}

    assert after == before and status(f"zz_{kind}") == status(f"aa_{kind}"), (
        f"the same {kind} submission, graded after the attackers, scored {after} "
        f"instead of {before}")


def test_no_shared_file_changed(graded):
    """(2) Instructor files, caches, the environment and the grader's HOME are as before."""
    changes = {label: diff.paths()[:15] for label, diff in graded.changes.items() if diff}
    assert not changes, (f"grading this class changed files outside the work folders "
                         f"(restored by the harness{'' if not graded.lost else ', except ' + str(graded.lost[:5])}): "
                         f"{changes}; planted by: {sorted(graded.planted())}")


def test_gradebook_holds_only_what_the_grader_wrote(graded):
    """(2) No manual score or extra credit appears; the bystander's rows are untouched."""
    _completed(graded)
    forged = [row for row in graded.gradebook if row[4] is not None or row[5] not in (None, 0)]
    assert not forged, f"manual scores or extra credit in an autograde-only gradebook: {forged[:10]}"
    if graded.group.bystander:
        after = [row for row in graded.gradebook if row[0] == "bystander"]
        assert graded.bystander_before and after == graded.bystander_before, (
            f"a student graded in an earlier run changed: {graded.bystander_before} -> {after}")


def test_no_process_outlives_the_batch(graded):
    """Every process a submission started ends with its job."""
    _completed(graded)
    assert not graded.outcome.leftovers, f"still running after the batch: {graded.outcome.leftovers[:10]}"


# ----- per attacker --------------------------------------------------------------------------
def test_scores_at_most_its_honest_baseline(graded, attacker):
    """(1) Question by question, no more than the same submission without the attack."""
    _completed(graded)
    own = graded.notebooks(attacker.student)
    base, mine = graded.scores(f"aa_{attacker.base}", own), graded.scores(attacker.student, own)
    assert base, f"the {attacker.base} baseline has no rows"
    above = {f"{nb}/{q}": f"{mine[(nb, q)]:g} > {base.get((nb, q), 0):g}" for nb, q in mine
             if mine[(nb, q)] > base.get((nb, q), 0.0) + EPSILON}
    assert not above, (f"{attacker.student} scored above its {attacker.base} baseline: {above}. "
                       f"Threat: {attacker.doc}")
    assert sum(mine.values()) <= sum(base.values()) + EPSILON
    missing = sorted(f"{nb}/{q}" for nb, q in set(base) - set(mine))
    assert not missing, f"{attacker.student} got no verdict for {missing}"


def test_refused_answer_scores_zero(graded, attacker):
    """A refused answer (a command with flags the checker must not honour) scores 0."""
    _completed(graded)
    mine = graded.scores(attacker.student, graded.notebooks(attacker.student))
    assert attacker.zero
    for question in attacker.zero:
        got = [score for (_, q), score in mine.items() if q == question]
        assert got == [0.0], f"{attacker.student}: {question} scored {got}, not 0. Threat: {attacker.doc}"


test_refused_answer_scores_zero.only_refused = True


def test_grade_table_says_what_happened(graded, attacker):
    """(4) The attacker's rows (reasons or notes) say what was detected: the rows of the
    notebooks it handed in and its submission's own notes, nothing else."""
    _completed(graded)
    rows = graded.rows(attacker.student, graded.notebooks(attacker.student))
    assert rows, f"{attacker.student} has no rows for its own notebooks {graded.notebooks(attacker.student)}"
    texts = [f"{r['status']}: {r['reason']}" for r in rows]
    assert any(re.search(attacker.says, r["reason"]) for r in rows), (
        f"nothing in {attacker.student}'s rows matches /{attacker.says}/: {texts}")


test_grade_table_says_what_happened.only_detectable = True


def test_writes_nothing_outside_its_work_folder(graded, attacker):
    """(2) No file outside the work folders carries this attacker's mark; no forbidden path."""
    planted = graded.planted().get(attacker.student, [])
    assert not planted, f"{attacker.student} planted (the harness removed them): {planted[:15]}"
    if "outside" in attacker.probes:
        assert not graded.outside_left, f"{attacker.student} wrote outside: {graded.outside_left[:10]}"
    mine = [row for row in graded.gradebook if row[0] == attacker.student
            and (row[4] is not None or row[5] not in (None, 0))]
    assert not mine, f"{attacker.student}'s gradebook rows hold scores the grader did not write: {mine}"


def test_probes_find_nothing(graded, attacker):
    """The attack's own probes: loopback reached, a kernel's service reachable, a daemon alive."""
    _completed(graded)
    name = attacker.student.encode()
    if "network" in attacker.probes:
        reached = [m for m in graded.loopback.reached if name in m or m == b"(connected)"]
        served = [m for m in graded.loopback.served if name in m]
        assert not reached, f"the kernel reached a service on the grading machine's loopback: {reached[:3]}"
        assert not served, f"a service the kernel started was reachable from the machine: {served[:3]}"
    if "daemon" in attacker.probes:
        alive = [p for p in graded.outcome.leftovers if attacker.student in p[1]]
        assert not alive, f"{attacker.student}'s daemon outlived its job: {alive}"
    if "outside" in attacker.probes:
        assert not graded.outside_left, f"written outside every work folder: {graded.outside_left[:10]}"


test_probes_find_nothing.only_probes = True


class _ActiveContent(HTMLParser):
    """Finds the marker in places a browser would run it."""

    INERT_SCRIPTS = re.compile(r"json|template|x-|mathjax|text/plain", re.I)

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.script = False
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = [(k.lower(), v or "") for k, v in attrs]
        if tag == "script":
            kind = dict(attrs).get("type", "")
            self.script = not self.INERT_SCRIPTS.search(kind)
        for key, value in attrs:
            if XSS in value and (key.startswith("on") or key == "srcdoc"
                                 or value.strip().lower().startswith("javascript:")):
                self.found.append(f"<{tag} {key}={value[:80]!r}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self.script = False

    def handle_data(self, data):
        if self.script and XSS in data:
            self.found.append(f"<script>{data.strip()[:80]}</script>")


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _own_text(graded, attacker) -> str:
    folder = graded.course / "submitted" / attacker.student / "wt06"
    texts = []
    for path in sorted(folder.glob("*")) if folder.is_dir() and not folder.is_symlink() else []:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_nlink == 1:
                texts.append(path.read_text(errors="replace"))
        except OSError:
            pass
    return "\n".join(texts).replace("\\n", "\n").replace('\\"', '"')


def _released_text() -> str:
    """What every student was given: the released notebooks' cells."""
    import nbformat

    return "\n".join(cell.source for path in sorted((REPO / "notebooks").glob("*.ipynb"))
                     for cell in nbformat.read(path, as_version=4).cells)


def test_feedback_leaks_nothing(graded, attacker):
    """No solution line the student did not write, no secret, no active content, no grader path."""
    _completed(graded)
    from wt06_grading.definition.reference import solution_only_lines

    pages = graded.feedback(attacker.student)
    own = _own_text(graded, attacker)
    problems = []
    released = _released_text()
    solutions = [line for line in solution_only_lines() if line not in own and line not in released]
    for path, page in pages.items():
        text = _text(page)
        leaked = [line for line in solutions if line in text]
        if leaked:
            problems.append(f"{Path(path).name}: {len(leaked)} solution lines, e.g. {leaked[:3]}")
        for name, value in graded.secrets.items():
            if value in page or value in text:
                problems.append(f"{Path(path).name}: the value of {name}")
        finder = _ActiveContent()
        finder.feed(page)
        if finder.found:
            problems.append(f"{Path(path).name}: active content {finder.found[:4]}")
    for row in graded.rows(attacker.student):
        for name, value in graded.secrets.items():
            if value in row["reason"]:
                problems.append(f"grade table: the value of {name}")
        if "variant-" in row["reason"] or str(REPO) in row["reason"] or "/grader/" in row["reason"]:
            problems.append(f"grade table names a grader path or incident: {row['reason'][:200]}")
    assert not problems, f"{attacker.student}'s feedback and grade rows leak: {problems}"


_WORD = re.compile(r"[\w-]+")


def test_no_grading_incident_datum_in_any_page_or_row(graded, grading_incident_data):
    """(issue 20) No feedback page and no grade-table row of the batch holds a grading
    incident's run id, run day or seed, whatever the attackers made their code say."""
    _completed(graded)
    if "incident data" not in graded.scans:  # the same batch is asked by every family's module
        graded.scans["incident data"] = _incident_data_found(graded, grading_incident_data)
    found = graded.scans["incident data"]
    assert not found, f"grading incident data reached students: {found[:10]}"


def _incident_data_found(graded, grading_incident_data) -> list[str]:
    found = []
    pages = {str(p): p.read_text(errors="replace") for p in sorted((graded.course / "feedback").rglob("*.html"))}
    rows = {f"grades.csv: {student}": " ".join(r["reason"] for r in rows_)
            for student, rows_ in (graded.table or {}).items()}
    own_words: dict[str, set[str]] = {}  # what a student handed in is theirs to see again (their own code)
    for where, text in {**pages, **rows}.items():
        student = Path(where).parent.parent.name if where.startswith("/") else where.split(": ", 1)[1]
        if student not in own_words:
            folder = graded.course / "submitted" / student / "wt06"
            own = "\n".join(p.read_text(errors="replace") for p in sorted(folder.glob("*.ipynb"))
                            if p.is_file() and not p.is_symlink()) if folder.is_dir() and not folder.is_symlink() else ""
            own_words[student] = set(_WORD.findall(own))
        words = set(_WORD.findall(text)) - own_words[student]  # whole words (run_0042 is not in run_00421)
        for incident, tokens in grading_incident_data.items():
            hits = sorted(t for t in tokens if t in words if _WORD.fullmatch(t)) + \
                sorted(t for t in tokens if not _WORD.fullmatch(t) and t in text)
            if hits:
                found.append(f"{student}/{Path(where).name if where.startswith('/') else 'grades.csv'}: "
                             f"{incident} {hits[:5]}")
    return found
