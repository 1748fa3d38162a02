"""``wt06-grade <command>`` (also ``python -m wt06_grading``): the instructor's commands.

Each command prints what it did in a line or two; a problem the instructor can fix
(a CourseError, a sandbox that cannot start) is one sentence on stderr and exit status 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import layout


def _release(args) -> int:
    from .release import release

    for path in release():
        print(f"wrote {path}")
    return 0


def _export(args) -> int:
    from .export import export, placeholder_note

    dest = export(Path(args.dest))
    print(f"wrote the student course to {dest}")
    note = placeholder_note()
    if note:
        print(note)
    return 0


def _grade(args) -> int:
    from .batch import grade_class, print_summary

    sandbox = not args.no_sandbox
    result = grade_class(Path(args.course or layout.GRADER), submitted=args.submitted and Path(args.submitted),
                         jobs=args.jobs, cell_timeout=args.timeout, sandbox=sandbox,
                         only=[n.strip() for n in args.notebooks.split(",") if n.strip()] or None,
                         students_only=[args.student] if args.student else None)
    print_summary(result)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wt06-grade", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help="regenerate notebooks/ from the instructor sources").set_defaults(run=_release)
    export = commands.add_parser("export", help="write the student-only course (the public repository) to DEST")
    export.add_argument("dest", help="a new or empty folder outside this repository, or a previous export")
    export.set_defaults(run=_export)
    grade = commands.add_parser("grade", help="autograde every submission in submitted/")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (worker processes)")
    grade.add_argument("--notebooks", default="", help="comma-separated notebook names to grade (default: all)")
    grade.add_argument("--student", default="", help="grade this one student only, into the existing gradebook")
    grade.add_argument("--timeout", type=int, default=60, help="seconds a cell may run")
    grade.add_argument("--course", default=None, help="the nbgrader course folder (default: grader/)")
    grade.add_argument("--submitted", default=None, help="the submissions folder (default: <course>/submitted)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code WITHOUT the sandbox (recorded in the grade table); only for "
                            "machines where bubblewrap cannot run, with submissions you trust")
    grade.set_defaults(run=_grade)
    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        parser.error("--jobs must be at least 1")
    from wt06.errors import CourseError

    from .sandbox.bwrap import SandboxError

    try:
        return args.run(args)
    except (CourseError, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
