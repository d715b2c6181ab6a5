# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Three questions an analyst asks the CTPAT marts
#
# This notebook opens the analyst file **read-only** (never the pipeline's warehouse), so it can run
# while the pipeline publishes. It is kept twice, paired by jupytext: `analyst_questions.ipynb` opens
# in JupyterLab (`make notebook`), `analyst_questions.py` (a "percent" script) reads well in a diff
# and runs as a plain script (`python notebooks/analyst_questions.py`), which is how the tests
# execute it against the demo marts. Edit either; jupytext keeps the other in step. Charts are
# saved under `$NOTEBOOK_OUTPUT` (default `data/reports/notebook/`).

# %%
import os
from pathlib import Path

import duckdb
import matplotlib

if not os.environ.get("JPY_PARENT_PID"):
    matplotlib.use("Agg")  # a script run has no screen
import matplotlib.pyplot as plt

ANALYTICS = Path(os.environ.get("EXAM_RISK_ANALYTICS", "data/analytics.duckdb"))
OUTPUT = Path(os.environ.get("NOTEBOOK_OUTPUT", "data/reports/notebook"))
OUTPUT.mkdir(parents=True, exist_ok=True)
con = duckdb.connect(str(ANALYTICS), read_only=True)

# %% [markdown]
# ## The schema, from the table comments

# %%
tables = con.sql("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").pl()
print(tables)
assert tables.height >= 10 and tables["comment"].null_count() == 0

# %% [markdown]
# ## Names for codes
#
# The analyst file has lookup tables for every code of the contract: `marts.ports` (Schedule D),
# `marts.modes`, `marts.entry_types`, `marts.exam_types`.

# %%
print(con.sql("SELECT * FROM marts.modes").pl())
Z = 1.959963984540054  # the marts' Wilson intervals use the same z


def wilson(examined, entries):
    """Wilson score 95 % interval of a proportion (as in marts.exam_rates), as (low, high)."""
    p = examined / entries
    centre = (p + Z * Z / (2 * entries)) / (1 + Z * Z / entries)
    half = Z * ((p * (1 - p) / entries + Z * Z / (4 * entries * entries)) ** 0.5) / (1 + Z * Z / entries)
    return centre - half, centre + half


# %% [markdown]
# ## 1. Which ports show the largest certified/uncertified exam gap?
#
# Exam rates over the whole period, within each port and mode (so a port's mix of modes does not
# masquerade as a gap); ports with at least 100 entries on each side. Ranked by the **ratio** of
# the rates (a 2-point gap means little at a port examining 30 % of entries, much at one examining
# 3 %; a port where no certified entry was examined has no ratio and comes first). The intervals are
# each rate's Wilson interval over entries; they are narrower than the
# scorecard's, which treat importers, not entries, as the independent units (`marts.ctpat_benefits`).

# %%
gaps = con.sql("""
    WITH by_port AS (
        SELECT port_code, mode_of_transport, ctpat_status, sum(entries)::BIGINT AS entries,
               sum(examined_entries)::BIGINT AS examined
        FROM marts.exam_rates GROUP BY ALL
    )
    SELECT c.port_code, p.port_name, c.mode_of_transport, m.description AS mode,
           c.examined AS certified_examined, c.entries AS certified_entries,
           u.examined AS uncertified_examined, u.entries AS uncertified_entries,
           c.examined / c.entries AS certified_rate, u.examined / u.entries AS uncertified_rate,
           (u.examined / u.entries) / nullif(c.examined / c.entries, 0) AS ratio
    FROM by_port c JOIN by_port u USING (port_code, mode_of_transport)
    LEFT JOIN marts.ports p USING (port_code) LEFT JOIN marts.modes m USING (mode_of_transport)
    WHERE c.ctpat_status = 'CERTIFIED' AND u.ctpat_status = 'UNCERTIFIED'
      AND c.entries >= 100 AND u.entries >= 100
    ORDER BY ratio DESC NULLS FIRST, port_code
    LIMIT 10
""").pl()
print(gaps.select("port_code", "port_name", "mode", "certified_rate", "uncertified_rate", "ratio",
                  "certified_entries", "uncertified_entries"))

fig, ax = plt.subplots(figsize=(11, 6))
for y, r in enumerate(gaps.iter_rows(named=True)):
    for side, color, marker in (("certified", "#0072B2", "o"), ("uncertified", "#D55E00", "s")):
        low, high = wilson(r[f"{side}_examined"], r[f"{side}_entries"])
        rate = r[f"{side}_rate"]
        ax.errorbar(rate * 100, y, xerr=[[max(rate - low, 0) * 100], [max(high - rate, 0) * 100]],
                    fmt=marker, color=color, capsize=3, label=("CTPAT certified" if side == "certified" else "not certified")
                    if y == 0 else None)
