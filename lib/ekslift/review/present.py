"""Tables, plots and artefacts of the review, for notebook 05 and ``ekslift review``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ekslift.metrics.latency import bucket_quantile
from ekslift.metrics.series import ColourSeries, FloatArray, HistogramLatency
from ekslift.metrics.soak import SoakStep
from ekslift.review.judge import ReviewVerdicts
from ekslift.review.read import RegionReview, Review

COLOURS = {"blue": "#1f77b4", "green": "#2ca02c"}


def window_frame(review: Review) -> pd.DataFrame:
    """One row per region: what was read, from where, with which weights."""
    return pd.DataFrame(
        [
            {
                "region": r.region,
                "from": f"{review.start:%Y-%m-%d %H:%M}",
                "to": f"{review.end:%Y-%m-%d %H:%M}",
                "window from": review.source,
                "weights from": r.weights_from,
                "backend": review.backend,
                "minutes": r.window.minutes if r.window else 0,
                "weight steps": " → ".join(f"{c.green:.0%} at {c.at:%H:%M}" for c in r.changes),
                "problem": r.problem,
            }
            for r in review.regions
        ]
    )


def steps_frame(verdicts: ReviewVerdicts) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "region": s.region,
                "share": f"{s.share:.0%}",
                "from": f"{s.start:%H:%M}",
                "to": f"{s.end:%H:%M}",
                "judged minutes": s.verdict.judged_minutes,
                "α per test": s.verdict.alpha,
                "verdict": s.verdict.verdict,
                "reason": s.verdict.reason,
            }
            for s in verdicts.steps
        ]
    )


def metrics_frame(verdicts: ReviewVerdicts) -> pd.DataFrame:
    """Every number of every metric verdict, one row per (step, metric), and each breach."""
    rows: list[dict[str, Any]] = []
    for step in verdicts.steps:
        head = {"region": step.region, "share": f"{step.share:.0%}", "from": f"{step.start:%H:%M}"}
        rows += [{**head, **asdict(metric)} for metric in step.verdict.metrics]
        rows += [
            {**head, "metric": f"limit {b.limit}", "verdict": "fail", "reason": b.reason}
            for b in step.verdict.breaches
        ]
    return pd.DataFrame(rows)


def retirement_frame(verdicts: ReviewVerdicts) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "region": r.region,
                "ready": r.ready,
                "blue weight now": r.blue_weight,
                "blue quiet (min)": r.quiet_minutes,
                "needed (min)": r.needed_minutes,
                "green at 100 % since": f"{r.green_full_since:%Y-%m-%d %H:%M}"
                if r.green_full_since
                else "",
                "keep blue warm until": f"{r.keep_warm_until:%Y-%m-%d %H:%M}"
                if r.keep_warm_until
                else "",
                "reason": r.reason,
            }
            for r in verdicts.retirements
        ]
    )


def plan_frame(plan: tuple[SoakStep, ...]) -> pd.DataFrame:
    """The soak plan as ``ekslift judge plan`` and the README show it."""
    return pd.DataFrame(
        [
            {
                "share": f"{row.share:.0%}",
                "role": row.role,
                "soak (min)": row.soak_minutes,
                "needed (min)": round(row.needed_minutes, 1)
                if np.isfinite(row.needed_minutes)
                else "∞",
                "green requests": row.green_requests,
                "green errors": round(row.green_errors, 1),
                "feasible": row.feasible,
                "proves": row.proves,
            }
            for row in plan
        ]
    )


def _latency(colour: ColourSeries, q: float) -> FloatArray:
    latency = colour.latency
    if isinstance(latency, HistogramLatency):
        counts = np.asarray(latency.counts, dtype=float)
        values: FloatArray = bucket_quantile(counts, np.asarray(latency.bounds), q)
        return values
    if latency is None:
        return np.full(len(colour.requests), np.nan)
    return np.array([np.quantile(m, q) if m.size else np.nan for m in latency.answered()])


def region_figure(region: RegionReview, quantiles: tuple[float, ...]) -> Figure:
    """Requests, each error kind's rate and each latency quantile per minute, blue and
    green, with the weight steps marked."""
    window = region.window
    assert window is not None
    colours = {"blue": window.blue, "green": window.green}
    kinds = sorted({k for c in colours.values() if c for k in c.errors})
    panels = ["requests", *kinds, *(f"p{q * 100:g}" for q in quantiles)]
    # A bare Figure, not pyplot: nothing global to close, no GUI backend in a CLI.
    figure = Figure(figsize=(10, 2.1 * len(panels)))
    axes = np.atleast_1d(figure.subplots(len(panels), 1, sharex=True))
    times = [window.minute(i) for i in range(window.minutes)]
    for axis, panel in zip(axes, panels, strict=True):
        for name, colour in colours.items():
            if colour is None:
                continue
            requests = window.requests(colour)
            if panel == "requests":
                values = requests
            elif panel in colour.errors:
                errors = window.counts(colour.errors[panel])
                values = (
                    np.divide(
                        errors, requests, out=np.full(requests.size, np.nan), where=requests > 0
                    )
                    * 100
                )
            else:
                values = _latency(colour, float(panel[1:]) / 100) * 1000
            axis.plot(times, values, color=COLOURS[name], label=name, linewidth=1)
        unit = {"requests": "per minute"}.get(
            panel, "ms" if panel.startswith("p") else "% of requests"
        )
        axis.set_ylabel(f"{panel}\n({unit})", fontsize=8)
        for change in region.changes:
            if times and times[0] <= change.at <= times[-1]:
                axis.axvline(change.at, color="grey", linestyle="--", linewidth=0.8)
        axis.grid(alpha=0.3)
    for change in region.changes:
        if times and times[0] <= change.at <= times[-1]:
            axes[0].annotate(
                f"{change.green:.0%}",
                (change.at, 1.0),
                xycoords=("data", "axes fraction"),
                fontsize=8,
                va="bottom",
            )
    axes[0].legend(loc="upper left", fontsize=8)
    axes[0].set_title(f"{region.region}: blue and green per minute, weight steps dashed", pad=14)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def figures(review: Review) -> dict[str, Figure]:
    """One figure per region that was read, named for the artefact."""
    return {
        f"metrics-{r.region}": region_figure(r, review.settings.quantiles)
        for r in review.regions
        if r.window is not None
    }


def write_artefacts(review: Review, verdicts: ReviewVerdicts, directory: Path) -> None:
    """CSV of steps, metrics and retirement; JSON of the window read (no secrets: ARNs)."""
    directory.mkdir(parents=True, exist_ok=True)
    steps_frame(verdicts).to_csv(directory / "steps.csv", index=False)
    metrics_frame(verdicts).to_csv(directory / "metrics.csv", index=False)
    retirement_frame(verdicts).to_csv(directory / "retirement.csv", index=False)
    summary = {
        "schema_version": 1,
        "start": review.start.isoformat(),
        "end": review.end.isoformat(),
        "source": review.source,
        "backend": review.backend,
        "notes": list(review.notes),
        "regions": window_frame(review).to_dict(orient="records"),
    }
    (directory / "window.json").write_text(json.dumps(summary, indent=2) + "\n")
