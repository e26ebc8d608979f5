"""Support timeline: where each cluster's version stands against EKS's support calendar."""

from __future__ import annotations

from datetime import date, timedelta

import matplotlib.dates as mdates
from matplotlib.figure import Figure

from ekslift.inventory.models import ClusterRow, SupportWindow


def support_timeline(
    clusters: list[ClusterRow], calendar: dict[str, SupportWindow], target: str, today: date
) -> Figure:
    """One bar per version in use (and the target): standard support, then extended."""
    versions = sorted(
        {c.version for c in clusters} | {target}, key=lambda v: tuple(map(int, v.split(".")))
    )
    figure = Figure(figsize=(9, 0.6 * len(versions) + 1.6))
    axes = figure.add_subplot()
    for y, version in enumerate(versions):
        window = calendar.get(version)
        if window is None or window.release_date is None or window.end_of_standard is None:
            axes.text(mdates.date2num(today), y, f"{version}: no calendar entry", va="center")
            continue
        start = mdates.date2num(window.release_date)
        standard = mdates.date2num(window.end_of_standard)
        axes.barh(
            y, standard - start, left=start, color="#4c9a2a", label="standard" if y == 0 else None
        )
        if window.end_of_extended:
            extended = mdates.date2num(window.end_of_extended)
            axes.barh(
                y,
                extended - standard,
                left=standard,
                color="#e0a030",
                label="extended (paid)" if y == 0 else None,
            )
        users = sorted(f"{c.where.cluster}" for c in clusters if c.version == version)
        label = ", ".join(users) if users else "target"
        axes.text(start, y + 0.32, label, fontsize=7, va="bottom")
    axes.axvline(mdates.date2num(today), color="#c03030", linestyle="--", label=f"today {today}")
    axes.set_yticks(range(len(versions)), [f"EKS {v}" for v in versions])
    axes.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    axes.set_xlim(
        mdates.date2num(today - timedelta(days=540)), mdates.date2num(today + timedelta(days=540))
    )
    axes.set_title(f"EKS support windows of the versions in use, and the target {target}")
    axes.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return figure
