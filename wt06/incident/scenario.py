"""Generate an incident from parameters: the raw CSVs, the landing batches, the run log
and the scheduler job's change history.

The canonical parameters (``data/scenario.json``) reproduce the committed CSVs byte for
byte; ``ScenarioParams.variant(seed, story=...)`` gives other incidents that are just as
coherent (other dates and weekdays, run ids, number of phantom runs, broken selector,
volumes, quiet days). Grading re-runs a student's queries on such variants, so a
hard-coded answer fails; the grader passes its own secret seeds.

Two stories ("what went wrong"), both on the same shop:

``skipped_marts`` (the WT-06 story)
    history from ``first_day`` to ``freeze_day``: customers sign up, orders arrive, the
    shop's loader lands each day's rows at about 17:30 (``_loaded_at``); the scheduler
    runs the full ``dbt run`` every evening at about 18:12 (``full_runs`` runs, the last
    one on ``freeze_day``). That evening somebody edits the scheduled job (a new revision
    in its change history): from the next morning it runs at 06:00 with
    ``--select <broken_selector>`` for ``outage_days`` days (plus manual re-runs in the
    evening, ``phantom_runs`` in all); every run exits 0, none rebuilds the marts. Data
    keeps landing, more than usual (a sales push), except on ``quiet_days`` of them, when
    the loader runs and finds nothing new.

``loader_outage``
    the same history, then the loader stops delivering after ``freeze_day`` for
    ``outage_days`` days, while the scheduler keeps running its full ``dbt run`` every
    evening: every run rebuilds the marts, from data that no longer moves. ``quiet_days``
    here are days of the history's last week with no new rows at all (the loader worked;
    nothing happened), which a staleness rule must not mistake for the outage.

Either way, the next morning at 09:00 somebody looks at the dashboard: the story's "now".

Every variant keeps each raw table's gaps between load days (and those of the loader's
tables taken together) no larger than the canonical incident's, so freshness thresholds
a student tunes on the course's incident stay valid on the grading incidents.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path

from wt06.errors import DataError
from wt06.foundation import paths
from wt06.foundation.tables import (
    CUSTOMERS,
    EVENTS,
    FULL_RUN,
    JOB_REVISIONS,
    LANDING_TABLES,
    ORDERS,
    PIPELINE_RUNS,
    RAW_TABLES,
    TIMESTAMP_FORMAT,
    RawTable,
)

SCENARIO_FILE = "scenario.json"
RAW_DIR = "raw"
LANDING_DIR = "landing"

SKIPPED_MARTS = "skipped_marts"
LOADER_OUTAGE = "loader_outage"
STORIES = (SKIPPED_MARTS, LOADER_OUTAGE)

LOAD_TIME = time(17, 30)  # the shop's loader lands each day's rows shortly after this
LOAD_DELAY_SECONDS = {CUSTOMERS.name: 12, ORDERS.name: 31, EVENTS.name: 47}
FULL_RUN_TIME = time(18, 12)
FULL_RUN_SECONDS = (136, 151)
SCHEDULED_PARTIAL_RUN_TIME = time(6, 0)
MANUAL_RUN_TIME = time(18, 0)
PARTIAL_RUN_SECONDS = (38, 43)
STORY_NOW_TIME = time(9, 0)

# The scheduled job's settings (its change history is a raw table, raw_job_revisions).
FULL_CRON = f"{FULL_RUN_TIME.minute} {FULL_RUN_TIME.hour} * * *"
PARTIAL_CRON = f"{SCHEDULED_PARTIAL_RUN_TIME.minute} {SCHEDULED_PARTIAL_RUN_TIME.hour} * * *"
FULL_COMMAND = "dbt run"

# Selectors that build the staging layer only, as a careless scheduler edit would (the
# grading variants draw from these).
BROKEN_SELECTORS = ("staging.*", "staging", "path:models/staging", "stg_*")
# Partial selectors that still build more than staging: the quiet-days drill's job keeps
# the intermediate layer, so what the scheduler left out is not the same set of models
# as on the course's incident (a blast radius typed in from one incident fails there).
DRILL_SELECTORS = ("staging.* intermediate.*",)

OUTAGE_DAYS = {SKIPPED_MARTS: (1, 6), LOADER_OUTAGE: (6, 9)}
GENERATION_ATTEMPTS = 400

_FIRST = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
          "Kemi", "Liam", "Maya", "Nico", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
          "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe")
_LAST = ("Adams", "Berg", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hansen", "Ito",
         "Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Quist",
         "Rossi", "Silva", "Tanaka")
_DOMAINS = ("example.com", "example.org", "example.net")
_PLANS = (("free", 5), ("starter", 3), ("pro", 2))
_PAGES = ("/pricing", "/docs", "/blog/weekend-sale", "/features", "/checkout")
_ENGINEERS = ("amara.o", "ben.k", "carla.m", "deniz.t", "emil.r", "farah.s", "gus.l", "hana.p")
_CHANNELS = ("#data-alerts", "#data-oncall", "#analytics-eng", "#data-platform")
_BREAKING_MESSAGES = (
    "Nightly job: only staging while the marts are being refactored; run it early",
    "Speed up the scheduled job (staging only) and move it to the morning",
    "Run the staging refresh first thing in the morning",
    "Temporary: skip the slow models, schedule before office hours",
)
# The same edits for a selector that keeps more than staging (as many, so a draw from
# either list consumes the same randomness).
_BREAKING_MESSAGES_WIDER = (
    "Nightly job: skip the marts while they are being refactored; run it early",
    "Speed up the scheduled job (no marts) and move it to the morning",
    "Run the staging and intermediate refresh first thing in the morning",
    "Temporary: skip the slow models, schedule before office hours",
)
_HARMLESS = ("retries", "alert_channel", "retries", "alert_channel")  # edits unrelated to any incident


def _day(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass(frozen=True)
class ScenarioParams:
    """Everything that decides an incident: plain values only, so the JSON is plain.

    Build one with ``ScenarioParams()`` (the course's incident),
    ``ScenarioParams.variant(seed, story=...)`` (another incident of a story, e.g. for
    grading with secret seeds) or ``ScenarioParams.from_json(text)``.
    """

    seed: int = 6
    first_day: str = "2024-01-02"
    freeze_day: str = "2024-02-08"  # a Thursday: the last day the marts (or the loader) saw
    outage_days: int = 3  # Fri, Sat, Sun: days of data the marts miss (or the loader skips)
    full_runs: int = 11  # full runs in the log up to freeze_day, the last one on freeze_day
    phantom_runs: int = 4  # partial runs that exit 0 (one a day, plus manual re-runs)
    broken_selector: str = "staging.*"
    first_run_number: int = 1  # run ids are run_001, run_002, ...
    customers: int = 20  # customers by freeze_day
    orders: int = 32  # orders by freeze_day
    events: int = 40  # events by freeze_day
    push_orders_per_day: int = 5  # typical orders per outage day (a normal day has < 1)
    story: str = SKIPPED_MARTS
    quiet_days: int = 0  # days on which the loader ran and found nothing new

    def __post_init__(self) -> None:
        problems = []
        if self.story not in STORIES:
            problems.append(f"story must be one of {', '.join(STORIES)}")
        if _day(self.first_day) >= _day(self.freeze_day):
            problems.append("first_day must come before freeze_day")
        low, high = OUTAGE_DAYS.get(self.story, (1, 6))
        if not low <= self.outage_days <= high:
            problems.append(f"outage_days must be between {low} and {high} for {self.story}")
        if self.story == SKIPPED_MARTS:
            if not self.outage_days <= self.phantom_runs <= 2 * self.outage_days:
                problems.append("phantom_runs must be between outage_days and twice outage_days")
            if not 0 <= self.quiet_days < self.outage_days:
                problems.append("quiet_days must leave at least one outage day with data")
        else:
            if self.phantom_runs != 0:
                problems.append("a loader outage has no phantom runs (phantom_runs = 0)")
            if not 0 <= self.quiet_days <= 3:
                problems.append("quiet_days must be between 0 and 3")
        if self.full_runs < 2:
            problems.append("full_runs must be at least 2")
        if self.customers < 3:
            problems.append("customers must be at least 3")
        if self.orders < 2:
            problems.append("orders must be at least 2")
        if self.events < self.customers + 2:
            problems.append("events must exceed customers by at least 2 (signups come first)")
        if self.broken_selector not in BROKEN_SELECTORS + DRILL_SELECTORS:
            problems.append(f"broken_selector must be one of {', '.join(BROKEN_SELECTORS + DRILL_SELECTORS)}")
        if self.push_orders_per_day < 2:
            problems.append("push_orders_per_day must be at least 2")
        if problems:
            raise DataError("Scenario parameters are inconsistent: " + "; ".join(problems) + ".")

    @classmethod
    def variant(cls, seed: int, story: str = SKIPPED_MARTS) -> ScenarioParams:
        """Another coherent incident of ``story``, different in everything a query could use.

        The same (seed, story) always gives the same incident. Dates (hence the weekday
        the outage starts), run ids, the numbers of runs, phantom runs and manual
        re-runs, the broken selector, volumes and quiet days all vary; gaps between load
        days never exceed the canonical incident's (checked when the data is generated).
        """
        if story not in STORIES:
            raise DataError(f"unknown story {story!r}: choose one of {', '.join(STORIES)}.")
        rng = random.Random(f"variant-{story}-{seed}")
        freeze = date(2023, 3, 1) + timedelta(days=rng.randint(0, 600))
        span = rng.randint(30, 44)  # days of history
        customers = round(span * rng.uniform(0.52, 0.62))
        low, high = OUTAGE_DAYS[story]
        outage = rng.randint(low, min(high, 4) if story == SKIPPED_MARTS else high)
        skipped = story == SKIPPED_MARTS
        return cls(
            seed=seed,
            first_day=(freeze - timedelta(days=span)).isoformat(),
            freeze_day=freeze.isoformat(),
            outage_days=outage,
            full_runs=rng.randint(6, 14),
            phantom_runs=rng.randint(outage, 2 * outage) if skipped else 0,
            broken_selector=rng.choice(BROKEN_SELECTORS) if skipped else BROKEN_SELECTORS[0],
            first_run_number=rng.randint(100, 899),
            customers=customers,
            orders=round(span * rng.uniform(0.86, 1.1)),
            events=customers + round(span * rng.uniform(0.55, 0.8)),
            push_orders_per_day=rng.randint(4, 8),
            story=story,
            quiet_days=rng.randint(0, min(2, outage - 1)) if skipped else rng.randint(1, 2),
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = SCENARIO_FILE) -> ScenarioParams:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source} is not valid JSON (line {exc.lineno}): {exc.msg}.") from None
        if not isinstance(raw, dict):
            raise DataError(f"{source} must hold a JSON object of scenario parameters.")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise DataError(f"{source} has unknown parameters: {', '.join(unknown)}.")
        return cls(**raw)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


@dataclass
class Scenario:
    """The incident a set of parameters describes, generated on first use."""

    params: ScenarioParams = field(default_factory=ScenarioParams)

    # ----- the timeline -------------------------------------------------------------
    @property
    def story(self) -> str:
        return self.params.story

    @property
    def freeze_day(self) -> date:
        return _day(self.params.freeze_day)

    @property
    def outage_days(self) -> list[date]:
        return [self.freeze_day + timedelta(days=i + 1) for i in range(self.params.outage_days)]

    @property
    def story_now(self) -> datetime:
        """The morning after the outage, 09:00: when somebody finally looks."""
        return datetime.combine(self.outage_days[-1] + timedelta(days=1), STORY_NOW_TIME)

    # ----- the data -----------------------------------------------------------------
    @cached_property
    def _generated(self):
        return _generate_checked(self.params, self.freeze_day, self.outage_days)

    @property
    def history(self) -> dict[str, list[dict]]:
        """Rows of every raw table in raw/: the loader's up to the freeze, the run log and
        the job's change history whole."""
        return self._generated[0]

    @property
    def landing(self) -> dict[date, dict[str, list[dict]]]:
        """For each day the loader ran after the freeze, the rows it landed, per table
        (a quiet day has empty lists)."""
        return self._generated[1]

    @property
    def quiet_days(self) -> list[date]:
        return self._generated[2]

    def loader_rows(self, table: str) -> list[dict]:
        """Every row the loader ever delivered to ``table`` (history and landing)."""
        rows = list(self.history[table])
        for tables in self.landing.values():
            rows += tables[table]
        return rows

    def truth(self) -> dict:
        """What really happened, for judging detection (JSON-able; never shown to students).

        ``incident_start`` is the first moment something was wrong: the first phantom
        run's start (skipped_marts) or the first load the loader missed (loader_outage).
        """
        runs = self.history[PIPELINE_RUNS.name]
        phantoms = [r for r in runs if r["models_run"] != FULL_RUN]
        last_delivery = max(r["_loaded_at"] for t in LANDING_TABLES for r in self.loader_rows(t.name))
        if self.story == SKIPPED_MARTS:
            start = phantoms[0]["started_at"]
            breaking = next(r["revision_id"] for r in self.history[JOB_REVISIONS.name]
                            if r["command"] != FULL_COMMAND)
        else:
            start = datetime.combine(self.freeze_day + timedelta(days=1), LOAD_TIME)
            breaking = None
        return {
            "story": self.story,
            "now": self.story_now.strftime(TIMESTAMP_FORMAT),
            "incident_start": start.strftime(TIMESTAMP_FORMAT),
            "last_delivery": last_delivery.strftime(TIMESTAMP_FORMAT),
            "first_phantom_run": phantoms[0]["run_id"] if phantoms else None,
            "breaking_revision": breaking,
            "quiet_days": [d.isoformat() for d in self.quiet_days],
        }

    # ----- files --------------------------------------------------------------------
    def csv_files(self) -> dict[str, str]:
        """Relative path -> CSV text for every data file of the scenario."""
        files = {f"{RAW_DIR}/{name}.csv": to_csv(name, rows) for name, rows in self.history.items()}
        for day, tables in self.landing.items():
            for name, rows in tables.items():
                files[f"{LANDING_DIR}/{day.isoformat()}/{name}.csv"] = to_csv(name, rows)
        return files

    def write(self, out_dir: Path) -> list[Path]:
        """Write ``raw/``, ``landing/`` and ``scenario.json`` under ``out_dir``.

        Old raw and landing folders are removed first, so a smaller scenario leaves no
        stray day.
        """
        out_dir = Path(out_dir)
        shutil.rmtree(out_dir / LANDING_DIR, ignore_errors=True)
        shutil.rmtree(out_dir / RAW_DIR, ignore_errors=True)
        written = []
        for rel, text in self.csv_files().items():
            target = out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="")
            written.append(target)
        manifest = out_dir / SCENARIO_FILE
        manifest.write_text(self.params.to_json(), encoding="utf-8")
        written.append(manifest)
        return written


