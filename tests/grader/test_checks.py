"""Stage 4 on its own: answers to verdicts, with a fake job client instead of the sandbox.

The fake checker answers each task as a scripted function of its SQL, so these tests say
what ``HiddenChecks`` does around the kinds (refusals before anything runs, one job for
every new task, which incidents a job may see, the memo, a job that dies, a grader bug)
in milliseconds; the kinds' own judgement is tests/grader/test_kinds.py's.
"""

from __future__ import annotations

from wt06_grading.definition.questions import AnswerRef, Question
from wt06_grading.foundation.memo import Memo
from wt06_grading.kinds import KINDS
from wt06_grading.kinds.base import Known, RunIncident
from wt06_grading.submission.checks import NOT_FINISHED, HiddenChecks
from wt06_grading.submission.jobs import JobOutcome

NOW = "2024-02-12 09:00:00"
INCIDENTS = [RunIncident("c0", "/v/c0/warehouse.duckdb", NOW), RunIncident("g1", "/v/g1/warehouse.duckdb", NOW),
             RunIncident("g2", "/v/g2/warehouse.duckdb", NOW), RunIncident("g4", "/v/g4/warehouse.duckdb", NOW)]
KNOWN = {"c0": Known("canonical"), "g1": Known("skipped_marts"), "g2": Known("skipped_marts"),
         "g4": Known("loader_outage")}
RIGHT = "select run_id from runs"
ROWS = {"c0": [["run_012"]], "g1": [["run_200"]], "g2": [["run_300"]], "g4": [["run_400"]]}


def _result(rows):
    return {"at": {NOW: {"columns": ["run_id"], "rows": rows}}}


REFERENCE_RESULT = {i: _result(rows) for i, rows in ROWS.items()}


class FakeJobs:
    """A job client whose checker runs each task by a script: ``answers`` maps SQL to rows
    per incident (missing: the canonical rows everywhere, as a typed-in answer would)."""

    def __init__(self, answers: dict[str, dict] | None = None, *, status: int = 0, lost: bool = False) -> None:
        self.answers, self.status, self.lost = answers or {RIGHT: ROWS}, status, lost
        self.jobs: list[dict] = []

    def root(self) -> str:
        return "/job"

    def run(self, kind, body, *, root, sees=(), deadline, idle=None, env=None) -> JobOutcome:
        self.jobs.append({"kind": kind, "body": body, "sees": list(sees)})
        if self.lost:
            return JobOutcome({"status": None, "lost": True}, [], lost=True)
        events = []
        for task in body["tasks"]:
            rows = self.answers.get(task["task"]["sql"], {i: ROWS["c0"] for i in ROWS})
            events.append({"event": "result", "question": task["question"], "seconds": 0.5,
                           "result": {i: _result(rows[i]) for i in task["incidents"]},
                           "per_incident": {i: 0.1 for i in task["incidents"]}})
        events.append({"event": "counts", "invocations": 0, "parses": 0})
        return JobOutcome({"status": self.status}, events)


def _question(qid="q1", name="runs", incidents=("canonical", "skipped_marts", "loader_outage"), variants=None,
              hint="Look again."):
    return Question(id=qid, notebook="nb", kind="query", answer=AnswerRef("query", name), answer_cell=f"{qid}_answer",
                    points=1, hint=hint, incidents=tuple(incidents), variants=variants,
                    params=KINDS["query"].validate({"columns": ["run_id"]}, "test"))


def _checks(jobs: FakeJobs, memo: Memo | None = None) -> HiddenChecks:
    return HiddenChecks(graded=INCIDENTS, known=KNOWN, jobs=jobs, memo=memo or Memo(None), course_digest="course")


def _reference(*questions: Question) -> dict:
    return {q.id: {"answer": RIGHT, "result": {i.id: REFERENCE_RESULT[i.id] for i in _checks(FakeJobs())
                                               .incidents_for(q)}} for q in questions}


def _answers(sql: str, question: Question) -> dict:
    return {(question.notebook, question.answer): {"value": sql}}


def test_a_right_answer_passes_and_a_typed_in_one_fails_on_the_grading_incidents_only():
    question = _question()
    jobs = FakeJobs()
    passed = _checks(jobs).check([question], _answers(RIGHT, question), _reference(question))
    assert passed.verdicts["q1"].passed
    typed = _checks(jobs).check([question], _answers("select 'run_012' as run_id", question), _reference(question))
    verdict = typed.verdicts["q1"]
    assert not verdict.passed and verdict.message.startswith("Right on your incident, but")
    assert "run_200" not in verdict.message and "g1" not in verdict.message


