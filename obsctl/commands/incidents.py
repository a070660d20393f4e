"""``obsctl incidents list|show``: read the incident log the analyzer writes."""

from __future__ import annotations

import argparse
import os

from obsctl.incidents.store import DEFAULT_DB


def _list(args: argparse.Namespace) -> int:
    from obsctl.incidents import text  # noqa: PLC0415

    return text.list_command(args.db, status=args.status, limit=args.limit)


def _show(args: argparse.Namespace) -> int:
    from obsctl.incidents import text  # noqa: PLC0415

    return text.show_command(args.db, args.ref)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("incidents", help="list or show incidents from the analyzer's log")
    parser.add_argument(
        "--db",
        default=os.environ.get("OBS_ANALYZER_DB", DEFAULT_DB),
        help=f"incident log (default OBS_ANALYZER_DB or {DEFAULT_DB})",
    )
    actions = parser.add_subparsers(dest="action", metavar="<action>", required=True)
    listing = actions.add_parser("list", help="newest incidents first")
    listing.add_argument("--status", choices=["firing", "resolved"], help="only incidents in this state")
    listing.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="one incident: alert, evidence, analysis, timings, cost")
    show.add_argument("ref", help="id (42 or #42), dedup key, or the alert name of the newest open incident")
    show.set_defaults(handler=_show)
