"""Data frames as rich tables, for every step's CLI (notebooks show the frames themselves)."""

from __future__ import annotations

import pandas as pd
from rich.table import Table


def rich_table(title: str, frame: pd.DataFrame, limit: int = 60) -> Table:
    """At most ``limit`` rows; the caption says how many more the archive holds."""
    table = Table(title=title, title_justify="left")
    for column in frame.columns:
        table.add_column(str(column))
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*("" if pd.isna(v) else str(v) for v in row))
    if len(frame) > limit:
        table.caption = f"{len(frame) - limit} more rows in the run archive"
    return table
