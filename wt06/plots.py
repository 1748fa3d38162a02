"""The course's charts. Each takes the rows a notebook queried and returns a Figure.

The figure is closed in pyplot and returned, so a notebook cell that ends with the call
shows it exactly once. Every chart has a title, labelled axes and the incident marked: the window from the
first phantom run to the as-of moment, the missing days, or the region past the SLA.
"""

from __future__ import annotations

from datetime import datetime

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

INCIDENT_COLOUR = "#d62728"
OK_COLOUR = "#1f77b4"
WINDOW_COLOUR = "#f3c4c4"


def _finish(fig: Figure) -> Figure:
    fig.tight_layout()
    plt.close(fig)
    return fig


def _shade_incident(ax, start, end, label="incident window") -> None:
    if start is not None and end is not None:
        ax.axvspan(start, end, color=WINDOW_COLOUR, alpha=0.5, label=label, zorder=0)


def _time_axis(ax) -> None:
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a %d\n%H:%M"))


def freshness_lag(layers: pd.DataFrame, *, as_of: datetime, sla_hours: float) -> Figure:
    """Hours between each layer's newest data and the as-of clock.

    ``layers`` has columns ``layer`` and ``newest_at`` (a timestamp).
    """
    frame = layers.copy()
    frame["hours_behind"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["newest_at"])).dt.total_seconds() / 3600
    fig, ax = plt.subplots(figsize=(9, 3.2))
    colours = [INCIDENT_COLOUR if h > sla_hours else OK_COLOUR for h in frame["hours_behind"]]
    bars = ax.barh(frame["layer"], frame["hours_behind"], color=colours)
    ax.bar_label(bars, labels=[f"{h:.1f} h" for h in frame["hours_behind"]], padding=4)
    ax.axvline(sla_hours, color="black", linestyle="--")
    ax.axvspan(sla_hours, max(frame["hours_behind"].max(), sla_hours) * 1.2, color=WINDOW_COLOUR,
               alpha=0.4, zorder=0)
    ax.invert_yaxis()
    ax.text(sla_hours, -0.6, f" SLA {sla_hours:g} h: stale beyond this line", va="bottom", fontsize=9)
    ax.set_xlabel(f"hours behind the story's clock ({as_of:%a %Y-%m-%d %H:%M})")
    ax.set_ylabel("layer")
    ax.set_title("Freshness lag: how far behind 'now' is each layer's newest data?", pad=18)
    ax.set_xlim(0, max(frame["hours_behind"].max(), sla_hours) * 1.2)
    return _finish(fig)


def run_durations(runs: pd.DataFrame, *, as_of: datetime) -> Figure:
    """Each run's duration, coloured by what it built; the incident window shaded.

    ``runs`` has columns ``run_id``, ``started_at``, ``duration_seconds``, ``models_run``.
    """
    frame = runs.sort_values("started_at").reset_index(drop=True)
    full = frame["models_run"] == "all"
    fig, ax = plt.subplots()
    x = range(len(frame))
    ax.bar([i for i in x if full[i]], frame.loc[full, "duration_seconds"], color=OK_COLOUR,
           label="models_run = all")
    partial_labels = sorted(frame.loc[~full, "models_run"].unique())
    ax.bar([i for i in x if not full[i]], frame.loc[~full, "duration_seconds"], color=INCIDENT_COLOUR,
           label="models_run = " + ", ".join(partial_labels) if partial_labels else "partial")
    if (~full).any():
        first = int(frame.index[~full][0])
        ax.axvspan(first - 0.5, len(frame) - 0.5, color=WINDOW_COLOUR, alpha=0.5, zorder=0,
                   label=f"since the first partial run (to {as_of:%a %H:%M})")
    ax.set_xticks(list(x), [f"{r}\n{t:%a %d}" for r, t in zip(frame["run_id"], frame["started_at"])],
                  fontsize=7)
    ax.set_xlabel("run (start day)")
    ax.set_ylabel("duration (seconds)")
    ax.set_title("Run durations: every run exited 0, but not every run did the same work")
    ax.legend(loc="upper right", fontsize=8)
    return _finish(fig)


