"""Loki HTTP API: log queries over a time range (``GET /loki/api/v1/query_range``).

Loki answers ``{"status": "success", "data": {"resultType": "streams", "result": [{"stream":
{labels}, "values": [["<unix ns>", "<line>"], ...]}]}}`` for a log query; a metric query returns
``resultType: "matrix"`` with Prometheus-style ``values`` (seconds, string value). Times are sent
as unix nanoseconds. A multi-tenant Loki wants ``X-Scope-OrgID``; the single-node stack does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx

from obsctl.clients.http import ClientError, HttpClient

SERVER = "Loki"
MAX_LIMIT = 5000  # Loki's default max_entries_limit_per_query


@dataclass(frozen=True)
class Stream:
    labels: dict[str, str]
    lines: list[tuple[int, str]] = field(default_factory=list)  # (unix ns, line)


def _ns(at: datetime | float | int) -> int:
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("naive datetime given to the Loki client: attach a time zone (UTC)")
        return int(at.timestamp() * 1_000_000_000)
    return int(float(at) * 1_000_000_000)


class LokiClient:
    def __init__(
        self,
        base_url: str,
        *,
        tenant: str = "",
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        merged = dict(headers or {})
        if tenant:
            merged["X-Scope-OrgID"] = tenant
        self.http = HttpClient(SERVER, base_url, headers=merged, timeout=timeout, retries=retries, transport=transport)

    def close(self) -> None:
        self.http.close()

    def query_range(
        self,
        logql: str,
        start: datetime | float,
        end: datetime | float,
        limit: int = 100,
        direction: Literal["backward", "forward"] = "backward",
    ) -> list[Stream]:
        """Log lines of a log query in [start, end], newest first by default, at most ``limit``."""
        params = {
            "query": logql,
            "start": str(_ns(start)),
            "end": str(_ns(end)),
            "limit": str(max(1, min(limit, MAX_LIMIT))),
            "direction": direction,
        }
        path = "/loki/api/v1/query_range"
        try:
            body = self.http.get_json(path, params=params)
        except ClientError as exc:
            if exc.status == 400:
                raise ClientError(
                    SERVER,
                    exc.url,
                    exc.detail,
                    status=400,
                    fix="the LogQL expression is invalid: Loki's message is above",
                ) from None
            raise
        data = self._data(body, path)
        if data.get("resultType") != "streams":
            raise ClientError(
                SERVER,
                self.http.url_of(path),
                f"expected a log query (streams), got {data.get('resultType')!r}",
                fix='give a log selector such as {app="chat"}, not a metric query',
            )
        streams = []
        for item in data.get("result") or []:
            lines = [(int(ts), str(line)) for ts, line, *_ in item.get("values", [])]
            streams.append(Stream(dict(item.get("stream") or {}), lines))
        return streams

    def _data(self, body: Any, path: str) -> dict[str, Any]:  # noqa: ANN401 - decoded JSON
        if not isinstance(body, dict) or body.get("status") != "success" or not isinstance(body.get("data"), dict):
            error = body.get("error", body) if isinstance(body, dict) else body
            raise ClientError(
                SERVER, self.http.url_of(path), f"query failed: {str(error)[:200]}", fix="check the query"
            )
        return dict(body["data"])

    def ready(self) -> bool:
        try:
            self.http.request("GET", "/ready", retry=False)
        except ClientError:
            return False
        return True

    def series(self, selector: str, start: datetime | float, end: datetime | float) -> list[dict[str, str]]:
        """Label sets of the streams matching ``selector`` with entries in [start, end]
        (``GET /loki/api/v1/series``: ``data`` is a list of label maps, empty when none match)."""
        path = "/loki/api/v1/series"
        params = {"match[]": selector, "start": str(_ns(start)), "end": str(_ns(end))}
        body = self.http.get_json(path, params=params)
        success = isinstance(body, dict) and body.get("status") == "success"
        data = (body.get("data") or []) if success else None
        if not isinstance(data, list):
            raise ClientError(
                SERVER,
                self.http.url_of(path),
                f"answered no list of streams: {str(body)[:200]}",
                fix="check that the URL is Loki's root (no extra path)",
            )
        return [{str(k): str(v) for k, v in item.items()} for item in data if isinstance(item, dict)]
