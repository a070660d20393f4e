"""``obsctl report daily|weekly|deploy``: health reports and the deployment impact report (obsctl/reports)."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta

from obsctl.errors import ObsError


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def _range(text: str) -> tuple[date, date]:
    first, sep, last = text.partition("..")
    if not sep:
        raise argparse.ArgumentTypeError(f"--backfill {text!r}: use FROM..TO (YYYY-MM-DD..YYYY-MM-DD)")
    return _date(first), _date(last)


def _periodic(args: argparse.Namespace) -> int:
    from obsctl.reports import jobs, render  # noqa: PLC0415
    from obsctl.reports.config import Settings  # noqa: PLC0415

    settings = Settings.from_env()
    if args.backfill:
        done = jobs.backfill(settings, args.kind, *args.backfill)
        print(f"history filled for {len(done)} {args.kind} period(s): {', '.join(done)}")
        return 0
    today = datetime.now(settings.timezone).date()
    default = today - timedelta(days=1 if args.kind == "daily" else 7)
    report, outcome = jobs.run_periodic(settings, args.kind, args.date or default, dry_run=args.dry_run)
    print(render.text(report))
    if report.narrative:
        print(f"\nAI narrative: {report.narrative}")
    if report.narrative_note:
        print(f"({report.narrative_note})")
    for line in outcome:
        print(line)
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from obsctl.reports import jobs, render  # noqa: PLC0415
    from obsctl.reports.config import Settings  # noqa: PLC0415

    settings = Settings.from_env()
    window = timedelta(minutes=args.window)
    at = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC) - window
    if at.tzinfo is None:
        raise ObsError(f"--at {args.at!r} has no time zone", fix="give an offset, e.g. 2026-12-01T09:00:00+09:00")
    report, outcome = jobs.run_deploy(settings, args.service, args.version, at, window, dry_run=args.dry_run)
    print(render.deploy_text(report))
    if report.narrative_note:
        print(f"({report.narrative_note})")
    for line in outcome:
        print(line)
    return 1 if report.regressions else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("report", help="daily/weekly health reports and the deployment impact report")
    kinds = parser.add_subparsers(dest="kind", metavar="<kind>", required=True)
    for kind, what in (
        ("daily", "one day (default yesterday)"),
        ("weekly", "one Monday-to-Monday week (default last week)"),
    ):
        p = kinds.add_parser(kind, help=f"KPIs of {what} against their baseline, to Discord and e-mail")
        p.add_argument("--date", type=_date, help="a date in the period (YYYY-MM-DD, configured time zone)")
        p.add_argument("--dry-run", action="store_true", help="compute and print; send nothing")
        p.add_argument(
            "--backfill", type=_range, metavar="FROM..TO", help="fill the history for these dates; send nothing"
        )
        p.set_defaults(handler=_periodic)
    deploy = kinds.add_parser("deploy", help="the window after a deploy against the same window before it")
    deploy.add_argument("--service", required=True, help="the service's app label (e.g. chat)")
    deploy.add_argument("--version", required=True, help="the deployed version")
    deploy.add_argument("--at", help="deploy time, ISO 8601 with offset (default: now minus the window)")
    deploy.add_argument("--window", type=int, default=60, help="minutes compared before and after (default 60)")
    deploy.add_argument("--dry-run", action="store_true", help="compute and print; send nothing")
    deploy.set_defaults(handler=_deploy)
