"""``wt06-grade <command>`` (also ``python -m wt06_grading``): the instructor's commands."""

import argparse
import shlex
import sys
from pathlib import Path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="wt06-grade")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help="regenerate notebooks/ from the instructor sources")
    export = commands.add_parser("export", help="write the student-only course (the public repository) to DEST")
    export.add_argument("dest", help="a new or empty folder outside this repository, or a previous export")
    grade = commands.add_parser("grade", help="autograde every submission in submitted/")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    grade.add_argument("--notebooks", default="", help="comma-separated notebook names to grade (default: all)")
    grade.add_argument("--timeout", type=int, default=60, help="seconds a cell may run")
    grade.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    grade.add_argument("--submitted", default=None, help="the submissions folder (default: <course>/submitted)")
    grade.add_argument("--sandbox", default="",
                       help="command prefix that wraps the grading kernel and the checker, "
                            "e.g. 'bwrap --ro-bind / / --bind {submission} {submission} --unshare-net'")
    grade.add_argument("--cluster", default="",
                       help="address of a running Dask scheduler (tcp://HOST:8786); default: --jobs "
                            "local worker processes")
    grade.add_argument("--student", default="",
                       help="grade only these students (comma-separated), even if unchanged; the others "
                            "stay as they are in the gradebook and the grade table")
    grade.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    grade.add_argument("--attempts", type=int, default=3,
                       help="workers a submission may take down before it is marked ungraded (default 3)")
    report = commands.add_parser("report", help="write the class analytics page (report.html)")
    report.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    report.add_argument("--out", default=None, help="the HTML file (default: <course>/report.html)")
    lms = commands.add_parser("export-grades", help="write the grades as a Canvas or Moodle import CSV")
    lms.add_argument("--lms", choices=["canvas", "moodle"], required=True)
    lms.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    lms.add_argument("--out", default=None, help="the CSV file (default: <course>/grades-<lms>.csv)")
    args = parser.parse_args(argv)
    if args.command == "release":
        from .release import release

        for path in release():
            print(f"wrote {path}")
        return 0
    from wt06.errors import CourseError

    if args.command == "export":
        from .export import export, placeholder_note

        try:
            dest = export(Path(args.dest))
        except CourseError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote the student course to {dest}")
        note = placeholder_note()
        if note:
            print(note)
        return 0

    from .release import GRADER

    course = Path(args.course or GRADER)
    if args.command == "report":
        from .report import write_report

        print(f"wrote {write_report(course, out=args.out and Path(args.out))}")
        return 0
    if args.command == "export-grades":
        return _export_grades(course, args.lms, args.out)

    from .batch import grade_class, print_summary

    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.attempts < 1:
        parser.error("--attempts must be at least 1")
    try:
        result = grade_class(course, submitted=args.submitted and Path(args.submitted),
                             jobs=args.jobs, cell_timeout=args.timeout,
                             only=_names(args.notebooks), sandbox=shlex.split(args.sandbox),
                             cluster=args.cluster or None, students=_names(args.student),
                             force=args.force, max_attempts=args.attempts)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a scheduler that does not answer
        print(f"error: could not reach the Dask scheduler {args.cluster or ''} ({exc})", file=sys.stderr)
        return 2
    print_summary(result)
    return result.exit_code


def _names(text: str) -> list[str] | None:
    return [n.strip() for n in text.split(",") if n.strip()] or None


def _export_grades(course: Path, lms: str, out: str | None) -> int:
    from .gradebook import gradebook_url, redact
    from .lms import export_grades

    url = gradebook_url(course)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        print(f"error: no gradebook at {url.removeprefix('sqlite:///')}: grade the class first "
              "(make grade)", file=sys.stderr)
        return 2
    done = export_grades(url, lms, Path(out) if out else course / f"grades-{lms}.csv")
    print(f"wrote {done.path}: {done.students} students from the gradebook {redact(url)}")
    if done.without_submission:
        print(f"  {len(done.without_submission)} without a submission (left empty): "
              f"{', '.join(done.without_submission[:10])}")
    if done.waiting_for_grader:
        print(f"  {len(done.waiting_for_grader)} still have cells to grade by hand in formgrader, "
              f"so their totals may rise: {', '.join(done.waiting_for_grader[:10])}"
              f"{' ...' if len(done.waiting_for_grader) > 10 else ''}")
    return 0

