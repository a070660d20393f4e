"""From KPI values and their baseline to a report: rows with status and change, then findings.

Findings are deterministic and come first: every KPI whose status is bad or watch ("breached"),
then the largest relative moves against the baseline ("moved most"). The baseline of a period is
the mean of the same KPI over the previous periods kept in the history (7 days for a daily report,
4 weeks for a weekly one); missing previous periods are computed from Prometheus and stored.

The deployment impact report compares the window after a deploy with the same window before it;
a regression is a KPI that got worse by more than its rule allows (:data:`REGRESSION_RULES`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from obsctl.reports.config import KPI_BY_KEY, KPIS, Kpi, Status, Threshold, status_of
from obsctl.reports.history import History
from obsctl.reports.kpis import Period, RangeQuerier, Values, compute

BASELINE_PERIODS = {"daily": 7, "weekly": 4}
TOP_MOVES = 3
MOVE_MIN = 0.10  # a move under 10 % of the baseline is not a finding


@dataclass(frozen=True)
class Row:
    service: str
    kpi: Kpi
    value: float | None
    baseline: float | None
    status: Status
    trend: list[float | None] = field(default_factory=list)  # oldest first, the period's own value last

    @property
    def change(self) -> float | None:
        """Relative change against the baseline; None without both values or with a zero baseline."""
        if self.value is None or self.baseline is None or self.baseline == 0:
            return None
        return (self.value - self.baseline) / abs(self.baseline)


@dataclass
class Report:
    period: Period
    rows: list[Row]
    incidents: dict[str, int] | None  # per severity; None when the incident log is not readable
    findings: list[str]
    narrative: str = ""
    narrative_note: str = ""
    # Alerts fired per severity (Grafana's alert state history); None = no data, said in alerts_note
    alerts: dict[str, int] | None = None
    alerts_note: str = "Grafana is not configured for the reports (GRAFANA_URL)"
    alerts_baseline: dict[str, float] | None = None  # mean per severity over the baseline periods
    incidents_baseline: dict[str, float] | None = None

    def rows_of(self, service: str) -> list[Row]:
        return [r for r in self.rows if r.service == service]

    @property
    def services(self) -> list[str]:
        return sorted({r.service for r in self.rows})


def fmt(kpi: Kpi, value: float | None) -> str:
    """The one formatting of a value, shared by every channel and by the number check's input."""
    if value is None:
        return "no data"
    if kpi.unit == "ratio":
        return f"{value * 100:.2f}%"
    if kpi.unit == "s":
        return f"{value:.3f}s"
    if kpi.unit == "count":
        return f"{value:.0f}"
    return f"{value:.2f}"


def fmt_change(change: float | None) -> str:
    return "n/a" if change is None else f"{change * 100:+.1f}%"


def values_with_history(prom: RangeQuerier, history: History, period: Period, *, recompute: bool = True) -> Values:
    if recompute or not history.has(period.kind, period.key):
        history.store(period.kind, period.key, compute(prom, period))
    return history.values(period.kind, period.key)


def build(
    prom: RangeQuerier,
    history: History,
    period: Period,
    limits: Mapping[str, Threshold],
    incidents: dict[str, int] | None = None,
) -> Report:
    current = values_with_history(prom, history, period)
    previous = [
        values_with_history(prom, history, p, recompute=False) for p in period.previous(BASELINE_PERIODS[period.kind])
    ]
    rows: list[Row] = []
    for kpi in KPIS:
        services = {s for values in (current, *previous) for (s, k) in values if k == kpi.key}
        for service in sorted(services):
            past = [v.get((service, kpi.key)) for v in previous]
            known = [x for x in past if x is not None]
            baseline = sum(known) / len(known) if known else None
            value = current.get((service, kpi.key))
            rows.append(Row(service, kpi, value, baseline, status_of(kpi, value, limits), [*past, value]))
    return Report(period, rows, incidents, findings(rows))


def findings(rows: list[Row]) -> list[str]:
    out = []
    for status in ("bad", "watch"):
        for r in rows:
            if r.status == status:
                out.append(f"{status.upper()}: {r.service} {r.kpi.label} {fmt(r.kpi, r.value)}")
    moves = sorted(
        (r for r in rows if r.change is not None and abs(r.change) >= MOVE_MIN),
        key=lambda r: abs(r.change or 0.0),
        reverse=True,
    )
    for r in moves[:TOP_MOVES]:
        out.append(
            f"MOVED: {r.service} {r.kpi.label} {fmt(r.kpi, r.value)} vs baseline {fmt(r.kpi, r.baseline)}"
            f" ({fmt_change(r.change)})"
        )
    for r in rows:
        if r.value is None and r.baseline is not None:
            out.append(f"NO DATA: {r.service} {r.kpi.label} (baseline {fmt(r.kpi, r.baseline)})")
    return out


def count_findings(what: str, counts: Mapping[str, int] | None, baseline: Mapping[str, float] | None) -> list[str]:
    """A severity whose count is above its baseline mean by at least 1 and by at least 50 %."""
    if counts is None or baseline is None:
        return []
    return [
        f"MORE {what.upper()}: {severity} {n} (baseline {baseline.get(severity, 0.0):.1f})"
        for severity, n in counts.items()
        if n - baseline.get(severity, 0.0) >= 1 and n >= 1.5 * baseline.get(severity, 0.0)
    ]


# --- deployment impact ---


@dataclass(frozen=True)
class RegressionRule:
    """Worse by more than ``relative`` of the before value AND by more than ``absolute``."""

    relative: float
    absolute: float


REGRESSION_RULES: dict[str, RegressionRule] = {
    "error_ratio": RegressionRule(0.5, 0.005),
    "latency_p95": RegressionRule(0.2, 0.05),
    "latency_p99": RegressionRule(0.2, 0.05),
    "chatbot_success": RegressionRule(0.02, 0.01),
    "chatbot_response_time": RegressionRule(0.2, 0.2),
    "chatbot_errors": RegressionRule(0.5, 5),
    "availability": RegressionRule(0.001, 0.001),
}


@dataclass(frozen=True)
class Comparison:
    kpi: Kpi
    before: float | None
    after: float | None
    regression: bool


@dataclass
class DeployReport:
    service: str
    version: str
    at: datetime
    window: timedelta
    comparisons: list[Comparison]
    narrative: str = ""
    narrative_note: str = ""

    @property
    def regressions(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.regression]


def is_regression(kpi: Kpi, before: float | None, after: float | None) -> bool:
    rule = REGRESSION_RULES.get(kpi.key)
    if rule is None or before is None or after is None or kpi.better == "none":
        return False
    worse = after - before if kpi.better == "lower" else before - after
    return worse > rule.absolute and worse > rule.relative * abs(before)


def deploy_impact(prom: RangeQuerier, service: str, version: str, at: datetime, window: timedelta) -> DeployReport:
    before = compute(prom, Period("deploy", at - window, at))
    after = compute(prom, Period("deploy", at, at + window))
    comparisons = []
    for key in REGRESSION_RULES:
        kpi = KPI_BY_KEY[key]
        b, a = before.get((service, key)), after.get((service, key))
        if b is None and a is None:
            continue
        comparisons.append(Comparison(kpi, b, a, is_regression(kpi, b, a)))
    return DeployReport(service, version, at, window, comparisons)
