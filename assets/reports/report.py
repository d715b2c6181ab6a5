"""The monthly report: one PDF and one self-contained HTML page per month, from the published marts.

Contents: the CTPAT benefit scorecard (the month and the whole period), its forest plot, the exam-rate
trend, the month's charts and the border-wait charts, a data-quality summary, and a footer that
traces every number to its input files (SHA-256) and code version.
"""

from __future__ import annotations

import base64
import html
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import polars as pl  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from assets.marts.pseudonyms import one_line  # noqa: E402
from assets.reports.charts import STATUS_COLORS, recovery_chart  # noqa: E402
from assets.reports.files import replaced_on_success, save_figure, write_text  # noqa: E402

VERDICT_COLORS = {"SUPPORTED": "#1b7837", "CONTRADICTED": "#b2182b", "INCONCLUSIVE": "#777777",
                  "INSUFFICIENT_DATA": "#bbbbbb", "NOT_SHOWN": "#777777", "NOT_MEASURABLE": "#bbbbbb"}
MEASURE_LABELS = {"rate_ratio": "exam-rate ratio, certified / uncertified (log scale; < 1 = benefit)",
                  "difference_in_median_hours": "difference in median hours, certified - uncertified (symmetric log scale; < 0 = benefit)",
                  "difference_in_mean_minutes": "FAST - standard lane delay, minutes (< 0 = benefit)"}


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
    backlog: pl.DataFrame  # recovery curves of the closures reopening in the month
    closures: pl.DataFrame  # their rows of marts.disruption_recovery


def load(analytics: Path, month: str) -> ReportData:
    with duckdb.connect(str(analytics), read_only=True) as con:
        claims = con.sql("SELECT * FROM marts.ctpat_claims WHERE month IN (?, 'ALL') ORDER BY month = 'ALL'",
                         params=[month]).pl()
        card = con.sql("SELECT * FROM marts.ctpat_benefits WHERE month IN (?, 'ALL')", params=[month]).pl()
        sensitivity = con.sql("SELECT * FROM marts.ctpat_benefit_sensitivity WHERE month = 'ALL'").pl()
        trend = con.sql("SELECT * FROM marts.exam_rates_by_month WHERE month <= ? ORDER BY month", params=[month]).pl()
        audit = con.sql("SELECT source, status, count(*) AS files, sum(rows_read) AS rows_read, sum(rows_loaded) AS "
                        "rows_loaded, sum(rows_rejected) AS rows_rejected FROM marts.load_audit GROUP BY ALL "
                        "ORDER BY ALL").pl()
        rejections = con.sql("SELECT * FROM marts.rejections ORDER BY source, rows DESC").pl()
        backlog = con.sql("SELECT * FROM marts.disruption_backlog WHERE month = ?", params=[month]).pl()
        closures = con.sql("SELECT * FROM marts.disruption_recovery WHERE month = ?", params=[month]).pl()
        run_id, inputs, version = con.execute("SELECT run_id, input_files, code_version FROM marts.published_runs "
                                              "ORDER BY published_at DESC LIMIT 1").fetchone()
    # A file name keeps its line ends in the audit (the name as delivered); on a page it takes one line.
    files = [dict(f, file_name=one_line(f["file_name"])) for f in json.loads(inputs)]
    return ReportData(month, claims, card, sensitivity, trend, audit, rejections, files, version, run_id, backlog, closures)


