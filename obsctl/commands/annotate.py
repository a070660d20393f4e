"""``obsctl annotate``: mark a deployment on every Grafana dashboard."""

from __future__ import annotations

import argparse
import json
import os
import time

from obsctl import annotate
from obsctl.errors import ObsError


def _run(args: argparse.Namespace) -> int:
    deployment = annotate.Deployment(
        service=args.service,
        version=args.version,
        commit=args.commit or "",
        author=args.author or "",
        duration_seconds=args.duration,
        dashboard_uid=args.dashboard_uid or "",
    )
    if not args.grafana_url:
        raise ObsError("no Grafana URL", fix="pass --grafana-url or set GRAFANA_URL")
    body = deployment.payload(int(time.time() * 1000))
    url = annotate.endpoint(args.grafana_url)
    if args.dry_run:
        print(f"dry run: would POST to {url}")
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    token = os.environ.get(annotate.TOKEN_ENV, "").strip()
    if not token:
        raise ObsError(
            f"{annotate.TOKEN_ENV} is not set",
            fix=f"export {annotate.TOKEN_ENV}=<Grafana service-account token> (never pass it as an argument)",
        )
    answer = annotate.post(args.grafana_url, token, body, timeout=args.timeout, retries=args.retries)
    print(f"annotation {answer.get('id', '?')} added: {body['text']} (tags: {', '.join(body['tags'])})")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "annotate",
        help="mark a deployment on the Grafana dashboards (token from GRAFANA_TOKEN)",
        description="POST a deployment annotation to Grafana. The service-account token is read from "
        "the GRAFANA_TOKEN environment variable, never from an argument.",
    )
    parser.add_argument(
        "--grafana-url", default=os.environ.get("GRAFANA_URL"), help="Grafana root URL (or GRAFANA_URL)"
    )
    parser.add_argument("--service", required=True, help="deployed service, e.g. chat (becomes a tag)")
    parser.add_argument("--version", required=True, help="deployed version, e.g. 1.4.2 (becomes a tag)")
    parser.add_argument("--commit", help="commit SHA of the release")
    parser.add_argument("--author", help="who deployed")
    parser.add_argument(
        "--duration", type=int, default=0, metavar="SECONDS", help="rollout length: draws a region ending now"
    )
    parser.add_argument("--dashboard-uid", help="attach to one dashboard only (default: every dashboard)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per-request timeout")
    parser.add_argument(
        "--retries",
        type=int,
        default=annotate.RETRIES,
        metavar="N",
        help=f"extra attempts when Grafana does not answer or answers 429/502/503/504 (default {annotate.RETRIES})",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the request instead of sending it")
    parser.set_defaults(handler=_run)
