"""The monthly report: one PDF (A4 landscape, vector figures) and one self-contained HTML page per
month, from the published marts.

Page one is the answer: each CBP claim for the month and the whole period, its verdict in words and
shape, and the claim's sentence from marts.ctpat_claims verbatim, with a short "how to read this".
Then the evidence: the scorecard in a broker's units, the sensitivity table, the forest plot, the
exam-rate trend, the month's charts (exam rate and release time by mode, business resumption, the
month's border waits), data quality, and provenance (input files' SHA-256, code version, run) in
words on every page.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from assets.marts.pseudonyms import one_line  # noqa: E402
from assets.readers import reading  # noqa: E402
from assets.reports.border_waits import border_wait_frames  # noqa: E402
from assets.reports.charts import (exam_rate_figure, lane_wait_by_crossing_figure, mode_names,  # noqa: E402
                                   recovery_figure, release_time_figure)
from assets.reports.files import PNG, replaced_on_success, write_text  # noqa: E402
from assets.reports.style import (A4_LANDSCAPE, FOOTER, MIN_N, MINUS, STATUS_COLORS, STATUS_LINES,  # noqa: E402
                                  STATUS_MARKERS, VERDICTS, axes_title, count, hours_text, lay_out, new_figure,
                                  ratio_axis, signed_hours_axis)
from assets.scorecard.catalogue import BENEFITS, CLAIMS  # noqa: E402

BENEFIT_ORDER = [b.name for b in BENEFITS]
CLAIM_ORDER = [c.name for c in CLAIMS]
VERDICT_SYMBOLS = {"SUPPORTED": "●", "CONTRADICTED": "✖", "INCONCLUSIVE": "○", "INSUFFICIENT_DATA": "□",
                   "NOT_SHOWN": "○", "NOT_MEASURABLE": "□"}
MEASURE_TITLES = {"rate_ratio": "Exam and detention rates: certified ÷ not certified (below 1 = fewer for certified)",
                  "difference_in_median_hours": "Median hours: certified − not certified (below 0 = faster for certified)",
                  "difference_in_mean_minutes": "Border delay: FAST − standard lanes, minutes (below 0 = shorter in FAST)"}
# "How to read this" names each verdict by its word. The HTML puts the verdict's glyph before it; the
# PDF's page one does not (its table draws the verdict's marker instead, and a glyph would keep the
# page out of the core fonts: pdf_fonts).
_HOW_TO_READ = (
    "How to read this. Each line answers one of CBP's CTPAT promises. {SUPPORTED}supported: every comparison shows the "
    "benefit beyond chance (its 95% interval lies wholly on the benefit side). {CONTRADICTED}contradicted: a comparison shows "
    "the opposite. {NOT_SHOWN}not shown: a comparison cannot tell the benefit from no difference. {INSUFFICIENT_DATA}too "
    "little data or not measurable. The intervals treat importers, not entries, as the independent units. \"Across importers\" compares "
    "certified with uncertified traffic at the same port and mode: it cannot rule out that low-risk importers are "
    "the ones who join. \"Importers that changed status, compared with themselves\" can: who joins cannot explain it."
)
HOW_TO_READ = _HOW_TO_READ.format(**{v: f"{s} " for v, s in VERDICT_SYMBOLS.items()})
HOW_TO_READ_PDF = _HOW_TO_READ.format(**{v: "" for v in VERDICT_SYMBOLS})
DESIGNS = [
    ("Across importers (cross-sectional)",
     "certified entries against uncertified entries of the same port and mode (exam rates: also the same country of "
     "origin and HTS section). Rules out that certified traffic simply moves through faster ports or modes; cannot "
     "rule out that the importers who join were low-risk to begin with: CBP certifies low-risk traders by design."),
    ("Within importers",
     "each importer whose CTPAT status changed, compared with itself: its certified months against its uncertified "
     "months at the same port and mode (exam rates: with month effects). Who chooses to join cannot explain it; "
     "something else that changed in the importer when it joined still could. Needs 10 such importers."),
    ("Crude",
     "the plain certified against uncertified comparison, printed beside each adjusted one to show what the "
     "adjustment changed."),
    ("Uncertainty",
     "every 95 % interval treats importers, not entries, as the independent units (deleting one importer at a "
     "time), so one large importer cannot make a difference look certain. E-value: how strongly an unmeasured "
     "confounder would have to be tied to both certification and exams to explain a ratio away."),
]


@dataclass
class ReportData:
    month: str
    claims: pl.DataFrame  # the month and ALL
    scorecard: pl.DataFrame  # the month and ALL
    sensitivity: pl.DataFrame  # ALL
    trend: pl.DataFrame
    audit: pl.DataFrame
    rejections: pl.DataFrame
    inputs: list[dict]
    code_version: str
    run_id: str
    published_at: datetime
    backlog: pl.DataFrame  # recovery curves of the closures reopening in the month
    closures: pl.DataFrame  # their rows of marts.disruption_recovery
    rates: pl.DataFrame  # exam rate by mode, the month
    profile: pl.DataFrame  # release-time quantiles by mode, the month
    modes: dict
    border: pl.DataFrame  # the month's border-wait readings by crossing
    border_dates: pl.DataFrame  # their port-local dates


def load(analytics: Path, month: str) -> ReportData:
    with reading(analytics) as con:
        claims = con.sql("SELECT * FROM marts.ctpat_claims WHERE month IN (?, 'ALL')", params=[month]).pl()
        claims = _ordered(claims, "claim", CLAIM_ORDER)
        card = _ordered(con.sql("SELECT * FROM marts.ctpat_benefits WHERE month IN (?, 'ALL')", params=[month]).pl(),
                        "benefit", BENEFIT_ORDER)
        sensitivity = _ordered(con.sql("SELECT * FROM marts.ctpat_benefit_sensitivity WHERE month = 'ALL'").pl(),
                               "benefit", BENEFIT_ORDER, keep=["specification"])
        trend = con.sql("SELECT * FROM marts.exam_rates_by_month WHERE month <= ? ORDER BY month", params=[month]).pl()
        audit = con.sql("SELECT source, status, count(*) AS files, sum(rows_read)::BIGINT AS rows_read, "
                        "sum(rows_loaded)::BIGINT AS rows_loaded, sum(rows_rejected)::BIGINT AS rows_rejected "
                        "FROM marts.load_audit GROUP BY ALL ORDER BY ALL").pl()
        rejections = con.sql("SELECT * FROM marts.rejections ORDER BY source, rows DESC").pl()
        backlog = con.sql("SELECT * FROM marts.disruption_backlog WHERE month = ?", params=[month]).pl()
        closures = con.sql("SELECT * FROM marts.disruption_recovery WHERE month = ?", params=[month]).pl()
        rates = con.sql("SELECT * FROM marts.exam_rates_by_mode WHERE month = ?", params=[month]).pl()
        profile = con.sql("SELECT * FROM marts.release_time_profile WHERE month = ?", params=[month]).pl()
        modes = mode_names(con)
        border, _, border_dates = border_wait_frames(con, month)
        run_id, inputs, version, published_at = con.execute(
            "SELECT run_id, input_files, code_version, published_at FROM marts.published_runs "
            "ORDER BY published_at DESC LIMIT 1").fetchone()
    # A file name keeps its line ends in the audit (the name as delivered); on a page it takes one line.
    files = [dict(f, file_name=one_line(f["file_name"])) for f in json.loads(inputs)]
    return ReportData(month, claims, card, sensitivity, trend, audit, rejections, files, version, run_id, published_at,
                      backlog, closures, rates, profile, modes, border, border_dates)


def _ordered(frame: pl.DataFrame, column: str, order: list[str], keep: list[str] | None = None) -> pl.DataFrame:
    """The whole period first, then the month; within it the scorecard's (or claims') own order."""
    rank = {name: i for i, name in enumerate(order)}
    return (frame.with_columns(pl.col(column).replace_strict(rank, default=len(order)).alias("_rank"),
                               (pl.col("month") != "ALL").alias("_period"))
            .sort(["_period", "_rank", *(keep or [])]).drop("_rank", "_period"))


# ---------------------------------------------------------------------------------------------
# Words and numbers
# ---------------------------------------------------------------------------------------------

def period_words(month: str) -> str:
    return "whole period" if month == "ALL" else month


def benefit_words(name: str) -> str:
    return name.replace("_within_importer", ", within importer").replace("_", " ")


def effect_words(value: float | None, low: float | None, high: float | None, measure: str) -> str:
    """The effect with its 95 % interval in the units a broker reads: '0.12 (8.4× fewer; 0.11–0.13)'."""
    if value is None:
        return "no estimate"
    if measure == "rate_ratio":
        times = (f"{1 / value:,.1f}× fewer" if 0 < value < 1 else "none at all" if value == 0
                 else f"{value:,.2f}× as many")
        interval = f"; 95% CI {_bound(low)}–{_bound(high)}" if low is not None else "; no interval"
        return f"ratio {value:,.2f} ({times}{interval})"
    unit = hours_text if measure == "difference_in_median_hours" else (
        lambda m: f"{m:,.1f} min" if math.isfinite(m) else "unbounded")
    interval = f" (95% CI {unit(low)} to {unit(high)})" if low is not None else " (no interval)"
    return f"{unit(value)}{interval}"


def _bound(x: float) -> str:
    """An interval limit of a ratio: 0 or infinite when one importer carries all the evidence."""
    return f"{x:,.2f}" if math.isfinite(x) else "unbounded"


def provenance_words(data: ReportData) -> str:
    """The footer of every page: who published what from which inputs, in words."""
    commit, _, fingerprint = data.code_version.partition(" code:")
    dirty = commit.endswith("+dirty")
    code = (f"code version {commit.removesuffix('+dirty')} (git commit{', with uncommitted changes' if dirty else ''}; "
            f"fingerprint {fingerprint} of the code, SQL and rules)")
    return (f"Published {data.published_at:%Y-%m-%d %H:%M} UTC by Dagster run {data.run_id[:8]} · {code} · "
            f"from {len(data.inputs)} input files, each identified by its SHA-256 on the Provenance page")


# ---------------------------------------------------------------------------------------------
# Tables (the PDF draws them as wrapped text in columns; the HTML as <table>)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    title: str
    width: float  # share of the page's text width


CLAIM_COLUMNS = [Column("CBP promises", 0.17), Column("period", 0.08), Column("verdict", 0.11), Column("the answer", 0.64)]
SCORE_COLUMNS = [Column("benefit", 0.17), Column("period", 0.07), Column("design", 0.09),
                 Column("adjusted effect, 95% CI", 0.22), Column("verdict", 0.1), Column("n certified / not", 0.11),
                 Column("importers", 0.09), Column("crude effect, 95% CI", 0.15)]
SENSITIVITY_COLUMNS = [Column("benefit", 0.22), Column("specification", 0.16), Column("effect, 95% CI", 0.34),
                       Column("n certified / not", 0.14), Column("verdict", 0.14)]


def verdict_words(verdict: str) -> str:
    """The verdict's word; tables carry it alone (HTML adds the symbol, the PDF the marker)."""
    return VERDICTS[verdict]["label"]


