"""``obsctl dashboards``: generate the Grafana dashboards from code, or check they are in sync."""

from __future__ import annotations

import argparse
from pathlib import Path

from obsctl import dashboards


def _build(args: argparse.Namespace) -> int:
    directory = Path(args.output) if args.output else None
    if args.check:
        problems = dashboards.out_of_sync(directory)
        if problems:
            for problem in problems:
                print(f"out of sync: {problem}")
            print("fix: run `obsctl dashboards build` and commit the result")
            return 1
        print(f"{len(dashboards.BUILDERS)} dashboards in sync")
        return 0
    for path in dashboards.write(directory):
        print(f"wrote {path}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("dashboards", help="build the Grafana dashboards from obsctl/dashboards")
    dsub = parser.add_subparsers(dest="dashboards_command", metavar="<action>", required=True)
    build = dsub.add_parser("build", help="write roles/monitoring_stack/files/grafana/dashboards/*.json")
    build.add_argument("--check", action="store_true", help="write nothing; exit 1 and name the files out of sync")
    build.add_argument("--output", help="directory to write or check instead of the role's (tests use it)")
    build.set_defaults(handler=_build)
