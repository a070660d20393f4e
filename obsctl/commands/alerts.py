"""``obsctl alerts``: generate Grafana alerting provisioning from the catalog, and report time to detect."""

from __future__ import annotations

import argparse
from pathlib import Path

from obsctl import common
from obsctl.alerting import catalog as catalog_mod
from obsctl.alerting import grafana, messages, ttd
from obsctl.errors import ObsError


def _load(args: argparse.Namespace) -> catalog_mod.Catalog:
    return catalog_mod.load(Path(args.catalog) if args.catalog else None)


def _build(args: argparse.Namespace) -> int:
    catalog = _load(args)
    out = Path(args.output) if args.output else grafana.output_dir()
    problems = catalog_mod.panel_problems(catalog, grafana.dashboards_dir())
    if problems:
        raise ObsError(
            "the catalog names dashboard panels that do not exist:\n  " + "\n  ".join(problems),
            fix="fix 'panel' in alerting/catalog.yml",
        )
    for bound, limit, what in (
        (messages.title_bound(catalog), messages.TITLE_BUDGET, "title"),
        (messages.message_bound(catalog), messages.CONTENT_BUDGET, "message"),
    ):
        if bound > limit:
            raise ObsError(
                f"the Discord {what} template can reach {bound} characters (budget {limit})",
                fix="shorten the template pieces in obsctl/alerting/messages.py",
            )
    if args.check:
        stale = grafana.stale(catalog, out)
        if stale:
            raise ObsError(
                f"generated alerting files are out of date in {out}: {', '.join(stale)}",
                fix="run `obsctl alerts build` and commit the result",
            )
        count = len(grafana.outputs(catalog, out))
        rules = len(catalog.alerts)
        print(f"{count} alerting files in {out} (and its -email variant) match {catalog.source} ({rules} rules)")
        return 0
    written = grafana.write(catalog, out)
    for path in written:
        print(f"wrote {path}")
    unchanged = len(grafana.outputs(catalog, out)) - len(written)
    print(f"{len(catalog.alerts)} rules; {len(written)} file(s) changed, {max(unchanged, 0)} unchanged")
    return 0


def _ttd(args: argparse.Namespace) -> int:
    catalog = _load(args)
    print(ttd.markdown(ttd.table(catalog, common.scrape_interval_seconds())))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("alerts", help="alert catalog: generate Grafana alerting provisioning, time to detect")
    asub = parser.add_subparsers(dest="alerts_command", metavar="<action>", required=True)
    build = asub.add_parser("build", help="render the provisioning files from alerting/catalog.yml")
    build.add_argument("--check", action="store_true", help="fail if the committed files differ from the catalog")
    build.add_argument("--catalog", help="catalog path (default: alerting/catalog.yml)")
    build.add_argument("--output", help="output directory (default: the monitoring_stack role's provisioning dir)")
    build.set_defaults(handler=_build)
    show = asub.add_parser("ttd", help="print the worst-case time to detect per severity (Markdown table)")
    show.add_argument("--catalog", help="catalog path (default: alerting/catalog.yml)")
    show.set_defaults(handler=_ttd)