def load_scenario(data_dir: Path | None = None) -> Scenario:
    """The scenario whose data lives in ``data_dir`` (default: the course's data folder)."""
    folder = Path(data_dir) if data_dir else paths.data_dir()
    manifest = folder / SCENARIO_FILE
    if not manifest.is_file():
        raise DataError(
            f"{manifest} is missing: the data folder has no scenario. "
            "Restore it with 'git checkout data/' or regenerate it with 'make data'."
        )
    return Scenario(ScenarioParams.from_json(manifest.read_text(encoding="utf-8"), source=str(manifest)))


# ----- CSV text ----------------------------------------------------------------------
def _csv_value(kind: str, value) -> str:
    if kind == "date":
        return value.isoformat()
    if kind == "timestamp":
        return value.strftime(TIMESTAMP_FORMAT)
    if kind == "json":
        return json.dumps(value, sort_keys=True)
    return str(value)


def to_csv(table_name: str, rows: list[dict]) -> str:
    table: RawTable = RAW_TABLES[table_name]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in rows:
        writer.writerow([_csv_value(c.kind, row[c.name]) for c in table.columns])
    return buffer.getvalue()


# ----- gaps between load days ------------------------------------------------------------
ALL_LOADER_TABLES = "loader (any table)"


def load_day_gaps(rows_by_table: dict[str, list[dict]]) -> dict[str, int]:
    """The longest gap, in days, between consecutive days with rows, per loader table and
    for the loader's tables together (``ALL_LOADER_TABLES``). A gap of 1 = loads on
    consecutive days; the tail after the last load (an outage) is not a gap."""
    def longest(days: set[date]) -> int:
        ordered = sorted(days)
        return max((b - a).days for a, b in zip(ordered, ordered[1:])) if len(ordered) > 1 else 0

    gaps, union = {}, set()
    for table in LANDING_TABLES:
        days = {r["_loaded_at"].date() for r in rows_by_table[table.name]}
        gaps[table.name] = longest(days)
        union |= days
    gaps[ALL_LOADER_TABLES] = longest(union)
    return gaps


