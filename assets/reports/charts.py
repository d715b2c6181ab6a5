"""Charts drawn from the published marts (read-only): per local month the exam rate and release
time by mode, the business-resumption backlog and the month's border waits (the monthly report
draws them: assets/reports/report.py); over all snapshots the border waits by crossing and by hour.
Each `*_figure` function builds an A4 landscape figure (the PDF report places it as a vector page,
the HTML report and the folder get it as PNG). Colours, shapes and units: assets/reports/style.py."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from matplotlib.patches import Patch

from assets.reports.border_waits import (BORDER_WAIT_FILES, BUSIEST, DRAWN_FROM, border_wait_digest, busiest_crossings,
                                         folder_frames)
from assets.reports.files import BORDER_WAITS, save_figure
from assets.reports.style import (FOOTER, GREY, LANE_COLORS, LANE_HATCH, MIN_N, STATUS_COLORS, STATUS_HATCH,
                                  STATUS_LINES, STATUS_MARKERS, axes_title, count, hours_axis, hours_text, lay_out,
                                  new_figure)

STATUSES = ("CERTIFIED", "UNCERTIFIED")
STATUS_WORDS = {"CERTIFIED": "CTPAT certified", "UNCERTIFIED": "not certified"}


def _mode_label(code: str, modes: dict[str, str]) -> str:
    """`30 truck, non-container`: the code with its name from the analyst file's marts.modes."""
    return f"{code} {modes.get(code, '').lower()}".strip()


def mode_names(con) -> dict[str, str]:
    return dict(con.execute("SELECT mode_of_transport, description FROM marts.modes").fetchall())


def _no_data(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=12, color="#595959")
    ax.axis("off")


def _footnote(fig, text: str) -> None:
    """Below the axes, above the report's provenance line."""
    fig.text(0.01, FOOTER, text, fontsize=7.5, color="#444444", va="bottom")


