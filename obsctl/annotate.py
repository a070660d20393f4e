"""Deployment annotations: mark a release on every dashboard through Grafana's annotations API.

The dashboards (obsctl/dashboards) query Grafana's annotation store for the tag ``deployment``,
so one POST here draws a marker on every chart. Authentication is a Grafana service-account
token (Editor role, or a custom role with ``annotations:create``) sent as a Bearer token; it is
read from the environment, never from the command line where ``ps`` would show it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from obsctl.clients import grafana
from obsctl.clients.http import ClientError
from obsctl.errors import ObsError

TOKEN_ENV = "GRAFANA_TOKEN"  # noqa: S105 - the variable's name, not a secret
DEPLOYMENT_TAG = "deployment"
RETRIES = 3  # extra attempts after the first, where the clients layer retries (no answer, 429, 502/503/504)
BACKOFF_SECONDS = 1.0  # doubled after every failed attempt: 1, 2, 4


@dataclass(frozen=True)
class Deployment:
    service: str
    version: str
    commit: str = ""
    author: str = ""
    duration_seconds: int = 0  # > 0: a region from the start of the rollout to its end
    dashboard_uid: str = ""  # empty: an organisation-wide annotation, shown on every dashboard

    def __post_init__(self) -> None:
        for name in ("service", "version"):
            value = getattr(self, name)
            if not value or not value.strip():
                raise ObsError(f"--{name} must not be empty", fix=f"pass --{name}, e.g. --{name} chat")
            if "," in value:
                raise ObsError(f"--{name} '{value}' contains a comma", fix="Grafana splits tags on commas; drop it")
        if self.duration_seconds < 0:
            raise ObsError(
                f"--duration {self.duration_seconds} is negative", fix="give the rollout's length in seconds"
            )

    def text(self) -> str:
        parts = [f"Deployed {self.service} {self.version}"]
        if self.commit:
            parts.append(f"commit {self.commit[:12]}")
        if self.author:
            parts.append(f"by {self.author}")
        return " · ".join(parts)

    def payload(self, now_ms: int) -> dict[str, Any]:
        """The JSON body of POST /api/annotations. ``now_ms`` is when the rollout ended."""
        body: dict[str, Any] = {
            "time": now_ms - self.duration_seconds * 1000,
            "timeEnd": now_ms,
            "tags": [DEPLOYMENT_TAG, self.service, self.version],
            "text": self.text(),
        }
        if self.dashboard_uid:
            body["dashboardUID"] = self.dashboard_uid
        return body


def endpoint(grafana_url: str) -> str:
    url = grafana_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ObsError(
            f"--grafana-url '{grafana_url}' is not an http(s) URL",
            fix="pass the Grafana root URL, e.g. --grafana-url https://10.100.0.1:3000",
        )
    return f"{url}/api/annotations"


def _explained(exc: ClientError, dashboard_uid: str) -> ClientError:
    """The clients layer's error, with the fix that fits a deployment annotation."""
    if exc.status == 401:
        fix = f"set {TOKEN_ENV} to a valid service-account token (Administration > Service accounts)"
    elif exc.status == 403:
        fix = "give the service account the Editor role (or a role with annotations:create)"
    elif exc.status == 404:
        fix = "check --grafana-url (the Grafana root, no path)" + (" and --dashboard-uid" if dashboard_uid else "")
    elif exc.status is None:
        fix = "check --grafana-url, that Grafana is up and the WireGuard tunnel is up, or raise --timeout"
    else:
        return exc
    return ClientError(exc.server, exc.url, exc.detail, status=exc.status, fix=fix)


def post(
    grafana_url: str,
    token: str,
    body: dict[str, Any],
    *,
    timeout: float = 10.0,
    retries: int = RETRIES,
    backoff: float = BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """POST the annotation through the Grafana client (obsctl.clients.grafana). Returns Grafana's answer."""
    endpoint(grafana_url)  # the --grafana-url wording of a non-http URL
    try:
        return grafana.create_annotation(
            grafana_url, token, body, timeout=timeout, retries=retries, backoff=backoff, sleep=sleep
        )
    except ClientError as exc:
        raise _explained(exc, str(body.get("dashboardUID", ""))) from None
