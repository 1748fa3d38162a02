"""The course's charts. Each takes the rows a notebook queried and returns a Figure.

The figure is closed in pyplot and returned, so a notebook cell that ends with the call
shows it exactly once. Every chart has a title, labelled axes and the incident marked
(the window from its start to the as-of moment, the missing days, or the region past a
threshold); time runs on a real time axis, and legends sit below the axes, never over
the data. Labels come from the data, so a chart is true of whichever incident it shows.
"""

from __future__ import annotations

import math
from datetime import datetime

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
from matplotlib.figure import Figure

from wt06.foundation.tables import FULL_RUN

INCIDENT_COLOUR = "#d62728"
OK_COLOUR = "#1f77b4"
WINDOW_COLOUR = "#f3c4c4"
GREY = "#7f7f7f"


def _finish(fig: Figure) -> Figure:
    rows = max((len(legend.get_texts()) + 2) // 3 for legend in fig.legends) if fig.legends else 0
    fig.tight_layout(rect=(0, min(0.05 + 0.035 * rows, 0.25) if rows else 0, 1, 1))
    plt.close(fig)
    return fig


def _legend_below(ax, ncol: int = 3, *, also=()) -> None:
    """A legend under the axes (with the entries of the axes in ``also``): it never hides data."""
    handles, labels = [], []
    for source in (*also, ax):
        for handle, label in zip(*source.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    if handles:  # below the axes, on the figure: never over the data
        ax.figure.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)


def _shade(ax, start, end, label: str) -> None:
    if start is not None and end is not None and pd.notna(start) and pd.notna(end):
        ax.axvspan(pd.Timestamp(start), pd.Timestamp(end), color=WINDOW_COLOUR, alpha=0.5,
                   label=label, zorder=0)


def _days_axis(ax, *, max_ticks: int = 9) -> None:
    """Ticks at midnight every n days (n from the axis span, so at most ``max_ticks``), each
    labelled with its weekday and date. Evenly spaced from the first day: never two labels a
    day apart where a month begins (a date locator's month tick beside its day ticks)."""
    low, high = (pd.Timestamp(mdates.num2date(x)).tz_localize(None) for x in ax.get_xlim())
    first, last = low.ceil("D"), high.floor("D")
    days = max(1, (last - first).days + 1)
    step = max(1, math.ceil(days / max_ticks))
    ticks = pd.date_range(first, last, freq=f"{step}D") if last >= first else pd.DatetimeIndex([first])
    ax.xaxis.set_major_locator(mticker.FixedLocator(mdates.date2num(ticks.to_pydatetime())))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%a\n%d %b"))


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
    """Each run on a time axis: its duration, and the time of day it started.

    ``runs`` has columns ``run_id``, ``started_at``, ``duration_seconds``, ``models_run``.
    The lower panel shows the schedule: a change of the job's cron moves every later run.
    """
    frame = runs.assign(started_at=pd.to_datetime(runs["started_at"])).sort_values("started_at")
    full = frame["models_run"] == FULL_RUN
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9.5, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    width = pd.Timedelta(hours=5)
    top.bar(frame.loc[full, "started_at"], frame.loc[full, "duration_seconds"], width=width,
            color=OK_COLOUR, label=f"models_run = {FULL_RUN}")
    partial = sorted(frame.loc[~full, "models_run"].unique())
    if partial:
        top.bar(frame.loc[~full, "started_at"], frame.loc[~full, "duration_seconds"], width=width,
                color=INCIDENT_COLOUR, label="models_run = " + ", ".join(partial))
        start = frame.loc[~full, "started_at"].min() - pd.Timedelta(hours=6)
        for ax in (top, bottom):
            _shade(ax, start, as_of, "since the first partial run (to the story's now)")
    hours = frame["started_at"].dt.hour + frame["started_at"].dt.minute / 60
    bottom.scatter(frame.loc[full, "started_at"], hours[full], color=OK_COLOUR, s=25)
    bottom.scatter(frame.loc[~full, "started_at"], hours[~full], color=INCIDENT_COLOUR, s=25)
    bottom.set_ylim(0, 24)
    bottom.set_yticks([0, 6, 12, 18, 24])
    bottom.set_ylabel("start (hour of day)")
    top.set_ylabel("duration (seconds)")
    top.set_title("Run durations and start times: every run exited 0, not every run did the same work")
    _days_axis(bottom)
    bottom.set_xlabel("run start (story time)")
    _legend_below(bottom, also=(top,))
    return _finish(fig)


def missing_by_day(days: pd.DataFrame) -> Figure:
    """Revenue per day: what the dashboard mart shows, and on top of it what it is missing.

    ``days`` has columns ``order_date``, ``staging_revenue``, ``mart_revenue`` (0 where absent).
    One bar per day, centred on its date's tick: the grey part is in ``fct_revenue_daily``,
    the red part is in staging only (staging minus mart).
    """
    frame = days.sort_values("order_date")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    dates = pd.to_datetime(frame["order_date"])
    width = pd.Timedelta(hours=16)
    shown = frame["mart_revenue"].astype(float)
    missing = (frame["staging_revenue"].astype(float) - shown).clip(lower=0)
    ax.bar(dates, shown, width=width, color=GREY, label="in fct_revenue_daily (what the dashboard shows)")
    ax.bar(dates, missing, width=width, bottom=shown, color=INCIDENT_COLOUR,
           label="in staging only (missing from the dashboard)")
    short = frame[missing > 0]
    if not short.empty:
        start = pd.to_datetime(short["order_date"]).min() - pd.Timedelta(hours=12)
        end = pd.to_datetime(short["order_date"]).max() + pd.Timedelta(hours=12)
        _shade(ax, start, end, "days the dashboard is short")
    ax.set_xlim(dates.min() - pd.Timedelta(hours=12), dates.max() + pd.Timedelta(hours=12))
    _days_axis(ax, max_ticks=12)
    ax.set_xlabel("order date")
    ax.set_ylabel("revenue ($)")
    ax.set_title("Blast radius: revenue the dashboard does not show")
    _legend_below(ax)
    return _finish(fig)


def duration_baseline(runs: pd.DataFrame, *, incident_start=None, as_of=None) -> Figure:
    """Each run's duration against its rolling baseline, anomalies circled, the incident shaded.

    ``runs`` has columns ``started_at``, ``duration_seconds``, ``baseline_seconds``, ``is_anomaly``.
    """
    frame = runs.assign(started_at=pd.to_datetime(runs["started_at"])).sort_values("started_at")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    end = as_of if as_of is not None else frame["started_at"].max()
    _shade(ax, incident_start, end, "the incident (first phantom run to the story's now)")
    ax.plot(frame["started_at"], frame["duration_seconds"], marker="o", color=OK_COLOUR, label="duration")
    ax.plot(frame["started_at"], frame["baseline_seconds"], linestyle="--", color=GREY,
            label="baseline: median of the previous runs")
    flagged = frame[frame["is_anomaly"].fillna(False).astype(bool)]
    ax.scatter(flagged["started_at"], flagged["duration_seconds"], s=140, facecolors="none",
               edgecolors=INCIDENT_COLOUR, linewidths=2, zorder=3, label="flagged: under half the baseline")
    if incident_start is not None:
        missed = frame[(frame["started_at"] >= pd.Timestamp(incident_start))
                       & ~frame["is_anomaly"].fillna(False).astype(bool)]
        ax.scatter(missed["started_at"], missed["duration_seconds"], marker="x", s=80,
                   color="black", zorder=4, label="in the incident, not flagged")
    _days_axis(ax)
    ax.set_xlabel("run start (story time)")
    ax.set_ylabel("duration (seconds)")
    ax.set_title("Run duration against a rolling baseline")
    _legend_below(ax, ncol=2)
    return _finish(fig)


def detection_timeline(replayed: dict, *, threshold_hours: float | None, incident_start,
                       first_alerts: dict[str, object] | None = None) -> Figure:
    """The age of the dashboard's newest data over a monitor replay, its threshold, and
    when each rule first alerted after the incident began.

    ``replayed`` comes from ``monitor.replay``; ``first_alerts`` maps a label to a moment
    (None: never).
    """
    moments = pd.to_datetime(replayed["moments"])
    ages = pd.Series(replayed["data_age_hours"], index=moments, dtype="float")
    fig, ax = plt.subplots(figsize=(10, 4.8))
    _shade(ax, incident_start, moments.max(), "the incident")
    ax.plot(ages.index, ages.values, marker=".", color="#444444", label="age of the dashboard's newest data (h)")
    if threshold_hours is not None:
        ax.axhline(threshold_hours, color="black", linestyle="--",
                   label=f"staleness threshold: {threshold_hours:g} h")
    palette = ["#2ca02c", "#ff7f0e", "#9467bd", INCIDENT_COLOUR]
    colours = dict(zip(first_alerts or {}, palette))
    together: dict[pd.Timestamp, list[str]] = {}  # rules that first alert at the same moment share a line
    for label, moment in (first_alerts or {}).items():
        if moment is not None:
            together.setdefault(pd.Timestamp(moment), []).append(label)
    top = max(ages.max() if ages.notna().any() else 0, threshold_hours or 0) * 1.15
    for moment, labels in sorted(together.items()):
        ax.axvline(moment, color=colours[labels[0]], linewidth=2,
                   label=f"{' and '.join(labels)}: {moment:%a %d %H:%M}")
        ax.text(moment, top * 0.98, " " + " + ".join(label.replace(" rule", "") for label in labels),
                rotation=90, va="top", ha="right", fontsize=8, color=colours[labels[0]])
    _days_axis(ax)
    ax.set_ylim(0, max(ages.max() if ages.notna().any() else 0, threshold_hours or 0) * 1.15)
    ax.set_xlabel("story time")
    ax.set_ylabel("hours")
    if first_alerts:
        ax.set_title("Detection timeline: when each rule of the monitor would have fired")
    elif threshold_hours is not None:
        ax.set_title("The age of the dashboard's newest data, against the staleness threshold")
    else:
        ax.set_title("The age of the dashboard's newest data, at every moment a monitor would check")
    _legend_below(ax, ncol=2)
    return _finish(fig)