def verdict_symbol_words(verdict: str) -> str:
    return f"{VERDICT_SYMBOLS[verdict]} {verdict_words(verdict)}"


def claim_rows(claims: pl.DataFrame) -> list[tuple[list[str], str]]:
    return [([r["promise"], period_words(r["month"]), verdict_words(r["verdict"]), r["answer"]], r["verdict"])
            for r in claims.iter_rows(named=True)]


def scorecard_rows(card: pl.DataFrame) -> list[tuple[list[str], str]]:
    rows = []
    for r in card.iter_rows(named=True):
        importers = (f"{count(r['switching_importers'])} changed status" if r["design"] == "within_importer"
                     else f"{count(r['certified_importers'])} / {count(r['uncertified_importers'])}"
                     if r["certified_importers"] is not None else "–")
        rows.append(([benefit_words(r["benefit"]), period_words(r["month"]), r["design"].replace("_", " "),
                      effect_words(r["effect"], r["effect_ci_low"], r["effect_ci_high"], r["measure"]),
                      verdict_words(r["verdict"]), f"{count(r['certified_n'])} / {count(r['uncertified_n'])}", importers,
                      effect_words(r["crude_effect"], r["crude_ci_low"], r["crude_ci_high"], r["measure"])], r["verdict"]))
    return rows