def missing_by_day(days: pd.DataFrame) -> Figure:
    """Revenue per day as staging has it and as the dashboard mart has it.

    ``days`` has columns ``order_date``, ``staging_revenue``, ``mart_revenue`` (0 where absent).
    """
    frame = days.sort_values("order_date")
    fig, ax = plt.subplots()
    dates = pd.to_datetime(frame["order_date"])
    width = pd.Timedelta(hours=9)
    ax.bar(dates - width / 2, frame["staging_revenue"], width=width, color=OK_COLOUR,
           label="staging (what happened)")
    ax.bar(dates + width / 2, frame["mart_revenue"], width=width, color="#7f7f7f",
           label="fct_revenue_daily (what the dashboard shows)")
    missing = frame[frame["mart_revenue"] < frame["staging_revenue"]]
    if not missing.empty:
        start = pd.to_datetime(missing["order_date"]).min() - pd.Timedelta(hours=12)
        end = pd.to_datetime(missing["order_date"]).max() + pd.Timedelta(hours=12)
        _shade_incident(ax, start, end, label="missing from the dashboard")
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=2))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a\n%d %b"))
    ax.set_xlabel("order date")
    ax.set_ylabel("revenue ($)")
    ax.set_title("Blast radius: revenue the dashboard does not show")
    ax.legend(loc="upper left", fontsize=8)
    return _finish(fig)


def detection_timeline(replayed: pd.DataFrame, events: dict[str, datetime], *, sla_hours: float) -> Figure:
    """Mart age over the replay, the SLA, and when each signal would have fired.

    ``replayed`` comes from ``monitor.replay``; ``events`` maps a label to a moment.
    """
    ages = replayed.drop_duplicates("as_of").sort_values("as_of")
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.plot(ages["as_of"], ages["mart_hours_since_refresh"], marker="o", color="#444444",
            label="hours since the marts were rebuilt")
    ax.axhline(sla_hours, color="black", linestyle="--", label=f"SLA: {sla_hours:g} h")
    palette = ["#2ca02c", "#ff7f0e", "#9467bd", INCIDENT_COLOUR, "#8c564b"]
    top = max(ages["mart_hours_since_refresh"].max(), sla_hours)
    shown = [(label, moment) for label, moment in events.items() if moment is not None]
    for number, ((label, moment), colour) in enumerate(zip(shown, palette)):
        ax.axvline(moment, color=colour, linewidth=2)
        height = top * (1.55 - 0.17 * (number % 3))  # stagger labels so neighbours do not collide
        ax.text(moment, height, f" {label}\n {moment:%a %H:%M}", color=colour, fontsize=8, va="top")
    _time_axis(ax)
    ax.set_ylim(0, top * 1.6)
    ax.set_xlabel("story time")
    ax.set_ylabel("hours since the marts were rebuilt")
    ax.set_title("Detection timeline: when each signal would have fired")
    ax.legend(loc="center left", fontsize=8)
    return _finish(fig)


def duration_baseline(runs: pd.DataFrame) -> Figure:
    """Each run's duration against its rolling baseline, anomalies circled.

    ``runs`` has columns ``run_id``, ``duration_seconds``, ``baseline_seconds``, ``is_anomaly``.
    """
    frame = runs.reset_index(drop=True)
    fig, ax = plt.subplots()
    ax.plot(frame["run_id"], frame["duration_seconds"], marker="o", color=OK_COLOUR, label="duration")
    ax.plot(frame["run_id"], frame["baseline_seconds"], linestyle="--", color="#7f7f7f",
            label="baseline: median of the 5 previous runs")
    flagged = frame[frame["is_anomaly"].fillna(False).astype(bool)]
    ax.scatter(flagged["run_id"], flagged["duration_seconds"], s=140, facecolors="none",
               edgecolors=INCIDENT_COLOUR, linewidths=2, zorder=3, label="anomaly: under half the baseline")
    ax.set_xlabel("run")
    ax.set_ylabel("duration (seconds)")
    ax.set_title("Run duration against a rolling baseline")
    ax.tick_params(axis="x", labelsize=7, rotation=45)
    ax.legend(fontsize=8)
    return _finish(fig)
