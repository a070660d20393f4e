"""One value per (service, KPI) for a period, from range queries of the query catalog.

A period is half-open ``[start, end)`` in the configured time zone. The range query is evaluated at
``start + step, …, end``, so every ``[5m]`` rate window lies inside the period (the first point
does not look back into the previous day). A KPI whose query returns no points for a service is
absent from the result: the report shows "no data", never 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from obsctl.clients.prometheus import Series
from obsctl.reports.config import KPIS, Kpi

Kind = Literal["daily", "weekly", "deploy"]
STEP = 300.0  # seconds between the points a KPI is computed from


class RangeQuerier(Protocol):
    def query_range(self, expr: str, start: datetime | float, end: datetime | float, step: float) -> list[Series]: ...


@dataclass(frozen=True)
class Period:
    kind: Kind
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """The history key: the local start date (a Monday for weekly) or the deploy instant."""
        if self.kind == "deploy":
            return self.start.isoformat()
        return self.start.date().isoformat()

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def previous(self, n: int) -> list[Period]:
        """The ``n`` periods of the same kind just before this one, oldest first."""
        return [
            Period(self.kind, self.start - (self.end - self.start) * i, self.end - (self.end - self.start) * i)
            for i in range(n, 0, -1)
        ]


def day(d: date, tz: ZoneInfo) -> Period:
    start = datetime.combine(d, time(0), tzinfo=tz)
    return Period("daily", start, datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz))


def week(d: date, tz: ZoneInfo) -> Period:
    """The Monday-to-Monday week holding ``d``."""
    monday = d - timedelta(days=d.weekday())
    start = datetime.combine(monday, time(0), tzinfo=tz)
    return Period("weekly", start, datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz))


def aggregate(kpi: Kpi, series: Iterable[Series], seconds: float) -> float | None:
    points = [v for s in series for v in s.values() if not math.isinf(v)]
    if not points:
        return None
    if kpi.aggregation == "max":
        return max(points)
    mean = sum(points) / len(points)
    return mean * seconds if kpi.aggregation == "total" else mean


Values = dict[tuple[str, str], float | None]  # (service, kpi key) -> value, None = no data


def compute(prom: RangeQuerier, period: Period, kpis: Sequence[Kpi] = KPIS, step: float = STEP) -> Values:
    """Every KPI for every service that has series for it; services are the label values seen."""
    out: Values = {}
    for kpi in kpis:
        series = prom.query_range(
            kpi.catalog_query().render(), period.start + timedelta(seconds=step), period.end, step
        )
        by_service: dict[str, list[Series]] = {}
        for s in series:
            service = s.labels.get(kpi.service_label)
            if service:
                by_service.setdefault(service, []).append(s)
        for service, group in by_service.items():
            out[(service, kpi.key)] = aggregate(kpi, group, period.seconds)
    return out