def exam_rate_figure(frame: pl.DataFrame, month: str, names: dict[str, str]):
    """Horizontal bars of exam rate by mode, certified vs not, with Wilson 95 % intervals and the
    number of entries behind each bar; a bar over fewer than 30 entries is grey and says so."""
    modes = sorted(frame["mode_of_transport"].unique().to_list(), reverse=True)
    fig, axes = new_figure()
    ax = axes[0, 0]
    height = 0.38
    top = 0.0
    for i, status in enumerate(STATUSES):
        part = pl.DataFrame({"mode_of_transport": modes}, schema={"mode_of_transport": pl.String}).join(
            frame.filter(pl.col("ctpat_status") == status), on="mode_of_transport", how="left")
        y = [k + (0.5 - i) * height for k in range(len(modes))]
        for yi, r in zip(y, part.iter_rows(named=True)):
            n = r["entries"] or 0
            if not n:
                ax.annotate("no entries", (0, yi), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7,
                            color="#595959")
                continue
            rate, low, high = r["exam_rate"] * 100, r["exam_rate_ci_low"] * 100, r["exam_rate_ci_high"] * 100
            few = n < MIN_N
            ax.barh(yi, rate, height, color=GREY if few else STATUS_COLORS[status], hatch=STATUS_HATCH[status],
                    edgecolor="white" if not few else "#767676", linewidth=0.5)
            ax.errorbar(rate, yi, xerr=[[max(rate - low, 0)], [max(high - rate, 0)]], fmt="none", ecolor="black",
                        capsize=2, linewidth=0.8)
            top = max(top, high)
            label = f"{rate:.1f}% of {count(n)}" + (" (fewer than 30: not reliable)" if few else "")
            ax.annotate(label, (high, yi), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(range(len(modes)), [_mode_label(m, names) for m in modes], fontsize=8)
    ax.set_xlim(0, max(top * 1.35, 1))
    ax.set_xlabel("entries with at least one exam (%)  ·  whiskers: Wilson 95 % interval")
    axes_title(ax, f"Exam rate by mode of transport, {month}: CTPAT certified vs not certified importers", fontsize=12,
               loc="left")
    handles = [Patch(facecolor=STATUS_COLORS[s], hatch=STATUS_HATCH[s], edgecolor="white", label=STATUS_WORDS[s])
               for s in STATUSES]
    handles.append(Patch(facecolor=GREY, edgecolor="#767676", label="fewer than 30 entries"))
    ax.legend(handles=handles, title="importer on the arrival date", loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    _footnote(fig, "Labels: exam rate of how many entries. Modes are CBP codes (marts.modes). Crude rates: the "
                   "scorecard compares like with like (same port and mode, or the same importer).")
    lay_out(fig, FOOTER + 0.03)
    return fig


def release_time_figure(frame: pl.DataFrame, month: str, modes: dict[str, str]):
    """Release-time distribution per mode and status: 10-90 % line, 25-75 % box, median marker."""
    rows = frame.sort("mode_of_transport", "ctpat_status")
    fig, axes = new_figure()
    ax = axes[0, 0]
    labels = []
    low, high = 1.0, 24.0
    for y, r in enumerate(rows.iter_rows(named=True)):
        few = (r["released_entries"] or 0) < MIN_N
        color = GREY if few else STATUS_COLORS[r["ctpat_status"]]
        if r["p10_release_hours"] is not None:
            ax.hlines(y, r["p10_release_hours"], r["p90_release_hours"], color=color, linewidth=1.5)
            ax.hlines(y, r["p25_release_hours"], r["p75_release_hours"], color=color, linewidth=8, alpha=0.7)
            ax.plot(r["median_release_hours"], y, STATUS_MARKERS[r["ctpat_status"]], color="black", markersize=5)
            low, high = min(low, r["p10_release_hours"]), max(high, r["p90_release_hours"])
        labels.append(f"{_mode_label(r['mode_of_transport'], modes)} · {STATUS_WORDS[r['ctpat_status']]} "
                      f"(n={count(r['released_entries'])}{', fewer than 30' if few else ''})")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    hours_axis(ax, "x", low=max(min(low, 1) / 2, 0.25), high=high * 2)
    ax.set_xlim(max(min(low, 1) / 2, 0.2), high * 2)
    ax.set_xlabel("time from arrival to release (log scale)")
    axes_title(ax, f"Release time by mode and CTPAT status, {month} (released entries)", fontsize=12, loc="left")
    handles = [ax.plot([], [], color=STATUS_COLORS[s], linewidth=8, alpha=0.7, label=f"{STATUS_WORDS[s]}: "
                       "middle half (25th-75th percentile)")[0] for s in STATUSES]
    handles += [ax.plot([], [], color="#595959", linewidth=1.5, label="10th-90th percentile")[0],
                ax.plot([], [], "o", color="black", label="median (square: not certified)")[0],
                ax.plot([], [], color=GREY, linewidth=8, label="fewer than 30 released entries")[0]]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.invert_yaxis()
    lay_out(fig)
    return fig


# Border waits ---------------------------------------------------------------------------------
# (the frames drawn, and whether the folder's charts are current: assets/reports/border_waits.py)


def lane_wait_by_crossing_figure(frame: pl.DataFrame, dates: pl.DataFrame, period: str):
    """Mean commercial delay per crossing, FAST vs standard lanes, with reading counts; the title
    says which snapshot dates the readings come from."""
    crossings = frame.group_by("label").agg(pl.col("readings").sum()).sort("readings", "label")["label"].to_list()
    fig, axes = new_figure()
    ax = axes[0, 0]
    height = 0.4
    if not crossings:
        _no_data(ax, f"No commercial Border Wait Times readings {period}")
    top = 1.0
    for i, lane in enumerate(("STANDARD", "FAST") if crossings else ()):
        part = pl.DataFrame({"label": crossings}, schema={"label": pl.String}).join(
            frame.filter(pl.col("lane") == lane), on="label", how="left")
        y = [k + (i - 0.5) * height for k in range(len(crossings))]
        ax.barh(y, part["mean_delay_minutes"].fill_null(0).to_list(), height, color=LANE_COLORS[lane],
                hatch=LANE_HATCH[lane], edgecolor="white", linewidth=0.5, label=f"{lane.title()} lanes")
        for yi, v, n in zip(y, part["mean_delay_minutes"].to_list(), part["readings"].fill_null(0).to_list()):
            if n:
                top = max(top, v)
                ax.annotate(f"{v:.0f} min (n={count(n)}{', fewer than 30' if n < MIN_N else ''})", (v, yi),
                            xytext=(3, 0), textcoords="offset points", va="center", fontsize=6.5)
    if crossings:
        ax.set_yticks(range(len(crossings)), crossings, fontsize=7.5)
        ax.set_xlim(0, top * 1.45)
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("mean commercial delay (minutes per reading)")
    axes_title(ax, f"Commercial border delay, FAST (CTPAT) vs standard lanes, {period}\n"
               f"{_dates_line(dates)}", fontsize=11, loc="left")
    ax.grid(axis="x", alpha=0.3)
    _footnote(fig, "Source: CBP Border Wait Times feed. A reading is one lane's delay at one update time, counted once "
                   "however many snapshots repeat it; n = readings. Crossings with FAST lanes only.")
    lay_out(fig, FOOTER + 0.03)
    return fig


def _dates_line(dates: pl.DataFrame) -> str:
    if dates.is_empty():
        return "no snapshot dates"
    listed = [f"{d:%Y-%m-%d} ({count(n)} readings)" for d, n in dates.rows()]
    shown = ", ".join(listed[:6]) + (f" and {len(listed) - 6} more dates" if len(listed) > 6 else "")
    return f"readings from {len(listed)} port-local date{'s' if len(listed) != 1 else ''}: {shown}"


def lane_wait_by_hour_figure(frame: pl.DataFrame, crossings: list[str]):
    """Mean delay by hour of day, FAST vs standard, one panel per busy crossing."""
    fig, axes = new_figure(1, max(len(crossings), 1), sharey=True)
    for ax, crossing in zip(axes[0], crossings):
        for lane in ("STANDARD", "FAST"):
            part = frame.filter((pl.col("label") == crossing) & (pl.col("lane") == lane)).sort("hour_of_day")
            ax.plot(part["hour_of_day"].to_list(), part["mean_delay_minutes"].to_list(),
                    "s--" if lane == "STANDARD" else "o-", color=LANE_COLORS[lane],
                    label=f"{lane.title()} (n={count(part['readings'].sum())})")
        axes_title(ax, crossing.replace(" (", "\n("), fontsize=9)
        ax.set_xlim(-0.5, 23.5)
        ax.set_xticks(range(0, 24, 6), [f"{h:02d}:00" for h in range(0, 24, 6)])
        ax.set_xlabel("local hour of the update")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    if not crossings:
        _no_data(axes[0][0], "No commercial Border Wait Times readings in the published marts")
    axes[0][0].set_ylabel("mean commercial delay (minutes)")
    fig.suptitle("Commercial delay by hour of day at the busiest crossings: FAST vs standard lanes (n = readings)",
                 fontsize=11)
    lay_out(fig)
    return fig


def draw_border_wait_charts(analytics: Path, reports: Path, busiest: int = BUSIEST) -> list[Path]:
    """Both folder charts (reports/border_waits/) from every snapshot's readings, each carrying the
    digest of what it shows (border_waits.border_wait_digest); each month's report draws its own
    month. The drawing step draws them only when the published ones are not current
    (border_waits.charts_current), which it asks without importing this module."""
    by_crossing, by_hour, dates = folder_frames(analytics)
    digest = border_wait_digest(by_crossing, by_hour, dates, busiest)
    folder = reports / BORDER_WAITS
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / name for name in BORDER_WAIT_FILES]
    save_figure(lane_wait_by_crossing_figure(by_crossing, dates, "over all snapshots"), written[0], {DRAWN_FROM: digest})
    save_figure(lane_wait_by_hour_figure(by_hour, busiest_crossings(by_crossing, busiest)), written[1],
                {DRAWN_FROM: digest})
    return written


# Business resumption --------------------------------------------------------------------------


def recovery_figure(backlog: pl.DataFrame, closures: pl.DataFrame, month: str):
    """Business resumption: per closure event reopening in the month, the share of each status's
    caught entries not yet released, by hour after reopening (a steeper fall = released sooner)."""
    events = sorted(backlog["event_id"].unique().to_list())
    fig, axes = new_figure(len(events), 1)
    for ax, event in zip(axes[:, 0], events):
        rows = closures.filter(pl.col("event_id") == event).sort("port_code")
        last = 24.0
        for status in STATUSES:
            part = backlog.filter((pl.col("event_id") == event) & (pl.col("ctpat_status") == status)).sort(
                "hours_after_reopening")
            if part.is_empty():
                continue
            n = part["caught_entries"][0]
            last = max(last, float(part["hours_after_reopening"].max()))
            ax.step(part["hours_after_reopening"].to_list(), (part["backlog_share"] * 100).to_list(), where="post",
                    color=GREY if n < MIN_N else STATUS_COLORS[status], linestyle=STATUS_LINES[status], linewidth=2,
                    label=f"{STATUS_WORDS[status]} (caught entries n={count(n)}{', fewer than 30' if n < MIN_N else ''})")
        ports = "; ".join(f"port {r['port_code']} closed {r['closed_at']:%Y-%m-%d %H:%M} UTC for "
                          f"{hours_text(r['closed_hours'])}" for r in rows.unique("port_code", keep="first").iter_rows(named=True))
        cause = rows["cause"][0] if rows.height else ""
        source = next((s for s in rows["source"].to_list() if s), "not given")
        axes_title(ax, f"{event} ({cause.replace('_', ' ').lower()}): {ports}\nsource: {source}", fontsize=9, loc="left")
        ax.set_ylim(0, 105)
        ticks = [t for t in (0, 6, 12, 24, 48, 72, 96, 120, 168, 240, 336) if t <= last]
        ax.set_xticks(ticks, [hours_text(t) if t else "0" for t in ticks])
        ax.set_xlabel("time after the port reopened")
        ax.set_ylabel("caught entries not yet released (%)")
        ax.grid(alpha=0.3)
        ax.legend(title="importer on the arrival date", fontsize=8, loc="upper right")
    fig.suptitle(f"Business resumption after port closures reopening in {month}: backlog by hour\n"
                 "caught = at the port, arrived from 7 days before closing until reopening, not released before "
                 "closing", fontsize=11)
    lay_out(fig)
    return fig
