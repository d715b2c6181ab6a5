"""What the scorecard measures and what CBP claims, as plain data: each benefit's measure, design,
source and method, and each claim's promise and the benefits that test it. The estimators
(benefits.py, claims.py) and the reports (which only need names and order) both read it here."""

from __future__ import annotations

from dataclasses import dataclass

ALL = "ALL"
RATIO, HOURS, MINUTES = "rate_ratio", "difference_in_median_hours", "difference_in_mean_minutes"
CROSS, WITHIN, PAIRED = "cross_sectional", "within_importer", "paired_readings"
CRUDE, PORT_MODE, FULL = "crude", "port_mode", "port_mode_origin_section"
EVENT_PORT_MODE = "event_port_mode"

RATIO_METHOD = ("exam-rate ratio, Mantel-Haenszel over port x mode x country of origin x HTS section strata (ALL: "
                "and month); delete-one-importer jackknife 95% CI")
WITHIN_RATIO_METHOD = ("exam-rate ratio, Poisson with importer x port x mode and month fixed effects (offset log "
                       "entries); delete-one-importer jackknife 95% CI")
MEDIAN_METHOD = ("difference in median {}: within port x mode (ALL: and month) cells, weighted by certified counts "
                 "(crude: plain medians); delete-one-importer jackknife 95% CI through the Bahadur representation")
RESUMPTION_METHOD = ("difference in median hours from reopening to release of the entries a port closure caught: "
                     "within event x port x mode (ALL: and month) cells, weighted by certified counts (crude: plain "
                     "medians); delete-one-importer jackknife 95% CI through the Bahadur representation; "
                     "baseline_effect: the same difference of the port's normal release hours before the closure")
WITHIN_MEDIAN_METHOD = ("difference in median {}: within importer x port x mode cells (importers whose status "
                        "changed), weighted by certified counts; delete-one-importer jackknife 95% CI")


@dataclass(frozen=True)
class Benefit:
    name: str
    measure: str
    design: str
    source: str  # the landing source its observations come from (a claim with no loaded rows is not measurable)
    method: str

    @property
    def null(self) -> float:
        return 1.0 if self.measure == RATIO else 0.0


BENEFITS = [
    Benefit("fewer_exams", RATIO, CROSS, "entries", RATIO_METHOD),
    Benefit("fewer_exams_within_importer", RATIO, WITHIN, "entries", WITHIN_RATIO_METHOD),
    Benefit("fewer_exams_tier1", RATIO, CROSS, "entries", "as fewer_exams, tier 1 certified importers vs uncertified"),
    Benefit("fewer_exams_tier2", RATIO, CROSS, "entries", "as fewer_exams, tier 2 certified importers vs uncertified"),
    Benefit("fewer_exams_tier3", RATIO, CROSS, "entries", "as fewer_exams, tier 3 certified importers vs uncertified"),
    Benefit("inspection_priority", HOURS, CROSS, "exams", MEDIAN_METHOD.format("hours from selection to exam start")),
    Benefit("inspection_priority_within_importer", HOURS, WITHIN, "exams",
            WITHIN_MEDIAN_METHOD.format("hours from selection to exam start")),
    Benefit("faster_release_unexamined", HOURS, CROSS, "entries", MEDIAN_METHOD.format("release hours of entries without exams")),
    Benefit("faster_release_unexamined_within_importer", HOURS, WITHIN, "entries",
            WITHIN_MEDIAN_METHOD.format("release hours of entries without exams")),
    Benefit("faster_release_examined", HOURS, CROSS, "entries", MEDIAN_METHOD.format("release hours of examined entries")),
    Benefit("shorter_border_wait", MINUTES, PAIRED, "bwt",
            "FAST minus standard commercial delay, readings matched by crossing and update time; normal 95% CI "
            "(readings have no importer)"),
    Benefit("forced_labor_detention_rate", RATIO, CROSS, "exams",
            "UFLPA detention rate ratio, Mantel-Haenszel as fewer_exams"),
    Benefit("forced_labor_detention_hours", HOURS, CROSS, "exams", MEDIAN_METHOD.format("hours from UFLPA selection to completion")),
    Benefit("business_resumption_priority", HOURS, CROSS, "disruptions", RESUMPTION_METHOD),
]
BY_NAME = {b.name: b for b in BENEFITS}


@dataclass(frozen=True)
class Claim:
    name: str
    promise: str  # CBP's words, shortened
    benefits: tuple[str, ...]
    sources: tuple[str, ...]  # the landing sources its benefits count
    unmeasurable_because: str  # said when no source has loaded rows


CLAIMS = [
    Claim("shorter_border_wait_times", "shorter border wait times (FAST lanes)", ("shorter_border_wait",), ("bwt",),
          "no CBP Border Wait Times snapshot has been loaded"),
    Claim("priority_inspections", "front of the line for inspections", ("inspection_priority", "inspection_priority_within_importer"),
          ("exams",), "no exam records have been loaded"),
    Claim("fewer_exams", "fewer examinations", ("fewer_exams", "fewer_exams_within_importer"), ("entries",),
          "no entries have been loaded"),
    Claim("business_resumption_priority", "priority when ports reopen after a disaster or attack",
          ("business_resumption_priority",), ("disruptions",), "no port closure (disruptions) has been loaded"),
    Claim("forced_labor_detention_priority", "priority for forced-labor (UFLPA) detentions",
          ("forced_labor_detention_hours",), ("exams",), "no exam records have been loaded"),
    Claim("assigned_security_specialist", "an assigned CBP supply chain security specialist", (), (),
          "no delivered file records which importers have a security specialist"),
]
