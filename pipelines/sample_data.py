"""Sample landing zone generator: realistic customs entries, exams and CTPAT history with known effects.

Everything is vectorised (numpy + Polars); the only Python loops run over months, time zones and
files, never over rows. One UTC month is generated and written at a time, from its own random
stream, so memory holds the importers and one month whatever the period's size. The effects the pipeline should recover are parameters, written next to the
landing folder as ``ground_truth.json``.

Calibration (documented in README "Sample data"):
- base exam probability by mode: trucks about 1 in 4, sea containers about 1 in 33 (CBP, FY2008),
  rail and air in between;
- certified importers are examined less by a tier multiplier (CBP claims 4-6 times less);
- certified importers ship more by sea, so the crude certified/uncertified ratio overstates the benefit.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
from tqdm import tqdm

MODE_BY_KIND = {  # (mode code, share within the port kind)
    "land": [("30", 0.90), ("20", 0.10)],  # truck, rail
    "sea": [("11", 0.88), ("10", 0.12)],  # vessel containerized, vessel non-containerized
    "air": [("40", 1.0)],
}
EXAM_TYPES = ["NII", "TAILGATE", "INTENSIVE", "DOCUMENT", "AGRICULTURE", "PGA", "UFLPA_DETENTION"]
EXAM_TYPE_SHARE = [0.46, 0.22, 0.08, 0.10, 0.07, 0.05, 0.02]
EXAM_HOURS_MEDIAN = [0.5, 2.0, 30.0, 4.0, 3.0, 48.0, 24.0 * 30]  # selection-free duration by type
ENTRY_TYPES = ["01", "01", "01", "01", "11", "11", "02", "03", "06", "21", "86"]
COUNTRIES = ["MX", "CA", "CN", "VN", "DE", "JP", "KR", "IN", "TW", "IT", "GB", "TH", "MY", "BR"]
HTS = ["8471300100", "8703230190", "8517620090", "9403600080", "6110202079", "8708995800",
       "0804400010", "2203000030", "3004909290", "8542310001", "7308909590", "8504404000"]
SCACS = ["SWFT", "JBHT", "SCNN", "WERN", "KNIG", "CRST", "PAMT", "TRMX", "CNLT", "MAEU", "CMDU"]
LETTERS = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", dtype=np.uint8)
DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


@dataclasses.dataclass(frozen=True)
class Effects:
    """The truth the marts should recover; every field lands in ground_truth.json."""

    base_exam_rate_by_mode: dict = dataclasses.field(default_factory=lambda: {
        "30": 0.25, "20": 0.12, "11": 1 / 33, "10": 0.05, "40": 0.06})
    certified_exam_multiplier_by_tier: dict = dataclasses.field(
        default_factory=lambda: {"1": 0.25, "2": 0.2, "3": 0.15})
    certified_sea_share: float = 0.55  # port kind mix of certified importers' entries
    uncertified_sea_share: float = 0.20
    certified_land_share: float = 0.30
    uncertified_land_share: float = 0.60
    certified_wait_multiplier: float = 0.6  # inspection priority
    certified_release_multiplier: float = 0.8
    fast_share_certified: float = 0.65  # FAST lane use among truck entries
    fast_share_uncertified: float = 0.08
    open_entry_share: float = 0.02
    # Importers differ in a risk nobody observes: every exam probability of importer i is multiplied
    # by r_i = exp(u_i - sd^2 / 2), u_i ~ N(0, sd), clipped to [1/3, 3] so that no probability
    # passes 1 (the causal multipliers above then hold exactly for every importer). 0: no such risk.
    importer_risk_sd: float = 0.0
    # Selection into CTPAT: the odds of ever being certified change by exp(-strength) per standard
    # deviation of u (low-risk importers apply; CBP certifies low-risk traders by design), and
    # half of the members join during the period. 0: membership is independent of risk.
    selection_strength: float = 0.0
    importer_size_sigma: float = 1.0  # importer volumes are log-normal with this sigma (heavier tails: larger)
    # Port closures (--disruptions): the entries a closure catches are held until it reopens, then
    # released after log-normal hours with this median, certified ones by the multiplier sooner
    # (business resumption priority; 1.0: no priority). Off: no disruption file, no held release.
    disruptions: bool = False
    resumption_hours_median: float = 18.0
    certified_resumption_multiplier: float = 0.4

    @classmethod
    def without_benefit(cls, **options) -> "Effects":
        """Certification changes nothing (GAO found the benefit does not always appear); the trade
        mix still differs, so crude comparisons still do."""
        return cls(certified_exam_multiplier_by_tier={"1": 1.0, "2": 1.0, "3": 1.0}, certified_wait_multiplier=1.0,
                   certified_release_multiplier=1.0, **{"certified_resumption_multiplier": 1.0, **options})

    @staticmethod
    def options(selection: bool = False, heterogeneity: bool = False, disruptions: bool = False,
                resumption_priority: bool = True) -> dict:
        """The generator's --selection, --importer-heterogeneity, --disruptions and
        --no-resumption-priority as field values."""
        out: dict = {"disruptions": True} if disruptions else {}
        if not resumption_priority:
            out["certified_resumption_multiplier"] = 1.0
        if selection or heterogeneity:
            out["importer_risk_sd"] = 0.6
        if selection:
            out["selection_strength"] = 1.5
        if heterogeneity:
            out["importer_size_sigma"] = 1.6  # a few importers make most entries
        return out

    @property
    def causal_exam_multiplier(self) -> dict:
        """What certification itself does to an importer's exam rate, by tier (the within-importer truth)."""
        return dict(self.certified_exam_multiplier_by_tier)