ax.set_yticks(range(gaps.height), [f"{r['port_name'].title()} ({r['port_code']}), {r['mode'].lower()}\n"
                                   f"n = {r['certified_entries']:,} certified / {r['uncertified_entries']:,} not"
                                   for r in gaps.iter_rows(named=True)], fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("entries with at least one exam (%), Wilson 95 % interval")
ax.set_title("Ports and modes with the largest certified vs not certified exam-rate ratio (whole period)")
ax.legend(loc="lower right")
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()
fig.savefig(OUTPUT / "q1_exam_gap_by_port.png", dpi=100)
plt.show()

# %% [markdown]
# ## 2. How did inspection waits change month to month?
#
# Left: the mean wait per month and status, with how many exams it averages (medians of different
# ports cannot be averaged; the mart's exact mean, weighted by started exams, can). Right: the
# scorecard's answer for each month, certified minus not certified median wait within port and mode,
# with its 95 % interval over importers (`inspection_priority` in `marts.ctpat_benefits`).

# %%
waits = con.sql("""
    SELECT month, ctpat_status, sum(exams_started)::BIGINT AS exams,
           sum(mean_wait_hours * exams_started) / sum(exams_started) AS mean_wait_hours
    FROM marts.inspection_waits GROUP BY ALL ORDER BY ALL
""").pl()
effect = con.sql("""
    SELECT month, effect, effect_ci_low, effect_ci_high, certified_n, uncertified_n, verdict
    FROM marts.ctpat_benefits WHERE benefit = 'inspection_priority' AND month <> 'ALL' ORDER BY month
""").pl()
print(waits)
print(effect)

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
for status, color, style in (("CERTIFIED", "#0072B2", "o-"), ("UNCERTIFIED", "#D55E00", "s--")):
    part = waits.filter(waits["ctpat_status"] == status)
    left.plot(part["month"].to_list(), part["mean_wait_hours"].to_list(), style, color=color,
              label=f"{'CTPAT certified' if status == 'CERTIFIED' else 'not certified'} "
                    f"(n = {part['exams'].sum():,} exams)")
left.set_ylabel("mean hours from selection to exam start")
left.set_title("Inspection waits by month")
left.legend(fontsize=8)
shown = effect.filter(effect["effect"].is_not_null())
right.errorbar(shown["month"].to_list(), shown["effect"].to_list(),
               yerr=[(shown["effect"] - shown["effect_ci_low"]).clip(lower_bound=0).to_list(),
                     (shown["effect_ci_high"] - shown["effect"]).clip(lower_bound=0).to_list()],
               fmt="o", color="#0072B2", capsize=3)
for m, e, nc, nu in zip(shown["month"], shown["effect"], shown["certified_n"], shown["uncertified_n"]):
    right.annotate(f"n={nc:,}/{nu:,}", (m, e), xytext=(6, 0), textcoords="offset points", fontsize=7, va="center")
right.axhline(0, color="black", linewidth=0.8, linestyle="--")
right.set_ylabel("certified − not certified median wait (hours)")
right.set_title("Adjusted difference with its 95 % interval over importers")
fig.tight_layout()
fig.savefig(OUTPUT / "q2_inspection_waits_by_month.png", dpi=100)
plt.show()

# %% [markdown]
# ## 3. FAST vs standard lanes at the busiest crossing
#
# The busiest crossing is the one with the most commercial lanes among those reporting both lanes;
# each point is one port-local date, labelled with its number of readings.

# %%
busiest = con.execute("""
    SELECT port_number, any_value(crossing_name) AS crossing, max(commercial_lanes) AS lanes
    FROM marts.lane_wait_times WHERE readings > 0
    GROUP BY port_number HAVING count(DISTINCT lane) = 2
    ORDER BY lanes DESC NULLS LAST, port_number LIMIT 1
""").fetchall()[0]
print("busiest crossing:", busiest)
lanes = con.sql("SELECT date, lane, readings, mean_delay_minutes FROM marts.lane_wait_times "
                "WHERE port_number = ? AND readings > 0 ORDER BY date, lane", params=[busiest[0]]).pl()
print(lanes)

fig, ax = plt.subplots(figsize=(9, 4))
for lane, color, style in (("FAST", "#009E73", "o-"), ("STANDARD", "#E69F00", "s--")):
    part = lanes.filter(lanes["lane"] == lane)
    dates = [str(d) for d in part["date"]]
    ax.plot(dates, part["mean_delay_minutes"].to_list(), style, color=color,
            label=f"{lane.title()} (n = {part['readings'].sum():,} readings)")
    for d, v, n in zip(dates, part["mean_delay_minutes"], part["readings"]):
        ax.annotate(f"n={n}", (d, v), xytext=(0, 6 if lane == "FAST" else -12), textcoords="offset points",
                    fontsize=7, ha="center")
ax.set_ylabel("mean commercial delay (minutes)")
ax.set_title(f"FAST vs standard lanes at {busiest[1]} ({busiest[0]})")
ax.legend()
fig.tight_layout()
fig.savefig(OUTPUT / "q3_fast_vs_standard_busiest.png", dpi=100)
plt.show()
