"""Metric names that the platform's sources really produce, each with its producer.

Producers (:mod:`obsctl.signals.provenance`): Spring Boot 3 / Micrometer Prometheus registry
(actuator), node_exporter and Alloy's ``prometheus.exporter.unix`` (same collector code and
names), nginx-prometheus-exporter (stub_status), blackbox_exporter, Prometheus, Loki, Grafana and
Alloy self-metrics (``prometheus.exporter.self``), and the chatbot's own business metrics
(customer seed 000). Every query in :mod:`obsctl.signals.queries` may only use names listed here;
tests enforce it, prove each producer is in the rendered configs
(tests/contract/test_metric_provenance.py) and load samples of these series into a real Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from obsctl.signals import llm, provenance
from obsctl.signals.provenance import Producer

Kind = Literal["counter", "gauge", "histogram", "summary"]


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    source: Producer
    labels: tuple[str, ...] = ()
    help: str = ""

    def series_names(self) -> tuple[str, ...]:
        """The names that appear in Prometheus for this metric (histograms expand)."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        if self.kind == "summary":
            return (self.name, f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


_SCRAPE = provenance.SCRAPE
_SPRING = provenance.MICROMETER
_NODE = provenance.NODE
_NGINX = provenance.NGINX_EXPORTER
_BLACKBOX = provenance.BLACKBOX
_CHATBOT = provenance.CHAT_SERVICE
_PROMETHEUS = provenance.PROMETHEUS
_LOKI = provenance.LOKI
_GRAFANA = provenance.GRAFANA
_ALLOY = provenance.ALLOY
_ANALYZER = provenance.ANALYZER

METRICS: tuple[Metric, ...] = (
    # --- scrape health (synthesised by Prometheus for every target) ---
    Metric("up", "gauge", _SCRAPE, ("job", "instance", "host", "app")),
    Metric("scrape_duration_seconds", "gauge", _SCRAPE, ("job", "instance")),
    Metric("scrape_samples_scraped", "gauge", _SCRAPE, ("job", "instance")),
    # --- Spring Boot / Micrometer ---
    Metric(
        "http_server_requests_seconds",
        "histogram",
        _SPRING,
        ("app", "instance", "method", "uri", "status", "outcome", "exception"),
    ),
    Metric("http_server_requests_seconds_max", "gauge", _SPRING, ("app", "uri", "status")),
    Metric("jvm_memory_used_bytes", "gauge", _SPRING, ("app", "instance", "area", "id")),
    Metric("jvm_memory_max_bytes", "gauge", _SPRING, ("app", "instance", "area", "id")),
    Metric("jvm_memory_committed_bytes", "gauge", _SPRING, ("app", "instance", "area", "id")),
    Metric("jvm_gc_pause_seconds", "summary", _SPRING, ("app", "instance", "action", "cause", "gc")),
    Metric("jvm_gc_pause_seconds_max", "gauge", _SPRING, ("app", "instance", "action", "cause", "gc")),
    Metric("jvm_threads_live_threads", "gauge", _SPRING, ("app", "instance")),
    Metric("jvm_threads_daemon_threads", "gauge", _SPRING, ("app", "instance")),
    Metric("jvm_threads_peak_threads", "gauge", _SPRING, ("app", "instance")),
    Metric("jvm_threads_states_threads", "gauge", _SPRING, ("app", "instance", "state")),
    Metric("process_cpu_usage", "gauge", _SPRING, ("app", "instance")),
    Metric("process_start_time_seconds", "gauge", _SPRING, ("app", "instance")),
    Metric("process_uptime_seconds", "gauge", _SPRING, ("app", "instance")),
    Metric("hikaricp_connections_active", "gauge", _SPRING, ("app", "instance", "pool")),
    Metric("hikaricp_connections_idle", "gauge", _SPRING, ("app", "instance", "pool")),
    Metric("hikaricp_connections_pending", "gauge", _SPRING, ("app", "instance", "pool")),
    Metric("hikaricp_connections_max", "gauge", _SPRING, ("app", "instance", "pool")),
    Metric("hikaricp_connections_timeout_total", "counter", _SPRING, ("app", "instance", "pool")),
    Metric("tomcat_threads_busy_threads", "gauge", _SPRING, ("app", "instance", "name")),
    Metric("tomcat_threads_current_threads", "gauge", _SPRING, ("app", "instance", "name")),
    Metric("tomcat_threads_config_max_threads", "gauge", _SPRING, ("app", "instance", "name")),
    Metric("logback_events_total", "counter", _SPRING, ("app", "instance", "level")),
    # --- chatbot business metrics (seed 000) ---
    Metric("chatbot_responses_total", "counter", _CHATBOT, ("app", "instance", "status", "intent")),
    Metric("chatbot_response_duration_seconds", "histogram", _CHATBOT, ("app", "instance", "intent")),
    Metric("chatbot_user_satisfaction", "gauge", _CHATBOT, ("app", "instance", "rating_type")),
    # --- host (node_exporter 1.x collectors; Alloy's unix exporter embeds the same code) ---
    Metric("node_cpu_seconds_total", "counter", _NODE, ("instance", "host", "cpu", "mode")),
    Metric("node_load1", "gauge", _NODE, ("instance", "host")),
    Metric("node_load5", "gauge", _NODE, ("instance", "host")),
    Metric("node_memory_MemTotal_bytes", "gauge", _NODE, ("instance", "host")),
    Metric("node_memory_MemAvailable_bytes", "gauge", _NODE, ("instance", "host")),
    Metric("node_filesystem_size_bytes", "gauge", _NODE, ("instance", "host", "mountpoint", "fstype", "device")),
    Metric("node_filesystem_avail_bytes", "gauge", _NODE, ("instance", "host", "mountpoint", "fstype", "device")),
    Metric("node_network_receive_bytes_total", "counter", _NODE, ("instance", "host", "device")),
    Metric("node_network_transmit_bytes_total", "counter", _NODE, ("instance", "host", "device")),
    Metric("node_disk_io_time_seconds_total", "counter", _NODE, ("instance", "host", "device")),
    Metric("node_boot_time_seconds", "gauge", _NODE, ("instance", "host")),
    Metric("node_uname_info", "gauge", _NODE, ("instance", "host", "nodename", "release")),
    # --- nginx (stub_status through nginx-prometheus-exporter / Alloy) ---
    Metric("nginx_up", "gauge", _NGINX, ("instance", "host")),
    Metric("nginx_connections_active", "gauge", _NGINX, ("instance", "host")),
    Metric("nginx_connections_accepted", "counter", _NGINX, ("instance", "host")),
    Metric("nginx_connections_handled", "counter", _NGINX, ("instance", "host")),
    Metric("nginx_connections_reading", "gauge", _NGINX, ("instance", "host")),
    Metric("nginx_connections_writing", "gauge", _NGINX, ("instance", "host")),
    Metric("nginx_connections_waiting", "gauge", _NGINX, ("instance", "host")),
    Metric("nginx_http_requests_total", "counter", _NGINX, ("instance", "host")),
    # --- blackbox probes ---
    Metric("probe_success", "gauge", _BLACKBOX, ("instance", "app", "module")),
    Metric("probe_duration_seconds", "gauge", _BLACKBOX, ("instance", "app", "module")),
    Metric("probe_http_status_code", "gauge", _BLACKBOX, ("instance", "app")),
    Metric("probe_ssl_earliest_cert_expiry", "gauge", _BLACKBOX, ("instance", "app")),
    # --- the stack watching itself ---
    Metric("prometheus_tsdb_head_series", "gauge", _PROMETHEUS, ("instance",)),
    Metric("prometheus_tsdb_storage_blocks_bytes", "gauge", _PROMETHEUS, ("instance",)),
    Metric("prometheus_tsdb_head_samples_appended_total", "counter", _PROMETHEUS, ("instance",)),
    Metric("prometheus_remote_storage_samples_in_total", "counter", _PROMETHEUS, ("instance",)),
    Metric("prometheus_rule_group_last_duration_seconds", "gauge", _PROMETHEUS, ("rule_group",)),
    Metric("prometheus_rule_group_interval_seconds", "gauge", _PROMETHEUS, ("rule_group",)),
    Metric("prometheus_target_scrapes_exceeded_sample_limit_total", "counter", _PROMETHEUS, ()),
    Metric("prometheus_sd_discovered_targets", "gauge", _PROMETHEUS, ("config",)),
    Metric("loki_distributor_lines_received_total", "counter", _LOKI, ("tenant",)),
    Metric("loki_distributor_bytes_received_total", "counter", _LOKI, ("tenant",)),
    Metric("loki_ingester_memory_streams", "gauge", _LOKI, ("tenant",)),
    Metric("loki_ingester_chunk_stored_bytes_total", "counter", _LOKI, ("tenant",)),
    Metric("grafana_alerting_rule_evaluation_failures_total", "counter", _GRAFANA, ()),
    Metric("grafana_alerting_rule_evaluations_total", "counter", _GRAFANA, ()),
    Metric("grafana_alerting_scheduler_behind_seconds", "gauge", _GRAFANA, ("instance",)),
    Metric("alloy_build_info", "gauge", _ALLOY, ("instance", "host", "version")),
    Metric("alloy_component_controller_running_components", "gauge", _ALLOY, ("instance", "host", "health_type")),
    # --- the incident analyzer (obsctl/analyzer/metrics.py; its LLM series follow obsctl/signals/llm.py) ---
    Metric("obs_analyzer_analyses_total", "counter", _ANALYZER, ("instance", "outcome")),
    Metric("obs_analyzer_queue_depth", "gauge", _ANALYZER, ("instance",)),
    Metric("obs_analyzer_webhook_requests_total", "counter", _ANALYZER, ("instance", "code")),
    Metric("obs_analyzer_fallbacks_total", "counter", _ANALYZER, ("instance", "reason")),
    Metric("obs_analyzer_evidence_duration_seconds", "histogram", _ANALYZER, ("instance",)),
    # --- LLM usage: every family of every source of the label contract (obsctl/signals/llm.py) ---
    *(
        Metric(
            source.name(family),
            spec.kind,
            source.producer,
            ("instance", *spec.labels),
            spec.help,
        )
        for source in llm.SOURCES
        for family in source.families
        for spec in (llm.FAMILIES[family],)
    ),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
# Every series name (histogram and summary suffixes expanded) -> the metric it belongs to.
BY_SERIES: dict[str, Metric] = {n: m for m in METRICS for n in m.series_names()}


def known_series_names() -> frozenset[str]:
    """Every series name a query may reference (histogram/summary suffixes included)."""
    return frozenset(BY_SERIES)