def sensitivity_rows(frame: pl.DataFrame) -> list[tuple[list[str], str]]:
    return [([benefit_words(r["benefit"]), r["specification"].replace("_", " "),
              effect_words(r["effect"], r["ci_low"], r["ci_high"], r["measure"]),
              f"{count(r['certified_n'])} / {count(r['uncertified_n'])}", verdict_words(r["verdict"])], r["verdict"])
            for r in frame.iter_rows(named=True)]


def frame_rows(frame: pl.DataFrame) -> list[tuple[list[str], str]]:
    def cell(v):
        return count(v) if isinstance(v, int) and not isinstance(v, bool) else "–" if v is None else str(v)
    return [([cell(v) for v in r], "") for r in frame.rows()]


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------

def forest_figure(card: pl.DataFrame, month: str):
    """Each benefit's adjusted effect with its 95 % CI, the month and the whole period, one panel per
    measure; the verdict by marker shape and colour, its word and the sample sizes in a column of
    their own at the right (they never cross an interval)."""
    measures = [m for m in MEASURE_TITLES if m in set(card["measure"])]
    heights = [max(2, card.filter(pl.col("measure") == m).height) for m in measures]
    fig, axes = new_figure(len(measures), 1, gridspec_kw={"height_ratios": heights})
    for ax, measure in zip(axes[:, 0], measures):
        part = card.filter(pl.col("measure") == measure)
        labels, finite = [], []
        intervals, points = {}, {}  # by verdict: one artist each, not one per row (0.07 -> 0.05 s to build)
        for y, row in enumerate(part.iter_rows(named=True)):
            style = VERDICTS[row["verdict"]]
            labels.append(f"{benefit_words(row['benefit'])} · {period_words(row['month'])}")
            if row["effect"] is not None:
                if row["effect_ci_low"] is not None:
                    intervals.setdefault(row["verdict"], []).append((y, row["effect_ci_low"], row["effect_ci_high"]))
                    finite += [v for v in (row["effect_ci_low"], row["effect_ci_high"]) if 0 < abs(v) < float("inf")]
                points.setdefault(row["verdict"], []).append((y, row["effect"]))
                finite.append(row["effect"])
            ax.text(1.01, y, f"{verdict_symbol_words(row['verdict'])} · n={count(row['certified_n'])} / "
                             f"{count(row['uncertified_n'])}", transform=ax.get_yaxis_transform(), va="center",
                    fontsize=7, color=style["text"])
        for verdict, rows in intervals.items():
            ys, lows, highs = zip(*rows)
            ax.hlines(ys, lows, highs, color=VERDICTS[verdict]["color"], linewidth=2)
        for verdict, rows in points.items():
            style = VERDICTS[verdict]
            ys, xs = zip(*rows)
            ax.plot(xs, ys, style["marker"], color=style["color"], markersize=7,
                    markerfacecolor=style["color"] if style["filled"] else "white", markeredgewidth=1.5)
        null = 1.0 if measure == "rate_ratio" else 0.0
        ax.axvline(null, color="black", linewidth=0.8, linestyle="--")
        finite = [v for v in finite if v == v] or [null]
        if measure == "rate_ratio":
            positive = [v for v in finite if v > 0] or [1.0]
            ratio_axis(ax, min(positive), max(positive))
        elif measure == "difference_in_median_hours":
            span = max(abs(v) for v in finite)
            signed_hours_axis(ax, span)
        ax.set_yticks(range(len(labels)), labels, fontsize=7.5)
        ax.set_ylim(-0.7, len(labels) - 0.3)
        ax.invert_yaxis()
        axes_title(ax, MEASURE_TITLES[measure], fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
    handles = [plt.Line2D([], [], linestyle="none", marker=s["marker"], color=s["color"], markersize=7,
                          markerfacecolor=s["color"] if s["filled"] else "white", label=s["label"])
               for v, s in VERDICTS.items() if v in ("SUPPORTED", "CONTRADICTED", "INCONCLUSIVE", "INSUFFICIENT_DATA")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False, bbox_to_anchor=(0.5, FOOTER))
    fig.suptitle(f"CTPAT benefits, {month} and the whole period: adjusted effect and 95% CI "
                 "(n = observations certified / not certified)", fontsize=11)
    # Fixed margins: room for the benefit labels at the left and the verdict column at the right.
    fig.subplots_adjust(left=0.3, right=0.77, top=0.92, bottom=FOOTER + 0.08, hspace=0.35)
    return fig


def trend_figure(trend: pl.DataFrame, month: str):
    """Crude exam rate by month, certified vs not, with Wilson intervals; a month with fewer than 30
    entries on a side is drawn hollow and says so."""
    fig, axes = new_figure()
    ax = axes[0, 0]
    for status in ("CERTIFIED", "UNCERTIFIED"):
        part = trend.filter(pl.col("ctpat_status") == status)
        months = part["month"].to_list()
        ax.fill_between(months, (part["exam_rate_ci_low"] * 100).to_list(), (part["exam_rate_ci_high"] * 100).to_list(),
                        color=STATUS_COLORS[status], alpha=0.15)
        ax.plot(months, (part["exam_rate"] * 100).to_list(), STATUS_LINES[status], color=STATUS_COLORS[status],
                label=f"{'CTPAT certified' if status == 'CERTIFIED' else 'not certified'} "
                      f"(n={count(part['entries'].sum())} entries)")
        for m, r, n in zip(months, (part["exam_rate"] * 100).to_list(), part["entries"].to_list()):
            few = n < MIN_N
            ax.plot(m, r, STATUS_MARKERS[status], color=STATUS_COLORS[status], markersize=6,
                    markerfacecolor="white" if few else STATUS_COLORS[status])
    ax.set_ylabel("entries with at least one exam (%)")
    ax.set_xlabel("local month of arrival")
    ax.set_ylim(bottom=0)
    axes_title(ax, f"Exam rate by month through {month}, certified vs not certified importers\ncrude rates over all "
               "ports and modes; bands: Wilson 95% intervals; hollow markers: fewer than 30 entries", fontsize=11,
               loc="left")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    lay_out(fig)
    return fig


def text_pages(title: str, columns: list[Column], rows: list[tuple[list[str], str]], data: ReportData,
               intro: str = "", fontsize: float = 7.5) -> list:
    """A table as A4 pages of wrapped text in columns (as many pages as it needs); the verdict column
    with its verdict's marker, in its verdict's text colour."""
    width_in = A4_LANDSCAPE[0] * 0.94
    chars = [max(8, int(c.width * width_in * 72 / (0.56 * fontsize))) for c in columns]
    line = _pitch(fontsize)
    pages, fig, y = [], None, 0.0

    def new_page(first: bool):
        nonlocal fig, y
        fig = plt.figure(figsize=A4_LANDSCAPE)
        fig.text(0.03, 0.955, title if first else f"{title} (continued)", fontsize=13, weight="bold", va="top")
        y = 0.915
        if first and intro:
            wrapped = textwrap.wrap(intro, int(width_in * 72 / (0.56 * 8)))
            height = len(wrapped) * _pitch(8)
            pad = 0.008
            fig.add_artist(FancyBboxPatch((0.03 - pad, y - height - pad), 0.94 + 2 * pad, height + 2 * pad,
                                          boxstyle="round,pad=0,rounding_size=0.008", facecolor="#F2F2F2",
                                          edgecolor="#BBBBBB", mutation_aspect=A4_LANDSCAPE[0] / A4_LANDSCAPE[1],
                                          transform=fig.transFigure))
            _lines(fig, 0.03, y, wrapped, 8, color="#222222")
            y -= height + 0.035
        x = 0.03
        for c in columns:
            fig.text(x, y, c.title, fontsize=fontsize, weight="bold", va="top")
            x += c.width * 0.94
        y -= line * 1.4
        fig.add_artist(plt.Line2D([0.03, 0.97], [y + line * 0.3] * 2, color="#888888", linewidth=0.6))
        pages.append(fig)

    new_page(True)
    for cells, verdict in rows:
        wrapped = [textwrap.wrap(str(c), w) or [" "] for c, w in zip(cells, chars)]
        height = max(len(w) for w in wrapped) * line + line * 0.5
        if y - height < 0.06:
            new_page(False)
        x = 0.03
        for lines, c in zip(wrapped, columns):
            if verdict and c.title.startswith("verdict"):
                indent = _verdict_marker(fig, x, y - line * 0.4, verdict, fontsize)
                _lines(fig, x + indent, y, lines, fontsize, color=VERDICTS[verdict]["text"])
            else:
                _lines(fig, x, y, lines, fontsize, color="#222222")
            x += c.width * 0.94
        y -= height
    return pages


def _pitch(fontsize: float) -> float:
    """The distance from one line of text to the next, as a share of the page height."""
    return fontsize * 1.3 / 72 / A4_LANDSCAPE[1]


def _lines(fig, x: float, y: float, lines: list[str], fontsize: float, **style) -> None:
    """Lines of text from the top y down, one text per line on baselines a pitch apart: matplotlib
    spaces the lines of one text by their own ink heights, which in a core font (pdf_fonts) left
    some gaps visibly wider than others."""
    ascent = fontsize * 0.8 / 72 / A4_LANDSCAPE[1]
    for i, text in enumerate(lines):
        fig.text(x, y - ascent - i * _pitch(fontsize), text, fontsize=fontsize, va="baseline", **style)


def _verdict_marker(fig, x: float, y: float, verdict: str, fontsize: float) -> float:
    """The verdict's marker (the forest plot's shape and colour) centred at (x + half its width, y) in
    page coordinates; returns the page width it takes with a space after it."""
    style = VERDICTS[verdict]
    size = fontsize * 0.85  # points, about a capital letter's height
    half = size / 2 / 72 / A4_LANDSCAPE[0]
    fig.add_artist(plt.Line2D([x + half], [y], marker=style["marker"], markersize=size, color=style["color"],
                              markerfacecolor=style["color"] if style["filled"] else "white", markeredgewidth=1,
                              linestyle="none"))
    return 2 * half + fontsize * 0.4 / 72 / A4_LANDSCAPE[0]


def pdf_fonts(fig) -> dict:
    """The PDF settings a page is set with. A text page whose every character the PDF core fonts
    (Helvetica, Windows-1252) can show is set in them: the viewer supplies the font, so matplotlib
    lays a line out at once instead of glyph by glyph (a month's text pages 0.38 -> 0.10 s). The
    minus sign, which Windows-1252 lacks, becomes the hyphen-minus on such a page. Any other page
    keeps the embedded DejaVu Sans: a figure's tick labels are only formatted when it is drawn, so
    its text cannot be checked beforehand, and a name from the input may hold any character, which
    a core font would print as '?'."""
    if fig.axes:
        return {}
    texts = [(text, text.get_text().replace(MINUS, "-")) for text in fig.texts]
    try:
        for _, plain in texts:
            plain.encode("cp1252")
    except UnicodeEncodeError:
        return {}
    for text, plain in texts:
        text.set_text(plain)
    return {"pdf.use14corefonts": True}


def _figure_png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, **PNG)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------

