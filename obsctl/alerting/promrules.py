"""PromQL alerts as Prometheus rules, and `promtool test rules` cases built from synthetic series.

Grafana evaluates the catalog's alerts, but Grafana cannot run here; Prometheus's own rule engine
can (promtool of the pinned Prometheus release, see obsctl.tools). Each PromQL alert becomes
``(<concept expression>) <op> <threshold>`` with the same ``for`` and the same evaluation interval as
its Grafana rule group, and gets three cases:

- fires: series that put the concept past the threshold; the alert fires after ``for``;
- before-for: the same series, checked one evaluation before ``for`` has elapsed: nothing fires;
- below: series on the healthy side; nothing fires, and a *witness* rule with the opposite comparator
  does fire, which proves the healthy series really produced a value (not an empty result).

The synthetic series come from :data:`SYNTHESIZERS`: one recipe per concept that, given a target
value, writes the raw metrics (counters, gauges, histogram buckets) the real exporters produce. The
expected alert labels are the labels the recipe's series keep after the concept's aggregation.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from obsctl.alerting.catalog import Alert, Catalog

_STEP_S = 15.0  # overwritten per call by the platform's scrape interval


@dataclass(frozen=True)
class Series:
    selector: str
    values: str


@dataclass(frozen=True)
class Synthetic:
    series: tuple[Series, ...]
    labels: dict[str, str]
    # Seconds after the start when the concept first crosses the threshold (default: at once).
    fault_start: float = 0.0
    # True when the healthy state is an empty result (nothing to witness).
    empty_when_healthy: bool = False


# target value, number of samples, scrape step (s) -> series
Synthesizer = Callable[[float, int, float], Synthetic]


def _sel(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return f"{name}{{{inner}}}"


def _const(value: float, n: int) -> str:
    return f"{value!r}x{n}"


def _counter(per_step: float, n: int) -> str:
    return f"0+{per_step!r}x{n}"


def _gauge(name: str, labels: dict[str, str], out: tuple[str, ...]) -> Synthesizer:
    def make(v: float, n: int, _step: float) -> Synthetic:
        return Synthetic((Series(_sel(name, labels), _const(v, n)),), {k: labels[k] for k in out})

    return make


def _ratio_counters(
    name: str, base: dict[str, str], part: dict[str, str], rest: dict[str, str], out: tuple[str, ...]
) -> Synthesizer:
    """Two counters: the ``part`` series carries the target share of all requests (10 per second)."""

    def make(v: float, n: int, step: float) -> Synthetic:
        total = 10.0 * step  # 10 requests per second
        return Synthetic(
            (
                Series(_sel(name, {**base, **part}), _counter(v * total, n)),
                Series(_sel(name, {**base, **rest}), _counter((1 - v) * total, n)),
            ),
            {k: base[k] for k in out},
        )

    return make


_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _histogram(name: str, labels: dict[str, str], out: tuple[str, ...]) -> Synthesizer:
    """All observations in the bucket that holds the target: histogram_quantile lands inside that bucket."""

    def make(v: float, n: int, step: float) -> Synthetic:
        upper = next((b for b in _BUCKETS if v <= b), math.inf)
        rate_per_step = 10.0 * step
        series = []
        for le in (*_BUCKETS, math.inf):
            le_text = "+Inf" if le == math.inf else repr(le)
            per_step = rate_per_step if le >= upper else 0.0
            series.append(Series(_sel(f"{name}_bucket", {**labels, "le": le_text}), _counter(per_step, n)))
        return Synthetic(tuple(series), {k: labels[k] for k in out})

    return make


def _disk_used(v: float, n: int, _step: float) -> Synthetic:
    labels = {"instance": "app-1", "host": "app-1", "mountpoint": "/", "fstype": "ext4", "device": "/dev/nvme0n1p1"}
    size = 100e9
    return Synthetic(
        (
            Series(_sel("node_filesystem_avail_bytes", labels), _const((1 - v) * size, n)),
            Series(_sel("node_filesystem_size_bytes", labels), _const(size, n)),
        ),
        dict(labels),
    )


def _disk_predicted(v: float, n: int, step: float) -> Synthetic:
    """Free space falling fast enough to be negative in 24 h (target < 0), or flat (target >= 0)."""
    labels = {"instance": "app-1", "host": "app-1", "mountpoint": "/var", "fstype": "xfs", "device": "/dev/nvme1n1"}
    start = 50e9
    # Lose `start` bytes in 12 h when the target says "full within a day".
    loss = start / (12 * 3600) * step if v < 0 else 0.0
    return Synthetic((Series(_sel("node_filesystem_avail_bytes", labels), f"{start!r}-{loss!r}x{n}"),), dict(labels))


def _memory(v: float, n: int, _step: float) -> Synthetic:
    labels = {"instance": "app-1", "host": "app-1"}
    total = 8e9
    return Synthetic(
        (
            Series(_sel("node_memory_MemAvailable_bytes", labels), _const((1 - v) * total, n)),
            Series(_sel("node_memory_MemTotal_bytes", labels), _const(total, n)),
        ),
        dict(labels),
    )


def _cpu(v: float, n: int, step: float) -> Synthetic:
    """Two CPUs whose idle seconds grow at (1 - target) per second each."""
    series = tuple(
        Series(
            _sel("node_cpu_seconds_total", {"instance": "app-1", "host": "app-1", "cpu": str(cpu), "mode": "idle"}),
            _counter((1 - v) * step, n),
        )
        for cpu in (0, 1)
    )
    return Synthetic(series, {"instance": "app-1"})


def _loki_lines(v: float, n: int, step: float) -> Synthetic:
    return Synthetic(
        (Series(_sel("loki_distributor_lines_received_total", {"tenant": "fake"}), _counter(v * step, n)),), {}
    )


def _alloy_missing(v: float, n: int, step: float) -> Synthetic:
    labels = {"instance": "app-1", "host": "app-1", "version": "v1.18.0"}
    if v > 0:
        # Reports for a minute, then stops (a staleness marker, as when the agent's series vanish).
        reported = max(1, int(60 / step))
        return Synthetic(
            (Series(_sel("alloy_build_info", labels), f"1x{reported - 1} stale"),),
            {"host": "app-1"},
            fault_start=reported * step,
        )
    return Synthetic(
        (Series(_sel("alloy_build_info", labels), _const(1, n)),), {"host": "app-1"}, empty_when_healthy=True
    )


def _scrape_failures(v: float, n: int, _step: float) -> Synthetic:
    """Four node targets, round(target * 4) of them down."""
    down = round(max(0.0, min(1.0, v)) * 4)
    series = tuple(
        Series(_sel("up", {"job": "node", "instance": f"app-{i}"}), _const(0 if i < down else 1, n)) for i in range(4)
    )
    return Synthetic(series, {"job": "node"}, empty_when_healthy=down == 0)


def _restarts(v: float, n: int, step: float) -> Synthetic:
    labels = {"app": "api", "instance": "app-1"}
    if v > 0:
        before = 10
        return Synthetic(
            (Series(_sel("process_start_time_seconds", labels), f"1000x{before - 1} 5000x{n - before}"),),
            dict(labels),
            fault_start=before * step,
        )
    return Synthetic((Series(_sel("process_start_time_seconds", labels), _const(1000, n)),), dict(labels))


def _cert_days(v: float, n: int, _step: float) -> Synthetic:
    labels = {"instance": "https://example.org", "app": "api"}
    # promtool's clock starts at 0, so an expiry timestamp of v days is v days away.
    return Synthetic((Series(_sel("probe_ssl_earliest_cert_expiry", labels), _const(v * 86400, n)),), dict(labels))


def _analyzer_fallbacks(v: float, n: int, step: float) -> Synthetic:
    """The analyzer's fallback counter growing by ``target`` every 30 minutes, judged once the
    30-minute window is full (``increase()`` cannot extrapolate back past the series' first sample)."""
    labels = {"job": "analyzer", "instance": "mon-1", "reason": "provider_errors"}
    window = 1800.0
    return Synthetic(
        (Series(_sel("obs_analyzer_fallbacks_total", labels), _counter(v * step / window, n)),),
        {"reason": "provider_errors"},
        fault_start=window + step,
    )


SYNTHESIZERS: dict[str, Synthesizer] = {
    "service_up": _gauge("up", {"job": "spring", "instance": "app-1", "app": "api"}, ("job", "instance", "app")),
    "probe_success": _gauge(
        "probe_success",
        {"instance": "https://example.org", "app": "api", "module": "http_2xx"},
        ("instance", "app", "module"),
    ),
    "http_5xx_ratio": _ratio_counters(
        "http_server_requests_seconds_count",
        {"app": "api", "uri": "/api/books", "method": "GET"},
        {"status": "500"},
        {"status": "200"},
        ("app",),
    ),
    "chatbot_success_ratio": _ratio_counters(
        "chatbot_responses_total",
        {"app": "chat", "intent": "faq"},
        {"status": "success"},
        {"status": "error"},
        ("app",),
    ),
    "http_latency_p99": _histogram("http_server_requests_seconds", {"app": "api", "uri": "/api/books"}, ("app",)),
    "chatbot_p95_seconds": _histogram("chatbot_response_duration_seconds", {"app": "chat", "intent": "faq"}, ("app",)),
    "host_disk_used_ratio": _disk_used,
    "host_disk_avail_predicted_24h": _disk_predicted,
    "host_memory_used_ratio": _memory,
    "host_cpu_used_ratio": _cpu,
    "hikari_pending": _gauge(
        "hikaricp_connections_pending",
        {"app": "api", "instance": "app-1", "pool": "DoktoriHikariPool"},
        ("app", "instance", "pool"),
    ),
    "jvm_gc_pause_max": _gauge(
        "jvm_gc_pause_seconds_max",
        {
            "app": "api",
            "instance": "app-1",
            "action": "end of major GC",
            "cause": "G1 Evacuation Pause",
            "gc": "G1 Old Generation",
        },
        ("app", "instance"),
    ),
    "grafana_scheduler_behind_seconds": _gauge(
        "grafana_alerting_scheduler_behind_seconds", {"instance": "grafana"}, ()
    ),
    "loki_ingest_lines_rate": _loki_lines,
    "alloy_missing_hosts": _alloy_missing,
    "scrape_failure_ratio": _scrape_failures,
    "service_restarts": _restarts,
    "cert_expiry_days": _cert_days,
    "analyzer_up": _gauge("up", {"job": "analyzer", "instance": "mon-1", "host": "mon-1"}, ()),
    "analyzer_fallbacks_30m": _analyzer_fallbacks,
}


def target_values(alert: Alert) -> tuple[float, float]:
    """(value that must fire, value that must not), on either side of the threshold."""
    t = alert.threshold
    unit = alert.query.unit
    if unit in ("percentunit", "bool"):
        # Ratios live in [0, 1]: go halfway towards the bound on each side.
        high, low = (t + 1) / 2, t / 2
        if unit == "bool":
            high, low = 1.0, 0.0
    elif t == 0:
        # "above 0" is healthy at 0 (no waiting threads); "below 0" is healthy above it.
        high, low = (1.0, 0.0) if alert.comparator == "gt" else (1.0, -1.0)
    else:
        high, low = t * 2 + 1, t / 2
    return (high, low) if alert.comparator == "gt" else (low, high)


def prometheus_expr(alert: Alert, *, invert: bool = False) -> str:
    op = {"gt": ">", "lt": "<"}[alert.comparator]
    if invert:
        op = {">": "<=", "<": ">="}[op]
    return f"({alert.query.render()}) {op} {alert.threshold!r}"


def witness_name(alert: Alert) -> str:
    return f"{alert.uid}--healthy-witness"


def rule_file(alert: Alert, interval: str) -> dict[str, Any]:
    labels = {"severity": alert.severity, "team": alert.team}
    return {
        "groups": [
            {
                "name": alert.uid,
                "interval": interval,
                "rules": [
                    {"alert": alert.uid, "expr": prometheus_expr(alert), "for": alert.for_, "labels": labels},
                    {"alert": witness_name(alert), "expr": prometheus_expr(alert, invert=True), "labels": labels},
                ],
            }
        ]
    }


@dataclass
class Case:
    name: str
    eval_seconds: float
    expect_firing: bool
    witness: bool = False


@dataclass
class TestPlan:
    alert: Alert
    rules: dict[str, Any]
    tests: dict[str, Any]
    cases: list[Case] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _fmt(seconds: float) -> str:
    return f"{round(seconds)}s"


def plan(catalog: Catalog, alert: Alert, scrape_interval_s: float, rules_path: str) -> TestPlan:
    """The rule file and promtool test file for one alert; raises KeyError for an unknown concept."""
    if alert.language != "promql":
        raise ValueError(f"{alert.uid} is a {alert.language} alert: promtool evaluates PromQL only")
    synth = SYNTHESIZERS[alert.query.key]
    sev = catalog.severities[alert.severity]
    interval = catalog.groups[sev.group]
    eval_s = catalog.group_interval_seconds(sev.group)
    fire_v, quiet_v = target_values(alert)
    horizon = alert.for_seconds + 4 * eval_s + 120
    n_probe = synth(fire_v, 1, scrape_interval_s)
    n = math.ceil((horizon + n_probe.fault_start) / scrape_interval_s) + 2
    firing = synth(fire_v, n, scrape_interval_s)
    healthy = synth(quiet_v, n, scrape_interval_s)
    # Worst case the first evaluation after the fault needs one more interval (rates need two samples).
    fires_at = firing.fault_start + alert.for_seconds + 2 * eval_s
    expected = {**firing.labels, "severity": alert.severity, "team": alert.team}
    result = TestPlan(alert, rule_file(alert, interval), {})
    tests: list[dict[str, Any]] = []

    def series(s: Synthetic) -> list[dict[str, str]]:
        return [{"series": x.selector, "values": x.values} for x in s.series]

    fire_case = Case(f"{alert.uid}: fires above the threshold after for", fires_at, True)
    tests.append(
        {
            "name": fire_case.name,
            "interval": _fmt(scrape_interval_s),
            "input_series": series(firing),
            "alert_rule_test": [
                {"eval_time": _fmt(fires_at), "alertname": alert.uid, "exp_alerts": [{"exp_labels": expected}]}
            ],
        }
    )
    result.cases.append(fire_case)
    before = firing.fault_start + alert.for_seconds - eval_s
    if alert.for_seconds >= eval_s and before > 0:
        before_case = Case(f"{alert.uid}: silent before for has elapsed", before, False)
        tests.append(
            {
                "name": before_case.name,
                "interval": _fmt(scrape_interval_s),
                "input_series": series(firing),
                "alert_rule_test": [{"eval_time": _fmt(before), "alertname": alert.uid, "exp_alerts": []}],
            }
        )
        result.cases.append(before_case)
    else:
        result.skipped.append(f"{alert.uid}: no 'before for' case (for {alert.for_} is shorter than one evaluation)")
    quiet_case = Case(
        f"{alert.uid}: silent below the threshold", fires_at, False, witness=not healthy.empty_when_healthy
    )
    checks: list[dict[str, Any]] = [{"eval_time": _fmt(fires_at), "alertname": alert.uid, "exp_alerts": []}]
    if quiet_case.witness:
        witness_labels = {**healthy.labels, "severity": alert.severity, "team": alert.team}
        checks.append(
            {
                "eval_time": _fmt(fires_at),
                "alertname": witness_name(alert),
                "exp_alerts": [{"exp_labels": witness_labels}],
            }
        )
    else:
        result.skipped.append(f"{alert.uid}: healthy state is an empty result, no witness")
    tests.append(
        {
            "name": quiet_case.name,
            "interval": _fmt(scrape_interval_s),
            "input_series": series(healthy),
            "alert_rule_test": checks,
        }
    )
    result.cases.append(quiet_case)
    result.tests = {"rule_files": [rules_path], "evaluation_interval": interval, "tests": tests}
    return result


def alerting_rules(catalog: Catalog) -> tuple[dict[str, Any], list[str]]:
    """The catalog's PromQL alerts as one Prometheus rule file, for a Prometheus that evaluates them
    itself (the lab, where Grafana's image is absent, with Alertmanager standing in for Grafana's
    notifications). One group per catalog rule group at its interval; each alert keeps the uid as
    its name, its ``for``, the labels Grafana's rule carries (severity, team, service) and the
    annotations its messages read. Returns the rule file and what it could not carry over:
    LogQL alerts (Prometheus cannot query Loki) and ``no_data: alerting`` (Grafana's no-data state
    has no Prometheus counterpart here: an empty result simply does not fire)."""
    left_out: list[str] = []
    groups: list[dict[str, Any]] = []
    for group, interval in catalog.groups.items():
        rules: list[dict[str, Any]] = []
        for alert in catalog.alerts:
            if catalog.severities[alert.severity].group != group:
                continue
            if alert.language != "promql":
                left_out.append(f"{alert.uid}: a {alert.language} alert (Prometheus evaluates PromQL only)")
                continue
            if alert.no_data == "alerting":
                left_out.append(f"{alert.uid}: no_data: alerting is Grafana's; here an empty result does not fire")
            annotations = {"title": alert.title, "summary": alert.summary, "description": alert.description}
            runbook = catalog.runbook_link(alert)
            if runbook:
                annotations["runbook_url"] = runbook
            rules.append(
                {
                    "alert": alert.uid,
                    "expr": prometheus_expr(alert),
                    "for": alert.for_,
                    "labels": {"severity": alert.severity, "team": alert.team, "service": alert.service},
                    "annotations": annotations,
                }
            )
        if rules:
            groups.append({"name": group, "interval": interval, "rules": rules})
    return {"groups": groups}, left_out
