"""An independent computation of the marts, in Polars, straight from the landing files.

Written separately from the pipeline's SQL: it shares no query, macro or model with it. It knows only
the defects the sample generator injects (so it can drop those rows) and the contract's definitions.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import numpy as np
import polars as pl

from pipelines.sample_data import check_digits

Z = 1.959963984540054
REFERENCE = Path(__file__).resolve().parent.parent / "assets" / "reference"


def _read_folder(folder: Path) -> pl.DataFrame:
    frames = []
    for path in sorted(p for p in folder.iterdir() if p.name.endswith((".csv", ".csv.gz", ".parquet"))):
        if path.name.endswith(".parquet"):
            frame = pl.read_parquet(path)
            frame = frame.with_columns(
                [pl.col(c).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")
                 for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
                + [pl.col(c).cast(pl.String) for c, t in frame.schema.items() if not isinstance(t, pl.Datetime)])
        else:
            frame = pl.read_csv(path, infer_schema=False)
        frames.append(frame.with_row_index("row").with_columns(pl.lit(path.name).alias("file_name")))
    return pl.concat(frames, how="diagonal")


def _instant(col: str) -> pl.Expr:
    return pl.col(col).str.replace(r"Z$", "+00:00").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_zone="UTC",
                                                                       strict=False)


def _hours(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_microseconds() / 3.6e9


def _latest(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    return frame.sort("file_name", "row").unique(subset=[key], keep="last", maintain_order=True)


def entries_and_exams(landing: Path) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    ports = pl.read_csv(REFERENCE / "schedule_d_ports.csv", infer_schema=False)
    raw = _read_folder(landing / "entries").with_columns(
        pl.col("entry_number").str.replace_all("-", "").alias("key"),
        _instant("arrival_at").alias("arrival"), _instant("release_at").alias("release"))
    digits = check_digits(np.frombuffer("".join(raw["key"].str.slice(0, 10).to_list()).encode(), dtype=np.uint8).reshape(-1, 10))
    valid = (
        (raw["key"].str.slice(10, 1).cast(pl.Int64) == pl.Series(digits))
        & raw["port_code"].is_in(ports["port_code"].implode())
        & raw["country_of_origin"].str.contains(r"^[A-Z]{2}$")
        & (raw["entered_value_usd"].cast(pl.Float64) >= 0)
        & raw["arrival_at"].str.contains(r"(Z|[+-]\d\d:\d\d)$")
        & (raw["release"].is_null() | (raw["release"] >= raw["arrival"]))
    )
    rejected = int((~valid).sum())
    entries = _latest(raw.filter(valid), "key").join(ports.select("port_code", "time_zone"), on="port_code")
    local = pl.coalesce([pl.when(pl.col("time_zone") == tz).then(pl.col("arrival").dt.convert_time_zone(tz).dt.replace_time_zone(None))
                         for tz in entries["time_zone"].unique().to_list()])
    entries = entries.with_columns(local.alias("local")).with_columns(
        pl.col("local").dt.strftime("%Y-%m").alias("month"), pl.col("local").dt.date().alias("local_date"),
        _hours("release", "arrival").alias("release_hours"))

    ctpat_files = sorted((landing / "ctpat").iterdir())
    history = pl.read_csv(ctpat_files[-1], infer_schema=False).filter(
        (pl.col("partner_type") == "IMPORTER") & pl.col("status").is_in(["CERTIFIED", "VALIDATED"])
    ).with_columns(pl.col("valid_from").str.to_date(), pl.col("valid_to").str.to_date(), pl.col("tier").cast(pl.Int64))
    matches = entries.select("key", "importer_number", "local_date").join(
        history, left_on="importer_number", right_on="partner_id").filter(
        (pl.col("valid_from") <= pl.col("local_date")) & (pl.col("valid_to").is_null() | (pl.col("local_date") < pl.col("valid_to"))))
    entries = entries.join(matches.select("key", "tier"), on="key", how="left").with_columns(
        pl.when(pl.col("tier").is_not_null()).then(pl.lit("CERTIFIED")).otherwise(pl.lit("UNCERTIFIED")).alias("ctpat_status"))

    exams = _latest(_read_folder(landing / "exams"), "exam_id").with_columns(
        pl.col("entry_number").str.replace_all("-", "").alias("key"),
        _instant("selected_at").alias("selected"), _instant("started_at").alias("started"))
    exams = exams.join(entries.select("key", "month", "port_code", "ctpat_status"), on="key", how="inner")
    exams = exams.with_columns(_hours("started", "selected").alias("wait_hours"))
    entries = entries.with_columns(pl.col("key").is_in(exams["key"].implode()).alias("examined"))
    return entries, exams, rejected


def _rates(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    n, x = pl.col("entries"), pl.col("examined_entries")
    p = x / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * (p * (1 - p) / n + Z**2 / (4 * n**2)).sqrt()
    return frame.group_by(keys).agg(pl.len().alias("entries"), pl.col("examined").sum().alias("examined_entries")) \
        .with_columns(p.alias("exam_rate"), (centre - half).alias("exam_rate_ci_low"), (centre + half).alias("exam_rate_ci_high"))


def marts(landing: Path, key: bytes) -> dict[str, pl.DataFrame]:
    entries, exams, _ = entries_and_exams(landing)
    grain = ["month", "port_code", "mode_of_transport", "ctpat_status"]
    q = lambda c, f: pl.col(c).quantile(f, interpolation="linear")  # noqa: E731
    released = pl.col("release").is_not_null()
    trucks = entries.filter(pl.col("mode_of_transport").is_in(["30", "31"]) & pl.col("lane_type").is_not_null())
    pseudonym = pl.col("importer_number").map_elements(
        lambda s: hmac.new(key, s.encode(), hashlib.sha256).hexdigest(), return_dtype=pl.String)
    return {
        "exam_rates": _rates(entries, grain),
        "lane_exam_rates": _rates(trucks, ["month", "port_code", "lane_type", "ctpat_status"]),
        "exam_rates_by_mode": _rates(entries, ["month", "mode_of_transport", "ctpat_status"]),
        "release_times": entries.group_by(grain).agg(
            released.sum().alias("released_entries"), (~released).sum().alias("open_entries"),
            q("release_hours", 0.5).alias("median_release_hours"), q("release_hours", 0.9).alias("p90_release_hours"),
            pl.col("release_hours").mean().alias("mean_release_hours")),
        "release_time_profile": entries.filter(released).group_by(["month", "mode_of_transport", "ctpat_status"]).agg(
            pl.len().alias("released_entries"), q("release_hours", 0.1).alias("p10_release_hours"),
            q("release_hours", 0.25).alias("p25_release_hours"), q("release_hours", 0.5).alias("median_release_hours"),
            q("release_hours", 0.75).alias("p75_release_hours"), q("release_hours", 0.9).alias("p90_release_hours")),
        "inspection_waits": exams.filter(pl.col("started").is_not_null()).group_by(["month", "port_code", "ctpat_status"]).agg(
            pl.len().alias("exams_started"), q("wait_hours", 0.5).alias("median_wait_hours"),
            q("wait_hours", 0.9).alias("p90_wait_hours"), pl.col("wait_hours").mean().alias("mean_wait_hours")),
        "importer_exam_rates": entries.with_columns(pseudonym.alias("importer_pseudonym")).group_by(
            ["month", "importer_pseudonym", "ctpat_status"]).agg(
            pl.len().alias("entries"), pl.col("examined").sum().alias("examined_entries")),
        **({"disruption_recovery": disruption_recovery(landing)} if (landing / "disruptions").is_dir() else {}),
    }


def assert_frames_match(expected: pl.DataFrame, actual: pl.DataFrame, keys: list[str], name: str) -> None:
    """Same groups; integer columns equal; float columns within 1e-9 (NULL only where NULL)."""
    assert expected.height == actual.height, f"{name}: {expected.height} groups expected, {actual.height} published"
    joined = expected.join(actual, on=keys, how="full", suffix="_pub", coalesce=True, nulls_equal=True)
    for col in expected.columns:
        if col in keys:
            continue
        exp, pub = joined[col], joined[f"{col}_pub"]
        assert (exp.is_null() == pub.is_null()).all(), f"{name}.{col}: NULLs differ"
        if exp.dtype.is_float() or pub.dtype.is_float():
            diff = (exp.cast(pl.Float64) - pub.cast(pl.Float64)).abs().max()
            assert diff is None or diff <= 1e-9, f"{name}.{col}: max difference {diff}"
        else:
            assert (exp.cast(pl.Int64) == pub.cast(pl.Int64)).fill_null(True).all(), f"{name}.{col} differs"


def disruption_recovery(landing: Path) -> pl.DataFrame:
    """marts.disruption_recovery from the landing files: the closures in force (last row per event
    and port in file name and row order), entries caught (same port, arrived in [closed - 168 h,
    reopened), not released before closing) and normal (arrived in [closed - 840 h, closed - 168 h),
    released, caught by no closure), grouped by closure and status. Rows breaking a rule are dropped."""
    entries, _, _ = entries_and_exams(landing)
    ports = pl.read_csv(REFERENCE / "schedule_d_ports.csv", infer_schema=False)
    closures = _read_folder(landing / "disruptions").with_columns(
        _instant("closed_at").alias("closed"), _instant("reopened_at").alias("reopened"),
        (pl.col("event_id") + "\x00" + pl.col("port_code")).alias("closure"))
    offset = r"T\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"
    closures = closures.filter(
        (pl.col("event_id").str.len_chars() > 0) & pl.col("port_code").is_in(ports["port_code"].implode())
        & pl.col("cause").is_in(["HURRICANE", "STORM", "FLOOD", "EARTHQUAKE", "FIRE", "STRIKE", "BRIDGE_CLOSURE",
                                 "SYSTEM_OUTAGE", "SECURITY", "OTHER"])
        & pl.col("closed_at").str.contains(offset) & pl.col("reopened_at").str.contains(offset)
        & (pl.col("reopened") > pl.col("closed")))
    closures = _latest(closures, "closure").join(ports.select("port_code", "time_zone"), on="port_code")
    closures = closures.with_columns(pl.coalesce([
        pl.when(pl.col("time_zone") == tz).then(pl.col("reopened").dt.convert_time_zone(tz).dt.strftime("%Y-%m"))
        for tz in closures["time_zone"].unique().to_list()]).alias("month"))
    pairs = entries.join(closures.select("event_id", "port_code", "closed", "reopened", "month").rename(
        {"month": "reopening_month"}), on="port_code")
    window = pl.duration(hours=168)
    caught_rule = ((pl.col("arrival") >= pl.col("closed") - window) & (pl.col("arrival") < pl.col("reopened"))
                   & (pl.col("release").is_null() | (pl.col("release") >= pl.col("closed"))))
    caught = pairs.filter(caught_rule).with_columns(_hours("release", "reopened").alias("resumption_hours"))
    ever_caught = caught["key"].unique().implode()
    normal = pairs.filter((pl.col("arrival") >= pl.col("closed") - pl.duration(hours=840))
                          & (pl.col("arrival") < pl.col("closed") - window)
                          & pl.col("release").is_not_null() & ~pl.col("key").is_in(ever_caught))
    keys = ["event_id", "port_code", "ctpat_status"]
    q = lambda c, f: pl.col(c).quantile(f, interpolation="linear")  # noqa: E731
    groups = caught.group_by(keys).agg(
        pl.col("reopening_month").first().alias("month"), pl.len().alias("caught_entries"),
        pl.col("release").is_not_null().sum().alias("released_entries"),
        q("resumption_hours", 0.5).alias("median_resumption_hours"),
        q("resumption_hours", 0.9).alias("p90_resumption_hours"))
    normals = normal.group_by(keys).agg(pl.len().alias("normal_entries"),
                                        q("release_hours", 0.5).alias("normal_median_release_hours"))
    return groups.join(normals, on=keys, how="left").with_columns(pl.col("normal_entries").fill_null(0))
