"""Generate an incident from parameters: the raw CSVs, the landing batches and the run log.

The canonical parameters (``data/scenario.json``) reproduce the committed CSVs byte for
byte; other random seeds (``ScenarioParams.variant``) give other incidents that are
just as coherent (other dates, run ids, number of phantom runs, broken selector, volume).
Grading re-runs a student's queries on such variants, so a hard-coded answer fails.

The story every scenario tells:

* history from ``first_day`` to ``freeze_day``: customers sign up, orders arrive, the
  shop's loader lands each day's rows at about 17:30 (``_loaded_at``);
* the scheduler runs the full ``dbt run`` every evening at about 18:12 (``full_runs``
  runs, the last one on ``freeze_day``);
* from the next morning the scheduler runs at 06:00 with ``--select <broken_selector>``
  for ``outage_days`` days (plus manual re-runs in the evening, ``phantom_runs`` in all):
  every one exits 0, none rebuilds the marts;
* meanwhile data keeps landing, more than usual (a sales push);
* the next morning at 09:00 somebody looks at the dashboard: that is the story's "now".
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
from functools import cached_property
from pathlib import Path

from . import paths
from .clock import format_ts
from .errors import DataError
from .tables import CUSTOMERS, EVENTS, FULL_RUN, LANDING_TABLES, ORDERS, PIPELINE_RUNS, RawTable

SCENARIO_FILE = "scenario.json"
RAW_DIR = "raw"
LANDING_DIR = "landing"

LOAD_TIME = time(17, 30)  # the shop's loader lands each day's rows shortly after this
LOAD_DELAY_SECONDS = {CUSTOMERS.name: 12, ORDERS.name: 31, EVENTS.name: 47}
FULL_RUN_TIME = time(18, 12)
FULL_RUN_SECONDS = (136, 151)
SCHEDULED_PARTIAL_RUN_TIME = time(6, 0)
MANUAL_RUN_TIME = time(18, 0)
PARTIAL_RUN_SECONDS = (38, 43)
STORY_NOW_TIME = time(9, 0)

# Selectors that build the staging layer only, as a careless scheduler edit would.
BROKEN_SELECTORS = ("staging.*", "staging", "path:models/staging", "stg_*")

_FIRST = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
          "Kemi", "Liam", "Maya", "Nico", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
          "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe")
_LAST = ("Adams", "Berg", "Costa", "Diaz", "Evans", "Fischer", "Garcia", "Hansen", "Ito",
         "Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Patel", "Quist",
         "Rossi", "Silva", "Tanaka")
_DOMAINS = ("example.com", "example.org", "example.net")
_PLANS = (("free", 5), ("starter", 3), ("pro", 2))
_PAGES = ("/pricing", "/docs", "/blog/weekend-sale", "/features", "/checkout")


def _day(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


@dataclass(frozen=True)
class ScenarioParams:
    """Everything that decides an incident. Dates are ISO strings so the JSON is plain."""

    seed: int = 6
    first_day: str = "2024-01-02"
    freeze_day: str = "2024-02-08"  # a Thursday: the last day the marts ever saw
    outage_days: int = 3  # Fri, Sat, Sun: days of data the marts miss
    full_runs: int = 11  # full runs in the log, the last one on freeze_day
    phantom_runs: int = 4  # partial runs that exit 0 (one a day, plus manual re-runs)
    broken_selector: str = "staging.*"
    first_run_number: int = 1  # run ids are run_001, run_002, ...
    customers: int = 20  # customers by freeze_day
    orders: int = 32  # orders by freeze_day
    events: int = 40  # events by freeze_day
    push_orders_per_day: int = 5  # typical orders per outage day (a normal day has < 1)

    def __post_init__(self) -> None:
        problems = []
        if _day(self.first_day) >= _day(self.freeze_day):
            problems.append("first_day must come before freeze_day")
        if not 1 <= self.outage_days <= 6:
            problems.append("outage_days must be between 1 and 6")
        if not self.outage_days <= self.phantom_runs <= 2 * self.outage_days:
            problems.append("phantom_runs must be between outage_days and twice outage_days")
        if self.full_runs < 2:
            problems.append("full_runs must be at least 2")
        if self.customers < 3:
            problems.append("customers must be at least 3")
        if self.orders < 2:
            problems.append("orders must be at least 2")
        if self.events < self.customers + 2:
            problems.append("events must exceed customers by at least 2 (signups come first)")
        if self.broken_selector not in BROKEN_SELECTORS:
            problems.append(f"broken_selector must be one of {', '.join(BROKEN_SELECTORS)}")
        if self.push_orders_per_day < 2:
            problems.append("push_orders_per_day must be at least 2")
        if problems:
            raise DataError("Scenario parameters are inconsistent: " + "; ".join(problems) + ".")

    @classmethod
    def variant(cls, seed: int) -> "ScenarioParams":
        """Another coherent incident, different in every dimension a hard-coded answer uses."""
        rng = random.Random(f"variant-{seed}")
        outage = rng.randint(2, 4)
        freeze = date(2023, 3, 1) + timedelta(days=rng.randint(0, 600))
        customers = rng.randint(15, 28)
        return cls(
            seed=seed,
            first_day=(freeze - timedelta(days=rng.randint(30, 50))).isoformat(),
            freeze_day=freeze.isoformat(),
            outage_days=outage,
            full_runs=rng.randint(6, 14),
            phantom_runs=rng.randint(outage, 2 * outage),
            broken_selector=rng.choice(BROKEN_SELECTORS),
            first_run_number=rng.randint(100, 899),
            customers=customers,
            orders=rng.randint(25, 45),
            events=customers + rng.randint(12, 30),
            push_orders_per_day=rng.randint(4, 8),
        )

    @classmethod
    def from_json(cls, text: str, *, source: str = SCENARIO_FILE) -> "ScenarioParams":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{source} is not valid JSON (line {exc.lineno}): {exc.msg}.") from None
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
    def _generated(self) -> tuple[dict[str, list[dict]], dict[date, dict[str, list[dict]]]]:
        return _generate(self.params, self.freeze_day, self.outage_days)

    @property
    def history(self) -> dict[str, list[dict]]:
        """Rows of every raw table as of the freeze (and the whole run log)."""
        return self._generated[0]

    @property
    def landing(self) -> dict[date, dict[str, list[dict]]]:
        """For each outage day, the rows the loader lands that day, per table."""
        return self._generated[1]

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

        Old landing folders are removed first, so a smaller scenario leaves no stray day.
        """
        out_dir = Path(out_dir)
        shutil.rmtree(out_dir / LANDING_DIR, ignore_errors=True)
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
        return format_ts(value)
    if kind == "json":
        return json.dumps(value, sort_keys=True)
    return str(value)


