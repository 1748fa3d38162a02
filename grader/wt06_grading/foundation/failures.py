"""What stops a grading command, and the exit status each gives.

A *grader failure* is the grading machinery's, never a student's: no sandbox, a worker
that cannot start, a scheduler or a gradebook database that does not answer. It writes
nothing for the submissions it could not grade (no zero, no gradebook row, no file) and
stops the command with one sentence naming the fix. A *course problem* is something in
the instructor's input (no submissions, a notebook or student that does not exist, a
model answer that fails its own check).

Exit statuses of ``wt06-grade`` (documented in grader/README.md; scripts should call
``wt06-grade`` itself, since ``make`` turns every non-zero status of a recipe into its own
status 2 and prints the grader's):
"""

from __future__ import annotations

from wt06.errors import CourseError

OK = 0  # every submission graded cleanly
NEEDS_LOOK = 1  # graded; some submission needs a manual look (its note rows say why)
COURSE_PROBLEM = 2  # nothing graded: the input is wrong (a sentence says what); also usage errors
GRADER_FAILURE = 3  # the grader failed (sandbox, workers, scheduler, gradebook): nothing of it written



class GraderFailure(RuntimeError):
    """The grading machinery failed (not a submission): stop, write nothing more, say the fix."""


class NothingToGrade(CourseError):
    """The submissions folder holds no submission."""