@dataclass
class Figure:
    caption: str
    fig: object
    file: str | None = None  # also written as reports/<month>/<file> (PNG)
    png: bytes = b""  # rendered once, for the HTML page and the file


def month_figures(data: ReportData) -> list[Figure]:
    month = data.month
    figures = [Figure("CTPAT benefits: forest plot", forest_figure(data.scorecard, month), "scorecard_forest.png"),
               Figure("Exam-rate trend", trend_figure(data.trend, month), "exam_rate_trend.png"),
               Figure("Exam rate by mode", exam_rate_figure(data.rates, month, data.modes), "exam_rate_by_mode.png"),
               Figure("Release time by mode", release_time_figure(data.profile, month, data.modes),
                      "release_time_by_mode.png")]
    if not data.backlog.is_empty():
        figures.append(Figure("Business resumption: backlog after port closures reopened",
                              recovery_figure(data.backlog, data.closures, month), "resumption_recovery.png"))
    figures.append(Figure(f"Border waits in {month}: FAST vs standard by crossing",
                          lane_wait_by_crossing_figure(data.border, data.border_dates, f"in {month}"),
                          "border_waits.png"))
    return figures


def write_pdf(data: ReportData, figures: list[Figure], path: Path) -> int:
    """Page one the claims, then the scorecard, the sensitivity table, one vector page per figure,
    data quality and provenance; every page with the provenance line in words."""
    footer = provenance_words(data)
    pages = [*text_pages(f"Does CTPAT deliver what CBP promises? {data.month} and the whole period", CLAIM_COLUMNS,
                         claim_rows(data.claims), data, intro=HOW_TO_READ_PDF),
             *text_pages(f"CTPAT benefit scorecard, {data.month} and the whole period", SCORE_COLUMNS,
                         scorecard_rows(data.scorecard), data,
                         intro="Effects are certified relative to not certified traffic: a benefit is a ratio below 1 "
                               "or a difference below 0. " + " ".join(f"{n}: {t}" for n, t in DESIGNS[:2]),
                         fontsize=7),
             *text_pages("Does the answer depend on the specification? (whole period)", SENSITIVITY_COLUMNS,
                         sensitivity_rows(data.sensitivity), data, fontsize=7),
             *[f.fig for f in figures],
             *text_pages("Data quality: landing files", [Column(c.replace("_", " "), 1 / len(data.audit.columns))
                                                         for c in data.audit.columns], frame_rows(data.audit), data),
             *text_pages("Data quality: rejected rows by reason", [Column(c, 1 / 3) for c in data.rejections.columns],
                         frame_rows(data.rejections), data),
             *text_pages("Provenance: input files and their SHA-256", [Column("source", 0.1), Column("file", 0.4),
                                                                       Column("SHA-256", 0.5)],
                         [([f["source"], f["file_name"], f["content_hash"]], "") for f in data.inputs], data,
                         intro=provenance_words(data) + ".")]
    with replaced_on_success(path) as partial, PdfPages(partial) as pdf:
        for fig in pages:
            fig.text(0.5, 0.008, footer, ha="center", fontsize=6, color="#555555")
            with matplotlib.rc_context(pdf_fonts(fig)):
                pdf.savefig(fig)
    for fig in pages:
        if fig not in [f.fig for f in figures]:
            plt.close(fig)
    return len(pages)


