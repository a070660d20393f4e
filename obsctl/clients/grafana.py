"""Grafana HTTP API.

Alerting (owned by the ChatOps bot): Grafana's built-in Alertmanager answers the Alertmanager v2
API under ``/api/alertmanager/grafana/api/v2`` — silences (``GET/POST /silences``,
``DELETE /silence/{id}``) and the alert instances it holds (``GET /alerts``), each Grafana-managed
instance labelled ``__alert_rule_uid__`` with its rule's uid. So Grafana's silences and firing
alerts are :class:`obsctl.clients.alertmanager.AlertmanagerClient` with that prefix and the
service account's token as Bearer (the token needs the ``alerting:silences`` read/write permissions
and ``alerting:read``; the Editor role has them).

Annotations (``obsctl annotate``): ``POST /api/annotations`` with ``{time, timeEnd, tags, text,
dashboardUID?}`` (epoch milliseconds) answers ``{"id": <n>, "message": "Annotation added"}``; the
token needs ``annotations:create`` (Editor role).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from obsctl.clients.alertmanager import GRAFANA_PREFIX, AlertmanagerClient
from obsctl.clients.http import ClientError, HttpClient

SERVER = "Grafana"
RULE_UID_LABEL = "__alert_rule_uid__"  # the label Grafana gives every instance of a managed rule


def alertmanager(
    base_url: str, token: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
) -> AlertmanagerClient:
    """Grafana's built-in Alertmanager (silences and alert instances)."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return AlertmanagerClient(
        base_url, GRAFANA_PREFIX, headers=headers, timeout=timeout, server=SERVER, transport=transport
    )


def render_panel(
    base_url: str,
    token: str,
    dashboard_uid: str,
    panel_id: int,
    *,
    span_seconds: int,
    width: int = 1200,
    height: int = 520,
    timeout: float = 60.0,
    transport: httpx.BaseTransport | None = None,
) -> bytes:
    """A panel as PNG from Grafana's image renderer (``GET /render/d-solo/<uid>``); needs the
    renderer plugin or a remote renderer service configured in Grafana."""
    from obsctl.clients.http import ClientError, HttpClient  # noqa: PLC0415

    headers = {"Authorization": f"Bearer {token}"} if token else None
    with HttpClient(SERVER, base_url, headers=headers, timeout=timeout, retries=1, transport=transport) as http:
        params = {
            "panelId": panel_id,
            "width": width,
            "height": height,
            "from": f"now-{span_seconds}s",
            "to": "now",
            "tz": "UTC",
        }
        response = http.request("GET", f"/render/d-solo/{dashboard_uid}/_", params=params)
        if not response.content.startswith(b"\x89PNG"):
            raise ClientError(
                SERVER,
                http.url_of(f"/render/d-solo/{dashboard_uid}/_"),
                "the image renderer answered without a PNG",
                fix="check Grafana's rendering settings, or unset OBS_BOT_RENDERER to draw panels locally",
            )
        return response.content


def create_annotation(
    base_url: str,
    token: str,
    body: Mapping[str, Any],
    *,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """``POST /api/annotations``; returns Grafana's answer (``{"id", "message"}``).

    Retried (``retry=True``) on what the base retries: no connection, no answer in time, 429 and
    502/503/504. A retry after a lost answer can draw the marker twice, on top of itself; a lost
    deployment marker is the worse outcome.
    """
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with HttpClient(
        SERVER,
        base_url,
        headers=headers,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        sleep=sleep,
        transport=transport,
    ) as http:
        answer = http.post_json("/api/annotations", dict(body), retry=True)
        if not isinstance(answer, dict):
            raise ClientError(
                SERVER,
                http.url_of("/api/annotations"),
                f"answered without an annotation id: {answer!r}",
                fix="check that the URL is Grafana's root (no extra path)",
            )
        return answer


def list_annotations(
    base_url: str,
    token: str,
    *,
    start_ms: int,
    end_ms: int,
    tags: list[str] | None = None,
    limit: int = 20,
    kind: str = "annotation",
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> list[dict[str, Any]]:
    """``GET /api/annotations?from=&to=&tags=&limit=&type=annotation``: the annotations in
    [start_ms, end_ms] carrying every one of ``tags`` (Grafana ANDs repeated ``tags``), newest first;
    each is ``{id, time, timeEnd, tags, text, dashboardUID, ...}``. The token needs
    ``annotations:read`` (Viewer role). ``kind="alert"``: the alert state history instead (state
    changes of Grafana-managed alerts, with ``newState``, ``prevState`` and ``text``)."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"} if token else None
    params: dict[str, Any] = {"from": start_ms, "to": end_ms, "limit": limit, "type": kind}
    if tags:
        params["tags"] = list(tags)
    with HttpClient(SERVER, base_url, headers=headers, timeout=timeout, transport=transport) as http:
        answer = http.get_json("/api/annotations", params=params)
        if not isinstance(answer, list):
            raise ClientError(
                SERVER,
                http.url_of("/api/annotations"),
                f"answered no list of annotations: {str(answer)[:200]}",
                fix="check that the URL is Grafana's root (no extra path)",
            )
        return [item for item in answer if isinstance(item, dict)]