def scenario_gaps(scenario: Scenario) -> dict[str, int]:
    return load_day_gaps({t.name: scenario.loader_rows(t.name) for t in LANDING_TABLES})


@cache
def canonical_gap_limits() -> dict[str, int]:
    """The canonical incident's longest gaps: no variant may have longer ones."""
    params = ScenarioParams()
    freeze = _day(params.freeze_day)
    outage = [freeze + timedelta(days=i + 1) for i in range(params.outage_days)]
    history, landing, _ = _generate(params, freeze, outage, random.Random(params.seed))
    rows = {t.name: list(history[t.name]) + [r for day in landing.values() for r in day[t.name]]
            for t in LANDING_TABLES}
    return load_day_gaps(rows)


# ----- generation --------------------------------------------------------------------
def _stamp(day: date, table: RawTable) -> datetime:
    return datetime.combine(day, LOAD_TIME) + timedelta(seconds=LOAD_DELAY_SECONDS[table.name])


def _amount(rng: random.Random) -> Decimal:
    return (Decimal(rng.randint(2500, 40000)) / 100).quantize(Decimal("0.01"))


def _plan(rng: random.Random) -> str:
    names, weights = zip(*_PLANS)
    return rng.choices(names, weights)[0]


class _Ids:
    def __init__(self) -> None:
        self.customer = self.order = self.event = 0

    def next(self, kind: str) -> int:
        setattr(self, kind, getattr(self, kind) + 1)
        return getattr(self, kind)


