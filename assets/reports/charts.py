"""Monthly charts drawn from the published marts (read-only), one folder per local month."""

from __future__ import annotations

from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402

from assets.reports.files import save_figure  # noqa: E402

STATUS_COLORS = {"CERTIFIED": "#1b7837", "UNCERTIFIED": "#762a83"}


def _mode_label(code: str, modes: dict[str, str]) -> str:
    """`30 truck, non-container`: the code with its name from the analyst file's marts.modes."""
    return f"{code} {modes.get(code, '').lower()}".strip()


def mode_names(con) -> dict[str, str]:
    return dict(con.execute("SELECT mode_of_transport, description FROM marts.modes").fetchall())


def exam_rate_chart(frame: pl.DataFrame, month: str, path: Path, names: dict[str, str]) -> None:
    """Grouped bars of exam rate by mode, certified vs uncertified, with Wilson 95 % intervals."""
    modes = sorted(frame["mode_of_transport"].unique().to_list())
    fig, ax = plt.subplots(figsize=(10, 5.5))
    width = 0.38
    for i, status in enumerate(("CERTIFIED", "UNCERTIFIED")):
        part = pl.DataFrame({"mode_of_transport": modes}).join(
            frame.filter(pl.col("ctpat_status") == status), on="mode_of_transport", how="left")
        x = [m + (i - 0.5) * width for m in range(len(modes))]
        rate = (part["exam_rate"].fill_null(0) * 100).to_list()
        low = ((part["exam_rate"] - part["exam_rate_ci_low"]).fill_null(0).clip(lower_bound=0) * 100).to_list()
        high = ((part["exam_rate_ci_high"] - part["exam_rate"]).fill_null(0).clip(lower_bound=0) * 100).to_list()
        ax.bar(x, rate, width, yerr=[low, high], capsize=3, color=STATUS_COLORS[status], label=status.title())
        for xi, r, hi, n in zip(x, rate, high, part["entries"].fill_null(0).to_list()):
            ax.annotate(f"n={n:,}", (xi, r + hi), ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                        textcoords="offset points")
    ax.set_xticks(range(len(modes)), [_mode_label(m, names) for m in modes], rotation=15, ha="right")
    ax.set_ylabel("entries examined (%)")
    ax.set_title(f"Exam rate by mode of transport, {month}: CTPAT certified vs uncertified importers\n"
                 "bars: share of entries with at least one exam; whiskers: Wilson 95 % interval", fontsize=11)
    ax.legend(title="Importer status on arrival date")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


def release_time_chart(frame: pl.DataFrame, month: str, path: Path, modes: dict[str, str]) -> None:
    """Release-time distribution per mode and status: 10-90 % range, 25-75 % box, median dot."""
    rows = frame.sort("mode_of_transport", "ctpat_status")
    fig, ax = plt.subplots(figsize=(10, 0.55 * max(len(rows), 4) + 1.5))
    labels = []
    for y, r in enumerate(rows.iter_rows(named=True)):
        color = STATUS_COLORS[r["ctpat_status"]]
        ax.hlines(y, r["p10_release_hours"], r["p90_release_hours"], color=color, linewidth=1.5)
        ax.hlines(y, r["p25_release_hours"], r["p75_release_hours"], color=color, linewidth=7, alpha=0.6)
        ax.plot(r["median_release_hours"], y, "o", color="black", markersize=5)
        labels.append(f"{_mode_label(r['mode_of_transport'], modes)} · {r['ctpat_status'].lower()} (n={r['released_entries']:,})")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("hours from arrival to release (log scale)")
    ax.set_title(f"Release time by mode and CTPAT status, {month} (released entries)\n"
                 "thin line: 10th-90th percentile; box: 25th-75th; dot: median", fontsize=11)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.invert_yaxis()
    fig.tight_layout()
    save_figure(fig, path)


