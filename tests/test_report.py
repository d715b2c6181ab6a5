"""The monthly report renders: PDF pages, an HTML page with nothing missing, checked in a real browser."""

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from browser import chromium_or_skip, inspect_page
from pipelines.sample_data import generate

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from conftest import Paths, TEST_KEY

    mp = pytest.MonkeyPatch()
    mp.setenv("EXAM_RISK_PSEUDONYM_KEY", TEST_KEY)
    paths = Paths(tmp_path_factory.mktemp("report"))
    generate(paths.landing, entries=20_000, seed=5)
    outcome = paths.run()
    mp.undo()
    assert outcome.exit_code == 0, outcome.message
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        month = con.execute("SELECT max(month) FROM marts.exam_rates").fetchone()[0]
    return paths, month


def test_every_month_has_a_pdf_and_an_html_report(published):
    paths, _ = published
    months = sorted(p.name for p in paths.reports.glob("2026-*"))
    assert len(months) == 6
    for month in months:
        assert (paths.reports / month / f"ctpat_report_{month}.pdf").stat().st_size > 10_000
        assert (paths.reports / month / f"ctpat_report_{month}.html").stat().st_size > 10_000


def test_pdf_has_the_expected_pages(published, tmp_path):
    paths, month = published
    if not shutil.which("pdftoppm"):
        chromium_or_skip()  # the same rule: required in CI (poppler-utils), skipped visibly elsewhere
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(paths.reports / month / f"ctpat_report_{month}.pdf"),
                    str(tmp_path / "page")], check=True)
    # claims, scorecard, forest plot, trend, exam rate by mode, release time, 2 border-wait charts, data quality,
    # provenance
    assert len(list(tmp_path.glob("page-*.png"))) == 10


def test_html_is_self_contained_and_complete(published):
    paths, month = published
    page = (paths.reports / month / f"ctpat_report_{month}.html").read_text()
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert references and all(r.startswith("data:image/png;base64,") for r in references)
    for text in ("Does CTPAT deliver what CBP promises?", "CBP promises fewer examinations", "fewer_exams_within_importer",
                 "inspection_priority", "shorter_border_wait", "What each design can and cannot rule out",
                 "Does the answer depend on the specification?", "Data quality", "Provenance"):
        assert text in page
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        hashes = [r[0] for r in con.execute("SELECT content_hash FROM marts.load_audit WHERE status = 'loaded'").fetchall()]
        version = con.execute("SELECT code_version FROM marts.published_runs").fetchone()[0]
    assert all(h in page for h in hashes) and version in page


def test_report_opens_in_a_real_browser(published):
    binary = chromium_or_skip()
    paths, month = published
    report = inspect_page(binary, paths.reports / month / f"ctpat_report_{month}.html")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"report_{month}.png").write_bytes(report.screenshot)
    assert len(report.images) == 6
    assert all(i["complete"] and i["width"] > 0 for i in report.images), report.images
    assert report.errors == []
    assert report.screenshot[:8] == b"\x89PNG\r\n\x1a\n"


def test_charts_are_replaced_whole_while_being_read(published):
    """A run redrawing a month while another run's report embeds its charts (concurrent backfill
    runs) must never hand the reader half a PNG; a drawing that fails leaves the old file."""
    import threading

    from PIL import Image

    from assets.reports.charts import draw_monthly_charts
    from assets.reports.files import replaced_on_success

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
        for _ in range(8):
            draw_monthly_charts(paths.analytics, paths.reports, [month])
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