def to_csv(table_name: str, rows: list[dict]) -> str:
    from .tables import RAW_TABLES

    table: RawTable = RAW_TABLES[table_name]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.column_names)
    for row in rows:
        writer.writerow([_csv_value(c.kind, row[c.name]) for c in table.columns])
    return buffer.getvalue()


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


def _generate(params: ScenarioParams, freeze: date, outage: list[date]):
    rng = random.Random(params.seed)
    first = _day(params.first_day)
    days = [first + timedelta(days=i) for i in range((freeze - first).days + 1)]
    names = rng.sample([(f, l) for f in _FIRST for l in _LAST], params.customers + 4 * len(outage) * 3)
    ids = _Ids()

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
    middle = sorted(min(rng.choice(days), rng.choice(days)) for _ in range(params.customers - 3))
    customers = [new_customer(d) for d in [first, *middle, freeze - timedelta(days=1), freeze]]
    order_days = sorted(rng.choice(days[1:]) for _ in range(params.orders - 1)) + [freeze]
    orders = [new_order(d, customers) for d in order_days]
    remaining = params.events - params.customers
    tracked = min(params.orders, remaining * 3 // 5)  # purchase tracking went live recently
    events = events_for(customers, orders[-tracked:] if tracked else [], remaining - tracked,
                        customers, days)
    history = {CUSTOMERS.name: customers, ORDERS.name: orders, EVENTS.name: events}

    landing: dict[date, dict[str, list[dict]]] = {}
    for day in outage:
        fresh = [new_customer(day) for _ in range(rng.randint(1, 3))]
        customers = customers + fresh
        day_orders = [new_order(day, customers)
                      for _ in range(params.push_orders_per_day + rng.randint(-1, 2))]
        day_events = events_for(fresh, day_orders, rng.randint(1, 3), customers, [day])
        landing[day] = {CUSTOMERS.name: fresh, ORDERS.name: day_orders, EVENTS.name: day_events}

    history[PIPELINE_RUNS.name] = _run_log(params, rng, freeze, outage)
    assert set(landing[outage[0]]) == {t.name for t in LANDING_TABLES}
    return history, landing


def _run_log(params: ScenarioParams, rng: random.Random, freeze: date, outage: list[date]):
    drafts = []  # (started_at, seconds, models_run, triggered_by)
    for back in range(params.full_runs - 1, -1, -1):
        start = datetime.combine(freeze - timedelta(days=back), FULL_RUN_TIME)
        drafts.append((start + timedelta(seconds=rng.randint(0, 59)),
                       rng.randint(*FULL_RUN_SECONDS), FULL_RUN, "schedule"))
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
