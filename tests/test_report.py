"""The monthly report renders: PDF pages, an HTML page with nothing missing, checked in a real browser."""

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import duckdb
import pytest

from browser import chromium_or_skip, inspect_page
from pipelines.sample_data import Effects, generate

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from conftest import Paths, TEST_KEY

    mp = pytest.MonkeyPatch()
    mp.setenv("EXAM_RISK_PSEUDONYM_KEY", TEST_KEY)
    paths = Paths(tmp_path_factory.mktemp("report"))
    # April to September: September has the real Border Wait Times snapshots (2026-09-09 and -17);
    # port closures reopen in June and August (their recovery charts are measured too).
    generate(paths.landing, entries=20_000, seed=5, start="2026-04", effects=Effects(disruptions=True))
    outcome = paths.run()
    mp.undo()
    assert outcome.exit_code == 0, outcome.message
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        month = con.execute("SELECT max(month) FROM marts.exam_rates").fetchone()[0]
    return paths, month


def test_every_month_has_a_pdf_and_an_html_report(published):
    paths, _ = published
    months = sorted(p.name for p in paths.reports.glob("2026-*"))
    assert months == [f"2026-{m:02d}" for m in range(4, 10)]
    for month in months:
        assert (paths.reports / month / f"ctpat_report_{month}.pdf").stat().st_size > 10_000
        assert (paths.reports / month / f"ctpat_report_{month}.html").stat().st_size > 10_000


def test_either_drawing_asset_is_materialized_alone(published, tmp_path, monkeypatch):
    """One step draws border_wait_charts and monthly_report; the UI or a schedule may ask for one:
    the step then draws only that one (monthly_report: the configured month)."""
    import dagster as dg

    from assets.reports.assets import charts_and_reports
    from assets.resources import resources_from_env
    from conftest import TEST_KEY

    paths, month = published
    monkeypatch.setenv("EXAM_RISK_PSEUDONYM_KEY", TEST_KEY)
    reports = tmp_path / "reports"
    resources = resources_from_env(landing=str(paths.landing), warehouse=str(paths.warehouse),
                                   analytics=str(paths.analytics), reports=str(reports))
    pdf = reports / month / f"ctpat_report_{month}.pdf"
    with dg.DagsterInstance.ephemeral() as instance:
        for selected, folders in ((["monthly_report"], [month]), (["border_wait_charts"], [month, "border_waits"])):
            drawn_before = pdf.stat().st_mtime_ns if pdf.exists() else None
            result = dg.materialize([charts_and_reports], selection=selected, resources=resources, instance=instance,
                                    run_config={"ops": {"charts_and_reports": {"config": {"month": month}}}})
            assert result.success
            assert [m.asset_key.to_user_string() for m in result.asset_materializations_for_node("charts_and_reports")] == selected
            assert sorted(p.name for p in reports.iterdir()) == folders
    assert pdf.stat().st_mtime_ns == drawn_before  # the border-wait charts' run left the report alone
    assert sorted(p.name for p in (reports / "border_waits").iterdir()) == [
        "fast_vs_standard_by_crossing.png", "fast_vs_standard_by_hour.png"]


