"""The weight history: what step 4 did to the weights, as step 5 reads it back.

Step 4 appends a row each time it reads the weights back after a write (and once before its
first write, with the weights it found), so the history says what was in force, not what
was intended. The file is plain CSV in the run's artefacts (``at,region,green_percent``, UTC
ISO times), readable by people and spreadsheets; both steps use these functions, so the
format lives in one place.

Without a history (step 4 did not run), the shares can be told from the traffic itself:
green's share of the requests each minute, snapped to the nearest planned step.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import numpy as np

from ekslift.atomic import write_text_atomic
from ekslift.errors import InputError
from ekslift.metrics.backend import WeightChange
from ekslift.metrics.series import FloatArray, Window

HISTORY = Path("artefacts") / "04-traffic-shift" / "weights.csv"
COLUMNS = ("at", "region", "green_percent")


def write_history(path: Path, rows: Iterable[tuple[str, WeightChange]]) -> None:
    """(region, change) rows, oldest first; step 4 rewrites the whole file each time,
    atomically (a reader never sees half a history)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for region, change in sorted(rows, key=lambda r: (r[1].at, r[0])):
        writer.writerow([change.at.isoformat(), region, f"{change.green * 100:g}"])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, out.getvalue())


def read_history(path: Path) -> dict[str, list[WeightChange]]:
    """Changes per region, oldest first; a malformed row names the file and line."""
    history: dict[str, list[WeightChange]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise InputError(f"{path}: expected the columns {', '.join(COLUMNS)}")
        for number, row in enumerate(reader, start=2):
            try:
                at = datetime.fromisoformat(row["at"])
                share = float(row["green_percent"]) / 100
            except (TypeError, ValueError) as exc:
                raise InputError(f"{path}:{number}: {exc}") from exc
            if at.utcoffset() is None or not 0 <= share <= 1:
                raise InputError(f"{path}:{number}: needs a UTC time and a percent 0–100")
            history[row["region"]].append(WeightChange(at, share))
    return {region: sorted(changes, key=lambda c: c.at) for region, changes in history.items()}


def observed_shares(window: Window, shares: Iterable[float]) -> FloatArray:
    """Green's share of each minute's requests, snapped to the nearest of ``shares``; a
    minute without requests keeps the share before it (0 at the start)."""
    blue = window.requests(window.blue)
    green = window.requests(window.green)
    total = blue + green
    planned = np.array(sorted({0.0, 1.0, *shares}))
    observed = np.divide(green, total, out=np.full(total.size, np.nan), where=total > 0)
    snapped = planned[np.abs(observed[:, None] - planned[None, :]).argmin(axis=1)]
    result = np.where(np.isnan(observed), np.nan, snapped)
    for index in range(result.size):
        if np.isnan(result[index]):
            result[index] = result[index - 1] if index else 0.0
    values: FloatArray = result
    return values
