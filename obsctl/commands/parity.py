"""``obsctl parity``: did a host keep all its metric names and logs after switching to Alloy?"""

from __future__ import annotations

import argparse

from obsctl import parity
from obsctl.errors import EXIT_FINDINGS, EXIT_OK


def _handle(args: argparse.Namespace) -> int:
    from obsctl.clients.loki import LokiClient  # noqa: PLC0415 - the clients load when the command runs
    from obsctl.clients.prometheus import PrometheusClient  # noqa: PLC0415

    now = parity.now()
    before = parity.parse_window(args.before, now)
    after = parity.parse_window(args.after, now)
    logs_window = parity.logs_window(args.logs_since, now)
    ignore = tuple(args.ignore) + (() if args.no_default_ignores else parity.DEFAULT_IGNORED)
    prometheus = PrometheusClient(args.prometheus, timeout=args.timeout)
    loki = LokiClient(args.loki, timeout=args.timeout)
    try:
        report = parity.compare(
            prometheus, args.host, before, after, job=args.job, loki=loki, logs_window=logs_window, ignore=ignore
        )
    finally:
        prometheus.close()
        loki.close()
    print(parity.render(report))
    return EXIT_OK if report.ok else EXIT_FINDINGS


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "parity",
        help="compare a host's node_exporter metric names before the switch with Alloy's after, and check its logs",
        description="Exit 0 when nothing is missing, 1 on a gap (names printed), 2 on an error.",
    )
    parser.add_argument("--host", required=True, help="inventory hostname (the instance/host label)")
    parser.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://10.100.0.1:9090")
    parser.add_argument("--loki", required=True, help="Loki base URL, e.g. http://10.100.0.1:3100")
    parser.add_argument(
        "--before", default="-7d..-1h", help="window when node_exporter ran: START..END (default -7d..-1h)"
    )
    parser.add_argument("--after", default="-10m..now", help="window after the switch (default -10m..now)")
    parser.add_argument(
        "--logs-since",
        default="15m",
        help="Loki must have logs of the host this recent: a duration with its unit, e.g. 15m (default 15m)",
    )
    parser.add_argument("--job", default="node", help='job label of host metrics (default "node")')
    parser.add_argument(
        "--ignore", action="append", default=[], metavar="PATTERN", help="metric name glob not compared (repeatable)"
    )
    parser.add_argument(
        "--no-default-ignores",
        action="store_true",
        help=f"also compare node_exporter's self-metrics ({', '.join(parity.DEFAULT_IGNORED)})",
    )
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per HTTP request (default 15)")
    parser.set_defaults(handler=_handle)