def test_border_wait_charts_are_redrawn_only_when_what_they_show_changes(published, tmp_path):
    """Each folder chart carries the digest of what it shows: the same readings drawn again give the
    same digest, and published charts that hold it are current (the drawing step draws nothing); a
    changed reading or a missing chart is not, and both are drawn again."""
    from assets.reports.border_waits import BORDER_WAIT_FILES, charts_current, drawn_from
    from assets.reports.charts import draw_border_wait_charts

    paths, _ = published
    shown = {drawn_from(paths.reports / "border_waits" / name) for name in BORDER_WAIT_FILES}
    assert len(shown) == 1 and None not in shown  # the run drew both from one digest

    assert charts_current(paths.analytics, paths.reports)
    assert not charts_current(paths.analytics, tmp_path / "never drawn")
    again = draw_border_wait_charts(paths.analytics, tmp_path / "fresh")
    assert {drawn_from(p) for p in again} == shown  # the same readings and code: the same digest

    published_copy = tmp_path / "published"
    shutil.copytree(paths.reports / "border_waits", published_copy / "border_waits")
    assert charts_current(paths.analytics, published_copy)
    (published_copy / "border_waits" / BORDER_WAIT_FILES[1]).unlink()
    assert not charts_current(paths.analytics, published_copy)
    # Whatever else lies where a chart should be reads as no digest: text, a folder, a PNG header
    # claiming 100,000 x 100,000 pixels (Pillow refuses to open it).
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    bomb = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    oddities = {"text.png": b"not a chart", "bomb.png": bomb}
    for name, data in oddities.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "folder.png").mkdir()
    assert [drawn_from(tmp_path / name) for name in (*oddities, "folder.png", "absent.png")] == [None] * 4

    changed = tmp_path / "changed.duckdb"
    shutil.copy(paths.analytics, changed)
    with duckdb.connect(str(changed)) as con:
        # One reading of a crossing the charts show (one with FAST lane readings).
        con.execute("UPDATE marts.lane_wait_times SET mean_delay_minutes = mean_delay_minutes + 1 "
                    "WHERE rowid = (SELECT min(rowid) FROM marts.lane_wait_times WHERE readings > 0 AND port_number IN "
                    "(SELECT port_number FROM marts.lane_wait_times WHERE lane = 'FAST' AND readings > 0))")
    assert not charts_current(changed, paths.reports)
    redrawn = draw_border_wait_charts(changed, tmp_path / "redrawn")
    assert len(redrawn) == 2 and {drawn_from(p) for p in redrawn}.isdisjoint(shown)


def test_a_run_with_nothing_new_draws_nothing_and_imports_no_matplotlib(published, paths):
    """No month rebuilt and the folder's border-wait charts current: the drawing step finds nothing
    to draw without importing matplotlib (a process of its own, as a CLI or a scheduled run is)."""
    import os
    import sys

    from conftest import copy_of

    copy_of(published[0].root, paths)  # and the test key in the environment the process inherits
    charts = sorted((paths.reports / "border_waits").iterdir())
    before = [c.stat().st_mtime_ns for c in charts]
    code = ("import sys; from pipelines.runner import run_pipeline; "
            f"o = run_pipeline(landing={str(paths.landing)!r}, warehouse={str(paths.warehouse)!r}, "
            f"analytics={str(paths.analytics)!r}, reports={str(paths.reports)!r}); "
            "print(o.exit_code, 'matplotlib' in sys.modules)")
    ran = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, text=True,
                         capture_output=True, env=dict(os.environ), timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.split()[-2:] == ["0", "False"], ran.stdout[-3000:]
    assert [c.stat().st_mtime_ns for c in charts] == before  # left as they were, not drawn again


def _pdftools():
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext")):
        chromium_or_skip()  # the same rule: required in CI (poppler-utils), skipped visibly elsewhere
        pytest.skip("pdftoppm/pdftotext (poppler-utils) are not installed")


def _answers(paths, month: str) -> list[str]:
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        return [a for (a,) in con.execute("SELECT answer FROM marts.ctpat_claims WHERE month IN (?, 'ALL')",
                                          [month]).fetchall()]


def test_pdf_page_one_is_the_answer_and_every_page_renders(published, tmp_path):
    _pdftools()
    paths, month = published
    pdf = paths.reports / month / f"ctpat_report_{month}.pdf"
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    ARTIFACTS.mkdir(exist_ok=True)  # page one as a reader sees it
    subprocess.run(["pdftoppm", "-r", "90", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(ARTIFACTS / f"report_{month}_pdf_page1")], check=True)
    # claims, scorecard, sensitivity, forest, trend, exam rate, release time, border waits, data quality (2),
    # provenance: at least these, more when a table runs over a page
    assert len(pages) >= 11
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert first.startswith(f"Does CTPAT deliver what CBP promises? {month} and the whole period")
    assert "How to read this" in first
    # Every claim's sentence, verbatim, with the marts' numbers (lines joined back as the page wrapped them).
    flat = " ".join(first.split())
    missing = [a for a in _answers(paths, month) if " ".join(a.split()) not in flat]
    assert missing == []
    # Units and separators, and the provenance line in words on the page.
    assert "Published " in flat and "input files" in flat and "git commit" in flat
    # The text pages are set in the core fonts (report.pdf_fonts), the figures in the embedded DejaVu Sans.
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Helvetica " in fonts and "DejaVuSans " in fonts


