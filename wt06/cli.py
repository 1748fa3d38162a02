"""``python -m wt06 ...``: the commands behind the Makefile.

Each command prints what it did in a line or two; a CourseError becomes one line on
stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import clock, paths
from .errors import CourseError


def _warehouse(args) -> int:
    started = time.perf_counter()
    from .build import build_warehouse, reset

    say = (lambda _: None) if args.quiet else print
    path = reset(say=say) if args.reset else build_warehouse(say=say)
    print(f"Built the incident warehouse {path} in {time.perf_counter() - started:.1f} s.")
    _print_state(path)
    return 0


def _print_state(path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        marts, staging = con.execute(
            "select (select max(order_date) from fct_revenue_daily),"
            " (select max(order_date) from stg_orders)"
        ).fetchone()
    finally:
        con.close()
    print(f"  marts end {marts}; staging sees {staging}; the story's now is "
          f"{clock.describe(clock.as_of())}.")


def _scenario(args) -> int:
    from .scenario import Scenario, ScenarioParams

    params = ScenarioParams.variant(args.variant) if args.variant is not None else ScenarioParams()
    out = Path(args.out) if args.out else paths.data_dir()
    written = Scenario(params).write(out)
    kind = f"variant {args.variant}" if args.variant is not None else "the canonical scenario"
    print(f"Wrote {kind} to {out} ({len(written)} files).")
    return 0


def _dbt(args) -> int:
    from .dbt_runner import invoke

    words = args.dbt_args[1:] if args.dbt_args[:1] == ["--"] else args.dbt_args
    result = invoke(["dbt", *words], echo=True, origin="terminal",
                    warehouse=Path(args.warehouse) if args.warehouse else None)
    return result.exit_code


def _as_of(_args) -> int:
    print(clock.format_ts(clock.as_of()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wt06", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("warehouse", help="build the incident warehouse with real dbt runs")
    build.add_argument("--reset", action="store_true",
                       help="also throw away every notebook's working copy")
    build.add_argument("--quiet", action="store_true", help="do not list the replayed steps")
    build.set_defaults(run=_warehouse)

    scenario = commands.add_parser("scenario", help="write the canonical data or a variant")
    scenario.add_argument("--variant", type=int, help="random seed of a variant incident")
    scenario.add_argument("--out", help="folder to write to (default: the data folder)")
    scenario.set_defaults(run=_scenario)

    dbt = commands.add_parser("dbt", help="run dbt in-process on the warehouse: python -m wt06 dbt -- run")
    dbt.add_argument("--warehouse", help="warehouse file (default: the incident warehouse)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER)
    dbt.set_defaults(run=_dbt)

    as_of = commands.add_parser("as-of", help="print the as-of clock every check uses")
    as_of.set_defaults(run=_as_of)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