def forest_plot(card: pl.DataFrame, month: str, path: Path) -> None:
    """Each benefit's effect with its 95 % CI, for the month and the whole period, by measure."""
    measures = [m for m in MEASURE_LABELS if m in set(card["measure"])]
    heights = [max(2, card.filter(pl.col("measure") == m)["benefit"].n_unique()) for m in measures]
    fig, axes = plt.subplots(len(measures), 1, figsize=(10, 1.2 + 0.55 * sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, measure in zip(axes[:, 0], measures):
        part = card.filter(pl.col("measure") == measure)
        benefits = list(dict.fromkeys(part["benefit"].to_list()))
        for row in part.iter_rows(named=True):
            y = benefits.index(row["benefit"]) + (-0.15 if row["month"] != "ALL" else 0.15)
            color = VERDICT_COLORS[row["verdict"]]
            if row["effect"] is None:
                ax.annotate(f"{row['month']}: no estimate", (0.01, y), xycoords=("axes fraction", "data"),
                            fontsize=7, color=color, va="center")
                continue
            if row["effect_ci_low"] is not None:
                ax.hlines(y, row["effect_ci_low"], row["effect_ci_high"], color=color, linewidth=2)
            ax.plot(row["effect"], y, "o" if row["month"] != "ALL" else "D", color=color, markersize=6)
            ax.annotate(f"{row['month']} {row['verdict'].lower().replace('_', ' ')} (n={row['certified_n']:,}/"
                        f"{row['uncertified_n']:,})", (row["effect"], y), xytext=(0, 6), textcoords="offset points",
                        fontsize=6.5, ha="center", color=color)
        null = 1.0 if measure == "rate_ratio" else 0.0
        ax.axvline(null, color="black", linewidth=0.8, linestyle="--")
        if measure == "rate_ratio":
            ax.set_xscale("log")
        elif measure == "difference_in_median_hours":
            ax.set_xscale("symlog", linthresh=1.0)  # detentions last weeks, inspection waits hours
        ax.set_yticks(range(len(benefits)), benefits, fontsize=8)
        ax.set_ylim(-0.7, len(benefits) - 0.3)
        ax.invert_yaxis()
        ax.set_xlabel(MEASURE_LABELS[measure], fontsize=8)
        ax.grid(axis="x", which="both", alpha=0.3)
    fig.suptitle(f"CTPAT benefits, {month} (circles) and whole period (diamonds): effect and 95 % CI\n"
                 "green: supported; red: contradicted; grey: inconclusive or too little data", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def trend_chart(trend: pl.DataFrame, month: str, path: Path) -> None:
    """Crude exam rate by month, certified vs uncertified, with Wilson intervals."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for status in ("CERTIFIED", "UNCERTIFIED"):
        part = trend.filter(pl.col("ctpat_status") == status)
        months = part["month"].to_list()
        rate = (part["exam_rate"] * 100).to_list()
        ax.fill_between(months, (part["exam_rate_ci_low"] * 100).to_list(), (part["exam_rate_ci_high"] * 100).to_list(),
                        color=STATUS_COLORS[status], alpha=0.2)
        ax.plot(months, rate, "o-", color=STATUS_COLORS[status],
                label=f"{status.title()} (n={int(part['entries'].sum()):,} entries)")
    ax.set_ylabel("entries examined (%)")
    ax.set_xlabel("local month of arrival")
    ax.set_title(f"Exam rate by month, certified vs uncertified importers, through {month}\n"
                 "crude rates over all ports and modes; bands: Wilson 95 % intervals", fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


def _fmt(value, measure: str | None = None) -> str:
    if value is None:
        return "–"
    if measure == "rate_ratio":
        return f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


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


def _interval(low, high, measure) -> str:
    return f"{_fmt(low, measure)} to {_fmt(high, measure)}" if low is not None else "–"


def scorecard_rows(card: pl.DataFrame) -> list[list[str]]:
    header = ["month", "benefit", "design", "certified", "uncertified", "effect", "95% CI", "crude (95% CI)",
              "E-value", "n cert / uncert", "importers", "verdict"]
    rows = [header]
    for r in card.iter_rows(named=True):
        value_measure = "rate_ratio" if r["measure"] == "rate_ratio" else None
        crude = (f"{_fmt(r['crude_effect'], r['measure'])} ({_interval(r['crude_ci_low'], r['crude_ci_high'], r['measure'])})"
                 if r["crude_effect"] is not None else "–")
        importers = (f"{r['switching_importers']:,} changed status" if r["design"] == "within_importer"
                     else f"{r['certified_importers']:,} / {r['uncertified_importers']:,}"
                     if r["certified_importers"] is not None else "–")
        rows.append([r["month"], r["benefit"], r["design"].replace("_", " "), _fmt(r["certified_value"], value_measure),
                     _fmt(r["uncertified_value"], value_measure), _fmt(r["effect"], r["measure"]),
                     _interval(r["effect_ci_low"], r["effect_ci_high"], r["measure"]), crude,
                     _fmt(r["e_value"], "rate_ratio"), f"{r['certified_n']:,} / {r['uncertified_n']:,}", importers,
                     r["verdict"]])
    return rows


def sensitivity_rows(frame: pl.DataFrame) -> list[list[str]]:
    rows = [["benefit", "specification", "effect", "95% CI", "n cert / uncert", "verdict"]]
    for r in frame.iter_rows(named=True):
        rows.append([r["benefit"], r["specification"].replace("_", " "), _fmt(r["effect"], r["measure"]),
                     _interval(r["ci_low"], r["ci_high"], r["measure"]), f"{r['certified_n']:,} / {r['uncertified_n']:,}",
                     r["verdict"]])
    return rows


def claim_rows(claims: pl.DataFrame) -> list[list[str]]:
    rows = [["period", "CBP's claim", "verdict", "answer"]]
    for r in claims.iter_rows(named=True):
        rows.append([r["month"], r["claim"].replace("_", " "), r["verdict"], r["answer"]])
    return rows


def chart_files(folders: list[Path], month: str) -> list[tuple[str, Path]]:
    """The charts the report shows, in order, with captions; each from the first folder that has it
    (the run's staging folder, then the published reports); only those that exist."""
    candidates = [
        ("CTPAT benefits: forest plot", Path(month) / "scorecard_forest.png"),
        ("Exam-rate trend", Path(month) / "exam_rate_trend.png"),
        ("Exam rate by mode", Path(month) / "exam_rate_by_mode.png"),
        ("Release time by mode", Path(month) / "release_time_by_mode.png"),
        ("Business resumption: backlog after port closures reopened", Path(month) / "resumption_recovery.png"),
        ("Border waits: FAST vs standard by crossing", Path("border_waits") / "fast_vs_standard_by_crossing.png"),
        ("Border waits: by hour at the busiest crossings", Path("border_waits") / "fast_vs_standard_by_hour.png"),
    ]
    found = [(caption, next((f / p for f in folders if (f / p).exists()), None)) for caption, p in candidates]
    return [(caption, path) for caption, path in found if path is not None]


def footer(data: ReportData) -> str:
    return (f"code {data.code_version} · run {data.run_id} · {len(data.inputs)} input files "
            f"(SHA-256 listed under Provenance)")


def write_pdf(data: ReportData, charts: list[tuple[str, Path]], path: Path) -> int:
    """One page for the scorecard, one per chart, one for data quality, one for provenance."""
    pages = 0
    with replaced_on_success(path) as partial, PdfPages(partial) as pdf:
        def page(fig):
            nonlocal pages
            fig.text(0.5, 0.01, footer(data), ha="center", fontsize=6, color="#555555")
            pdf.savefig(fig)
            plt.close(fig)
            pages += 1

        fig = plt.figure(figsize=(11.7, 8.3))
        fig.suptitle(f"Does CTPAT deliver what CBP promises? {data.month} and the whole period", fontsize=14, y=0.97)
        y = 0.92
        for r in data.claims.iter_rows(named=True):
            period = "whole period" if r["month"] == "ALL" else r["month"]
            fig.text(0.03, y, f"{r['claim'].replace('_', ' ')} ({period}): {r['verdict']}", fontsize=7.5,
                     weight="bold", va="top")
            wrapped = textwrap.fill(r["answer"], 190)
            fig.text(0.05, y - 0.017, wrapped, fontsize=6.5, va="top")
            y -= 0.017 + 0.0125 * (wrapped.count("\n") + 1) + 0.008
        page(fig)
        fig = plt.figure(figsize=(11.7, 8.3))
        fig.suptitle(f"CTPAT benefit scorecard, {data.month}", fontsize=14, y=0.97)
        designs = "\n".join(textwrap.fill(f"{name}: {text}", 200) for name, text in DESIGNS)
        fig.text(0.02, 0.93, designs, fontsize=6, va="top")
        # One monospaced text block: a matplotlib table measures every cell's text several times.
        fig.text(0.02, 0.93 - 0.0125 * (designs.count("\n") + 2), _text_table(scorecard_rows(data.scorecard)),
                 family="monospace", fontsize=5.2, va="top")
        page(fig)
        for caption, chart in charts:
            fig = plt.figure(figsize=(11.7, 8.3))
            fig.suptitle(caption, fontsize=12, y=0.97)
            ax = fig.add_axes([0.03, 0.05, 0.94, 0.88])
            ax.imshow(mpimg.imread(chart))
            ax.axis("off")
            page(fig)
        fig = plt.figure(figsize=(11.7, 8.3))
        fig.suptitle("Data quality: landing files and rejected rows", fontsize=12, y=0.97)
        for box, frame in (([0.02, 0.5, 0.96, 0.4], data.audit), ([0.02, 0.05, 0.96, 0.4], data.rejections)):
            ax = fig.add_axes(box)
            ax.axis("off")
            if not frame.is_empty():
                ax.text(0, 1, _text_table([frame.columns, *[[_fmt(v) for v in r] for r in frame.rows()]]),
                        family="monospace", fontsize=7, va="top", transform=ax.transAxes)
        page(fig)
        fig = plt.figure(figsize=(11.7, 8.3))
        fig.suptitle("Provenance: input files (SHA-256) and code version", fontsize=12, y=0.97)
        lines = [f"code version: {data.code_version}", f"run: {data.run_id}", ""] + [
            f"{f['source']:<8} {f['file_name']:<40} {f['content_hash']}" for f in data.inputs]
        fig.text(0.03, 0.92, "\n".join(lines[:70]), family="monospace", fontsize=6, va="top")
        page(fig)
    return pages


def _text_table(rows: list[list[str]]) -> str:
    """Rows as aligned monospaced text, the header underlined."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def _table_html(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows[1:])
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_html(data: ReportData, charts: list[tuple[str, Path]], path: Path) -> None:
    """A single page with every chart embedded (data: URIs), so it can be mailed or archived alone."""
    verdict_css = "".join(f'td.v-{k} {{ color: {c}; font-weight: bold; }}' for k, c in VERDICT_COLORS.items())

    def with_verdicts(table: str) -> str:
        for verdict in VERDICT_COLORS:
            table = table.replace(f"<td>{verdict}</td>", f'<td class="v-{verdict}">{verdict}</td>')
        return table
    card_html = with_verdicts(_table_html(scorecard_rows(data.scorecard)))
    claims_html = with_verdicts(_table_html(claim_rows(data.claims)))
    sensitivity_html = with_verdicts(_table_html(sensitivity_rows(data.sensitivity)))
    designs = "".join(f"<li><strong>{html.escape(name)}</strong>: {html.escape(text)}</li>" for name, text in DESIGNS)
    figures = "".join(
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,'
        f'{base64.b64encode(chart.read_bytes()).decode()}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        for caption, chart in charts)
    audit = _table_html([data.audit.columns] + [[_fmt(v) for v in r] for r in data.audit.rows()])
    rejections = _table_html([data.rejections.columns] + [[_fmt(v) for v in r] for r in data.rejections.rows()])
    inputs = _table_html([["source", "file", "SHA-256"]] + [[f["source"], f["file_name"], f["content_hash"]]
                                                             for f in data.inputs])
    write_text(path, f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>CTPAT benefit report {html.escape(data.month)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 1150px; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.8em; margin: 1em 0; width: 100%; }}
td {{ overflow-wrap: anywhere; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; }}
th {{ background: #f2f2f2; }}
figure {{ margin: 2em 0; }} img {{ max-width: 100%; }}
footer {{ font-size: 0.75em; color: #555; border-top: 1px solid #ccc; margin-top: 2em; padding-top: 1em; }}
{verdict_css}
</style></head>
<body>
<h1>CTPAT benefit report, {html.escape(data.month)}</h1>
<h2>Does CTPAT deliver what CBP promises?</h2>
{claims_html}
<h2>What each design can and cannot rule out</h2>
<ul>{designs}</ul>
<h2>Scorecard</h2>
<p>Effects are certified relative to uncertified traffic: a benefit shows as a ratio below 1 or a difference below 0.</p>
{card_html}
<h2>Does the answer depend on the specification? (whole period)</h2>
{sensitivity_html}
<h2>Charts</h2>
{figures}
<h2>Data quality</h2>
<h3>Landing files</h3>
{audit}
<h3>Rejected rows by reason</h3>
{rejections}
<h2>Provenance</h2>
{inputs}
<footer>{html.escape(footer(data))}</footer>
</body></html>
""")


def report_months(analytics: Path) -> list[str]:
    with duckdb.connect(str(analytics), read_only=True) as con:
        return [r[0] for r in con.execute("SELECT DISTINCT month FROM marts.exam_rates ORDER BY 1").fetchall()]


def build_monthly_report(analytics: Path, reports: Path, month: str,
                         published: Path | None = None) -> tuple[Path, Path, int]:
    """The month's PDF and HTML under reports/<month>/; charts not drawn there come from `published`."""
    data = load(analytics, month)
    folder = reports / month
    folder.mkdir(parents=True, exist_ok=True)
    forest_plot(data.scorecard, month, folder / "scorecard_forest.png")
    trend_chart(data.trend, month, folder / "exam_rate_trend.png")
    recovery = folder / "resumption_recovery.png"
    if not data.backlog.is_empty():
        recovery_chart(data.backlog, data.closures, month, recovery)
    else:  # a closure corrected into another month leaves no chart behind here
        recovery.unlink(missing_ok=True)
    charts = [(caption, chart) for caption, chart in chart_files([reports, *([published] if published else [])], month)
              if chart.name != recovery.name or not data.backlog.is_empty()]  # never a published chart of a moved closure
    pdf, page = folder / f"ctpat_report_{month}.pdf", folder / f"ctpat_report_{month}.html"
    pages = write_pdf(data, charts, pdf)
    write_html(data, charts, page)
    return pdf, page, pages
