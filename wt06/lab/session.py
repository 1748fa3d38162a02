"""``Session``: one notebook's working copy of the incident, and the tools to work on it.

What a notebook calls ``course``: SQL on its warehouse copy, dbt on the same file (in
this process), the project copy its fixes go to, the story's clock, and the checks that
say "not run" or "not verified" when the data does not show it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from wt06 import incidents
from wt06.errors import NoAnswerYet, SQLError
from wt06.foundation.paths import project_dir
from wt06.incident import clock
from wt06.incident.scenario import load_scenario
from wt06.incident.warehouse import connect, read_clock, set_clock
from wt06.incident.workcopy import copy_project, copy_warehouse
from wt06.lab import assertions
from wt06.lab.display import markdown, sql_message
from wt06.lab.jupysql_setup import saved_query_text
from wt06.pipeline import dbt_runner
from wt06.project import FRESHNESS_TEST, MART_DATES, dashboard_marts, mart_sla_hours
from wt06.settings import NO_ANSWER


@dataclass
class LayerCheck:
    """The two-layer defence's verdicts: PASS, WARN, FAIL or NOT RUN (with why)."""

    verdicts: dict[str, str]

    def __repr__(self) -> str:
        return "\n".join(f"{layer:<48} {verdict}" for layer, verdict in self.verdicts.items())


@dataclass
class FixCheck:
    """Whether the data shows the fix: each mart caught up with staging and rebuilt since."""

    since: datetime
    marts: pd.DataFrame  # mart, mart_newest, staging_newest, refreshed_at, caught_up, rebuilt

    @property
    def verified(self) -> bool:
        return bool(len(self.marts)) and bool(self.marts["caught_up"].all() and self.marts["rebuilt"].all())

    def __repr__(self) -> str:
        if self.verified:
            return ("Verified: every dashboard mart holds the same newest day as staging and was "
                    f"rebuilt at {clock.describe(self.since)} or later.")
        problems = []
        for row in self.marts.itertuples():
            if not row.caught_up:
                problems.append(f"{row.mart} ends {row.mart_newest:%a %Y-%m-%d}, staging has "
                                f"{row.staging_newest:%a %Y-%m-%d}")
            if not row.rebuilt:
                problems.append(f"{row.mart} was last rebuilt {clock.describe(row.refreshed_at)}, "
                                f"before {clock.describe(self.since)}")
        return "NOT verified: " + "; ".join(problems) + "."


def _layer(result: dbt_runner.DbtResult, nothing: str) -> str:
    if result.ran_nothing:
        return f"NOT RUN ({nothing})"
    statuses = {status for _, _, status in result.nodes}
    if statuses & {"error", "fail", "runtime error"} or not result.success:
        return "FAIL"
    if "warn" in statuses:
        return "WARN"
    return "PASS"