def draw_monthly_charts(analytics: Path, reports: Path, months: list[str] | None = None) -> list[Path]:
    """The charts of the given months (default: every month in the marts)."""
    with duckdb.connect(str(analytics), read_only=True) as con:
        modes = mode_names(con)
        rates = con.sql("SELECT * FROM marts.exam_rates_by_mode").pl()
        profile = con.sql("SELECT * FROM marts.release_time_profile").pl()
    written = []
    present = set(rates["month"].unique().to_list())
    for month in sorted(present if months is None else present & set(months)):
        folder = reports / month
        folder.mkdir(parents=True, exist_ok=True)
        exam_rate_chart(rates.filter(pl.col("month") == month), month, folder / "exam_rate_by_mode.png", modes)
        release_time_chart(profile.filter(pl.col("month") == month), month, folder / "release_time_by_mode.png", modes)
        written += [folder / "exam_rate_by_mode.png", folder / "release_time_by_mode.png"]
    return written


LANE_COLORS = {"FAST": "#1b7837", "STANDARD": "#b35806"}


def _no_data(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=11, color="#555555")


def lane_wait_by_crossing_chart(frame: pl.DataFrame, path: Path) -> None:
    """Mean commercial delay per crossing, FAST vs standard lanes, with reading counts."""
    crossings = frame.group_by("label").agg(pl.col("readings").sum()).sort("readings", "label")["label"].to_list()
    fig, ax = plt.subplots(figsize=(10, 0.45 * max(len(crossings), 4) + 1.8))
    height = 0.4
    if not crossings:
        _no_data(ax, "No commercial Border Wait Times readings in the published marts")
    for i, lane in enumerate(("STANDARD", "FAST") if crossings else ()):
        part = pl.DataFrame({"label": crossings}, schema={"label": pl.String}).join(frame.filter(pl.col("lane") == lane), on="label", how="left")
        y = [k + (i - 0.5) * height for k in range(len(crossings))]
        ax.barh(y, part["mean_delay_minutes"].fill_null(0).to_list(), height, color=LANE_COLORS[lane],
                label=f"{lane.title()} lanes")
        for yi, v, n in zip(y, part["mean_delay_minutes"].to_list(), part["readings"].fill_null(0).to_list()):
            if n:
                ax.annotate(f"{v:.0f} min (n={n})", (v, yi), xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=7)
    ax.set_yticks(range(len(crossings)), crossings, fontsize=8)
    ax.set_xlabel("mean commercial delay (minutes per reading)")
    ax.set_title("Commercial border delay at crossings with FAST lanes: FAST (CTPAT) vs standard\n"
                 "CBP Border Wait Times feed; a reading counts once however many snapshots repeat it", fontsize=11)
    if crossings:
        ax.legend(loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


def lane_wait_by_hour_chart(frame: pl.DataFrame, crossings: list[str], path: Path) -> None:
    """Mean delay by hour of day, FAST vs standard, one panel per busy crossing."""
    fig, axes = plt.subplots(1, max(len(crossings), 1), figsize=(4 * max(len(crossings), 1), 4), sharey=True, squeeze=False)
    for ax, crossing in zip(axes[0], crossings):
        for lane in ("STANDARD", "FAST"):
            part = frame.filter((pl.col("label") == crossing) & (pl.col("lane") == lane)).sort("hour_of_day")
            ax.plot(part["hour_of_day"].to_list(), part["mean_delay_minutes"].to_list(), "o-", color=LANE_COLORS[lane],
                    label=f"{lane.title()} (n={int(part['readings'].sum())})")
        ax.set_title(crossing, fontsize=9)
        ax.set_xlim(-0.5, 23.5)
        ax.set_xticks(range(0, 24, 6))
        ax.set_xlabel("local hour of the update")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if not crossings:
        _no_data(axes[0][0], "No commercial Border Wait Times readings in the published marts")
    axes[0][0].set_ylabel("mean commercial delay (minutes)")
    fig.suptitle("Commercial delay by hour of day at the busiest crossings: FAST vs standard lanes", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path)


def draw_border_wait_charts(analytics: Path, reports: Path, busiest: int = 4) -> list[Path]:
    with duckdb.connect(str(analytics), read_only=True) as con:
        by_crossing = con.sql(
            "SELECT coalesce(crossing_name, port_name, '') || ' (' || port_number || ')' AS label, lane, "
            "sum(readings) AS readings, sum(mean_delay_minutes * readings) / sum(readings) AS mean_delay_minutes, "
            "max(commercial_lanes) AS commercial_lanes "
            "FROM marts.lane_wait_times WHERE readings > 0 AND port_number IN "
            "(SELECT port_number FROM marts.lane_wait_times WHERE lane = 'FAST' AND readings > 0) GROUP BY ALL").pl()
        by_hour = con.sql(
            "SELECT coalesce(t.crossing_name, t.port_name, '') || ' (' || h.port_number || ')' AS label, h.* "
            "FROM marts.lane_wait_by_hour h JOIN (SELECT DISTINCT port_number, crossing_name, port_name "
            "FROM marts.lane_wait_times) t USING (port_number)").pl()
    folder = reports / "border_waits"
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "fast_vs_standard_by_crossing.png", folder / "fast_vs_standard_by_hour.png"]
    lane_wait_by_crossing_chart(by_crossing, written[0])
    # Busiest: most commercial lanes (capacity), then most readings, among crossings reporting both lanes.
    both = by_crossing.group_by("label").agg(pl.col("lane").n_unique().alias("lanes"), pl.col("readings").sum(),
                                             pl.col("commercial_lanes").max())
    top = both.sort(["lanes", "commercial_lanes", "readings", "label"], descending=[True, True, True, False],
                    nulls_last=True).head(busiest)["label"].to_list()
    lane_wait_by_hour_chart(by_hour, top, written[1])
    return written