def test_a_text_page_takes_the_core_fonts_only_when_they_have_every_character():
    import matplotlib.pyplot as plt

    from assets.reports import report

    def page(cell: str):
        row = ([cell, "whole period", "design", "effect", report.verdict_words("SUPPORTED"), "1 / 2", "3 / 4", "-"],
               "SUPPORTED")
        [fig] = report.text_pages("title", report.SCORE_COLUMNS, [row], None, intro="Café · 5× fewer – 0.1")
        return fig

    minus = page("\N{MINUS SIGN}4.2 h (95% CI \N{MINUS SIGN}10 h to 1.7 h)")
    assert report.pdf_fonts(minus) == {"pdf.use14corefonts": True}
    texts = [t.get_text() for t in minus.texts]
    assert "-4.2 h (95% CI -10 h to 1.7 h)" in texts and "supported" in texts  # the marker, not a glyph
    assert not any("\N{MINUS SIGN}" in t for t in texts)
    named = page("entries_\N{LATIN CAPITAL LETTER L WITH STROKE}\u00f3d\u017a.csv")  # not in Windows-1252
    assert report.pdf_fonts(named) == {}
    assert "entries_\N{LATIN CAPITAL LETTER L WITH STROKE}\u00f3d\u017a.csv" in [t.get_text() for t in named.texts]
    figure, _ = plt.subplots()
    assert report.pdf_fonts(figure) == {}  # tick labels are only known once drawn
    for fig in (minus, named, figure):
        plt.close(fig)


def test_every_text_page_and_chart_has_no_overlapping_labels(published):
    """Every figure of a report (the PDF's vector pages, the HTML's images), every text page, and the
    folder's charts, with labels measured in the rendered figure (matplotlib text extents)."""
    import matplotlib.pyplot as plt

    from assets.reports import report
    from assets.reports.border_waits import border_wait_frames, busiest_crossings
    from assets.reports.charts import lane_wait_by_hour_figure
    from assets.reports.style import overlapping_texts

    paths, month = published
    for m in (month, "2026-06"):
        data = report.load(paths.analytics, m)
        drawn = report.month_figures(data)
        figures = [f.fig for f in drawn]
        if m == "2026-06":  # the hurricane reopens in June: its recovery chart is measured too
            assert any(f.caption.startswith("Business resumption") for f in drawn)
        pages = [*report.text_pages("claims", report.CLAIM_COLUMNS, report.claim_rows(data.claims), data,
                                    intro=report.HOW_TO_READ_PDF),
                 *report.text_pages("scorecard", report.SCORE_COLUMNS, report.scorecard_rows(data.scorecard), data,
                                    fontsize=7),
                 *report.text_pages("sensitivity", report.SENSITIVITY_COLUMNS,
                                    report.sensitivity_rows(data.sensitivity), data, fontsize=7)]
        for fig in [*figures, *pages]:
            title = fig._suptitle.get_text() if fig._suptitle else (fig.axes[0].get_title(loc="left") if fig.axes else
                                                                  fig.texts[0].get_text())
            assert overlapping_texts(fig) == [], (m, title)
            plt.close(fig)
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        by_crossing, by_hour, _ = border_wait_frames(con, None)
    fig = lane_wait_by_hour_figure(by_hour, busiest_crossings(by_crossing))
    assert overlapping_texts(fig) == []
    plt.close(fig)


def test_every_chart_is_drawn_once_per_save(published, monkeypatch):
    """A figure laid out with a layout engine left on it is drawn twice by every save (once without
    output, for the engine): a month's figures are saved as PNG and as PDF pages, so style.lay_out
    leaves none."""
    import io

    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    from assets.reports import report
    from assets.reports.border_waits import border_wait_frames, busiest_crossings
    from assets.reports.charts import lane_wait_by_hour_figure

    paths, _ = published
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        by_crossing, by_hour, _ = border_wait_frames(con, None)
    figures = [f.fig for f in report.month_figures(report.load(paths.analytics, "2026-06"))]
    figures.append(lane_wait_by_hour_figure(by_hour, busiest_crossings(by_crossing)))
    assert len(figures) == 7  # the month's six (June has a closure reopening) and the folder's hourly chart
    draws = []
    draw = Figure.draw
    monkeypatch.setattr(Figure, "draw", lambda fig, renderer: (draws.append(fig), draw(fig, renderer))[1])
    for fig in figures:
        for kind in ("png", "pdf"):
            draws.clear()
            fig.savefig(io.BytesIO(), format=kind)
            assert draws == [fig], (figures.index(fig), kind)
        plt.close(fig)


