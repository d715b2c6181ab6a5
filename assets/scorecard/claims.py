"""One answer per CBP claim (marts.ctpat_claims): CBP's list of CTPAT benefits, each tested by the
scorecard rows the contract names, with a verdict by the contract's rules and one plain sentence a
customs broker can read."""

from __future__ import annotations

import polars as pl

from assets.scorecard.benefits import ALL, BY_NAME
from assets.scorecard.catalogue import CLAIMS, Claim
from assets.scorecard.statistics import CONTRADICTED, INCONCLUSIVE, INSUFFICIENT, MIN_CELL, SUPPORTED

NOT_MEASURABLE, NOT_SHOWN = "NOT_MEASURABLE", "NOT_SHOWN"


COLUMNS = {"month": pl.String, "claim": pl.String, "promise": pl.String, "verdict": pl.String,
           "benefits": pl.List(pl.String), "answer": pl.String}


def claim_verdict(claim: Claim, verdicts: list[str | None], loaded_sources: set[str]) -> str:
    """The contract's rules, the first that applies: NOT_MEASURABLE when no source of its benefits
    has loaded rows (or it has no benefit); CONTRADICTED when any benefit row is; INSUFFICIENT_DATA
    when any is (a missing row counts as one); SUPPORTED when all are; otherwise NOT_SHOWN."""
    if not claim.benefits or not set(claim.sources) & loaded_sources:
        return NOT_MEASURABLE
    if CONTRADICTED in verdicts:
        return CONTRADICTED
    if INSUFFICIENT in verdicts or None in verdicts:
        return INSUFFICIENT
    if all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    return NOT_SHOWN


def claims(card: pl.DataFrame, loaded_sources: set[str]) -> pl.DataFrame:
    """Every claim for ALL and every month of the scorecard."""
    by_key = {(r["month"], r["benefit"]): r for r in card.iter_rows(named=True)}
    months = sorted(set(card["month"]) - {ALL}) + ([ALL] if ALL in set(card["month"]) else [])
    out = []
    for month in months:
        for claim in CLAIMS:
            rows = [by_key.get((month, b)) for b in claim.benefits]
            verdict = claim_verdict(claim, [r["verdict"] if r else None for r in rows], loaded_sources)
            out.append({"month": month, "claim": claim.name, "promise": claim.promise, "verdict": verdict,
                        "benefits": list(claim.benefits), "answer": answer(claim, month, rows, verdict)})
    return pl.DataFrame(out, schema=COLUMNS)


# ---------------------------------------------------------------------------------------------
# The sentence
# ---------------------------------------------------------------------------------------------

def _times(rr: float, noun: str) -> str:
    """A rate ratio in a broker's words: 0.25 -> '4.0 times fewer exams', 1.3 -> '1.30 times as many exams'."""
    if rr < 1:
        return f"{1 / rr:.1f} times fewer {noun}" if rr > 0 else f"no {noun} at all"
    return f"{rr:.2f} times as many {noun}"


def _ratio_interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "no interval"
    inverse = lambda x: 1 / x if x > 0 else float("inf")  # noqa: E731  (an unbounded limit: 0 or infinity)
    if high < 1:
        return f"95% CI {_fold(inverse(high))} to {_fold(inverse(low))} times fewer"
    if low > 1:
        return f"95% CI {_fold(low)} to {_fold(high)} times as many"
    return f"95% CI from {_fold(inverse(low))} times fewer to {_fold(high)} times as many"


def _fold(x: float) -> str:
    """A factor as a broker reads it; past 100 the exact number means nothing."""
    return "over 100" if x > 100 else f"{x:.1f}"


def _difference(value: float, unit: str, less: str, more: str) -> str:
    if abs(value) < 0.05:
        return f"no different (under 0.1 {unit})"
    return f"{abs(value):,.1f} {unit} {less if value < 0 else more}"


def _difference_interval(low: float | None, high: float | None, unit: str, less: str, more: str) -> str:
    """'95% CI 1.0 to 1.7 hours shorter' when both limits lie on one side, else 'from ... shorter to ... longer'."""
    if low is None or high is None:
        return "no interval"
    if high < 0:
        return f"95% CI {abs(high):,.1f} to {abs(low):,.1f} {unit} {less}"
    if low > 0:
        return f"95% CI {low:,.1f} to {high:,.1f} {unit} {more}"
    return f"95% CI from {abs(low):,.1f} {unit} {less} to {high:,.1f} {unit} {more}"


