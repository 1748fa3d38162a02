"""``python -m wt06 ...``: the commands behind the Makefile.

Each command prints what it did in a line or two; a CourseError becomes one line on
stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from wt06 import incidents
from wt06.errors import CourseError
from wt06.foundation import paths
from wt06.incident import clock
from wt06.incident.scenario import STORIES, Scenario, ScenarioParams
from wt06.incident.warehouse import read_clock, require_built, write_clock
from wt06.incidents import build_all, reset
from wt06.pipeline.build import build_warehouse
from wt06.pipeline.dbt_runner import invoke
from wt06.settings import ENV_AS_OF


def _env_as_of():
    """The WT06_AS_OF setting if the user gave one (else None: the story's own now)."""
    return os.environ.get(ENV_AS_OF) or None


def _warehouse(args) -> int:
    started = time.perf_counter()

    say = (lambda _: None) if args.quiet else print
    if args.reset:
        built = reset(as_of=_env_as_of(), say=say)
    elif args.only_course:
        built = [build_warehouse(as_of=_env_as_of(), say=say)]
    else:
        built = build_all(as_of=_env_as_of(), say=say)
    print(f"Built the incident warehouse {built[0]} in {time.perf_counter() - started:.1f} s"
          + (f" (and {', '.join(p.stem for p in built[1:])} next to it)." if built[1:] else "."))
    _print_state(built[0])
    return 0


def _print_state(path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        marts, staging, now = con.execute(
            "select (select max(order_date) from fct_revenue_daily),"
            " (select max(order_date) from stg_orders), main.as_of()"
        ).fetchone()
    finally:
        con.close()
    print(f"  marts end {marts}; staging sees {staging}; the story's now is {clock.describe(now)}.")


def _scenario(args) -> int:
    if args.variant is not None:
        if args.story not in STORIES:
            raise CourseError(f"unknown story {args.story!r}: choose one of {', '.join(STORIES)}.")
        params = ScenarioParams.variant(args.variant, story=args.story)
        out = Path(args.out) if args.out else None
        if out is None:
            raise CourseError("a variant needs --out <folder>: the course's data folder holds "
                              "the course's own incident.")
        written = Scenario(params).write(out)
        print(f"Wrote variant {args.variant} ({args.story}) to {out} ({len(written)} files).")
        return 0
    out = Path(args.out) if args.out else paths.data_dir()
    written = Scenario(ScenarioParams()).write(out)
    print(f"Wrote the canonical scenario to {out} ({len(written)} files).")
    if not args.out:
        incidents.write_inputs(say=print)
    return 0


def _dbt(args) -> int:
    words = args.dbt_args[1:] if args.dbt_args[:1] == ["--"] else args.dbt_args
    result = invoke(["dbt", *words], echo=True, origin="terminal", as_of=_env_as_of(),
                    warehouse=Path(args.warehouse) if args.warehouse else None)
    return 0 if result.success else (result.exit_code or 1)


def _as_of(args) -> int:
    warehouse = Path(args.warehouse) if args.warehouse else paths.warehouse_path()
    if args.set:
        require_built(warehouse)
        moment = clock.parse(args.set)
        write_clock(warehouse, moment)
        print(f"The clock of {warehouse} now reads {clock.format_ts(moment)}; "
              "dbt and as_of() see it (rebuild with 'make warehouse' to go back).")
        return 0
    current = read_clock(warehouse) if warehouse.is_file() else None
    print(clock.format_ts(current or clock.as_of()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wt06", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("warehouse", help="build the incident warehouse (and the public "
                                "incidents' next to it) with real dbt runs")
    build.add_argument("--reset", action="store_true",
                       help="also throw away every notebook's working copy")
    build.add_argument("--only-course", action="store_true",
                       help="build only the course's incident, not the practice incident and drills")
    build.add_argument("--quiet", action="store_true", help="do not list the replayed steps")
    build.set_defaults(run=_warehouse)

    scenario = commands.add_parser("scenario", help="write the canonical data (and the public "
                                   "incidents') or a variant")
    scenario.add_argument("--variant", type=int, help="random seed of a variant incident")
    scenario.add_argument("--story", default="skipped_marts",
                          help="the variant's story: skipped_marts (default) or loader_outage")
    scenario.add_argument("--out", help="folder to write to (default: the data folder)")
    scenario.set_defaults(run=_scenario)

    dbt = commands.add_parser("dbt", help="run dbt in-process on the warehouse: python -m wt06 dbt -- run")
    dbt.add_argument("--warehouse", help="warehouse file (default: the incident warehouse)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(run=_dbt)

    as_of = commands.add_parser("as-of", help="print (or --set) the clock of the warehouse, "
                                "which every check and dbt read")
    as_of.add_argument("--set", help="move the warehouse's clock, e.g. --set '2024-02-09 07:00'")
    as_of.add_argument("--warehouse", help="warehouse file (default: the incident warehouse)")
    as_of.set_defaults(run=_as_of)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
