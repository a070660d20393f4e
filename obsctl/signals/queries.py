"""One PromQL/LogQL expression per concept, shared by dashboards, alerts and tests.

Each expression has a ``%(m)s`` slot inside every selector's braces for extra label matchers
(``app=~"$app"`` on a dashboard, nothing in an alert). PromQL accepts a trailing comma in a
matcher list, so ``{status=~"5..",}`` is valid when the slot is empty. Write ``%%`` for a
literal ``%`` (PromQL modulo).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Language = Literal["promql", "logql"]

# Filesystems that are not real disks: excluded from disk alerts and panels.
_FS = 'fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs|fuse.lxcfs"'


@dataclass(frozen=True)
class Query:
    key: str
    expr: str
    unit: str
    meaning: str
    language: Language = "promql"

    def render(self, matchers: str = "") -> str:
        return self.expr % {"m": matchers}

    def metric_names(self) -> set[str]:
        """Series names referenced (PromQL only): identifiers directly followed by a selector."""
        if self.language != "promql":
            return set()
        text = re.sub(r'"[^"]*"', '""', self.render())
        return set(re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{", text))


def _q(key: str, expr: str, unit: str, meaning: str, language: Language = "promql") -> Query:
    return Query(key, " ".join(expr.split()), unit, meaning, language)


def _latency(q: float) -> Query:
    pct = int(q * 100)
    return _q(
        f"http_latency_p{pct}",
        f"histogram_quantile({q}, sum by (app, le) (rate(http_server_requests_seconds_bucket{{%(m)s}}[5m])))",
        "s",
        f"{pct}th percentile HTTP server latency per application (needs percentiles-histogram: true)",
    )


QUERIES: dict[str, Query] = {
    q.key: q
    for q in (
        # --- availability ---
        _q("service_up", "up{%(m)s}", "bool", "1 when Prometheus (or Alloy) could scrape the target"),
        _q("probe_success", "probe_success{%(m)s}", "bool", "1 when the blackbox probe of an endpoint succeeded"),
        _q(
            "service_restarts",
            "changes(process_start_time_seconds{%(m)s}[15m])",
            "count",
            "JVM process restarts in the last 15 minutes",
        ),
        _q(
            "cert_expiry_days",
            "(probe_ssl_earliest_cert_expiry{%(m)s} - time()) / 86400",
            "d",
            "days until the earliest TLS certificate of a probed endpoint expires",
        ),
        # --- HTTP RED (Spring Boot) ---
        _q(
            "http_request_rate",
            "sum by (app) (rate(http_server_requests_seconds_count{%(m)s}[5m]))",
            "reqps",
            "requests per second per application",
        ),
        _q(
            "http_5xx_ratio",
            'sum by (app) (rate(http_server_requests_seconds_count{status=~"5..",%(m)s}[5m]))'
            " / sum by (app) (rate(http_server_requests_seconds_count{%(m)s}[5m]))",
            "percentunit",
            "share of requests answered with a 5xx status, per application",
        ),
        _q(
            "http_endpoint_request_rate",
            "sum by (app, uri) (rate(http_server_requests_seconds_count{%(m)s}[5m]))",
            "reqps",
            "requests per second per endpoint",
        ),
        _q(
            "http_endpoint_error_rate",
            'sum by (app, uri) (rate(http_server_requests_seconds_count{status=~"5..",%(m)s}[5m]))',
            "reqps",
            "5xx responses per second per endpoint",
        ),
        _latency(0.5),
        _latency(0.95),
        _latency(0.99),
        # --- JVM ---
        _q(
            "jvm_heap_used_ratio",
            'sum by (app, instance) (jvm_memory_used_bytes{area="heap",%(m)s})'
            ' / sum by (app, instance) (jvm_memory_max_bytes{area="heap",%(m)s} > 0)',
            "percentunit",
            "heap in use as a share of the configured maximum",
        ),
        _q(
            "jvm_gc_pause_max",
            "max by (app, instance) (jvm_gc_pause_seconds_max{%(m)s})",
            "s",
            "longest GC pause in Micrometer's recent window",
        ),
        _q(
            "hikari_pending",
            "max by (app, instance, pool) (hikaricp_connections_pending{%(m)s})",
            "short",
            "threads waiting for a database connection from the HikariCP pool",
        ),
        _q(
            "tomcat_busy_ratio",
            "max by (app, instance) (tomcat_threads_busy_threads{%(m)s})"
            " / max by (app, instance) (tomcat_threads_config_max_threads{%(m)s})",
            "percentunit",
            "busy Tomcat worker threads as a share of server.tomcat.threads.max",
        ),
        # --- chatbot business KPIs (seed 000) ---
        _q(
            "chatbot_success_ratio",
            'sum by (app) (rate(chatbot_responses_total{status="success",%(m)s}[5m]))'
            " / sum by (app) (rate(chatbot_responses_total{%(m)s}[5m]))",
            "percentunit",
            "share of chatbot answers that succeeded",
        ),
        _q(
            "chatbot_p95_seconds",
            "histogram_quantile(0.95, sum by (app, le) (rate(chatbot_response_duration_seconds_bucket{%(m)s}[5m])))",
            "s",
            "95th percentile chatbot response time",
        ),
        _q(
            "chatbot_error_count_24h",
            'sum by (app) (increase(chatbot_responses_total{status="error",%(m)s}[24h]))',
            "short",
            "chatbot errors in the last 24 hours",
        ),
        _q(
            "chatbot_satisfaction",
            'avg by (app) (chatbot_user_satisfaction{rating_type="positive",%(m)s})',
            "short",
            "average positive satisfaction score (0-5)",
        ),
        # --- hosts ---
        _q(
            "host_cpu_used_ratio",
            '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle",%(m)s}[5m]))',
            "percentunit",
            "CPU busy share per host",
        ),
        _q(
            "host_memory_used_ratio",
            "1 - node_memory_MemAvailable_bytes{%(m)s} / node_memory_MemTotal_bytes{%(m)s}",
            "percentunit",
            "memory in use (not available for new allocations) per host",
        ),
        _q(
            "host_disk_used_ratio",
            f"1 - node_filesystem_avail_bytes{{{_FS},%(m)s}} / node_filesystem_size_bytes{{{_FS},%(m)s}}",
            "percentunit",
            "disk space in use per mount point",
        ),
        _q(
            "host_disk_avail_predicted_24h",
            f"predict_linear(node_filesystem_avail_bytes{{{_FS},%(m)s}}[6h], 24 * 3600)",
            "bytes",
            "free bytes a mount point will have in 24 h at the last 6 h trend (below 0 = full)",
        ),
        # --- nginx ---
        _q(
            "nginx_request_rate",
            "sum by (instance) (rate(nginx_http_requests_total{%(m)s}[5m]))",
            "reqps",
            "requests per second handled by nginx",
        ),
        _q(
            "nginx_active_connections",
            "sum by (instance) (nginx_connections_active{%(m)s})",
            "short",
            "open client connections in nginx",
        ),
        # --- the platform watching itself ---
        _q(
            "alloy_missing_hosts",
            "group by (host) (max_over_time(alloy_build_info{%(m)s}[1h]))"
            " unless group by (host) (alloy_build_info{%(m)s})",
            "bool",
            "hosts whose Alloy agent reported in the last hour but not now",
        ),
        _q(
            "loki_ingest_lines_rate",
            "sum(rate(loki_distributor_lines_received_total{%(m)s}[5m]))",
            "short",
            "log lines per second Loki accepts (0 for long = ingestion stopped)",
        ),
        _q(
            "scrape_failure_ratio",
            "count by (job) (up{%(m)s} == 0) / count by (job) (up{%(m)s})",
            "percentunit",
            "share of a job's targets whose last scrape failed",
        ),
        _q(
            "rule_group_lag_ratio",
            "max by (rule_group) (prometheus_rule_group_last_duration_seconds{%(m)s}"
            " / prometheus_rule_group_interval_seconds{%(m)s})",
            "percentunit",
            "rule evaluation time as a share of its interval (>1 = the evaluator falls behind)",
        ),
        # --- logs (LogQL) ---
        _q(
            "log_error_lines_rate",
            'sum by (app) (count_over_time({level=~"ERROR|error",%(m)s}[5m]))',
            "short",
            "error log lines per 5 minutes per application",
            "logql",
        ),
        # --- alerting (appended by the alert catalog) ---
        _q(
            "grafana_scheduler_behind_seconds",
            "max(grafana_alerting_scheduler_behind_seconds{%(m)s})",
            "s",
            "how far Grafana's alert rule scheduler lags behind its ticks (the evaluator falling behind)",
        ),
    )
}


def get(key: str) -> Query:
    try:
        return QUERIES[key]
    except KeyError:
        raise KeyError(f"unknown query concept {key!r}; known: {', '.join(sorted(QUERIES))}") from None