def _phrase(name: str, row: dict | None, what: str) -> str:
    """One benefit row as a clause: the comparison, the effect in the broker's units, its interval."""
    if row is None or row["effect"] is None:
        return f"{NO_ESTIMATE.get(name, name)}: no estimate"
    benefit = BY_NAME[row["benefit"]]
    if benefit.measure == "rate_ratio":
        noun = "UFLPA detentions" if "detention" in benefit.name else "exams"
        body = f"{_times(row['effect'], noun)} ({_ratio_interval(row['effect_ci_low'], row['effect_ci_high'])})"
    elif benefit.measure == "difference_in_median_hours":
        body = (f"{_difference(row['effect'], 'hours', 'shorter', 'longer')} "
                f"({_difference_interval(row['effect_ci_low'], row['effect_ci_high'], 'hours', 'shorter', 'longer')})")
    else:
        body = (f"{_difference(row['effect'], 'minutes', 'shorter', 'longer')} "
                f"({_difference_interval(row['effect_ci_low'], row['effect_ci_high'], 'minutes', 'shorter', 'longer')})")
    if benefit.name == "business_resumption_priority" and row.get("baseline_effect") is not None:
        # Certified traffic may be released faster anyway: priority is what the normal weeks do not show.
        body += f", against {_difference(row['baseline_effect'], 'hours', 'shorter', 'longer')} in the normal weeks before"
    return f"{what} {body}"


WHAT = {  # each clause reads "<what> <effect> (<interval>)"
    "fewer_exams": "across importers at the same port, mode, origin and HTS section, certified entries had",
    "fewer_exams_within_importer": "each importer that changed status, compared with itself at the same port and mode, had",
    "inspection_priority": "at the same port and mode, certified entries waited from selection to exam start a median",
    "inspection_priority_within_importer": "importers that changed status, compared with themselves, waited a median",
    "shorter_border_wait": "at the same crossing and update time, the FAST truck lanes' delay was on average",
    "forced_labor_detention_hours": "at the same port and mode, certified importers' UFLPA detentions lasted a median",
    "business_resumption_priority": "after a port closure, certified entries the closure caught at the same port and "
                                    "mode were released from reopening a median",
}
NO_ESTIMATE = {
    "fewer_exams": "exam rates across importers",
    "fewer_exams_within_importer": "exam rates of importers that changed status",
    "inspection_priority": "inspection waits across importers",
    "inspection_priority_within_importer": "inspection waits of importers that changed status",
    "shorter_border_wait": "FAST against standard lane delay",
    "forced_labor_detention_hours": "UFLPA detention hours",
    "business_resumption_priority": "release after reopening",
}
VERDICT_WORDS = {
    SUPPORTED: "supported: every comparison shows the benefit beyond chance",
    CONTRADICTED: "contradicted: a comparison shows the opposite beyond chance",
    NOT_SHOWN: "not shown: at least one comparison cannot tell the benefit from no difference",
    INCONCLUSIVE: "not shown",
}


def _insufficient(claim: Claim, rows: list[dict | None]) -> str:
    reasons = []
    for name, row in zip(claim.benefits, rows):
        if row is None:
            reasons.append(f"{name} has no estimate yet")
            continue
        if row["verdict"] != INSUFFICIENT:
            continue
        if row["design"] == "within_importer":
            reasons.append(f"{row['switching_importers'] or 0} importers changed status with data on both sides (10 needed)")
        elif min(row["certified_n"], row["uncertified_n"]) < 30:
            reasons.append(f"{min(row['certified_n'], row['uncertified_n']):,} observations on one side (30 needed)")
        elif row["certified_importers"] is not None and min(row["certified_importers"], row["uncertified_importers"]) < 10:
            reasons.append(f"{min(row['certified_importers'], row['uncertified_importers'])} importers on one side (10 needed)")
        elif row["effect"] is None:
            reasons.append(f"no port and mode has {MIN_CELL} {name.replace('_', ' ')} observations on each side to compare")
        else:
            reasons.append(f"{name} has no interval")
    return "not enough data: " + "; ".join(reasons)


def answer(claim: Claim, month: str, rows: list[dict | None], verdict: str) -> str:
    """One sentence: what was compared, the effect in the broker's units with its interval, the verdict in words."""
    period = "over the whole period" if month == ALL else f"in {month}"
    if verdict == NOT_MEASURABLE:
        return f"CBP promises {claim.promise}; {period} this cannot be measured: {claim.unmeasurable_because}."
    clauses = "; ".join(_phrase(name, row, WHAT.get(name, name)) for name, row in zip(claim.benefits, rows))
    words = _insufficient(claim, rows) if verdict == INSUFFICIENT else VERDICT_WORDS[verdict]
    return f"CBP promises {claim.promise}; {period}, {clauses}; {words}."
