"""The incident's story as the people in it tell it, written from the data.

The Slack thread that opens the course quotes dates, weekdays and a number of missing
days. Typed into a notebook they would be true of one incident only; here they come
from the warehouse the notebook works on, so every incident tells its own story. What
the CEO *guesses* ("stopped updating <the next day> evening") is deliberately a guess:
notebook 01 measures the truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def _day(value) -> str:
    return f"{value:%b} {value.day}"


def slack_thread(con) -> str:
    """The Monday-morning thread (Markdown) for the incident in ``con``'s warehouse."""
    newest, now, staging = con.execute(
        "select (select max(order_date) from fct_revenue_daily), main.as_of(), "
        "(select max(order_date) from stg_orders)").fetchone()
    now = now if isinstance(now, datetime) else datetime.fromisoformat(str(now))
    missing = max((now.date() - newest).days - 1, 0)
    guess = newest + timedelta(days=1)
    push = f"since {guess:%A}" if staging and staging > newest else "lately"
    return "\n".join([
        f"> **@ceo** → **#data-team** ({(now + timedelta(minutes=2)):%-I:%M %p})",
        f"> Hey — revenue dashboard looks like it stopped updating {guess:%A} evening? Seeing data "
        f"through {_day(newest)} but it's {_day(now)} now. Is this a display issue?",
        ">",
        f"> **@data-team** ({(now + timedelta(minutes=4)):%-I:%M %p})",
        "> On it now. Pipeline shows green on every run — let me dig in.",
        ">",
        f"> **@ceo** ({(now + timedelta(minutes=5)):%-I:%M %p})",
        f"> Missing {missing} days of data on a {now:%A} doesn't feel great. We had a big sales push {push}.",
        ">",
        f"> **@data-team** ({(now + timedelta(minutes=6)):%-I:%M %p})",
        "> Understood. I'll have a root cause in 20 minutes.",
    ])


def ceo_guess(con) -> str:
    """What the CEO guessed: '<weekday after the dashboard's newest day> evening'."""
    newest = con.execute("select max(order_date) from fct_revenue_daily").fetchone()[0]
    return f"{newest + timedelta(days=1):%A} evening"
