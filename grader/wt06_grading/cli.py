"""``wt06-grade <command>`` (also ``python -m wt06_grading``): the instructor's commands.

Each command prints what it did in a line or two; a problem the instructor can fix
(a CourseError, a sandbox that cannot start, a scheduler that does not answer) is one
sentence on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import layout


def _release(args) -> int:
    from . import objectives, questions
    from .release import release

    course = questions.load()  # a malformed declaration stops here, before anything is written
    for path in release():
        print(f"wrote {path}")
    if objectives.sync_readme(course):
        print(f"updated the graded cells of the learning objectives in {objectives.README}")
    return 0


def _export(args) -> int:
    from .export import export, placeholder_note

    dest = export(Path(args.dest))
    print(f"wrote the student course to {dest}")
    note = placeholder_note()
    if note:
        print(note)
    return 0


def _names(text: str) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] or None


def _grade(args) -> int:
    from .batch import grade_class, print_summary

    try:
        result = grade_class(Path(args.course or layout.GRADER), submitted=args.submitted and Path(args.submitted),
                             jobs=args.jobs, cell_timeout=args.timeout, only=_names(args.notebooks),
                             sandbox=not args.no_sandbox, cluster=args.cluster or None,
                             students=_names(args.student), force=args.force, max_attempts=args.attempts)
    except OSError as exc:  # a scheduler that does not answer
        print(f"error: could not reach the Dask scheduler {args.cluster or ''} ({exc})", file=sys.stderr)
        return 2
    print_summary(result)
    return result.exit_code


def _report(args) -> int:
    from .report import write_report

    course = Path(args.course or layout.GRADER)
    print(f"wrote {write_report(course, out=args.out and Path(args.out))}")
    return 0


def _export_grades(args) -> int:
    from .gradebook import redact
    from .lms import export_grades

    course = Path(args.course or layout.GRADER)
    url = layout.gradebook_url(course)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        print(f"error: no gradebook at {url.removeprefix('sqlite:///')}: grade the class first "
              "(make grade)", file=sys.stderr)
        return 2
    done = export_grades(url, args.lms, Path(args.out) if args.out else course / f"grades-{args.lms}.csv")
    print(f"wrote {done.path}: {done.students} students from the gradebook {redact(url)}")
    if done.without_submission:
        print(f"  {len(done.without_submission)} without a submission (left empty): "
              f"{', '.join(done.without_submission[:10])}")
    if done.waiting_for_grader:
        print(f"  {len(done.waiting_for_grader)} still have cells to grade by hand in formgrader, "
              f"so their totals may rise: {', '.join(done.waiting_for_grader[:10])}"
              f"{' ...' if len(done.waiting_for_grader) > 10 else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wt06-grade", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help="regenerate notebooks/ from the instructor sources").set_defaults(run=_release)
    export = commands.add_parser("export", help="write the student-only course (the public repository) to DEST")
    export.add_argument("dest", help="a new or empty folder outside this repository, or a previous export")
    export.set_defaults(run=_export)

    grade = commands.add_parser("grade", help="autograde the submissions in submitted/ (in the sandbox)")
    grade.add_argument("--jobs", type=int, default=1, help="local worker processes (default 1)")
    grade.add_argument("--cluster", default="",
                       help="address of a running Dask scheduler (tcp://HOST:8786) instead of local workers")
    grade.add_argument("--notebooks", default="", help="comma-separated notebook names to grade (default: all)")
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

    report = commands.add_parser("report", help="write the class analytics page (report.html)")
    report.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    report.add_argument("--out", default=None, help="the HTML file (default: <course>/report.html)")
    report.set_defaults(run=_report)

    lms = commands.add_parser("export-grades", help="write the grades as a Canvas or Moodle import CSV")
    lms.add_argument("--lms", choices=["canvas", "moodle"], required=True)
    lms.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    lms.add_argument("--out", default=None, help="the CSV file (default: <course>/grades-<lms>.csv)")
    lms.set_defaults(run=_export_grades)

    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        parser.error("--jobs must be at least 1")
    if getattr(args, "attempts", 1) < 1:
        parser.error("--attempts must be at least 1")
    from wt06.errors import CourseError

    from .sandbox.bwrap import SandboxError

    try:
        return args.run(args)
    except (CourseError, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