def test_titles_placed_by_hand_sit_where_matplotlib_would_place_them(published, monkeypatch):
    """style.axes_title puts every title at the top of its axes instead of letting matplotlib place
    it at every draw: a month's figures and the folder's two charts give the same pixels either way."""
    import matplotlib.pyplot as plt

    from assets.reports import report, style
    from assets.reports.border_waits import border_wait_frames, busiest_crossings
    from assets.reports.charts import lane_wait_by_crossing_figure, lane_wait_by_hour_figure

    paths, _ = published
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        by_crossing, by_hour, dates = border_wait_frames(con, None)

    def pixels() -> list[bytes]:
        figures = [f.fig for f in report.month_figures(report.load(paths.analytics, "2026-06"))]
        figures += [lane_wait_by_crossing_figure(by_crossing, dates, "over all snapshots"),
                    lane_wait_by_hour_figure(by_hour, busiest_crossings(by_crossing))]
        drawn = [report._figure_png(fig) for fig in figures]
        for fig in figures:
            plt.close(fig)
        return drawn

    by_hand = pixels()
    monkeypatch.setattr(style, "TITLE_Y", None)  # matplotlib's own placement
    assert len(by_hand) == 8 and pixels() == by_hand


@pytest.mark.parametrize("span", [0.5, 3, 20, 100, 160, 700])
def test_the_forest_plots_hour_labels_keep_a_space_between_them(span):
    """The overlap check allows labels that touch; on the symlog hour axis at a week's span, -12 h
    and -4 h touched and read as one label. Neighbouring labels keep at least a character apart."""
    import matplotlib.pyplot as plt

    from assets.reports.style import A4_LANDSCAPE, signed_hours_axis

    fig, ax = plt.subplots(figsize=A4_LANDSCAPE)
    fig.subplots_adjust(left=0.3, right=0.77)  # the forest plot's panel width
    signed_hours_axis(ax, span)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = sorted((label.get_window_extent(renderer) for label in ax.get_xticklabels() if label.get_text()),
                   key=lambda box: box.x0)
    assert len(boxes) >= 3  # 0 and at least one tick each side
    assert all(b.x0 - a.x1 >= 8 for a, b in zip(boxes, boxes[1:])), [(round(b.x0), round(b.x1)) for b in boxes]
    plt.close(fig)


def test_the_overlap_check_can_fail():
    import matplotlib.pyplot as plt

    from assets.reports.style import overlapping_texts

    fig, ax = plt.subplots()
    ax.text(0.5, 0.5, "one label")
    ax.text(0.52, 0.5, "another label")
    assert overlapping_texts(fig)
    plt.close(fig)


def test_a_months_report_shows_only_that_months_border_wait_readings(published):
    paths, _ = published
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        september = con.execute("SELECT date, sum(readings) FROM marts.lane_wait_times WHERE readings > 0 "
                                "GROUP BY ALL ORDER BY 1").fetchall()
    assert september and {f"{d:%Y-%m}" for d, _ in september} == {"2026-09"}
    page = (paths.reports / "2026-09" / "ctpat_report_2026-09.html").read_text()
    for d, n in september:
        assert f"{d:%Y-%m-%d} ({n:,} readings)" in _figure_texts("2026-09", paths)
    june = _figure_texts("2026-06", paths)
    assert "No commercial Border Wait Times readings in 2026-06" in june and "2026-09-" not in june
    assert "Border waits in 2026-09" in page


def _figure_texts(month: str, paths) -> str:
    """Every text of the month's border-wait figure, as the report draws it."""
    import matplotlib.pyplot as plt

    from assets.reports import report

    data = report.load(paths.analytics, month)
    figures = report.month_figures(data)
    border = next(f.fig for f in figures if f.caption.startswith("Border waits"))
    texts = " ".join(t.get_text() for t in border.findobj(plt.Text))
    for f in figures:
        plt.close(f.fig)
    return texts


