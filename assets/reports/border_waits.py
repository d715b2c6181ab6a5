"""What the border-wait charts show, read from the analyst file, and whether the folder's charts
already show it, without matplotlib: the drawing step asks that before it draws anything, and a run
that brings no Border Wait Times file (a new month of entries, a late exam, a run with nothing new)
finds its folder charts current without importing matplotlib: that step took 0.45-0.54 s, now 0.08 s
(docs/scaling.md, "A run with nothing new"). The charts themselves are drawn in
assets/reports/charts.py."""

from __future__ import annotations

import functools
import hashlib
from importlib.metadata import version
from pathlib import Path

import polars as pl

from assets.readers import reading
from assets.reports.files import BORDER_WAITS

BORDER_WAIT_FILES = ("fast_vs_standard_by_crossing.png", "fast_vs_standard_by_hour.png")
DRAWN_FROM = "Drawn from"  # the PNG text chunk holding the digest of what a folder chart shows
BUSIEST = 4  # crossings drawn by hour of day

BY_CROSSING_SQL = """
SELECT coalesce(crossing_name, port_name, '') || ' (' || port_number || ')' AS label, lane,
       sum(readings) AS readings, sum(mean_delay_minutes * readings) / sum(readings) AS mean_delay_minutes,
       max(commercial_lanes) AS commercial_lanes
FROM marts.lane_wait_times
WHERE readings > 0 AND ($month IS NULL OR strftime(date, '%Y-%m') = $month)
  AND port_number IN (SELECT port_number FROM marts.lane_wait_times WHERE lane = 'FAST' AND readings > 0)
GROUP BY ALL
"""
DATES_SQL = """
SELECT date, sum(readings) AS readings FROM marts.lane_wait_times
WHERE readings > 0 AND ($month IS NULL OR strftime(date, '%Y-%m') = $month) GROUP BY ALL ORDER BY date
"""


def border_wait_frames(con, month: str | None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """By crossing, by hour and snapshot dates; only the readings of `month` (port-local date) when given."""
    by_crossing = con.sql(BY_CROSSING_SQL, params={"month": month}).pl()
    dates = con.sql(DATES_SQL, params={"month": month}).pl()
    by_hour = con.sql(
        "SELECT coalesce(t.crossing_name, t.port_name, '') || ' (' || h.port_number || ')' AS label, h.* "
        "FROM marts.lane_wait_by_hour h JOIN (SELECT DISTINCT port_number, crossing_name, port_name "
        "FROM marts.lane_wait_times) t USING (port_number)").pl()
    return by_crossing, by_hour, dates


def folder_frames(analytics: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The folder charts' frames: every snapshot's readings."""
    with reading(analytics) as con:
        return border_wait_frames(con, None)


def busiest_crossings(by_crossing: pl.DataFrame, busiest: int = BUSIEST) -> list[str]:
    """Most commercial lanes (capacity), then most readings, among crossings reporting both lanes."""
    both = by_crossing.group_by("label").agg(pl.col("lane").n_unique().alias("lanes"), pl.col("readings").sum(),
                                             pl.col("commercial_lanes").max())
    return both.sort(["lanes", "commercial_lanes", "readings", "label"], descending=[True, True, True, False],
                     nulls_last=True).head(busiest)["label"].to_list()


def border_wait_digest(by_crossing: pl.DataFrame, by_hour: pl.DataFrame, dates: pl.DataFrame,
                       busiest: int = BUSIEST) -> str:
    """SHA-256 of what the folder's border-wait charts show: their three frames, sorted, with every
    float to 6 decimals (far below what a chart can show, and above the last bits of a mean, which
    DuckDB may add up in another order from one publication to the next), the number of crossings
    drawn by hour, and the drawing code."""
    digest = hashlib.sha256(_drawing_code())
    digest.update(str(busiest).encode())
    for frame in (by_crossing, by_hour, dates):
        digest.update(frame.sort(frame.columns, nulls_last=True).write_csv(float_precision=6).encode())
    return digest.hexdigest()


@functools.cache
def _drawing_code() -> bytes:
    """The modules that read and draw the charts, the styles and file handling they use, and
    matplotlib's version (from its installed metadata: importing matplotlib is what this module
    spares a run that draws nothing)."""
    folder = Path(__file__).parent
    return b"".join((folder / name).read_bytes() for name in ("border_waits.py", "charts.py", "style.py", "files.py")) + \
        version("matplotlib").encode()


def drawn_from(chart: Path) -> str | None:
    """The digest a folder chart was drawn from; None for a missing or unreadable file or one drawn
    without it. Read from the PNG's header chunks, without decoding the image."""
    from PIL import Image

    try:
        with Image.open(chart) as image:
            return image.info.get(DRAWN_FROM)
    # Missing, not a PNG, broken, or claiming more pixels than Pillow opens: a file put in the
    # reports folder by hand is drawn over, and never stops the drawing step.
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return None


def charts_current(analytics: Path, published: Path) -> bool:
    """Whether both folder charts in `published`, the reports folder as published, were drawn from
    what `analytics` holds now, by this code (each carries border_wait_digest)."""
    digest = border_wait_digest(*folder_frames(analytics))
    return all(drawn_from(published / BORDER_WAITS / name) == digest for name in BORDER_WAIT_FILES)
