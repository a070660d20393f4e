"""One PromQL/LogQL expression per concept, shared by dashboards, alerts and tests.

Each expression has a ``%(m)s`` slot inside every selector's braces for extra label matchers
(``app=~"$app"`` on a dashboard, nothing in an alert). PromQL accepts a trailing comma in a
matcher list, so ``{status=~"5..",}`` is valid when the slot is empty. Write ``%%`` for a
literal ``%`` (PromQL modulo).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from obsctl.signals import llm, provenance

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
        expr = self.expr
        if not matchers and self.language == "logql":
            # LogQL's grammar has no trailing comma in a stream selector
            # (matchers: matcher | matchers COMMA matcher), unlike PromQL's.
            expr = expr.replace(",%(m)s", "")
        return expr % {"m": matchers}

    def metric_names(self) -> set[str]:
        """Series names referenced (PromQL only), read by :func:`obsctl.signals.provenance.metric_names`."""
        if self.language != "promql":
            return set()
        return provenance.metric_names(self.render())


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
        _q(
            "service_up",
            'up{job!="analyzer",%(m)s}',
            "bool",
            "1 when Prometheus (or Alloy) could scrape the target (the analyzer has its own alert: analyzer_up)",
        ),
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
            "chatbot_error_rate",
            'sum by (app) (rate(chatbot_responses_total{status="error",%(m)s}[5m]))',
            "reqps",
            "failed chatbot answers per second (the reports integrate it over their period)",
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
        # --- the incident analyzer (obsctl/analyzer/metrics.py, job "analyzer") ---
        _q(
            "analyzer_up",
            'max(up{job="analyzer",%(m)s}) or max(max_over_time(up{job="analyzer",%(m)s}[1h])) * 0',
            "bool",
            "1 when Prometheus can scrape the analyzer; 0 when it cannot, or when its target vanished in the"
            " last hour (absent); no value where the analyzer was never scraped",
        ),
        _q(
            "analyzer_fallbacks_30m",
            'sum by (reason) (increase(obs_analyzer_fallbacks_total{reason!="no_provider",%(m)s}[30m]))',
            "short",
            "analyses that fell back to the deterministic summary in 30 minutes, by reason (budget,"
            " provider_errors; no_provider is a configuration, not a fault)",
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


def _dashboard_queries() -> tuple[Query, ...]:
    """Concepts the dashboards show beyond the alerts (obsctl/dashboards reads them by key)."""
    jvm_heap = 'jvm_memory_used_bytes{area="heap",%(m)s}'
    spring_5xx = 'http_server_requests_seconds_count{status=~"5..",%(m)s}'
    llm_requests = llm.union("requests", "rate({metric}{{%(m)s}}[5m])", "provider")
    llm_errors = llm.union("requests", 'rate({metric}{{outcome="error",%(m)s}}[5m])', "provider")
    llm_24h = "increase({metric}{{%(m)s}}[24h])"
    return (
        # --- overview ---
        _q(
            "services_down_count",
            'count(up{job=~"spring|nginx|node",%(m)s} == 0) or vector(0)',
            "short",
            "application, nginx and host targets whose last scrape failed",
        ),
        _q(
            "probes_failing_count",
            "count(probe_success{%(m)s} == 0) or vector(0)",
            "short",
            "blackbox probes that currently fail",
        ),
        _q(
            "services_up_ratio",
            'sum(up{job=~"spring|nginx|node",%(m)s}) / count(up{job=~"spring|nginx|node",%(m)s})',
            "percentunit",
            "share of application, nginx and host targets that answer",
        ),
        _q(
            "http_request_rate_all",
            "sum(rate(http_server_requests_seconds_count{%(m)s}[5m]))",
            "reqps",
            "requests per second over all selected applications",
        ),
        _q(
            "http_5xx_ratio_all",
            f"sum(rate({spring_5xx}[5m])) / sum(rate(http_server_requests_seconds_count{{%(m)s}}[5m]))",
            "percentunit",
            "share of 5xx answers over all selected applications",
        ),
        _q(
            "http_latency_p95_all",
            "histogram_quantile(0.95, sum by (le) (rate(http_server_requests_seconds_bucket{%(m)s}[5m])))",
            "s",
            "95th percentile latency over all selected applications",
        ),
        _q(
            "http_latency_p99_all",
            "histogram_quantile(0.99, sum by (le) (rate(http_server_requests_seconds_bucket{%(m)s}[5m])))",
            "s",
            "99th percentile latency over all selected applications",
        ),
        # --- HTTP per endpoint ---
        _q(
            "http_endpoint_latency_p95",
            "histogram_quantile(0.95, sum by (app, uri, le) (rate(http_server_requests_seconds_bucket{%(m)s}[5m])))",
            "s",
            "95th percentile latency per endpoint",
        ),
        _q(
            "http_endpoint_max_seconds",
            "max by (app, uri) (http_server_requests_seconds_max{%(m)s})",
            "s",
            "slowest single request per endpoint in Micrometer's recent window",
        ),
        # --- JVM ---
        _q(
            "jvm_heap_used_bytes",
            f"sum by (app, instance) ({jvm_heap})",
            "bytes",
            "heap in use per JVM",
        ),
        _q(
            "jvm_heap_max_bytes",
            'sum by (app, instance) (jvm_memory_max_bytes{area="heap",%(m)s} > 0)',
            "bytes",
            "configured maximum heap per JVM (-Xmx)",
        ),
        _q(
            "jvm_gc_time_ratio",
            "sum by (app, instance) (rate(jvm_gc_pause_seconds_sum{%(m)s}[5m]))",
            "percentunit",
            "share of wall-clock time the JVM spends paused in GC",
        ),
        _q(
            "jvm_threads_live",
            "sum by (app, instance) (jvm_threads_live_threads{%(m)s})",
            "short",
            "live JVM threads",
        ),
        _q(
            "jvm_threads_by_state",
            "sum by (app, state) (jvm_threads_states_threads{%(m)s})",
            "short",
            "JVM threads per state (blocked and waiting pile up under lock contention)",
        ),
        _q(
            "process_cpu_ratio",
            "max by (app, instance) (process_cpu_usage{%(m)s})",
            "percentunit",
            "CPU used by the JVM process as a share of the host's CPUs",
        ),
        _q(
            "process_uptime_seconds",
            "min by (app, instance) (process_uptime_seconds{%(m)s})",
            "s",
            "time since the JVM started (small = it restarted)",
        ),
        _q(
            "hikari_active",
            "max by (app, instance, pool) (hikaricp_connections_active{%(m)s})",
            "short",
            "database connections in use in the HikariCP pool",
        ),
        _q(
            "hikari_idle",
            "max by (app, instance, pool) (hikaricp_connections_idle{%(m)s})",
            "short",
            "idle database connections in the HikariCP pool",
        ),
        _q(
            "hikari_max",
            "max by (app, instance, pool) (hikaricp_connections_max{%(m)s})",
            "short",
            "maximum size of the HikariCP pool (maximum-pool-size)",
        ),
        _q(
            "hikari_usage_ratio",
            "max by (app, instance, pool) (hikaricp_connections_active{%(m)s})"
            " / max by (app, instance, pool) (hikaricp_connections_max{%(m)s})",
            "percentunit",
            "share of the HikariCP pool in use",
        ),
        _q(
            "hikari_timeouts_1h",
            "sum by (app, pool) (increase(hikaricp_connections_timeout_total{%(m)s}[1h]))",
            "short",
            "requests that gave up waiting for a database connection in the last hour",
        ),
        _q(
            "tomcat_threads_busy",
            "max by (app, instance) (tomcat_threads_busy_threads{%(m)s})",
            "short",
            "Tomcat worker threads serving a request",
        ),
        _q(
            "tomcat_threads_max",
            "max by (app, instance) (tomcat_threads_config_max_threads{%(m)s})",
            "short",
            "server.tomcat.threads.max (chat: 100)",
        ),
        # --- chatbot (seed 000) ---
        _q(
            "chatbot_response_rate_by_intent",
            "sum by (intent) (rate(chatbot_responses_total{%(m)s}[5m]))",
            "reqps",
            "chatbot answers per second per intent",
        ),
        _q(
            "chatbot_error_rate_by_intent",
            'sum by (intent) (rate(chatbot_responses_total{status="error",%(m)s}[5m]))',
            "reqps",
            "failed chatbot answers per second per intent",
        ),
        _q(
            "chatbot_success_ratio_by_intent",
            'sum by (intent) (rate(chatbot_responses_total{status="success",%(m)s}[5m]))'
            " / sum by (intent) (rate(chatbot_responses_total{%(m)s}[5m]))",
            "percentunit",
            "share of successful chatbot answers per intent",
        ),
        _q(
            "chatbot_p95_by_intent",
            "histogram_quantile(0.95, sum by (intent, le) (rate(chatbot_response_duration_seconds_bucket{%(m)s}[5m])))",
            "s",
            "95th percentile chatbot response time per intent",
        ),
        # --- hosts ---
        _q(
            "hosts_down_count",
            'count(up{job="node",%(m)s} == 0) or vector(0)',
            "short",
            "hosts whose node metrics are not arriving",
        ),
        _q(
            "disks_filling_count",
            f"count(predict_linear(node_filesystem_avail_bytes{{{_FS},%(m)s}}[6h], 24 * 3600) < 0) or vector(0)",
            "short",
            "mount points predicted to be full within 24 h",
        ),
        _q(
            "host_load1_per_core",
            'max by (instance) (node_load1{%(m)s}) / count by (instance) (node_cpu_seconds_total{mode="idle",%(m)s})',
            "short",
            "1-minute load average per CPU core (above 1 = work is queueing)",
        ),
        _q(
            "host_network_rx_bytes_rate",
            'sum by (instance) (rate(node_network_receive_bytes_total{device!~"lo|veth.*|docker.*|br-.*",%(m)s}[5m]))',
            "Bps",
            "bytes received per second per host (physical and tunnel interfaces)",
        ),
        _q(
            "host_network_tx_bytes_rate",
            'sum by (instance) (rate(node_network_transmit_bytes_total{device!~"lo|veth.*|docker.*|br-.*",%(m)s}[5m]))',
            "Bps",
            "bytes sent per second per host (physical and tunnel interfaces)",
        ),
        _q(
            "host_disk_io_busy_ratio",
            "max by (instance, device) (rate(node_disk_io_time_seconds_total{%(m)s}[5m]))",
            "percentunit",
            "share of time a block device was busy",
        ),
        _q(
            "host_uptime_seconds",
            "time() - node_boot_time_seconds{%(m)s}",
            "s",
            "time since the host booted",
        ),
        # --- nginx ---
        _q("nginx_up", "nginx_up{%(m)s}", "bool", "1 when the exporter can read nginx's stub_status"),
        _q(
            "nginx_dropped_connections_rate",
            "sum by (instance) (rate(nginx_connections_accepted{%(m)s}[5m]))"
            " - sum by (instance) (rate(nginx_connections_handled{%(m)s}[5m]))",
            "short",
            "connections per second nginx accepted but could not handle (worker_connections exhausted)",
        ),
        _q(
            "nginx_connections_reading",
            "sum by (instance) (nginx_connections_reading{%(m)s})",
            "short",
            "connections whose request header nginx is reading",
        ),
        _q(
            "nginx_connections_writing",
            "sum by (instance) (nginx_connections_writing{%(m)s})",
            "short",
            "connections nginx is answering (waiting for the upstream or sending)",
        ),
        _q(
            "nginx_connections_waiting",
            "sum by (instance) (nginx_connections_waiting{%(m)s})",
            "short",
            "idle keep-alive connections",
        ),
        # --- the platform watching itself ---
        _q(
            "stack_targets_down_count",
            'count(up{job=~"prometheus|loki|grafana|blackbox-exporter|alloy",%(m)s} == 0) or vector(0)',
            "short",
            "monitoring stack components Prometheus cannot scrape",
        ),
        _q(
            "alloy_missing_hosts_count",
            "count(group by (host) (max_over_time(alloy_build_info{%(m)s}[1h]))"
            " unless group by (host) (alloy_build_info{%(m)s})) or vector(0)",
            "short",
            "hosts whose Alloy agent reported in the last hour but not now",
        ),
        _q(
            "targets_up_ratio",
            "sum(up{%(m)s}) / count(up{%(m)s})",
            "percentunit",
            "share of all scrape targets that answer",
        ),
        _q(
            "prometheus_ingest_samples_rate",
            "sum(rate(prometheus_tsdb_head_samples_appended_total{%(m)s}[5m]))",
            "short",
            "samples per second written to Prometheus' TSDB (scrapes and remote write)",
        ),
        _q(
            "prometheus_head_series",
            "sum(prometheus_tsdb_head_series{%(m)s})",
            "short",
            "active series in Prometheus' head block (~8 kB of memory each)",
        ),
        _q(
            "prometheus_tsdb_bytes",
            "sum(prometheus_tsdb_storage_blocks_bytes{%(m)s})",
            "bytes",
            "bytes of persisted TSDB blocks on disk",
        ),
        _q(
            "loki_ingest_bytes_rate",
            "sum(rate(loki_distributor_bytes_received_total{%(m)s}[5m]))",
            "Bps",
            "log bytes per second Loki accepts",
        ),
        _q(
            "loki_stored_bytes_rate",
            "sum(rate(loki_ingester_chunk_stored_bytes_total{%(m)s}[5m]))",
            "Bps",
            "compressed chunk bytes per second Loki writes to storage",
        ),
        _q(
            "loki_streams",
            "sum(loki_ingester_memory_streams{%(m)s})",
            "short",
            "active log streams in Loki's ingesters (label cardinality)",
        ),
        _q(
            "grafana_rule_eval_failure_ratio",
            "sum(rate(grafana_alerting_rule_evaluation_failures_total{%(m)s}[5m]))"
            " / sum(rate(grafana_alerting_rule_evaluations_total{%(m)s}[5m]))",
            "percentunit",
            "share of Grafana alert rule evaluations that failed",
        ),
        _q(
            "alloy_agents",
            "max by (host, version) (alloy_build_info{%(m)s})",
            "bool",
            "Alloy agents reporting now, with their version",
        ),
        _q(
            "alloy_running_components",
            "sum by (host) (alloy_component_controller_running_components{%(m)s})",
            "short",
            "components running in each Alloy agent",
        ),
        # --- the incident analyzer (self dashboard) ---
        _q(
            "analyzer_analyses_rate",
            "sum by (outcome) (rate(obs_analyzer_analyses_total{%(m)s}[5m]))",
            "short",
            "alerts the analyzer handled per second, by outcome (llm, deterministic, recorded, duplicate, ...)",
        ),
        _q(
            "analyzer_queue_depth",
            "max(obs_analyzer_queue_depth{%(m)s})",
            "short",
            "notifications accepted by the analyzer and not yet processed",
        ),
        _q(
            "analyzer_fallbacks_rate",
            "sum by (reason) (rate(obs_analyzer_fallbacks_total{%(m)s}[5m]))",
            "short",
            "analyses per second that fell back to the deterministic summary, by reason",
        ),
        _q(
            "analyzer_evidence_p95",
            "histogram_quantile(0.95, sum by (le) (rate(obs_analyzer_evidence_duration_seconds_bucket{%(m)s}[5m])))",
            "s",
            "95th percentile time to collect an evidence pack",
        ),
        _q(
            "analyzer_webhook_rejected_rate",
            'sum by (code) (rate(obs_analyzer_webhook_requests_total{code!="202",%(m)s}[5m]))',
            "reqps",
            "webhook requests the analyzer did not accept, by HTTP status (401, 413, 422, 503)",
        ),
        # --- LLM usage: every service of the label contract (obsctl/signals/llm.py) ---
        _q(
            "llm_request_rate",
            llm.union("requests", "rate({metric}{{%(m)s}}[5m])", "provider, model"),
            "reqps",
            "LLM calls per second per service, provider and model",
        ),
        _q(
            "llm_error_rate",
            llm.union("requests", 'rate({metric}{{outcome="error",%(m)s}}[5m])', "provider, model"),
            "reqps",
            "failed LLM calls per second per service, provider and model",
        ),
        _q(
            "llm_error_ratio_all",
            f"sum({llm_errors}) / sum({llm_requests})",
            "percentunit",
            "share of all LLM calls that failed",
        ),
        _q(
            "llm_request_rate_all",
            f"sum({llm_requests})",
            "reqps",
            "LLM calls per second over every service",
        ),
        _q(
            "llm_latency_p95",
            "histogram_quantile(0.95, "
            + llm.union("duration", "rate({metric}_bucket{{%(m)s}}[5m])", "provider, model, le")
            + ")",
            "s",
            "95th percentile LLM call latency per service, provider and model",
        ),
        _q(
            "llm_tokens_rate",
            llm.union("tokens", "rate({metric}{{%(m)s}}[5m])", "provider, model, type"),
            "short",
            "LLM tokens per second per service, provider, model and type (input, output)",
        ),
        _q(
            "llm_tokens_24h",
            llm.union("tokens", "increase({metric}{{%(m)s}}[24h])", "provider, model"),
            "short",
            "LLM tokens used in the last 24 hours per service, provider and model",
        ),
        _q(
            "llm_tokens_24h_all",
            f"sum({llm.union('tokens', llm_24h, 'provider')})",
            "short",
            "LLM tokens used in the last 24 hours over every service",
        ),
        _q(
            "llm_cost_rate_hourly",
            llm.union("cost", "rate({metric}{{%(m)s}}[1h]) * 3600", "provider, model"),
            "currencyUSD",
            "estimated LLM spend per hour per service, provider and model",
        ),
        _q(
            "llm_cost_24h",
            llm.union("cost", "increase({metric}{{%(m)s}}[24h])", "provider, model"),
            "currencyUSD",
            "estimated LLM spend in the last 24 hours per service, provider and model",
        ),
        _q(
            "llm_cost_24h_all",
            f"sum({llm.union('cost', llm_24h, 'provider')})",
            "currencyUSD",
            "estimated LLM spend in the last 24 hours over every service that reports cost",
        ),
        # --- logs (LogQL) ---
        _q(
            "log_volume_by_app_level",
            'sum by (app, level) (count_over_time({app=~".+",%(m)s}[5m]))',
            "short",
            "log lines per 5 minutes per application and level",
            "logql",
        ),
        _q(
            "log_lines_5m_total",
            'sum(count_over_time({app=~".+",%(m)s}[5m]))',
            "short",
            "all log lines of the selected applications in the last 5 minutes",
            "logql",
        ),
        _q(
            "log_warn_lines_rate",
            'sum by (app) (count_over_time({level=~"WARN|warn|WARNING|warning",%(m)s}[5m]))',
            "short",
            "warning log lines per 5 minutes per application",
            "logql",
        ),
        _q(
            "log_error_stream",
            '{level=~"ERROR|error",%(m)s}',
            "short",
            "the error log lines themselves",
            "logql",
        ),
        _q(
            "log_top_errors",
            'topk(10, sum by (app, logger, msg) (count_over_time({level=~"ERROR|error",%(m)s}'
            ' | regexp "(?P<logger>[\\\\w.]+)\\\\s+:\\\\s+(?P<msg>[^0-9]{1,80})" [1h])))',
            "short",
            "the ten most frequent error messages in the last hour (Spring Boot's default"
            " 'logger : message' layout; digits cut so ids do not split one message into many)",
            "logql",
        ),
        _q(
            "nginx_5xx_lines_rate",
            'sum by (host) (count_over_time({job="nginx",%(m)s}'
            ' | pattern `<_> - <_> [<_>] "<_> <_> <_>" <status> <_>` | status >= 500 [5m]))',
            "short",
            "nginx access-log lines with a 5xx status per 5 minutes",
            "logql",
        ),
        _q(
            "nginx_status_lines_rate",
            'sum by (status) (count_over_time({job="nginx",%(m)s}'
            ' | pattern `<_> - <_> [<_>] "<_> <_> <_>" <status> <_>` | status != "" [5m]))',
            "short",
            "nginx access-log lines per status code per 5 minutes",
            "logql",
        ),
        _q(
            "nginx_error_log_stream",
            '{job="nginx",filename=~".*error.log",%(m)s}',
            "short",
            "nginx's error log lines",
            "logql",
        ),
    )


_EXTRA = _dashboard_queries()
assert not {q.key for q in _EXTRA} & set(QUERIES), "a dashboard concept reuses an existing key"
QUERIES.update({q.key: q for q in _EXTRA})


def get(key: str) -> Query:
    try:
        return QUERIES[key]
    except KeyError:
        raise KeyError(f"unknown query concept {key!r}; known: {', '.join(sorted(QUERIES))}") from None