def _table_html(columns: list[str], rows: list[tuple[list[str], str]], verdict_column: str | None = None) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for cells, verdict in rows:
        tds = "".join(f'<td class="v-{verdict}">{html.escape(verdict_symbol_words(verdict))}</td>'
                      if verdict and name == verdict_column
                      else f"<td>{html.escape(str(c))}</td>" for name, c in zip(columns, cells))
        body.append(f"<tr>{tds}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def write_html(data: ReportData, figures: list[Figure], path: Path) -> None:
    """A single page with every figure embedded (data: URIs), so it can be mailed or archived alone."""
    verdict_css = "".join(f"td.v-{k} {{ color: {v['text']}; font-weight: bold; white-space: nowrap; }}" for k, v in VERDICTS.items())
    claims_html = _table_html([c.title for c in CLAIM_COLUMNS], claim_rows(data.claims), "verdict")
    card_html = _table_html([c.title for c in SCORE_COLUMNS], scorecard_rows(data.scorecard), "verdict")
    sensitivity_html = _table_html([c.title for c in SENSITIVITY_COLUMNS], sensitivity_rows(data.sensitivity), "verdict")
    designs = "".join(f"<li><strong>{html.escape(name)}</strong>: {html.escape(text)}</li>" for name, text in DESIGNS)
    images = "".join(
        f'<figure><img alt="{html.escape(f.caption)}" src="data:image/png;base64,'
        f'{base64.b64encode(f.png or _figure_png(f.fig)).decode()}"><figcaption>{html.escape(f.caption)}</figcaption></figure>'
        for f in figures)
    audit = _table_html([c.replace("_", " ") for c in data.audit.columns], frame_rows(data.audit))
    rejections = _table_html(data.rejections.columns, frame_rows(data.rejections))
    inputs = _table_html(["source", "file", "SHA-256"], [([f["source"], f["file_name"], f["content_hash"]], "")
                                                         for f in data.inputs])
    write_text(path, f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>CTPAT benefit report {html.escape(data.month)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1150px; color: #222222; background: #ffffff; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 1em 0; width: 100%; }}
td {{ overflow-wrap: anywhere; vertical-align: top; }}
th, td {{ border: 1px solid #cccccc; padding: 0.3em 0.5em; text-align: left; }}
th {{ background: #f2f2f2; color: #222222; }}
.how {{ background: #f2f2f2; border: 1px solid #bbbbbb; border-radius: 6px; padding: 0.6em 1em; font-size: 0.9em; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; }} figcaption {{ color: #444444; }}
footer {{ font-size: 0.8em; color: #555555; border-top: 1px solid #cccccc; margin-top: 2em; padding-top: 1em; }}
{verdict_css}
</style></head>
<body>
<h1>Does CTPAT deliver what CBP promises? {html.escape(data.month)} and the whole period</h1>
<p class="how">{html.escape(HOW_TO_READ)}</p>
{claims_html}
<h2>What each design can and cannot rule out</h2>
<ul>{designs}</ul>
<h2>Scorecard</h2>
<p>Effects are certified relative to not certified traffic: a benefit is a ratio below 1 or a difference below 0.</p>
{card_html}
<h2>Does the answer depend on the specification? (whole period)</h2>
{sensitivity_html}
<h2>Charts</h2>
{images}
<h2>Data quality</h2>
<h3>Landing files</h3>
{audit}
<h3>Rejected rows by reason</h3>
{rejections}
<h2>Provenance</h2>
<p>{html.escape(provenance_words(data))}. Code version as recorded: {html.escape(data.code_version)}.</p>
{inputs}
<footer>{html.escape(provenance_words(data))}</footer>
</body></html>
""")


# The PNG files a month's report writes beside its PDF and HTML (once drawn for the report, each is
# saved as it is: a separate drawing of the same charts was a fifth of the drawing time).
REPORT_FILES = ("exam_rate_by_mode.png", "release_time_by_mode.png", "scorecard_forest.png", "exam_rate_trend.png",
                "resumption_recovery.png", "border_waits.png")


def build_monthly_report(analytics: Path, reports: Path, month: str) -> tuple[Path, Path, int]:
    """The month's PDF and HTML under reports/<month>/, and the PNG of the report's own figures
    beside them (a figure the month no longer has, e.g. a closure corrected into another month,
    leaves no stale file)."""
    data = load(analytics, month)
    folder = reports / month
    folder.mkdir(parents=True, exist_ok=True)
    figures = month_figures(data)
    pdf, page = folder / f"ctpat_report_{month}.pdf", folder / f"ctpat_report_{month}.html"
    try:
        for f in figures:  # the raster once, before the PDF's provenance line is added to the figure
            f.png = _figure_png(f.fig)
            if f.file:
                with replaced_on_success(folder / f.file) as partial:
                    partial.write_bytes(f.png)
        pages = write_pdf(data, figures, pdf)
        write_html(data, figures, page)
    finally:
        for f in figures:
            plt.close(f.fig)
    drawn = {f.file for f in figures}
    for name in REPORT_FILES:
        if name not in drawn:
            (folder / name).unlink(missing_ok=True)
    return pdf, page, pages

