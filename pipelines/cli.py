"""Command line: `python -m pipelines generate|run|claims|bench|bench-scale|bench-bwt`. Exit codes of `run`: 0 published, 2 the quality
gate blocked (nothing published), 1 any other failure; always with a one-line reason."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from assets.settings import BY_FIELD, SETTINGS, env

ENV_HELP = "\n".join(f"  {s.env:<30} default {s.default or '(none)'}" for s in SETTINGS)
EX_USAGE = 64  # sysexits.h: the command was used incorrectly


class Parser(argparse.ArgumentParser):
    """argparse with EX_USAGE (64) for a bad flag or flag value: exit 2 is the quality gate's."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"error: {message}\n")


def _checked(field: str):
    """An argparse type from the setting's own check (assets/settings.py)."""
    check = BY_FIELD[field].parse

    def parse(text: str):
        try:
            return check(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r} {exc}") from None
    parse.__name__ = field
    return parse


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m pipelines", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Environment variables (flags win over them):\n" + ENV_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="write a sample landing zone with known effects")
    gen.add_argument("--out", type=Path, default=None, help="landing zone to write (default: $EXAM_RISK_LANDING)")
    gen.add_argument("--entries", type=int, default=200_000)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--formats", choices=["mixed", "csv"], default="mixed",
                     help="mixed: CSV, some .csv.gz and Parquet; csv: CSV only")
    gen.add_argument("--start", default="2026-01", help="first month, YYYY-MM")
    gen.add_argument("--months", type=int, default=6)
    gen.add_argument("--bad-share", type=float, default=0.002, help="share of entry rows given one defect")
    gen.add_argument("--no-benefit", action="store_true", help="certification changes nothing (effects switched off)")
    gen.add_argument("--selection", action="store_true",
                     help="importers differ in a latent exam risk and low-risk importers are the ones that join CTPAT "
                          "(half of the members join during the period, some are suspended or removed): a "
                          "cross-sectional comparison then overstates the benefit")
    gen.add_argument("--importer-heterogeneity", action="store_true",
                     help="importers differ in a latent exam risk unrelated to CTPAT, and a few importers make most "
                          "entries (heavy-tailed sizes): entries of one importer are alike")
    gen.add_argument("--disruptions", action="store_true",
                     help="port closures (a hurricane closing two seaports, a bridge closure) in landing/disruptions/, "
                          "with the entries they catch released after reopening, certified ones first; a later file "
                          "corrects one reopening time")
    gen.add_argument("--no-resumption-priority", action="store_true",
                     help="with --disruptions: certified entries get no priority after reopening")

    bench = sub.add_parser("bench", help="time the pipeline against a hand-written lower bound and GX's pandas engine")
    bench.add_argument("--entries", type=int, default=10_000_000)
    bench.add_argument("--repeat", type=int, default=3)
    bench.add_argument("--out", type=Path, default=Path("bench/results/latest.json"))
    bench.add_argument("--data", type=Path, default=Path("data/bench"), help="generated landing zones (cached) and work files")
    bench.add_argument("--months", type=int, default=13, help="months generated; the last is the incremental one")
    bench.add_argument("--no-peers", action="store_true", help="skip GX pandas and plain pandas")
    bench.add_argument("--no-incremental", action="store_true", help="skip the one-new-month measurement")

    scale = sub.add_parser("bench-scale", help="time generate and one run at 10 M and 100 M entries over 30 months, "
                                              "with peak memory (make bench-100m; hours, not in CI)")
    scale.add_argument("--sizes", type=int, nargs="+", default=[10_000_000, 100_000_000], help="entries, run in this order")
    scale.add_argument("--start", default="2024-01")
    scale.add_argument("--months", type=int, default=30)
    scale.add_argument("--data", type=Path, default=Path("data/bench-scale"), help="landing zones and warehouses (deleted after)")
    scale.add_argument("--out", type=Path, default=Path("bench/results/scale.json"))
    scale.add_argument("--keep", action="store_true", help="keep each size's landing zone and warehouse")

    answers = sub.add_parser("claims", help="print the answer to each CBP claim from the published marts")
    answers.add_argument("--marts", help="analyst DuckDB file ($EXAM_RISK_ANALYTICS)")
    answers.add_argument("--month", default="ALL", help="YYYY-MM, or ALL for the whole period (default)")

    bwt = sub.add_parser("bench-bwt", help="measure the Border Wait Times ingest rate")
    bwt.add_argument("--snapshots", type=int, default=2000)

    run = sub.add_parser("run", help="run every asset through Dagster in-process",
                         formatter_class=argparse.RawDescriptionHelpFormatter,
                         epilog="Environment variables (flags win over them):\n" + ENV_HELP)
    run.add_argument("--landing", help="landing zone ($EXAM_RISK_LANDING)")
    run.add_argument("--warehouse", help="warehouse DuckDB file ($EXAM_RISK_WAREHOUSE)")
    run.add_argument("--marts", help="analyst DuckDB file ($EXAM_RISK_ANALYTICS)")
    run.add_argument("--reports", help="reports folder ($EXAM_RISK_REPORTS)")
    run.add_argument("--max-reject-share", type=_checked("max_reject_share"),
                     help="quality gate threshold, a share of a file's rows between 0 and 1 ($EXAM_RISK_MAX_REJECT_SHARE)")
    run.add_argument("--accept", action="append", metavar="FILE_NAME",
                     help="accept a blocked file by name (repeatable; $EXAM_RISK_ACCEPT, comma-separated)")
    run.add_argument("--no-reports", action="store_true",
                     help="publish the marts without drawing the charts and reports; the next run without it draws "
                          "every month left undrawn")
    run.add_argument("--verbose", action="store_true", help="show Dagster's INFO log")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "generate":
        from pipelines.sample_data import Effects, generate

        out = args.out or Path(env("EXAM_RISK_LANDING"))
        options = Effects.options(selection=args.selection, heterogeneity=args.importer_heterogeneity,
                                  disruptions=args.disruptions, resumption_priority=not args.no_resumption_priority)
        effects = Effects.without_benefit(**options) if args.no_benefit else Effects(**options)
        truth = generate(out, args.entries, args.seed, args.formats, args.start, args.months, args.bad_share, effects)
        print(f"wrote {truth['entries']:,} entries, {truth['exams']:,} exams, {truth['ctpat_rows']:,} CTPAT rows "
              f"to {out} (ground truth: {out / 'ground_truth.json'})")
        return 0
    if args.command == "bench":
        from bench.run import run as bench

        bench(args.entries, args.repeat, args.out, args.data.resolve(), peers=not args.no_peers,
              incremental=not args.no_incremental, months=args.months)
        return 0
    if args.command == "bench-scale":
        from bench.scale import run as bench_scale

        bench_scale(args.sizes, args.start, args.months, args.data.resolve(), args.out, keep=args.keep)
        return 0
    if args.command == "claims":
        return print_claims(Path(args.marts or env("EXAM_RISK_ANALYTICS")), args.month)
    if args.command == "bench-bwt":
        from bench.bwt import main as bench_bwt

        return bench_bwt(args.snapshots)
    from pipelines.runner import run_pipeline

    outcome = run_pipeline(landing=args.landing, warehouse=args.warehouse, analytics=args.marts,
                           reports=args.reports, max_reject_share=args.max_reject_share,
                           accept=args.accept, verbose=args.verbose, draw=not args.no_reports)
    print(outcome.message, file=sys.stdout if outcome.exit_code == 0 else sys.stderr)
    return outcome.exit_code


def print_claims(analytics: Path, month: str) -> int:
    """marts.ctpat_claims for one month (or ALL), one claim per paragraph."""
    import textwrap

    from assets.readers import reading

    if not analytics.is_file():
        print(f"error: no analyst file at {analytics}: run `python -m pipelines run` first", file=sys.stderr)
        return 1
    with reading(analytics) as con:
        rows = con.execute("SELECT claim, verdict, answer FROM marts.ctpat_claims WHERE month = ? ORDER BY claim",
                           [month]).fetchall()
    if not rows:
        print(f"error: no claims for month {month} in {analytics}", file=sys.stderr)
        return 1
    period = "the whole period" if month == "ALL" else month
    print(f"Does CTPAT deliver what CBP promises? ({period}; marts.ctpat_claims in {analytics})")
    for claim, verdict, answer in rows:
        print(f"\n{claim:<34}{verdict}")
        print(textwrap.fill(answer, 100, initial_indent="  ", subsequent_indent="  "))
    return 0
