# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Three questions an analyst asks the CTPAT marts
#
# This notebook opens the analyst file **read-only** (never the pipeline's warehouse), so it can run
# while the pipeline publishes. It is stored as a jupytext "percent" script: open it in Jupyter with
# jupytext, or run it as a plain script (`python notebooks/analyst_questions.py`), which is how the
# tests execute it against the demo marts. Charts are saved under `$NOTEBOOK_OUTPUT`
# (default `data/reports/notebook/`).

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
# ## 1. Which ports show the largest certified/uncertified exam gap?
#
# Exam rates over the whole period, within each port and mode (so a port's mix of modes does not
# masquerade as a gap); ports with at least 100 entries on each side.

# %%
gaps = con.sql("""
    WITH by_port AS (
        SELECT port_code, mode_of_transport, ctpat_status, sum(entries) AS entries, sum(examined_entries) AS examined
        FROM marts.exam_rates GROUP BY ALL
    )
    SELECT c.port_code, c.mode_of_transport,
           c.examined / c.entries AS certified_rate, u.examined / u.entries AS uncertified_rate,
           u.examined / u.entries - c.examined / c.entries AS gap, c.entries AS certified_entries,
           u.entries AS uncertified_entries
    FROM by_port c JOIN by_port u USING (port_code, mode_of_transport)
    WHERE c.ctpat_status = 'CERTIFIED' AND u.ctpat_status = 'UNCERTIFIED'
      AND c.entries >= 100 AND u.entries >= 100
    ORDER BY gap DESC
    LIMIT 10
""").pl()
print(gaps)

fig, ax = plt.subplots(figsize=(9, 4.5))
labels = [f"{p} mode {m}" for p, m in zip(gaps["port_code"], gaps["mode_of_transport"])]
ax.barh(labels, (gaps["gap"] * 100).to_list(), color="#762a83")
ax.invert_yaxis()
ax.set_xlabel("uncertified minus certified exam rate (percentage points)")
ax.set_title("Largest certified/uncertified exam gaps by port and mode (whole period)")
fig.tight_layout()
fig.savefig(OUTPUT / "q1_exam_gap_by_port.png", dpi=100)
plt.show()

# %% [markdown]
# ## 2. How did inspection waits change month to month?
#
# Medians of different ports cannot be averaged; the mart's exact mean wait (weighted by started
# exams) can, so the trend uses the mean, with the median of the port medians for reference.

# %%
waits = con.sql("""
    SELECT month, ctpat_status, sum(exams_started) AS exams,
           sum(mean_wait_hours * exams_started) / sum(exams_started) AS mean_wait_hours,
           median(median_wait_hours) AS median_of_port_medians
    FROM marts.inspection_waits GROUP BY ALL ORDER BY ALL
""").pl()
print(waits)

fig, ax = plt.subplots(figsize=(9, 4))
for status, color in (("CERTIFIED", "#1b7837"), ("UNCERTIFIED", "#762a83")):
    part = waits.filter(waits["ctpat_status"] == status)
    ax.plot(part["month"].to_list(), part["mean_wait_hours"].to_list(), "o-", color=color, label=status.title())
ax.set_ylabel("mean hours from selection to exam start")
ax.set_title("Inspection waits by month")
ax.legend()
fig.tight_layout()
fig.savefig(OUTPUT / "q2_inspection_waits_by_month.png", dpi=100)
plt.show()

# %% [markdown]
# ## 3. FAST vs standard lanes at the busiest crossing
#
# The busiest crossing is the one with the most commercial lanes among those reporting both lanes.

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
for lane, color in (("FAST", "#1b7837"), ("STANDARD", "#b35806")):
    part = lanes.filter(lanes["lane"] == lane)
    ax.plot([str(d) for d in part["date"]], part["mean_delay_minutes"].to_list(), "o-", color=color, label=lane.title())
ax.set_ylabel("mean commercial delay (minutes)")
ax.set_title(f"FAST vs standard lanes at {busiest[1]} ({busiest[0]})")
ax.legend()
fig.tight_layout()
fig.savefig(OUTPUT / "q3_fast_vs_standard_busiest.png", dpi=100)
plt.show()
