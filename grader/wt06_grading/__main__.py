"""``python -m wt06_grading <command>`` (run from grader/ or with grader/ on sys.path)."""

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wt06_grading")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("release", help="regenerate notebooks/ from the instructor sources")
    args = parser.parse_args(argv)
    if args.command == "release":
        from .release import release

        for path in release():
            print(f"wrote {path}")
    return 0


sys.exit(main())