STATUS_LINES = {"CERTIFIED": "-", "UNCERTIFIED": "--"}  # line style as well as colour: readable without colour


def recovery_chart(backlog: pl.DataFrame, closures: pl.DataFrame, month: str, path: Path) -> None:
    """Business resumption: per closure event reopening in the month, the share of each status's
    caught entries not yet released, by hour after reopening (a steeper fall = released sooner)."""
    events = sorted(backlog["event_id"].unique().to_list())
    fig, axes = plt.subplots(len(events), 1, figsize=(10, 3.6 * len(events) + 0.8), squeeze=False)
    for ax, event in zip(axes[:, 0], events):
        rows = closures.filter(pl.col("event_id") == event).sort("port_code")
        for status in ("CERTIFIED", "UNCERTIFIED"):
            part = backlog.filter((pl.col("event_id") == event) & (pl.col("ctpat_status") == status)).sort(
                "hours_after_reopening")
            if part.is_empty():
                continue
            ax.step(part["hours_after_reopening"].to_list(), (part["backlog_share"] * 100).to_list(), where="post",
                    color=STATUS_COLORS[status], linestyle=STATUS_LINES[status], linewidth=2,
                    label=f"{status.title()} (caught entries n={part['caught_entries'][0]:,})")
        ports = ", ".join(f"{r['port_code']} closed {r['closed_at']:%Y-%m-%d %H:%M} UTC for {r['closed_hours']:,.0f} h"
                          for r in rows.unique("port_code", keep="first").iter_rows(named=True))
        cause = rows["cause"][0] if rows.height else ""
        source = next((s for s in rows["source"].to_list() if s), "not given")
        ax.set_title(f"{event} ({cause.replace('_', ' ').lower()}): {ports}\nsource: {source}", fontsize=9, loc="left")
        ax.set_ylim(0, 100)
        ax.set_xlabel("hours after the port reopened")
        ax.set_ylabel("caught entries not yet released (%)")
        ax.grid(alpha=0.3)
        ax.legend(title="Importer status on arrival date", fontsize=8)
    fig.suptitle(f"Business resumption after port closures reopening in {month}: backlog by hour\n"
                 "caught = at the port, arrived from 7 days before closing until reopening, not released before "
                 "closing", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path)
