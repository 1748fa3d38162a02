"""``wt06-grade <command>`` (also ``python -m wt06_grading``): the instructor's commands.

Each command prints what it did in a line or two. A problem never ends in a traceback:
a course problem (no submissions, an unknown notebook or student, a malformed roster)
is one sentence and exit status 2; a grader failure (no sandbox, a worker that cannot
start, a scheduler or database that does not answer) is one sentence naming the fix and
exit status 3, and nothing was written for what it could not grade (failures.py).
``grade`` exits 0 when every submission was graded cleanly and 1 when some need a look.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wt06_grading.foundation import layout
from wt06_grading.foundation.failures import COURSE_PROBLEM, GRADER_FAILURE

# Each command imports what it runs inside its own function: the grading engine, nbconvert
# and Dask take about 4 s to import, and `wt06-grade --help` or `roster` should not wait
# for them (--help answers in 0.05 s). tests/test_architecture.py allows this module that.


def _release(args) -> int:
    from wt06.publish import publish_expected
    from wt06_grading.definition import objectives, questions
    from wt06_grading.definition.release import release
    from wt06_grading.foundation import layout

    course = questions.load()  # a malformed declaration stops here, before anything is written
    for path in release():
        print(f"wrote {path}")
    if objectives.sync_readme(course):
        print(f"updated the graded cells of the learning objectives in {objectives.README}")
    if not args.no_publish:
        written = publish_expected(layout.SOURCE, [q.as_plain() for q in course.questions])
        print(f"wrote the public incidents' expected results ({written.parent.parent})")
    return 0


def _export(args) -> int:
    from wt06_grading.definition.export import export, placeholder_note

    dest = export(Path(args.dest))
    print(f"wrote the student course to {dest}")
    note = placeholder_note()
    if note:
        print(note)
    return 0


def _names(text: str) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] or None


def _course(args) -> Path:
    return Path(args.course or layout.GRADER)


def _grade(args) -> int:
    from wt06_grading.driver.progress import Display

    course = _course(args)
    display = Display(sys.stderr)
    what = f"notebooks {args.notebooks}" if args.notebooks else "every notebook"
    folder = args.submitted or course / "submitted"
    who = f"students {args.student}" if args.student else f"what is new or changed in {folder}"
    display.phase(f"wt06-grade: grading {what} of {who}{' (everyone: FORCE)' if args.force else ''}")
    from wt06_grading.batch import grade_class, print_summary

    result = grade_class(course, submitted=args.submitted and Path(args.submitted), jobs=args.jobs,
                         cell_timeout=args.timeout, only=_names(args.notebooks), sandbox=not args.no_sandbox,
                         cluster=args.cluster or None, students=_names(args.student), force=args.force,
                         max_attempts=args.attempts, display=display)
    print_summary(result)
    return result.exit_code


def _report(args) -> int:
    from wt06_grading.records.report import write_report

    print(f"wrote {write_report(_course(args), out=args.out and Path(args.out))}")
    return 0


def _feedback(args) -> int:
    from wt06_grading.records import class_record
    from wt06_grading.records.views import write_feedback, write_table

    course = _course(args)
    record = class_record.load(course, students=_names(args.student))
    if not record.students:
        print(f"error: the gradebook holds no graded submission{' of ' + args.student if args.student else ''}: "
              "grade the class first (make grade)", file=sys.stderr)
        return COURSE_PROBLEM
    pages = write_feedback(record, course)
    print(f"wrote {pages} feedback page(s) for {len(record.students)} student(s) in {course / 'feedback'}")
    table = write_table(class_record.load(course), course / "grades.csv")
    print(f"wrote {table} from the gradebook")
    waiting = [s.student for s in record.students if s.waiting and not s.removed]
    if waiting:
        print(f"  {len(waiting)} still wait for a grader (their pages say so): {', '.join(waiting[:10])}"
              f"{' ...' if len(waiting) > 10 else ''}")
    return 0


def _roster(args) -> int:
    from wt06_grading.records.roster import import_roster

    done = import_roster(Path(args.file), _course(args), match=args.match or None)
    print(done.sentence())
    return 0


def _export_grades(args) -> int:
    from wt06_grading.records.gradebook import redact
    from wt06_grading.records.lms import export_grades

    course = _course(args)
    url = layout.gradebook_url(course)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        print(f"error: no gradebook at {url.removeprefix('sqlite:///')}: grade the class first "
              "(make grade)", file=sys.stderr)
        return COURSE_PROBLEM
    dest = Path(args.out) if args.out else course / f"grades-{args.lms}.csv"
    done = export_grades(course, args.lms, dest, include_removed=args.include_removed)
    print(f"wrote {done.path}: {done.students} students from the gradebook {redact(url)} "
          f"(roster: {done.roster})")
    for line in done.remarks():
        print(f"  {line}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wt06-grade", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    release = commands.add_parser("release", help="regenerate notebooks/ from the instructor sources, then the "
                                  "public incidents' expected results (the visible checks compare with them)")
    release.add_argument("--no-publish", action="store_true",
                         help="only the notebooks: skip running the instructor notebooks on the public incidents")
    release.set_defaults(run=_release)
    export = commands.add_parser("export", help="write the student-only course (the public repository) to DEST")
    export.add_argument("dest", help="a new or empty folder outside this repository, or a previous export")
    export.set_defaults(run=_export)

    grade = commands.add_parser("grade", help="autograde the submissions in submitted/ (in the sandbox)")
    grade.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1)")
    grade.add_argument("--cluster", default="",
                       help="address of a running Dask scheduler (tcp://HOST:8786) instead of local workers")
    grade.add_argument("--notebooks", default="", help="comma-separated notebook names to grade (default: all); "
                                                      "the other notebooks' grades stay as they are")
    grade.add_argument("--student", default="",
                       help="grade only these students (comma-separated), even if unchanged; the others "
                            "stay as they are in the gradebook and the grade table")
    grade.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    grade.add_argument("--attempts", type=int, default=3,
                       help="workers a submission may take down before it is marked ungraded (default 3)")
    grade.add_argument("--timeout", type=int, default=60, help="seconds a cell may run")
    grade.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    grade.add_argument("--submitted", default=None, help="the submissions folder (default: <course>/submitted)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code WITHOUT the sandbox (recorded in the grade table); only for "
                            "machines where bubblewrap cannot run, with submissions you trust")
    grade.set_defaults(run=_grade)

    feedback = commands.add_parser("feedback", help="write every feedback page and grades.csv again from the "
                                                    "gradebook (after grading by hand in formgrader)")
    feedback.add_argument("--student", default="", help="only these students (comma-separated)")
    feedback.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    feedback.set_defaults(run=_feedback)

    report = commands.add_parser("report", help="write the class analytics page (report.html)")
    report.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    report.add_argument("--out", default=None, help="the HTML file (default: <course>/report.html)")
    report.set_defaults(run=_report)

    roster = commands.add_parser("roster", help="import the class list from the LMS's own export (Canvas "
                                                "gradebook export or Moodle grades export, CSV)")
    roster.add_argument("file", help="the CSV the LMS exported")
    roster.add_argument("--match", default="", help="the roster column that holds the nbgrader student ids "
                                                    "(default: the column whose values match the gradebook's)")
    roster.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    roster.set_defaults(run=_roster)

    lms = commands.add_parser("export-grades", help="write the grades as a Canvas or Moodle import CSV")
    lms.add_argument("--lms", choices=["canvas", "moodle"], required=True)
    lms.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    lms.add_argument("--out", default=None, help="the CSV file (default: <course>/grades-<lms>.csv)")
    lms.add_argument("--include-removed", action="store_true",
                     help="also export students whose submission folder is gone (left out by default)")
    lms.set_defaults(run=_export_grades)

    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        parser.error("--jobs must be at least 1")
    if getattr(args, "attempts", 1) < 1:
        parser.error("--attempts must be at least 1")
    from wt06.errors import CourseError
    from wt06_grading.foundation.failures import GraderFailure
    from wt06_grading.sandbox.bwrap import SandboxError

    try:
        return args.run(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return COURSE_PROBLEM
    except (GraderFailure, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return GRADER_FAILURE
    except KeyboardInterrupt:
        print("interrupted: what finished is in the gradebook; `make grade` again grades the rest", file=sys.stderr)
        return 130