# The page as a reader's browser lays it out: the first table and its answers, every text box, every
# text colour against the background it is drawn on.
PROBE = """(() => {
  const first = document.querySelector('table');
  const heads = Array.from(first.querySelectorAll('th')).map(t => t.innerText.trim());
  const answers = Array.from(first.querySelectorAll('tbody tr')).map(r => r.lastElementChild.innerText.trim());
  const boxes = [];
  const styles = [];
  for (const e of document.body.querySelectorAll('*')) {
    const texts = Array.from(e.childNodes).filter(n => n.nodeType === 3 && n.textContent.trim());
    if (!texts.length) continue;
    let bg = 'rgba(0, 0, 0, 0)', p = e;
    while (p && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) { bg = getComputedStyle(p).backgroundColor; p = p.parentElement; }
    styles.push([getComputedStyle(e).color, bg, e.tagName + ': ' + texts[0].textContent.trim().slice(0, 30)]);
    for (const n of texts) {
      const range = document.createRange(); range.selectNodeContents(n);
      for (const b of range.getClientRects()) if (b.width > 0 && b.height > 0)
        boxes.push([b.left, b.top, b.right, b.bottom, n.textContent.trim().slice(0, 30)]);
    }
  }
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (Math.min(a[2], b[2]) - Math.max(a[0], b[0]) > 1 && Math.min(a[3], b[3]) - Math.max(a[1], b[1]) > 1)
      overlaps.push([a[4], b[4]]);
  }
  return {heads, answers, overlaps, styles, texts: boxes.length};
})()"""


def _luminance(rgb: str) -> float:
    parts = [float(x) for x in re.findall(r"[\d.]+", rgb)][:3]
    channel = [c / 255 for c in parts]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channel]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula():
    assert round(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0
    assert contrast("rgb(187, 187, 187)", "rgb(255, 255, 255)") < 4.5  # the old INSUFFICIENT_DATA grey


def test_report_opens_in_a_real_browser(published):
    binary = chromium_or_skip()
    paths, month = published
    report = inspect_page(binary, paths.reports / month / f"ctpat_report_{month}.html", probe=PROBE)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"report_{month}.png").write_bytes(report.screenshot)
    # forest, trend, exam rate, release time, border waits (no closure reopens in the last month)
    assert len(report.images) == 5
    assert all(i["complete"] and i["width"] > 0 for i in report.images), report.images
    assert report.errors == []
    assert report.screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    probe = report.probe
    assert probe["heads"] == ["CBP promises", "period", "verdict", "the answer"]
    assert probe["answers"] == _answers(paths, month) or sorted(probe["answers"]) == sorted(_answers(paths, month))
    assert probe["texts"] > 200 and probe["overlaps"] == []
    low = [(text, fg, bg, round(contrast(fg, bg), 2)) for fg, bg, text in probe["styles"] if contrast(fg, bg) < 4.5]
    assert low == []


def test_charts_are_replaced_whole_while_being_read(published):
    """A run redrawing a month's report, and with it the month's charts, while another reader opens
    them (concurrent backfill runs, a browser) must never hand the reader half a PNG; a drawing that
    fails leaves the old file."""
    import threading

    from PIL import Image

    from assets.reports.files import replaced_on_success
    from assets.reports.report import build_monthly_report

    paths, month = published
    chart = paths.reports / month / "exam_rate_by_mode.png"
    done, reads, broken = threading.Event(), [0], []

    def read_in_a_loop():
        while not done.is_set():
            try:
                with Image.open(chart) as image:
                    image.load()
                reads[0] += 1
            except Exception as error:  # noqa: BLE001 - any failure to decode is the defect under test
                broken.append(repr(error))

    reader = threading.Thread(target=read_in_a_loop)
    reader.start()
    try:
        for _ in range(5):
            build_monthly_report(paths.analytics, paths.reports, month)
    finally:
        done.set()
        reader.join()
    assert reads[0] > 0 and broken == []

    before = chart.read_bytes()
    with pytest.raises(RuntimeError):
        with replaced_on_success(chart) as partial:
            partial.write_bytes(before[:100])
            raise RuntimeError("drawing failed")
    assert chart.read_bytes() == before
    assert not [p for p in chart.parent.iterdir() if ".partial" in p.name]