def check_digits(base10: np.ndarray) -> np.ndarray:
    """CBP entry number check digit for an (n, 10) uint8 array of ASCII filer code + serial."""
    c = base10.astype(np.int16)
    value = np.where(c <= ord("9"), c - ord("0"),
                     np.where(c <= ord("I"), c - ord("A") + 1,
                              np.where(c <= ord("R"), c - ord("J") + 1, c - ord("S") + 2)))
    doubled = value * 2
    weighted = np.where(np.arange(10) % 2 == 1, doubled // 10 + doubled % 10, value)
    return (10 - weighted.sum(axis=1) % 10) % 10


def _chars(rng, alphabet, shape):
    return alphabet[rng.integers(0, len(alphabet), size=shape)]


def _strings(arr: np.ndarray) -> np.ndarray:
    return arr.view(f"S{arr.shape[1]}").ravel().astype(str)


def _importer_numbers(rng, n: int) -> np.ndarray:
    """The contract's three importer number forms: IRS (80 %), CBP-assigned (12 %), SSN (8 %)."""
    d = lambda k: _strings(_chars(rng, DIGITS, (n, k)))  # noqa: E731
    alnum = np.concatenate([LETTERS, DIGITS])
    irs = np.char.add(np.char.add(np.char.add(d(2), "-"), d(7)), _strings(_chars(rng, alnum, (n, 2))))
    cbp = np.char.add(np.char.add(d(6), "-"), d(5))
    ssn = np.char.add(np.char.add(np.char.add(np.char.add(d(3), "-"), d(2)), "-"), d(4))
    form = rng.choice(3, size=n, p=[0.80, 0.12, 0.08])
    numbers = np.where(form == 0, irs, np.where(form == 1, cbp, ssn))
    return np.unique(numbers) if len(np.unique(numbers)) == n else _importer_numbers(rng, n)


def _month_starts(start: str, months: int) -> list[date]:
    y, m = map(int, start.split("-"))
    out = []
    for i in range(months + 1):
        yy, mm = y + (m - 1 + i) // 12, (m - 1 + i) % 12 + 1
        out.append(date(yy, mm, 1))
    return out


KINDS = ["member", "suspended", "removed", "joined", "withdrawn", "none"]
CERTIFIED_KINDS = ["member", "suspended", "removed", "joined"]


def _kinds(rng, n: int, e: Effects) -> tuple[np.ndarray, np.ndarray]:
    """Each importer's CTPAT history kind and latent risk multiplier r (1 without heterogeneity).
    Without selection the kinds have fixed shares; with it, the chance of being certified at some
    point falls with the latent risk, and the members split evenly between long-standing members
    and importers that join during the period (plus some suspended or removed)."""
    if e.importer_risk_sd <= 0:
        kind = rng.choice(KINDS, size=n, p=[0.20, 0.04, 0.03, 0.03, 0.05, 0.65])
        return kind, np.ones(n)
    z = rng.standard_normal(n)
    risk = np.clip(np.exp(e.importer_risk_sd * z - e.importer_risk_sd ** 2 / 2), 1 / 3, 3.0)
    if e.selection_strength <= 0:
        kind = rng.choice(KINDS, size=n, p=[0.20, 0.04, 0.03, 0.03, 0.05, 0.65])
        return kind, risk
    odds = 0.30 / 0.70 * np.exp(-e.selection_strength * z)  # 30 % certified at average risk
    ever = rng.random(n) < odds / (1 + odds)
    kind = np.where(ever, rng.choice(["member", "joined", "suspended", "removed"], size=n, p=[0.40, 0.40, 0.12, 0.08]),
                    rng.choice(["withdrawn", "none"], size=n, p=[0.07, 0.93]))
    return kind, risk


def _importers(rng, n: int, period: tuple[date, date], e: Effects = Effects()) -> pl.DataFrame:
    """Importers with CTPAT histories as per-importer dates; kinds:
    member (maybe validated to a higher tier mid-period), suspended for a while, removed, joined
    mid-period, withdrawn before the period, never a member; and each one's latent exam risk."""
    p0, p1 = (np.datetime64(period[0]), np.datetime64(period[1]))
    span = int((p1 - p0).astype(int))
    kind, risk = _kinds(rng, n, e)
    day = lambda lo, hi: p0 + rng.integers(lo, hi, size=n).astype("timedelta64[D]")  # noqa: E731
    certified_kind = np.isin(kind, CERTIFIED_KINDS)
    # Certified importers are the larger traders.
    volume = rng.lognormal(0.0, e.importer_size_sigma, size=n) * np.where(certified_kind, 3.0, 1.0)
    return pl.DataFrame({
        "importer_number": _importer_numbers(rng, n),
        "kind": kind,
        "volume": volume,
        "since": day(-2000, -30),  # first certified (or, for withdrawn, first joined)
        "change": day(span // 5, span - span // 5),  # tier upgrade, suspension, removal, joining or withdrawal
        "resume": day(span - span // 5, span + 30),  # end of a suspension
        "tier1": rng.choice([1, 2, 3], size=n, p=[0.35, 0.45, 0.20]),
        "upgraded": rng.random(n) < 0.25,
        "risk": risk,
    }).with_columns(pl.col("since", "change", "resume").cast(pl.Date))


def _ctpat_history(imp: pl.DataFrame) -> pl.DataFrame:
    """One IMPORTER row per status interval, plus a few carrier rows, as the CTPAT portal exports."""
    k = pl.col("kind")
    rows = []
    def add(frame, status, tier, vfrom, vto):
        rows.append(frame.select(
            pl.col("importer_number").alias("partner_id"), pl.lit("IMPORTER").alias("partner_type"),
            pl.lit(status).alias("status"), tier.cast(pl.Int64).alias("tier"),
            vfrom.alias("valid_from"), vto.cast(pl.Date).alias("valid_to")))
    member = imp.filter(k == "member")
    add(member, "CERTIFIED", pl.col("tier1"), pl.col("since"),
        pl.when(pl.col("upgraded")).then(pl.col("change")).otherwise(None))
    add(member.filter(pl.col("upgraded")), "VALIDATED", pl.min_horizontal(pl.col("tier1") + 1, 3),
        pl.col("change"), pl.lit(None))
    susp = imp.filter(k == "suspended")
    add(susp, "CERTIFIED", pl.col("tier1"), pl.col("since"), pl.col("change"))
    add(susp, "SUSPENDED", pl.lit(None), pl.col("change"), pl.col("resume"))
    add(susp, "CERTIFIED", pl.col("tier1"), pl.col("resume"), pl.lit(None))
    removed = imp.filter(k == "removed")
    add(removed, "CERTIFIED", pl.col("tier1"), pl.col("since"), pl.col("change"))
    add(removed, "REMOVED", pl.lit(None), pl.col("change"), pl.lit(None))
    add(imp.filter(k == "joined"), "CERTIFIED", pl.col("tier1"), pl.col("change"), pl.lit(None))
    wd = imp.filter(k == "withdrawn")
    add(wd, "CERTIFIED", pl.col("tier1"), pl.col("since") - pl.duration(days=900), pl.col("since"))
    add(wd, "WITHDRAWN", pl.lit(None), pl.col("since"), pl.lit(None))
    carriers = pl.DataFrame({"partner_id": SCACS, "partner_type": "HIGHWAY_CARRIER", "status": "CERTIFIED",
                             "tier": None, "valid_from": date(2015, 1, 1), "valid_to": None},
                            schema_overrides={"tier": pl.Int64, "valid_to": pl.Date})
    return pl.concat(rows + [carriers]).sort("partner_id", "valid_from")


def _status_expr() -> tuple[pl.Expr, pl.Expr]:
    """Certified flag and tier on the entry's local arrival date, from the importer's history dates."""
    d, k = pl.col("local_date"), pl.col("kind")
    certified = (
        (k == "member")
        | ((k == "suspended") & ((d < pl.col("change")) | (d >= pl.col("resume"))))
        | ((k == "removed") & (d < pl.col("change")))
        | ((k == "joined") & (d >= pl.col("change")))
    )
    upgraded = (k == "member") & pl.col("upgraded") & (d >= pl.col("change"))
    tier = pl.when(~certified).then(None).when(upgraded).then(pl.min_horizontal(pl.col("tier1") + 1, 3)) \
        .otherwise(pl.col("tier1"))
    return certified, tier


def _local_text(frame: pl.DataFrame, col: str, zones: list[str]) -> pl.Expr:
    """ISO text with the port's UTC offset, e.g. 2026-03-08T05:00:00-07:00, built per time zone."""
    exprs = [pl.when(pl.col("time_zone") == tz).then(
        pl.col(col).dt.convert_time_zone(tz).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")) for tz in zones]
    return pl.coalesce(exprs).alias(col)


# Entry numbers: filer code (3 characters) + serial (7 digits) + check digit. Entry g of the whole
# period gets h = (g * SERIAL_STEP + 1) mod (filers * SERIALS), filer h // SERIALS and serial
# h % SERIALS: a prime step coprime with the space makes this a bijection, so numbers are unique
# across months without remembering the ones already drawn (at any size, not only up to 10 M).
SERIALS = 10_000_000
SERIAL_STEP = 2_147_483_647


@dataclasses.dataclass
class Tally:
    """What ground_truth.json reports of the whole period, added up one month at a time."""

    entries: int = 0
    certified: int = 0
    examined: int = 0
    exams: int = 0
    corrected: int = 0
    injected: dict = dataclasses.field(default_factory=dict)

    def add_month(self, df: pl.DataFrame, exams: int, injected: dict) -> None:
        self.entries += df.height
        self.certified += int(df["certified"].sum())
        self.examined += int(df["examined"].sum())
        self.exams += exams
        for k, v in injected.items():
            self.injected[k] = self.injected.get(k, 0) + v


def generate(out: Path, entries: int, seed: int, formats: str = "mixed", start: str = "2026-01",
             months: int = 6, bad_share: float = 0.002, effects: Effects = Effects(),
             progress: bool | None = None) -> dict:
    """Write the landing zone ``out`` ({entries,exams,ctpat,bwt}/, disruptions/ with --disruptions,
    and ground_truth.json); return the truth.

    One UTC month at a time, each from its own random stream (seed, month): memory holds the
    importers and one month, whatever the period's size, and the same arguments give the same bytes."""
    e = effects
    month_starts = _month_starts(start, months)
    period = (month_starts[0], month_starts[-1])
    ports = _ports()
    zones = sorted(ports["time_zone"].unique().to_list())
    imp = _importers(np.random.default_rng([seed, 0]), max(60, entries // 150), period, e)
    filers = _filer_codes(np.random.default_rng([seed, 1]), max(20, entries // 20000))
    spans = _arrival_spans(month_starts)
    counts = _split(entries, spans)
    closures = _closures(month_starts) if e.disruptions else None
    for sub in ("entries", "exams", "ctpat", "bwt"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    _deliver_bwt_snapshots(out / "bwt")
    correction_month = min(1, months - 1)
    tally, carried, first = Tally(), None, 0
    for i in tqdm(range(months), desc="generate", unit="month",
                  disable=not (progress or (progress is None and entries >= 1_000_000))):
        rng = np.random.default_rng([seed, 2, i])
        df = _month_entries(rng, imp, ports, zones, spans[i], counts[i], first, filers, e)
        exams = _exams(df, rng, e, first_id=tally.exams)
        df = _releases(df, exams, rng, e)
        if closures is not None:  # its own stream: without --disruptions the files stay the same
            df = _hold_caught_releases(df, closures, np.random.default_rng([seed, 3, i]), e)
        fmt = "csv" if formats == "csv" else ["csv", "csv.gz", "csv", "parquet"][i % 4]
        month = month_starts[i].strftime("%Y-%m")
        injected = _write_entries(out / "entries", df, month, fmt, zones, rng, bad_share)
        # An exam selected after midnight UTC on the month's last day belongs to the next month's file.
        in_month = pl.col("selected_utc").dt.strftime("%Y-%m") == month
        now = exams.filter(in_month) if carried is None else pl.concat([carried, exams.filter(in_month)])
        carried = exams.filter(~in_month)
        _write_exams(out / "exams", now, month, fmt, zones)
        if i == correction_month:
            tally.corrected = _write_corrections(out / "entries", df, month, zones, rng)
        tally.add_month(df, exams.height, injected)
        first += df.height
    ctpat = _ctpat_history(imp)
    export_day = month_starts[-1].strftime("%Y-%m-%d")
    _write_csv(ctpat.with_columns(pl.col("tier", "valid_from", "valid_to").cast(pl.String)),
               out / "ctpat" / f"ctpat_export_{export_day}.csv")
    truth: dict = {"injected_rejections": {"entries": dict(sorted(tally.injected.items()))},
                   "corrected_entries": tally.corrected, "exams": tally.exams, "ctpat_rows": ctpat.height}
    if closures is not None:
        truth["disruptions"] = _write_closures(out / "disruptions", closures, month_starts)
    truth.update({
        "seed": seed, "entries": entries, "formats": formats, "period_start": str(period[0]),
        "period_end_exclusive": str(period[1]), "effects": dataclasses.asdict(e),
        "causal_exam_multiplier_by_tier": e.causal_exam_multiplier,
        "switching_importers": int(imp.filter(pl.col("kind").is_in(["joined", "suspended", "removed"])).height),
        "certified_entry_share": tally.certified / max(tally.entries, 1),
        "examined_entry_share": tally.examined / max(tally.entries, 1),
    })
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    return truth


def _filer_codes(rng, n: int) -> np.ndarray:
    """n distinct three-character filer codes as an (n, 3) uint8 array (ASCII)."""
    alnum = np.concatenate([LETTERS, DIGITS])
    codes = np.unique(_chars(rng, alnum, (n * 2 + 10, 3)).view("S3").ravel())
    if len(codes) < n:  # 36**3 = 46,656 codes: more than a 900 M-entry period asks for
        raise ValueError(f"{n} filer codes asked for; at most {36 ** 3} exist")
    return np.frombuffer(rng.permutation(codes)[:n].tobytes(), dtype=np.uint8).reshape(n, 3)


def _arrival_spans(month_starts: list[date]) -> list[tuple[float, float]]:
    """Each month's arrival window in UTC seconds: the month, less 12 hours at both ends of the
    period (so that every arrival's local date falls inside it)."""
    edge = [datetime.combine(m, datetime.min.time(), tzinfo=timezone.utc).timestamp() for m in month_starts]
    lo, hi = edge[0] + 12 * 3600, edge[-1] - 12 * 3600
    return [(max(a, lo), min(b, hi)) for a, b in zip(edge[:-1], edge[1:])]


def _split(entries: int, spans: list[tuple[float, float]]) -> list[int]:
    """Entries per month in proportion to the month's arrival window (arrivals are uniform over the
    period), rounded so that they add up exactly."""
    length = np.array([b - a for a, b in spans])
    cumulative = np.round(entries * np.cumsum(length) / length.sum()).astype(np.int64)
    return np.diff(cumulative, prepend=0).tolist()


def _entry_numbers(rng, first: int, n: int, filers: np.ndarray) -> np.ndarray:
    """Entry numbers of entries first .. first + n - 1 of the period (see SERIAL_STEP), 70 % written
    with dashes (AAA-1234567-8), the rest without."""
    space = len(filers) * SERIALS
    if first + n > space:
        raise ValueError(f"{first + n} entries do not fit {len(filers)} filer codes")
    h = (np.arange(first, first + n, dtype=np.int64) * SERIAL_STEP + 1) % space
    serial = h % SERIALS
    digits = (serial[:, None] // 10 ** np.arange(6, -1, -1) % 10 + ord("0")).astype(np.uint8)
    base10 = np.concatenate([filers[h // SERIALS], digits], axis=1)
    check = (check_digits(base10) + ord("0")).astype(np.uint8)[:, None]
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    plain = np.concatenate([base10, check], axis=1).view("S11").ravel().astype(str)
    dashed = np.concatenate([base10[:, :3], dash, base10[:, 3:], dash, check], axis=1).view("S13").ravel().astype(str)
    return np.where(rng.random(n) < 0.7, dashed, plain)


def _month_entries(rng, imp: pl.DataFrame, ports: pl.DataFrame, zones: list[str], span: tuple[float, float],
                   n: int, first: int, filers: np.ndarray, e: Effects) -> pl.DataFrame:
    """One month's entries before release: importer, port, mode, arrival, status on the local date,
    whether examined, lane and the declared fields."""
    weight = imp["volume"].to_numpy()
    imp_idx = rng.choice(imp.height, size=n, p=weight / weight.sum())
    # Port kind follows the importer's trade lane preference, then a port of that kind by traffic weight.
    cert = imp["kind"].is_in(CERTIFIED_KINDS).to_numpy()[imp_idx]
    p_sea = np.where(cert, e.certified_sea_share, e.uncertified_sea_share)
    p_land = np.where(cert, e.certified_land_share, e.uncertified_land_share)
    u = rng.random(n)
    kind = np.where(u < p_sea, "sea", np.where(u < p_sea + p_land, "land", "air"))
    port_code = np.empty(n, dtype="U4")
    mode = np.empty(n, dtype="U2")
    for k, modes in MODE_BY_KIND.items():
        sel = kind == k
        kp = ports.filter(pl.col("kind") == k)
        w = kp["weight"].to_numpy().astype(float)
        port_code[sel] = kp["port_code"].to_numpy()[rng.choice(len(kp), size=sel.sum(), p=w / w.sum())]
        codes, shares = zip(*modes)
        mode[sel] = np.array(codes)[rng.choice(len(codes), size=sel.sum(), p=shares)]
    arrival_s = rng.uniform(span[0], span[1], size=n)

    df = pl.DataFrame({
        "entry_number": _entry_numbers(rng, first, n, filers), "importer_idx": imp_idx, "port_code": port_code,
        "mode_of_transport": mode, "arrival_utc": (arrival_s * 1e6).astype("int64"),
    }).with_columns(pl.col("arrival_utc").cast(pl.Datetime("us", "UTC")))
    df = df.join(ports.select("port_code", "time_zone"), on="port_code", how="left", maintain_order="left")
    df = df.with_columns(pl.coalesce([pl.when(pl.col("time_zone") == tz).then(
        pl.col("arrival_utc").dt.convert_time_zone(tz).dt.replace_time_zone(None).dt.date()) for tz in zones]).alias("local_date"))
    df = df.with_columns(imp[imp_idx].drop("volume"))
    certified, tier = _status_expr()
    df = df.with_columns(certified.alias("certified"), tier.alias("tier"))

    base_rate = pl.col("mode_of_transport").replace_strict(e.base_exam_rate_by_mode, return_dtype=pl.Float64)
    mult = pl.col("tier").cast(pl.String).replace_strict(e.certified_exam_multiplier_by_tier, default=1.0, return_dtype=pl.Float64)
    truck = pl.col("mode_of_transport") == "30"
    fast_p = pl.when(pl.col("certified")).then(e.fast_share_certified).otherwise(e.fast_share_uncertified)
    return df.with_columns(
        (pl.Series(rng.random(n)) < base_rate * mult.fill_null(1.0) * pl.col("risk")).alias("examined"),
        pl.when(~truck).then(pl.lit(None, pl.String))
        .when(pl.Series(rng.random(n)) < 0.05).then(pl.lit(None, pl.String))
        .when(pl.Series(rng.random(n)) < fast_p).then(pl.lit("FAST")).otherwise(pl.lit("STANDARD")).alias("lane_type"),
        pl.when(pl.col("mode_of_transport").is_in(["30", "20", "11", "10"]))
        .then(pl.Series(np.array(SCACS)[rng.integers(0, len(SCACS), n)])).otherwise(None).alias("carrier_code"),
        pl.Series(np.array(ENTRY_TYPES)[rng.integers(0, len(ENTRY_TYPES), n)]).alias("entry_type"),
        pl.Series(np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), n)]).alias("country_of_origin"),
        pl.Series(np.array(HTS)[rng.integers(0, len(HTS), n)]).alias("hts_number"),
        pl.Series(np.round(rng.lognormal(9.5, 1.2, n), 2)).alias("entered_value_usd"),
    )


def _releases(df: pl.DataFrame, exams: pl.DataFrame, rng, e: Effects) -> pl.DataFrame:
    """Release waits for the last completed exam; an unexamined release depends on the mode. An entry
    with an unfinished exam, and a few others, stay open (no release)."""
    release_median = pl.col("mode_of_transport").replace_strict(
        {"30": 2.0, "20": 6.0, "11": 30.0, "10": 40.0, "40": 5.0}, return_dtype=pl.Float64)
    last_done = exams.group_by("entry_number").agg(
        pl.col("completed_utc").max().alias("last_done"), pl.col("completed_utc").null_count().alias("undone"))
    df = df.join(last_done, on="entry_number", how="left", maintain_order="left")
    n = df.height
    release_h = pl.Series(rng.lognormal(0.0, 0.6, n)) * release_median * \
        pl.when(pl.col("certified")).then(e.certified_release_multiplier).otherwise(1.0)
    release = pl.max_horizontal(pl.col("arrival_utc") + pl.duration(microseconds=(release_h * 3.6e9).cast(pl.Int64)),
                                pl.col("last_done") + pl.duration(minutes=30))
    is_open = (pl.Series(rng.random(n)) < e.open_entry_share) | (pl.col("undone").fill_null(0) > 0)
    return df.with_columns(pl.when(is_open).then(None).otherwise(release).alias("release_utc")).drop("last_done", "undone")


# Generated closures: (event_id, port_code, cause, month index, day, hour UTC, hours closed). A hurricane
# closes two seaports for days; a bridge closure stops a land port for two and a half days.
CLOSURES = [("GEN-HURRICANE-1", "1703", "HURRICANE", 2, 14, 18, 96.0),
            ("GEN-HURRICANE-1", "1601", "HURRICANE", 2, 14, 22, 108.0),
            ("GEN-BRIDGE-1", "3801", "BRIDGE_CLOSURE", 4, 9, 6, 60.0)]
# The first announcement of this row reopened 12 hours too early; a later file corrects it.
CORRECTED_CLOSURE, CORRECTION_HOURS = ("GEN-HURRICANE-1", "1601"), 12.0


def _closures(month_starts: list[date]) -> pl.DataFrame:
    """The closures as they really were (the corrected times), inside the generated period."""
    last = len(month_starts) - 2
    rows = []
    for event, port, cause, month, day, hour, hours in CLOSURES:
        closed = datetime.combine(month_starts[min(month, last)], datetime.min.time(), tzinfo=timezone.utc)
        closed = closed.replace(day=day, hour=hour)
        rows.append({"event_id": event, "port_code": port, "cause": cause, "closed_utc": closed,
                     "reopened_utc": closed + timedelta(hours=hours)})
    return pl.DataFrame(rows).with_columns(pl.col("closed_utc", "reopened_utc").dt.cast_time_unit("us"))


def _hold_caught_releases(df: pl.DataFrame, closures: pl.DataFrame, rng, e: Effects) -> pl.DataFrame:
    """Entries a closure catches (at its port, arrived from 168 hours before closing until reopening,
    not released before closing) are released only after reopening: log-normal hours with median
    e.resumption_hours_median, certified ones times e.certified_resumption_multiplier. Open entries
    stay open. Each generated port has one closure, so an entry is caught at most once here."""
    caught = df.join(closures, on="port_code", how="inner", maintain_order="left").filter(
        (pl.col("arrival_utc") >= pl.col("closed_utc") - pl.duration(hours=168))
        & (pl.col("arrival_utc") < pl.col("reopened_utc"))
        & (pl.col("release_utc").is_null() | (pl.col("release_utc") >= pl.col("closed_utc"))))
    hours = rng.lognormal(np.log(e.resumption_hours_median), 0.7, caught.height) * np.where(
        caught["certified"].to_numpy(), e.certified_resumption_multiplier, 1.0)
    held = caught.select("entry_number", pl.when(pl.col("release_utc").is_not_null()).then(
        pl.col("reopened_utc") + pl.duration(microseconds=pl.Series((hours * 3.6e9).astype("int64")))).alias("held"))
    return (df.join(held, on="entry_number", how="left", maintain_order="left")
            .with_columns(pl.coalesce("held", "release_utc").alias("release_utc")).drop("held"))


def _write_closures(folder: Path, closures: pl.DataFrame, month_starts: list[date]) -> dict:
    """The announcements as CBP makes them: a first file whose reopening of one row was announced too
    early, and a later file that corrects that row (the key (event_id, port_code) is repeated)."""
    folder.mkdir(parents=True, exist_ok=True)
    iso = lambda c: pl.col(c).dt.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    source = pl.lit("sample data: generated closure, not a real CSMS message")
    is_corrected = (pl.col("event_id") == CORRECTED_CLOSURE[0]) & (pl.col("port_code") == CORRECTED_CLOSURE[1])
    first = closures.with_columns(
        pl.when(is_corrected).then(pl.col("reopened_utc") - pl.duration(hours=CORRECTION_HOURS))
        .otherwise(pl.col("reopened_utc")).alias("reopened_utc"))
    columns = lambda f: f.select("event_id", "port_code", "cause", iso("closed_utc").alias("closed_at"),  # noqa: E731
                                 iso("reopened_utc").alias("reopened_at"), source.alias("source"))
    _write_csv(columns(first), folder / f"disruptions_{month_starts[0]:%Y-%m}.csv")
    _write_csv(columns(closures.filter(is_corrected)), folder / f"disruptions_{month_starts[0]:%Y-%m}_correction.csv")
    return {"closures": columns(closures).to_dicts(), "corrected_row": list(CORRECTED_CLOSURE),
            "first_announced_reopening_hours_early": CORRECTION_HOURS}


def _exams(df: pl.DataFrame, rng, e: Effects, first_id: int = 0) -> pl.DataFrame:
    """One or two exams per examined entry, with queue (selected -> started) and dwell times; exam ids
    are numbered from first_id (the exams of earlier months)."""
    ex = df.filter("examined").select("entry_number", "arrival_utc", "certified", "time_zone")
    second = ex.filter(pl.Series(rng.random(len(ex)) < 0.25))
    ex = pl.concat([ex, second])
    m = len(ex)
    type_idx = rng.choice(len(EXAM_TYPES), size=m, p=EXAM_TYPE_SHARE)
    wait_h = rng.lognormal(np.log(3.0), 0.8, m) * np.where(ex["certified"].to_numpy(), e.certified_wait_multiplier, 1.0)
    dwell_h = rng.lognormal(np.log(np.array(EXAM_HOURS_MEDIAN)[type_idx]), 0.5)
    started = rng.random(m) >= 0.03
    completed = started & (rng.random(m) >= 0.04)
    us = lambda h: pl.duration(microseconds=pl.Series((h * 3.6e9).astype("int64")))  # noqa: E731
    selected = pl.col("arrival_utc") + us(rng.uniform(0.05, 2.0, m))
    exams = ex.with_columns(
        selected.alias("selected_utc"),
        pl.Series("exam_type", np.array(EXAM_TYPES)[type_idx]),
        pl.Series("started", started), pl.Series("completed", completed),
        pl.Series("outcome", rng.choice(["NO_DISCREPANCY", "DISCREPANCY", "SEIZURE"], m, p=[0.9, 0.09, 0.01])),
    ).with_columns(
        pl.when(pl.col("exam_type") == "INTENSIVE").then(pl.lit("CES")).otherwise(pl.lit("PORT")).alias("exam_location"),
        pl.when("started").then(pl.col("selected_utc") + us(wait_h)).alias("started_utc"),
    ).with_columns(
        pl.when("completed").then(pl.col("started_utc") + us(dwell_h)).alias("completed_utc"),
        pl.when("completed").then(pl.col("outcome")).alias("outcome"),
    )
    return exams.with_row_index("seq", offset=first_id).with_columns(
        pl.format("EX{}", pl.col("seq").cast(pl.String).str.zfill(9)).alias("exam_id")).drop("seq")


ENTRY_COLUMNS = ["entry_number", "entry_type", "importer_number", "port_code", "mode_of_transport", "lane_type",
                 "carrier_code", "country_of_origin", "hts_number", "entered_value_usd", "arrival_at", "release_at"]
EXAM_COLUMNS = ["exam_id", "entry_number", "exam_type", "exam_location", "selected_at", "started_at",
                "completed_at", "outcome"]

# Each injected defect breaks exactly one rule, so the row gets exactly that reason code.
ENTRY_DEFECTS = {
    "bad_check_digit": lambda: pl.col("entry_number").str.slice(0, pl.col("entry_number").str.len_chars() - 1)
    + ((pl.col("entry_number").str.slice(-1).cast(pl.Int32) + 1) % 10).cast(pl.String),
    "unknown_port": lambda: pl.lit("9999"),
    "bad_country": lambda: pl.lit("usa"),
    "bad_value": lambda: pl.lit("-12.50"),
    "timestamp_without_offset": lambda: pl.col("arrival_at").str.slice(0, 19),
    # Release one second before arrival, written in UTC.
    "release_before_arrival": lambda: (pl.col("arrival_utc") - pl.duration(seconds=1)).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
}
DEFECT_COLUMN = {"bad_check_digit": "entry_number", "unknown_port": "port_code", "bad_country": "country_of_origin",
                 "bad_value": "entered_value_usd", "timestamp_without_offset": "arrival_at",
                 "release_before_arrival": "release_at"}


def _deliver_bwt_snapshots(folder: Path) -> None:
    """Border wait times are not generated: the real CBP snapshots bundled with the project are delivered."""
    for snapshot in sorted(resources.files("assets.reference").joinpath("bwt_snapshots").iterdir(), key=lambda p: p.name):
        if snapshot.name.endswith(".xml"):
            (folder / snapshot.name).write_bytes(snapshot.read_bytes())


def _entry_text(df: pl.DataFrame, zones: list[str]) -> pl.DataFrame:
    return df.with_columns(_local_text(df, "arrival_utc", zones).alias("arrival_at"),
                           _local_text(df, "release_utc", zones).alias("release_at"),
                           pl.col("entered_value_usd").cast(pl.String))


def _write_entries(folder: Path, df: pl.DataFrame, month: str, fmt: str, zones: list[str], rng,
                   bad_share: float) -> dict:
    """The month's entries file; CSV ones carry injected defects (Parquet is typed: none). Returns
    the defects injected, by reason code."""
    if fmt == "parquet":
        df.select(*[pl.col(c) for c in ENTRY_COLUMNS if c not in ("arrival_at", "release_at", "entered_value_usd")],
                  pl.col("entered_value_usd").cast(pl.Float64),
                  pl.col("arrival_utc").alias("arrival_at"), pl.col("release_utc").alias("release_at")) \
            .select(ENTRY_COLUMNS).write_parquet(folder / f"entries_{month}.parquet")
        return {}
    part, injected = _inject_defects(_entry_text(df, zones), rng, bad_share)
    _write_csv(part.select(ENTRY_COLUMNS), folder / f"entries_{month}.{fmt}")
    return injected


def _write_exams(folder: Path, exams: pl.DataFrame, month: str, fmt: str, zones: list[str]) -> None:
    text = exams.with_columns(_local_text(exams, c, zones).alias(c.replace("_utc", "_at"))
                              for c in ("selected_utc", "started_utc", "completed_utc"))
    _write_csv(text.select(EXAM_COLUMNS), folder / f"exams_{month}.{'csv.gz' if fmt == 'csv.gz' else 'csv'}")


def _write_corrections(folder: Path, df: pl.DataFrame, month: str, zones: list[str], rng) -> int:
    """A correction file: brokers re-transmit 1 % of the month's released entries with a later release."""
    released = df.filter(pl.col("release_utc").is_not_null())
    corr = released.sample(fraction=0.01, seed=int(rng.integers(1 << 31)))
    corr = corr.with_columns(pl.col("release_utc") + pl.duration(hours=6))
    _write_csv(_entry_text(corr, zones).select(ENTRY_COLUMNS), folder / f"entries_{month}_corrections.csv")
    return corr.height


def _inject_defects(part: pl.DataFrame, rng, share: float) -> tuple[pl.DataFrame, dict]:
    n_bad = int(len(part) * share)
    if n_bad == 0:
        return part, {}
    rows = rng.choice(len(part), size=n_bad, replace=False)
    kinds = np.array(list(ENTRY_DEFECTS))[np.arange(n_bad) % len(ENTRY_DEFECTS)]
    defect = np.full(len(part), "", dtype=object)
    defect[rows] = kinds
    # release_before_arrival needs a release; rows without one get another defect instead.
    part = part.with_columns(pl.Series("_defect", defect.astype(str)))
    part = part.with_columns(pl.when((pl.col("_defect") == "release_before_arrival") & pl.col("release_at").is_null())
                             .then(pl.lit("bad_country")).otherwise(pl.col("_defect")).alias("_defect"))
    for name, expr in ENTRY_DEFECTS.items():
        col = DEFECT_COLUMN[name]
        part = part.with_columns(pl.when(pl.col("_defect") == name).then(expr()).otherwise(pl.col(col)).alias(col))
    counts = part.filter(pl.col("_defect") != "")["_defect"].value_counts()
    return part.drop("_defect"), dict(zip(counts["_defect"].to_list(), counts["count"].to_list()))


def _write_csv(frame: pl.DataFrame, path: Path) -> None:
    if path.name.endswith(".gz"):
        # mtime=0: the same data gives the same bytes, so a re-generated file is a duplicate delivery.
        with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=5, mtime=0) as fh:
            frame.write_csv(fh, null_value="")
    else:
        frame.write_csv(path, null_value="")


def _ports() -> pl.DataFrame:
    ref = resources.files("assets.reference")
    chosen = pl.read_csv(ref / "generator_ports.csv", schema_overrides={"port_code": pl.String})
    sched = pl.read_csv(ref / "schedule_d_ports.csv", schema_overrides={"port_code": pl.String})
    return chosen.join(sched.select("port_code", "time_zone"), on="port_code", how="inner")