def test_one_job_runs_every_new_task_and_sees_only_the_incidents_its_tasks_name():
    everywhere, canonical_only = _question("q1", "runs"), _question("q2", "others", incidents=("canonical",))
    jobs = FakeJobs()
    answers = {**_answers(RIGHT, everywhere), **_answers(RIGHT, canonical_only)}
    checked = _checks(jobs).check([everywhere, canonical_only], answers, _reference(everywhere, canonical_only))
    assert all(v.passed for v in checked.verdicts.values())
    assert len(jobs.jobs) == 1 and jobs.jobs[0]["kind"] == "checker"
    assert jobs.jobs[0]["sees"] == ["c0", "g1", "g2", "g4"]
    given = {i["id"] for i in jobs.jobs[0]["body"]["incidents"]}
    assert given == {"c0", "g1", "g2", "g4"} and all(set(i) <= {"id", "warehouse", "now", "moments", "project"}
                                                     for i in jobs.jobs[0]["body"]["incidents"])
    assert checked.by_kind == {"query": 1.0} and set(checked.by_incident) == {"c0", "g1", "g2", "g4"}

    alone = FakeJobs()
    _checks(alone).check([canonical_only], _answers(RIGHT, canonical_only), _reference(canonical_only))
    assert alone.jobs[0]["sees"] == ["c0"]


def test_variants_limit_the_incidents_of_each_story_and_keep_the_canonical_one():
    question = _question(variants=1)
    assert [i.id for i in _checks(FakeJobs()).incidents_for(question)] == ["c0", "g1", "g4"]
    assert [i.id for i in _checks(FakeJobs()).incidents_for(_question(incidents=("canonical",)))] == ["c0"]


def test_answers_that_cannot_be_run_get_a_verdict_and_no_job():
    question = _question()
    jobs = FakeJobs()
    checks = _checks(jobs)
    none = checks.check([question], {}, _reference(question)).verdicts["q1"]
    assert not none.passed and "no query was saved as 'runs'" in none.message
    problem = checks.check([question], {("nb", question.answer): {"problem": "it is a DataFrame"}},
                           _reference(question)).verdicts["q1"]
    assert not problem.passed and "runs could not be read as an answer: it is a DataFrame" in problem.message
    huge = checks.check([question], _answers("select 1 -- " + "x" * 30_000, question), _reference(question))
    assert "more than 20,000" in huge.verdicts["q1"].message
    assert jobs.jobs == []


def test_the_memo_answers_a_repeated_task_and_keeps_only_what_finished_cleanly(tmp_path):
    question = _question()
    memo = Memo(tmp_path / "memo")
    first = FakeJobs()
    assert _checks(first, memo).check([question], _answers(RIGHT, question), _reference(question)).verdicts["q1"].passed
    second = FakeJobs()
    assert _checks(second, memo).check([question], _answers(RIGHT, question),
                                       _reference(question)).verdicts["q1"].passed
    assert len(first.jobs) == 1 and second.jobs == [] and memo.hits == 1

    other = Memo(tmp_path / "other")
    failing = FakeJobs(status=1)  # the job did not end by itself within its limits
    _checks(failing, other).check([question], _answers(RIGHT, question), _reference(question))
    again = FakeJobs()
    _checks(again, other).check([question], _answers(RIGHT, question), _reference(question))
    assert len(again.jobs) == 1  # nothing was kept from the unclean run

    fresh = FakeJobs()
    _checks(fresh, Memo(tmp_path / "memo", read=False)).check([question], _answers(RIGHT, question),
                                                             _reference(question))
    assert len(fresh.jobs) == 1  # FORCE=1 computes again


def test_a_checker_that_dies_says_so_and_a_grader_bug_is_never_a_crash():
    question = _question()
    lost = _checks(FakeJobs(lost=True)).check([question], _answers(RIGHT, question), _reference(question))
    assert lost.verdicts["q1"].message == NOT_FINISHED and not lost.verdicts["q1"].passed

    broken = _reference(question)
    broken["q1"]["result"]["g1"] = {"at": "not what compare expects"}
    verdict = _checks(FakeJobs()).check([question], _answers(RIGHT, question), broken).verdicts["q1"]
    assert not verdict.passed and "a grader error" in verdict.message


def test_a_verdict_never_shows_a_path_of_the_sandbox():
    question = _question(hint="")
    jobs = FakeJobs({"select * from read_csv('/wt06/incidents/g1/x.csv')": ROWS})
    failing = {"c0": {"at": {NOW: {"error": "IO Error: No files found that match /wt06/incidents/g1/x.csv"}}}}

    class ErrorJobs(FakeJobs):
        def run(self, kind, body, **kw):
            outcome = super().run(kind, body, **kw)
            outcome.events[0]["result"] = {**outcome.events[0]["result"], **failing}
            return outcome

    verdict = _checks(ErrorJobs(jobs.answers)).check(
        [question], _answers("select * from read_csv('/wt06/incidents/g1/x.csv')", question),
        _reference(question)).verdicts["q1"]
    assert not verdict.passed and "/wt06/" not in verdict.message and "<grading copy>" in verdict.message
