"""Prometheus HTTP API (v1): instant and range queries, exemplars, targets, rules, alerts.

Queries go as form-encoded POSTs (long PromQL does not hit URL length limits) and are retried:
a query changes nothing. Every answer is checked for ``status: success``; Prometheus's own
``errorType``/``error`` is passed on in the ClientError so a bad expression names itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from obsctl.clients.http import ClientError, HttpClient

SERVER = "Prometheus"
MAX_POINTS_PER_SERIES = 11_000  # Prometheus refuses more than 11,000 points per series


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float
    timestamp: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[float, float]] = field(default_factory=list)

    def values(self) -> list[float]:
        return [v for _, v in self.points if not math.isnan(v)]


def to_unix(at: datetime | float | int) -> float:
    """A tz-aware datetime or a unix timestamp; a naive datetime is refused (it hides a zone bug)."""
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("naive datetime given to the Prometheus client: attach a time zone (UTC)")
        return at.timestamp()
    return float(at)


def _value(raw: object) -> float:
    if not isinstance(raw, str | int | float):
        return math.nan
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


class PrometheusClient:
    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.http = HttpClient(SERVER, base_url, headers=headers, timeout=timeout, retries=retries, transport=transport)

    def close(self) -> None:
        self.http.close()

    def _data(self, path: str, form: Mapping[str, Any] | None = None, *, get: bool = False) -> Any:  # noqa: ANN401 - the API's data member
        try:
            response = (
                self.http.request("GET", path, params=form)
                if get
                else self.http.request("POST", path, data=form or {}, retry=True)
            )
        except ClientError as exc:
            if exc.status in {400, 422}:
                raise ClientError(
                    SERVER,
                    exc.url,
                    exc.detail,
                    status=exc.status,
                    fix="the expression or its parameters are invalid: the message above is Prometheus's own",
                ) from None
            raise
        body = self.http._json(response)
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", body) if isinstance(body, dict) else body
            raise ClientError(SERVER, self.http.url_of(path), f"query failed: {error}", fix="check the expression")
        return body.get("data")

    def query(self, expr: str, at: datetime | float | None = None) -> list[Sample]:
        form: dict[str, Any] = {"query": expr}
        if at is not None:
            form["time"] = f"{to_unix(at):.3f}"
        data = self._data("/api/v1/query", form)
        kind = data.get("resultType")
        result = data.get("result")
        if kind == "scalar":
            ts, raw = result
            return [Sample({}, _value(raw), float(ts))]
        if kind != "vector":
            raise ClientError(SERVER, self.http.url_of("/api/v1/query"), f"expected an instant vector, got {kind}")
        return [
            Sample(dict(item.get("metric", {})), _value(item["value"][1]), float(item["value"][0])) for item in result
        ]

    def query_range(self, expr: str, start: datetime | float, end: datetime | float, step: float) -> list[Series]:
        t0, t1 = to_unix(start), to_unix(end)
        if t1 < t0:
            raise ValueError(f"query_range end {t1} is before start {t0}")
        if step <= 0:
            raise ValueError("query_range step must be positive")
        if (t1 - t0) / step > MAX_POINTS_PER_SERIES:
            step = math.ceil((t1 - t0) / MAX_POINTS_PER_SERIES)
        data = self._data(
            "/api/v1/query_range", {"query": expr, "start": f"{t0:.3f}", "end": f"{t1:.3f}", "step": f"{step:g}"}
        )
        return [
            Series(dict(item.get("metric", {})), [(float(ts), _value(v)) for ts, v in item.get("values", [])])
            for item in data.get("result", [])
        ]

    def query_exemplars(self, expr: str, start: datetime | float, end: datetime | float) -> list[dict[str, Any]]:
        data = self._data(
            "/api/v1/query_exemplars", {"query": expr, "start": f"{to_unix(start):.3f}", "end": f"{to_unix(end):.3f}"}
        )
        return list(data or [])

    def targets(self, state: str = "active") -> list[dict[str, Any]]:
        data = self._data("/api/v1/targets", {"state": state}, get=True)
        return list(data.get("activeTargets", [])) if state == "active" else list(data.get("droppedTargets", []))

    def alerts(self) -> list[dict[str, Any]]:
        return list(self._data("/api/v1/alerts", get=True).get("alerts", []))

    def rules(self) -> list[dict[str, Any]]:
        return list(self._data("/api/v1/rules", get=True).get("groups", []))

    def buildinfo(self) -> dict[str, Any]:
        return dict(self._data("/api/v1/status/buildinfo", get=True))

    def ready(self) -> bool:
        try:
            self.http.request("GET", "/-/ready", retry=False)
        except ClientError:
            return False
        return True
