"""marts.ctpat_claims: the contract's verdict rules, one test per rule, in their order, and the
sentence a broker reads."""

import polars as pl
import pytest

from assets.scorecard.benefits import BY_NAME, COLUMNS
from assets.scorecard.claims import CLAIMS, NOT_MEASURABLE, NOT_SHOWN, answer, claim_verdict, claims

FEWER = next(c for c in CLAIMS if c.name == "fewer_exams")
LOADED = {"entries", "exams", "ctpat", "bwt"}


def card(rows: list[dict]) -> pl.DataFrame:
    """A scorecard with the given rows (benefit, verdict, effect...), other columns empty."""
    full = []
    for r in rows:
        b = BY_NAME[r["benefit"]]
        full.append({c: None for c in COLUMNS} | {"month": "ALL", "design": b.design, "measure": b.measure,
                                                   "certified_n": 500, "uncertified_n": 500, "certified_importers": 40,
                                                   "uncertified_importers": 40, "switching_importers": 25} | r)
    return pl.DataFrame(full, schema=COLUMNS)


def verdict_of(claim_name: str, rows: list[dict], loaded=LOADED) -> str:
    out = claims(card(rows), loaded)
    return out.filter(pl.col("claim") == claim_name)["verdict"].item()


SUPPORTED_ROWS = [{"benefit": "fewer_exams", "verdict": "SUPPORTED", "effect": 0.5, "effect_ci_low": 0.4, "effect_ci_high": 0.6},
                  {"benefit": "fewer_exams_within_importer", "verdict": "SUPPORTED", "effect": 0.6, "effect_ci_low": 0.5,
                   "effect_ci_high": 0.7}]


def test_rule_1_not_measurable_without_loaded_rows_of_its_sources_or_without_benefits():
    assert verdict_of("fewer_exams", SUPPORTED_ROWS, loaded={"bwt"}) == NOT_MEASURABLE
    assert verdict_of("assigned_security_specialist", SUPPORTED_ROWS) == NOT_MEASURABLE
    assert verdict_of("business_resumption_priority", SUPPORTED_ROWS) == NOT_MEASURABLE  # no disruptions loaded


def test_rule_2_contradicted_when_any_benefit_row_is_contradicted():
    rows = [SUPPORTED_ROWS[0], {**SUPPORTED_ROWS[1], "verdict": "CONTRADICTED"}]
    assert verdict_of("fewer_exams", rows) == "CONTRADICTED"
    # before INSUFFICIENT_DATA: the order of the rules decides
    rows = [{**SUPPORTED_ROWS[0], "verdict": "INSUFFICIENT_DATA"}, {**SUPPORTED_ROWS[1], "verdict": "CONTRADICTED"}]
    assert verdict_of("fewer_exams", rows) == "CONTRADICTED"


def test_rule_3_insufficient_data_when_any_is_insufficient_or_missing():
    rows = [SUPPORTED_ROWS[0], {**SUPPORTED_ROWS[1], "verdict": "INSUFFICIENT_DATA", "switching_importers": 4}]
    assert verdict_of("fewer_exams", rows) == "INSUFFICIENT_DATA"
    assert verdict_of("fewer_exams", SUPPORTED_ROWS[:1]) == "INSUFFICIENT_DATA"  # the within-importer row is missing


def test_rule_4_supported_when_all_are_supported():
    assert verdict_of("fewer_exams", SUPPORTED_ROWS) == "SUPPORTED"


def test_rule_5_otherwise_not_shown():
    rows = [SUPPORTED_ROWS[0], {**SUPPORTED_ROWS[1], "verdict": "INCONCLUSIVE", "effect_ci_high": 1.1}]
    assert verdict_of("fewer_exams", rows) == NOT_SHOWN


def test_every_claim_for_every_month_and_all():
    rows = [{**r, "month": m} for r in SUPPORTED_ROWS for m in ("2026-01", "2026-02", "ALL")]
    out = claims(card(rows), LOADED)
    assert out.height == 3 * len(CLAIMS)
    assert out["month"].unique(maintain_order=True).to_list() == ["2026-01", "2026-02", "ALL"]
    assert out.filter(pl.col("claim") == "fewer_exams")["benefits"].to_list()[0] == ["fewer_exams", "fewer_exams_within_importer"]


@pytest.mark.parametrize("rows, expected", [
    (SUPPORTED_ROWS, ["2.0 times fewer exams (95% CI 1.7 to 2.5 times fewer)", "compared with itself",
                      "1.7 times fewer exams (95% CI 1.4 to 2.0 times fewer)", "supported"]),
    ([SUPPORTED_ROWS[0], {**SUPPORTED_ROWS[1], "verdict": "INSUFFICIENT_DATA", "switching_importers": 4}],
     ["not enough data: 4 importers changed status with data on both sides (10 needed)"]),
])
def test_the_answer_is_one_sentence_in_a_brokers_units(rows, expected):
    c = card(rows)
    by = {r["benefit"]: r for r in c.iter_rows(named=True)}
    verdict = claim_verdict(FEWER, [by.get(b, {}).get("verdict") for b in FEWER.benefits], LOADED)
    text = answer(FEWER, "ALL", [by.get(b) for b in FEWER.benefits], verdict)
    assert text.startswith("CBP promises fewer examinations; over the whole period, ") and text.endswith(".")
    assert text.count(". ") == 0  # one sentence
    for part in expected:
        assert part in text, text


def test_hours_answers_say_shorter_or_longer():
    rows = [{"benefit": "inspection_priority", "verdict": "SUPPORTED", "effect": -1.25, "effect_ci_low": -1.7,
             "effect_ci_high": -0.8},
            {"benefit": "inspection_priority_within_importer", "verdict": "INCONCLUSIVE", "effect": -0.4,
             "effect_ci_low": -1.1, "effect_ci_high": 0.3}]
    out = claims(card(rows), LOADED).filter(pl.col("claim") == "priority_inspections").row(0, named=True)
    assert out["verdict"] == NOT_SHOWN
    assert "a median 1.2 hours shorter (95% CI 0.8 to 1.7 hours shorter)" in out["answer"]
    assert "95% CI from 1.1 hours shorter to 0.3 hours longer" in out["answer"]


def test_an_unbounded_interval_reads_as_such():
    rows = [{"benefit": "fewer_exams", "verdict": "INCONCLUSIVE", "effect": 0.5, "effect_ci_low": 0.0,
             "effect_ci_high": float("inf")},
            {"benefit": "fewer_exams_within_importer", "verdict": "SUPPORTED", "effect": 0.6, "effect_ci_low": 0.0,
             "effect_ci_high": 0.7}]
    out = claims(card(rows), LOADED).filter(pl.col("claim") == "fewer_exams").row(0, named=True)
    assert "95% CI from over 100 times fewer to over 100 times as many" in out["answer"]
    assert "95% CI 1.4 to over 100 times fewer" in out["answer"]
