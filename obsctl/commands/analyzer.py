"""``obsctl analyzer serve``: the incident analyzer's webhook service (settings from the environment)."""

from __future__ import annotations

import argparse


def _serve(args: argparse.Namespace) -> int:
    from obsctl.analyzer.serve import serve  # noqa: PLC0415 - the `analyzer` extra, imported only here

    return serve(host=args.host, port=args.port, log_level=args.log_level)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "analyzer",
        help="the incident analyzer service (needs the 'analyzer' extra)",
        description="Receive Grafana/Alertmanager webhooks, analyse P1/P2 incidents, post to Discord. "
        "Settings and secrets come from the environment (see obsctl/analyzer/config.py).",
    )
    actions = parser.add_subparsers(dest="action", metavar="<action>", required=True)
    serve = actions.add_parser("serve", help="run the webhook service (FastAPI on uvicorn)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8095, help="port to listen on (default 8095)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(handler=_serve)
