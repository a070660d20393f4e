"""Deployment annotations: mark a release on every dashboard through Grafana's annotations API.

The dashboards (obsctl/dashboards) query Grafana's annotation store for the tag ``deployment``,
so one POST here draws a marker on every chart. Authentication is a Grafana service-account
token (Editor role, or a custom role with ``annotations:create``) sent as a Bearer token; it is
read from the environment, never from the command line where ``ps`` would show it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from obsctl.errors import ObsError

TOKEN_ENV = "GRAFANA_TOKEN"  # noqa: S105 - the variable's name, not a secret
DEPLOYMENT_TAG = "deployment"
RETRIES = 3  # extra attempts after the first, on 5xx only
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


def _error_for(status: int, url: str, body: str, dashboard_uid: str) -> ObsError:
    detail = body.strip()[:300]
    if status == 401:
        return ObsError(
            f"Grafana rejected the token (401 Unauthorized) at {url}",
            fix=f"set {TOKEN_ENV} to a valid service-account token (Administration > Service accounts)",
        )
    if status == 403:
        return ObsError(
            f"the token may not create annotations (403 Forbidden) at {url}: {detail}",
            fix="give the service account the Editor role (or a role with annotations:create)",
        )
    if status == 404:
        what = f"dashboard uid '{dashboard_uid}' or the annotations API" if dashboard_uid else "the annotations API"
        return ObsError(
            f"Grafana answered 404 Not Found for {what} at {url}: {detail}",
            fix="check --grafana-url (the Grafana root, no path) and --dashboard-uid",
        )
    return ObsError(f"Grafana answered HTTP {status} at {url}: {detail}")


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
    """POST the annotation; retry with exponential backoff on 5xx only. Returns Grafana's answer."""
    url = endpoint(grafana_url)
    data = json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    delay = backoff
    for attempt in range(retries + 1):
        # endpoint() admitted only http(s) URLs, so no file:// or custom scheme reaches urlopen.
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310
                answer: dict[str, Any] = json.loads(resp.read() or b"{}")
                return answer
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            if exc.code >= 500 and attempt < retries:
                sleep(delay)
                delay *= 2
                continue
            raise _error_for(exc.code, url, text, str(body.get("dashboardUID", ""))) from None
        except TimeoutError:
            raise ObsError(
                f"Grafana did not answer within {timeout:g}s at {url}",
                fix="check that Grafana is up and reachable (over the WireGuard tunnel), or raise --timeout",
            ) from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, TimeoutError):
                raise ObsError(
                    f"Grafana did not answer within {timeout:g}s at {url}",
                    fix="check that Grafana is up and reachable (over the WireGuard tunnel), or raise --timeout",
                ) from None
            raise ObsError(
                f"cannot reach Grafana at {url}: {exc.reason}",
                fix="check --grafana-url and that the WireGuard tunnel is up",
            ) from None
    raise AssertionError("unreachable: the loop returns or raises")
