"""The sample data generator: deterministic, in the asked formats, calibrated to its ground truth."""

import hashlib

import polars as pl
import pytest

from independent import entries_and_exams
from pipelines.sample_data import generate


def _digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path):
    generate(tmp_path / "a", entries=3000, seed=5)
    generate(tmp_path / "b", entries=3000, seed=5)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")
    generate(tmp_path / "c", entries=3000, seed=6)
    assert _digests(tmp_path / "a") != _digests(tmp_path / "c")


def test_formats(tmp_path):
    generate(tmp_path / "mixed", entries=3000, seed=5, formats="mixed")
    generate(tmp_path / "csv", entries=3000, seed=5, formats="csv")
    mixed = {p.name.split(".", 1)[1] for p in (tmp_path / "mixed" / "entries").iterdir()}
    only_csv = {p.name.split(".", 1)[1] for s in ("entries", "exams", "ctpat") for p in (tmp_path / "csv" / s).iterdir()}
    assert mixed == {"csv", "csv.gz", "parquet"}
    assert only_csv == {"csv"}


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("calibration")
    truth = generate(folder, entries=120_000, seed=21, formats="csv")
    entries, _, _ = entries_and_exams(folder)
    return truth, entries


def test_exam_rates_follow_the_published_calibration(calibrated):
    truth, entries = calibrated
    rates = entries.group_by("mode_of_transport", "ctpat_status").agg(pl.col("examined").mean(), pl.len())
    rate = {(r["mode_of_transport"], r["ctpat_status"]): r["examined"] for r in rates.iter_rows(named=True)}
    base = truth["effects"]["base_exam_rate_by_mode"]
    assert rate[("30", "UNCERTIFIED")] == pytest.approx(base["30"], abs=0.01)  # about 1 in 4 trucks
    assert rate[("11", "UNCERTIFIED")] == pytest.approx(base["11"], abs=0.006)  # about 1 in 33 containers
    # Certified importers are examined 4-6.7 times less within a mode.
    assert 3 < rate[("30", "UNCERTIFIED")] / rate[("30", "CERTIFIED")] < 8


def test_crude_and_mode_adjusted_comparisons_differ(calibrated):
    """Certified importers lean to low-exam modes: the crude ratio overstates the benefit."""
    _, entries = calibrated
    by_status = entries.group_by("ctpat_status").agg(pl.col("examined").mean())
    crude = dict(by_status.iter_rows())
    crude_ratio = crude["CERTIFIED"] / crude["UNCERTIFIED"]
    truck = entries.filter(pl.col("mode_of_transport") == "30").group_by("ctpat_status").agg(pl.col("examined").mean())
    truck_rate = dict(truck.iter_rows())
    within_truck = truck_rate["CERTIFIED"] / truck_rate["UNCERTIFIED"]
    assert crude_ratio < within_truck * 0.8
    sea_share = entries.group_by("ctpat_status").agg(pl.col("mode_of_transport").is_in(["10", "11"]).mean())
    share = dict(sea_share.iter_rows())
    assert share["CERTIFIED"] > share["UNCERTIFIED"] + 0.2


def test_months_are_generated_one_at_a_time_with_numbers_unique_across_them(tmp_path):
    """The streaming generator: every month's entries arrive in that month, entry numbers and exam ids
    are unique over the whole period (each month draws from its own stream), every exam's entry exists,
    and the months add up to the entries asked for."""
    truth = generate(tmp_path, entries=24_000, seed=9, formats="csv", months=13, start="2025-06")
    entries, exams, _ = entries_and_exams(tmp_path)
    raw = pl.concat([pl.read_csv(p, infer_schema=False) for p in sorted((tmp_path / "entries").glob("entries_????-??.csv"))])
    assert raw.height == truth["entries"] == 24_000
    assert raw["entry_number"].str.replace_all("-", "").n_unique() == raw.height
    exam_rows = pl.concat([pl.read_csv(p, infer_schema=False) for p in sorted((tmp_path / "exams").glob("*.csv"))])
    assert exam_rows.height == truth["exams"] and exam_rows["exam_id"].n_unique() == exam_rows.height
    months = raw.select(pl.col("arrival_at").str.slice(0, 7).alias("m"))["m"].unique().sort().to_list()
    assert len(months) == 13 and months[0] == "2025-06" and months[-1] == "2026-06"
    # Each file holds the exams selected in its UTC month, including those of the previous month's entries.
    for path in sorted((tmp_path / "exams").glob("*.csv")):
        selected = pl.read_csv(path, infer_schema=False)["selected_at"].str.to_datetime("%Y-%m-%dT%H:%M:%S%:z")
        assert set(selected.dt.convert_time_zone("UTC").dt.strftime("%Y-%m")) == {path.stem.removeprefix("exams_")}
    # Filer code and serial: a row given a wrong check digit (an injected defect) keeps its exams' entry.
    base = lambda frame: set(frame["entry_number"].str.replace_all("-", "").str.slice(0, 10))  # noqa: E731
    assert base(exam_rows) <= base(raw)