def _generate_checked(params: ScenarioParams, freeze: date, outage: list[date]):
    """Generate; for a variant, draw again (deterministically) until its gaps fit.

    The canonical incident is the first draw of its seed, as it always was, and defines
    the limits, so it is never redrawn.
    """
    limits = canonical_gap_limits()
    for attempt in range(GENERATION_ATTEMPTS):
        rng = random.Random(params.seed if attempt == 0 else f"{params.seed}/{attempt}")
        history, landing, quiet = _generate(params, freeze, outage, rng)
        rows = {t.name: list(history[t.name]) + [r for day in landing.values() for r in day[t.name]]
                for t in LANDING_TABLES}
        gaps = load_day_gaps(rows)
        if all(gaps[name] <= limit for name, limit in limits.items()):
            return history, landing, quiet
    raise DataError(
        f"No incident with these parameters keeps its gaps between load days within the "
        f"canonical incident's ({limits}) after {GENERATION_ATTEMPTS} draws: give the history "
        "more orders, events or customers for its length.")


def _generate(params: ScenarioParams, freeze: date, outage: list[date], rng: random.Random):
    first = _day(params.first_day)
    days = [first + timedelta(days=i) for i in range((freeze - first).days + 1)]
    every_name = [(first_name, last_name) for first_name in _FIRST for last_name in _LAST]
    names = rng.sample(every_name, params.customers + 4 * len(outage) * 3)
    ids = _Ids()

    quiet: list[date] = []
    if params.quiet_days and params.story == LOADER_OUTAGE:
        # days of the history's last week when nothing happened (never the two days
        # whose signups are forced below)
        candidates = [d for d in days[-7:-2] if d > first]
        quiet = sorted(rng.sample(candidates, min(params.quiet_days, len(candidates))))
    elif params.quiet_days:
        quiet = sorted(rng.sample(outage[:-1] or outage, params.quiet_days))
    choosable = [d for d in days if d not in quiet]

    def new_customer(day: date) -> dict:
        fname, lname = names[ids.customer]
        cid = ids.next("customer")
        return {
            "customer_id": cid, "name": f"{fname} {lname}",
            "email": f"{fname}.{lname}@{rng.choice(_DOMAINS)}".lower(),
            "signup_date": day, "plan": _plan(rng), "_loaded_at": _stamp(day, CUSTOMERS),
        }

    def new_order(day: date, customers: list[dict]) -> dict:
        eligible = [c for c in customers if c["signup_date"] <= day]
        return {
            "order_id": ids.next("order"), "customer_id": rng.choice(eligible)["customer_id"],
            "order_date": day, "amount": _amount(rng),
            "status": "returned" if rng.random() < 0.1 else "completed",
            "_loaded_at": _stamp(day, ORDERS),
        }

    def events_for(signups: list[dict], purchases: list[dict], pageviews: int,
                   customers: list[dict], window: list[date]) -> list[dict]:
        drafts = [(c["signup_date"], 0, c["customer_id"], "signup", {"plan": c["plan"]}) for c in signups]
        drafts += [(o["order_date"], 2, o["customer_id"], "purchase",
                    {"order_id": o["order_id"], "amount": str(o["amount"])}) for o in purchases]
        for _ in range(pageviews):
            day = rng.choice(window)
            who = rng.choice([c for c in customers if c["signup_date"] <= day])
            drafts.append((day, 1, who["customer_id"], "pageview", {"page": rng.choice(_PAGES)}))
        drafts.sort(key=lambda d: (d[0], d[1], d[2]))
        return [
            {"event_id": ids.next("event"), "customer_id": cust, "event_type": kind,
             "event_date": day, "properties": props, "_loaded_at": _stamp(day, EVENTS)}
            for day, _, cust, kind, props in drafts
        ]

    # History: the first customer on day one, the last two just before the freeze, so
    # the daily-signups mart has signups right up to the day it froze.
    # Signups lean early (the shop launched on first_day), so early orders have customers.
    middle = sorted(min(rng.choice(choosable), rng.choice(choosable)) for _ in range(params.customers - 3))
    customers = [new_customer(d) for d in [first, *middle, freeze - timedelta(days=1), freeze]]
    order_days = sorted(rng.choice(choosable[1:]) for _ in range(params.orders - 1)) + [freeze]
    orders = [new_order(d, customers) for d in order_days]
    remaining = params.events - params.customers
    tracked = min(params.orders, remaining * 3 // 5)  # purchase tracking went live recently
    events = events_for(customers, orders[-tracked:] if tracked else [], remaining - tracked,
                        customers, choosable)
    history = {CUSTOMERS.name: customers, ORDERS.name: orders, EVENTS.name: events}

    landing: dict[date, dict[str, list[dict]]] = {}
    if params.story == SKIPPED_MARTS:
        for day in outage:
            if day in quiet:  # the loader ran and found nothing new
                landing[day] = {t.name: [] for t in LANDING_TABLES}
                continue
            fresh = [new_customer(day) for _ in range(rng.randint(1, 3))]
            customers = customers + fresh
            day_orders = [new_order(day, customers)
                          for _ in range(params.push_orders_per_day + rng.randint(-1, 2))]
            day_events = events_for(fresh, day_orders, rng.randint(1, 3), customers, [day])
            landing[day] = {CUSTOMERS.name: fresh, ORDERS.name: day_orders, EVENTS.name: day_events}
        _one_return_at_least(landing)

    history[PIPELINE_RUNS.name] = _run_log(params, rng, freeze, outage)
    history[JOB_REVISIONS.name] = _job_revisions(params, history[PIPELINE_RUNS.name], first, freeze, outage)
    return history, landing, quiet


def _one_return_at_least(landing: dict[date, dict[str, list[dict]]]) -> None:
    """Every incident of the skipped-marts story has a returned order among the days the
    dashboard misses, so "revenue is completed orders only" matters on each of them (the
    practice incident included). Decided without randomness, so nothing else changes: if
    no order of those days was returned, the first order of the day with the most orders is."""
    orders = [o for tables in landing.values() for o in tables[ORDERS.name]]
    if not orders or any(o["status"] == "returned" for o in orders):
        return
    busiest = max(landing.values(), key=lambda tables: len(tables[ORDERS.name]))
    busiest[ORDERS.name][0]["status"] = "returned"


def _run_log(params: ScenarioParams, rng: random.Random, freeze: date, outage: list[date]):
    drafts = []  # (started_at, seconds, models_run, triggered_by)
    full_days = [freeze - timedelta(days=back) for back in range(params.full_runs - 1, -1, -1)]
    if params.story == LOADER_OUTAGE:
        full_days += outage  # the scheduler goes on, blind to the loader
    for day in full_days:
        start = datetime.combine(day, FULL_RUN_TIME)
        drafts.append((start + timedelta(seconds=rng.randint(0, 59)),
                       rng.randint(*FULL_RUN_SECONDS), FULL_RUN, "schedule"))
    if params.story == SKIPPED_MARTS:
        for day in outage:
            start = datetime.combine(day, SCHEDULED_PARTIAL_RUN_TIME)
            drafts.append((start + timedelta(seconds=rng.randint(0, 9)),
                           rng.randint(*PARTIAL_RUN_SECONDS), params.broken_selector, "schedule"))
        extras = params.phantom_runs - len(outage)
        for day in outage[len(outage) - extras:]:
            start = datetime.combine(day, MANUAL_RUN_TIME)
            drafts.append((start + timedelta(seconds=rng.randint(0, 40 * 60)),
                           rng.randint(*PARTIAL_RUN_SECONDS), params.broken_selector, "manual"))
    drafts.sort()
    runs = []
    for number, (started, seconds, models_run, trigger) in enumerate(drafts, params.first_run_number):
        finished = started + timedelta(seconds=seconds)
        runs.append({
            "run_id": f"run_{number:03d}", "run_date": started.date(), "started_at": started,
            "finished_at": finished, "status": "success", "exit_code": 0,
            "models_run": models_run, "duration_seconds": seconds, "triggered_by": trigger,
            "_loaded_at": finished,
        })
    return runs


def _job_revisions(params: ScenarioParams, runs: list[dict], first: date, freeze: date,
                   outage: list[date]) -> list[dict]:
    """The scheduled job's change history: creation, harmless edits, and (skipped_marts)
    the edit on the freeze day's evening that switched it to a partial command at 06:00.

    Drawn from its own random stream, so the other tables do not depend on it.
    """
    rng = random.Random(f"job-history-{params.seed}-{params.story}")
    state = {"cron": FULL_CRON, "command": FULL_COMMAND, "retries": 0, "alert_channel": _CHANNELS[0]}
    drafts = []  # (changed_at, changed_by, message, changes)

    created = datetime.combine(first - timedelta(days=rng.randint(6, 30)), time(rng.randint(9, 16), rng.randint(0, 59)))
    drafts.append((created, rng.choice(_ENGINEERS), "Create the scheduled dbt job", {}))

    history_days = [first + timedelta(days=i) for i in range((freeze - first).days)]
    harmless = list(_HARMLESS)
    for day in sorted(rng.sample(history_days, rng.randint(1, 3))):
        at = datetime.combine(day, time(rng.randint(9, 16), rng.randint(0, 59), rng.randint(0, 59)))
        drafts.append((at, rng.choice(_ENGINEERS), "", {harmless.pop(): None}))

    if params.story == SKIPPED_MARTS:
        last_full = max(r["finished_at"] for r in runs if r["models_run"] == FULL_RUN)
        at = last_full + timedelta(minutes=rng.randint(25, 230), seconds=rng.randint(0, 59))
        messages = _BREAKING_MESSAGES if params.broken_selector in BROKEN_SELECTORS else _BREAKING_MESSAGES_WIDER
        drafts.append((at, rng.choice(_ENGINEERS), rng.choice(messages),
                       {"cron": PARTIAL_CRON, "command": f'dbt run --select "{params.broken_selector}"'}))
    # an edit after the incident began, unrelated to it: the latest revision is not the cause
    if harmless and (params.story == SKIPPED_MARTS or rng.random() < 0.5):
        day = rng.choice(outage[:-1] or outage)
        at = datetime.combine(day, time(rng.randint(10, 15), rng.randint(0, 59), rng.randint(0, 59)))
        drafts.append((at, rng.choice(_ENGINEERS), "", {harmless.pop(): None}))

    drafts.sort(key=lambda d: d[0])
    base = 1 if params == ScenarioParams() else rng.randint(20, 700)
    revisions = []
    for number, (at, who, message, changes) in enumerate(drafts, base):
        for setting, value in changes.items():
            if value is None and setting == "retries":  # a harmless edit, message to match
                value = rng.randint(1, 3) if state["retries"] == 0 else state["retries"] - 1
                message = ("Retry the job on transient warehouse errors" if value > state["retries"]
                           else "Fewer retries: failures should page sooner")
            elif value is None:
                value = rng.choice([c for c in _CHANNELS if c != state["alert_channel"]])
                message = f"Send the job's failure alerts to {value}"
            state[setting] = value
        revisions.append({"revision_id": f"rev_{number:03d}", "changed_at": at, "changed_by": who,
                          "message": message, **state, "_loaded_at": at})
    return revisions