@dataclass
class Session:
    """One notebook's working copy of the incident, and the tools to work on it."""

    name: str
    folder: Path
    as_of: datetime
    con: duckdb.DuckDBPyConnection = field(repr=False)
    written: set[str] = field(default_factory=set)  # project files written by %%project_file
    _practice: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _public: dict[str, Session] = field(default_factory=dict, repr=False)

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"

    @property
    def project(self) -> Path:
        """This notebook's copy of the dbt project: write your fixes here."""
        return self.folder / "dbt_project"

    @property
    def sla_hours(self) -> float:
        """The marts' freshness SLA, from dbt_project.yml (vars: mart_freshness_sla_hours)."""
        return mart_sla_hours(self.project)

    @property
    def dashboard_marts(self) -> list[str]:
        """The marts the dashboard reads (the exposure's depends_on)."""
        return dashboard_marts(self.project)

    # ----- SQL ---------------------------------------------------------------------
    def sql(self, query: str, params: list | None = None) -> pd.DataFrame:
        """Run a query on the notebook's warehouse and return a DataFrame."""
        try:
            return self.con.execute(query, params or []).df()
        except duckdb.Error as exc:
            raise SQLError(sql_message(exc)) from None

    def value(self, query: str, params: list | None = None):
        """The single value a query returns."""
        frame = self.sql(query, params)
        if frame.shape != (1, 1):
            raise SQLError(f"expected one value, the query returned {frame.shape[0]} rows "
                           f"and {frame.shape[1]} columns")
        return frame.iat[0, 0]

    def saved_sql(self, name: str) -> str:
        """The text of the query an ``%%sql --save <name>`` cell saved (with the saved
        queries it reads, as CTEs)."""
        text = saved_query_text(name)
        if text is None:
            raise NoAnswerYet(f"{NO_ANSWER}: run the cell that saves the query '{name}' "
                              f"(its first line is %%sql --save {name}).")
        if NO_ANSWER in text:
            raise NoAnswerYet(f"{NO_ANSWER}: write the query '{name}' in its answer cell.")
        return text

    def saved(self, name: str) -> pd.DataFrame:
        """Run the saved query ``name`` again and return its rows as a DataFrame."""
        return self.sql(self.saved_sql(name))

    # ----- the practice incident -----------------------------------------------------
    def on_practice(self, query: str) -> pd.DataFrame:
        """Run a query on this notebook's copy of the practice incident (at its own now)."""
        if self._practice is None:
            source = incidents.ensure_built(incidents.PRACTICE).warehouse
            self._practice = duckdb.connect(str(copy_warehouse(source, self.folder / "practice.duckdb")))
        try:
            return self._practice.execute(query).df()
        except duckdb.Error as exc:
            raise SQLError(f"on the practice incident: {sql_message(exc)}") from None

    def on_public(self, name: str) -> Session:
        """A session like ``course`` on a fresh copy of a public incident (``"practice"``,
        ``"loader_outage_drill"``, ``"quiet_days_drill"``), at that incident's own clock:
        the same tools (``sql``, ``value``, ``models``, ``dbt``) on another incident's data
        and the course's pristine dbt project. Made once per notebook run."""
        if name not in self._public:
            source = incidents.ensure_built(name).warehouse
            folder = self.folder / "public" / name
            warehouse = copy_warehouse(source, folder / "warehouse.duckdb")
            copy_project(project_dir(), folder / "dbt_project")
            moment = read_clock(warehouse) or clock.as_of()
            self._public[name] = Session(name=f"{self.name} on {name}", folder=folder, as_of=moment,
                                         con=connect(warehouse, as_of=moment))
        return self._public[name]

    def incident_truth(self) -> dict:
        """This incident's story, when it began and its now (what judging a check needs)."""
        truth = load_scenario().truth()
        return {key: truth[key] for key in ("story", "incident_start", "now")}

    # ----- checks a test cell uses ---------------------------------------------------
    def expect_columns(self, frame: pd.DataFrame, **kinds: str) -> None:
        assertions.expect_columns(frame, **kinds)

    def check_practice(self, name: str) -> None:
        """Assert the saved query gives the practice incident's published answer (at every
        replay moment, for a rule a monitor evaluates as time passes)."""
        assertions.matches_practice(self, name)

    def check_on_drills(self, name: str, compute, drills: tuple[str, ...]) -> None:
        """Assert ``compute(incident)`` gives the published answer ``name`` on each public
        incident in ``drills`` (``compute`` is the student's function, ``incident`` a
        session like ``course`` on that incident)."""
        assertions.matches_drills(self, name, compute, drills)

    def check_follows_clock(self, name: str, column: str) -> None:
        """Assert ``column`` of the saved query grows with the story's clock."""
        assertions.follows_the_clock(self, name, column)

    def require(self, *names: str) -> None:
        """Raise NoAnswerYet unless every answer variable ``names`` has been defined."""
        from IPython import get_ipython

        shell = get_ipython()
        namespace = shell.user_ns if shell is not None else {}
        missing = [n for n in names if n not in namespace]
        if missing:
            raise NoAnswerYet(f"{NO_ANSWER}: {', '.join(missing)} is not defined; "
                              "answer the question above and run the cells after it.")

    def file_text(self, relative: str) -> str:
        """A project file an answer cell wrote in this session (else NoAnswerYet)."""
        path = self.project / relative
        if relative not in self.written or not path.is_file():
            raise NoAnswerYet(f"{NO_ANSWER}: run the answer cell that writes {relative} "
                              "(its first line is %%project_file " + relative + ").")
        return path.read_text()

    # ----- dbt ---------------------------------------------------------------------
    def dbt(self, command: str, *, echo: bool = True) -> dbt_runner.DbtResult:
        """Run a dbt command (as typed in a terminal) on this notebook's working copy."""
        return dbt_runner.invoke(command, as_of=self.as_of, warehouse=self.warehouse,
                                 project=self.project, work=self.folder, echo=echo,
                                 origin="notebook")

    def models(self, selector: str | None = None) -> list[str]:
        """The models a selector picks (``dbt ls``), by name; every model without one."""
        command = "dbt ls --resource-type model --output name"
        if selector:
            command += f' --select "{selector}"'
        listed = self.dbt(command, echo=False)
        if not listed.success:
            raise SQLError(f"dbt could not list {selector!r}: {listed.error}")
        return sorted(listed.listed)

    def two_layer_check(self, test: str = FRESHNESS_TEST) -> LayerCheck:
        """Run both layers of the defence: source freshness, then the marts' SLA test.

        A layer that ran nothing (no source has freshness configured; no test of that
        name) says NOT RUN: a check that ran nothing is not a pass.
        """
        sources = self.dbt("dbt source freshness", echo=False)
        marts = self.dbt(f"dbt test --select {test}", echo=False)
        return LayerCheck({
            "source freshness (is raw data arriving?)": _layer(sources, "no source has freshness configured"),
            f"{test} (were the marts rebuilt?)": _layer(marts, f"no test named {test} in the project"),
        })

    def verify_fix(self, since: datetime | None = None) -> FixCheck:
        """What the data says about the fix: each dashboard mart's newest day against
        staging's, and whether it was rebuilt at ``since`` (default: now) or later."""
        since = since or self.as_of
        rows = []
        for mart in self.dashboard_marts:
            column, staging_sql = MART_DATES[mart]
            mart_newest, refreshed = self.sql(
                f"select max({column}), max(_refreshed_at) from {mart}").iloc[0]
            staging_newest = self.value(staging_sql)
            rows.append({"mart": mart, "mart_newest": mart_newest, "staging_newest": staging_newest,
                         "refreshed_at": refreshed,
                         "caught_up": pd.notna(mart_newest) and mart_newest == staging_newest,
                         "rebuilt": pd.notna(refreshed) and refreshed >= since})
        return FixCheck(since, pd.DataFrame(rows))

    # ----- showing things ------------------------------------------------------------
    def md(self, text: str) -> None:
        """Show prose whose numbers were computed in the cell (so they never drift)."""
        markdown(text)

    def show_file(self, relative: str) -> None:
        """Print a file of this notebook's dbt project with line numbers."""
        path = self.project / relative
        if not path.is_file():
            print(f"{relative} does not exist in {self.project}")
            return
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            print(f"{number:3d}  {line}")

    def set_clock(self, moment) -> None:
        """Move this notebook's as-of clock (used to replay other moments)."""
        self.as_of = clock.as_of(moment)
        set_clock(self.con, self.as_of)

    def close(self) -> None:
        try:
            self.con.close()
            if self._practice is not None:
                self._practice.close()
            for public in self._public.values():
                public.con.close()
        finally:
            dbt_runner.release()
