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

    from .batch import grade_class, print_summary
    from .release import GRADER

    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        result = grade_class(Path(args.course or GRADER), submitted=args.submitted and Path(args.submitted),
                             jobs=args.jobs, cell_timeout=args.timeout,
                             only=[n.strip() for n in args.notebooks.split(",") if n.strip()] or None, sandbox=shlex.split(args.sandbox))
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_summary(result)
    return result.exit_code

