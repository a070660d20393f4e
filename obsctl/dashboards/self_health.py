"""Monitoring self-health: can the platform still see? Targets, ingestion, storage, agents.

No WireGuard panel: no role deploys a WireGuard exporter (node_exporter and Alloy have no
WireGuard collector), so a handshake-age panel would read a metric nothing produces
(tests/contract/test_metric_provenance.py). A dead tunnel shows here as the host's Alloy agent
missing; `obsctl verify` reads the handshakes with `wg show`.
"""

from __future__ import annotations

from obsctl.dashboards.layout import Page
from obsctl.dashboards.panels import Advice, Column, Level, Q, alert_list, detail_table, kpi, status, trend

UID = "self"
# The analyzer's LLM series on this dashboard: its own calls only (the LLM usage dashboard has every service's).
_ANALYZER = 'job="analyzer"'


def build() -> Page:
    return Page(
        UID,
        "Monitoring self-health",
        "Scrape targets, Prometheus and Loki ingestion and storage, Alloy agents, alert evaluation and "
        "the incident analyzer — when this is red, every other dashboard may be lying.",
    ).add(
        alert_list(
            "Firing alerts",
            Advice(
                "Every firing or pending alert (the platform's own included).",
                "Platform alerts (Alloy absent, Loki ingestion stopped, scrape failures) mean other "
                "dashboards show gaps, not calm.",
                "Fix the platform alert first, then trust the other dashboards again.",
            ),
        ),
        status(
            "Stack targets down",
            Q("stack_targets_down_count"),
            "",
            Advice(
                "Prometheus, Loki, Grafana, blackbox and Alloy targets that cannot be scraped.",
                "Above 0: part of the monitoring itself is down.",
                "`docker compose ps` in /opt/monitoring on the monitoring server; read the container's logs.",
                "service-down",
            ),
            Level(1, 1),
        ),
        status(
            "Alloy agents missing",
            Q("alloy_missing_hosts_count"),
            "",
            Advice(
                "Hosts whose Alloy agent reported in the last hour but not now.",
                "Above 0: that host's metrics and logs are not arriving.",
                "`systemctl status alloy` on the host and `wg show` for the tunnel.",
                "alloy-agent-absent",
            ),
            Level(1, 1),
        ),
        status(
            "Analyzer up",
            Q("analyzer_up"),
            "",
            Advice(
                "1 when Prometheus scrapes the incident analyzer; 0 when it cannot or its target vanished.",
                "0: P1/P2 alerts still reach Discord, but without root-cause analysis (P2 alert analyzer-down).",
                "`docker compose -f /opt/monitoring/compose.yml ps analyzer` and its logs on the monitoring server.",
                "analyzer-down",
            ),
            Level(1, 1, higher_is_bad=False),
            unit="bool",
        ),
        status(
            "Analyzer queue",
            Q("analyzer_queue_depth"),
            "",
            Advice(
                "Notifications the analyzer accepted and has not processed yet (persisted, never dropped).",
                "Growing for minutes: the worker is stuck or every analysis waits on a slow source or LLM.",
                "Read the analyzer's log; check the evidence and LLM latency panels below.",
                "analyzer-down",
            ),
            Level(10, 100),
        ),
        kpi(
            "Targets up",
            Q("targets_up_ratio"),
            "",
            Advice(
                "Share of all scrape targets that answer.",
                "Below 100%: something is not monitored right now.",
                "See the targets table below.",
                "service-down",
            ),
            Level(0.999, 0.95, higher_is_bad=False),
            unit="percentunit",
        ),
        kpi(
            "Samples/s ingested",
            Q("prometheus_ingest_samples_rate"),
            "",
            Advice(
                "Samples per second written to Prometheus (scrapes and remote write).",
                "A drop means agents stopped sending; a jump means new high-cardinality series.",
                "For a jump, find the metric with the most series (TSDB status page) and drop it at the agent.",
            ),
        ),
        kpi(
            "Active series",
            Q("prometheus_head_series"),
            "",
            Advice(
                "Series in Prometheus' head block (about 8 kB of memory each).",
                "Above ~100k on a t4g.small memory runs short.",
                "Drop unused high-cardinality labels at the Alloy agents.",
            ),
            Level(80000, 120000),
        ),
        kpi(
            "Loki lines/s",
            Q("loki_ingest_lines_rate"),
            "",
            Advice(
                "Log lines per second Loki accepts.",
                "0 for minutes: log ingestion stopped (pages, P2).",
                "Check Loki's container and the agents' loki.write errors.",
                "loki-ingestion-stopped",
            ),
            Level(1, 0.01, higher_is_bad=False),
        ),
        trend(
            "Scrape failures per job",
            [Q("scrape_failure_ratio", "{{job}}")],
            "",
            Advice(
                "Share of each job's targets whose last scrape failed.",
                "Any job above 0.",
                "Open Prometheus' targets page for the error message.",
                "service-down",
            ),
            Level(0.01, 0.5),
            unit="percentunit",
        ),
        trend(
            "Ingestion",
            [Q("prometheus_ingest_samples_rate", "Prometheus samples/s"), Q("loki_ingest_lines_rate", "Loki lines/s")],
            "",
            Advice(
                "What Prometheus and Loki accept per second.",
                "Either falling to 0; or doubling without new hosts.",
                "For 0 check the agents; for a jump find the new series or the chatty logger.",
            ),
        ),
        trend(
            "Storage",
            [Q("prometheus_tsdb_bytes", "Prometheus blocks")],
            "",
            Advice(
                "Bytes of Prometheus TSDB blocks on the data volume.",
                "Growing faster than retention removes: the data disk fills.",
                "Check the disk forecast on 'Hosts'; shorten retention or grow the EBS volume.",
                "disk-full-critical",
            ),
            unit="bytes",
        ),
        trend(
            "Loki throughput",
            [Q("loki_ingest_bytes_rate", "received"), Q("loki_stored_bytes_rate", "stored (compressed)")],
            "",
            Advice(
                "Log bytes received and compressed chunk bytes written to storage per second.",
                "Stored bytes growing steadily: the data volume fills sooner.",
                "Lower retention or drop noisy streams at the agent.",
            ),
            unit="Bps",
        ),
        trend(
            "Alert evaluation",
            [
                Q("rule_group_lag_ratio", "Prometheus {{rule_group}}"),
                Q("grafana_rule_eval_failure_ratio", "Grafana failures"),
            ],
            "",
            Advice(
                "Rule evaluation time as a share of its interval, and the share of failed Grafana evaluations.",
                "Above 1 the evaluator falls behind; failures mean alerts may not fire.",
                "Look for slow rule queries; check Grafana's log for datasource errors.",
            ),
            Level(0.5, 1),
            unit="percentunit",
        ),
        trend(
            "Analyzer: analyses by outcome",
            [Q("analyzer_analyses_rate", "{{outcome}}")],
            "",
            Advice(
                "Alerts the analyzer handled per second: llm (LLM analysis), deterministic (fallback summary), "
                "recorded (P3/P4), duplicate (repeats), resolved, failed.",
                "failed above 0, or deterministic where llm used to be.",
                "See the fallbacks panel for the reason; `obsctl incidents list` for the incidents.",
            ),
        ),
        trend(
            "Analyzer: fallbacks to the deterministic summary",
            [Q("analyzer_fallbacks_rate", "{{reason}}")],
            "",
            Advice(
                "Analyses per second that fell back to the deterministic summary: budget (cap reached), "
                "provider_errors (every provider failed or answered off-schema), no_provider (no key set).",
                "budget or provider_errors more than 3 times in 30 minutes (P3 alert analyzer-fallbacks).",
                "provider_errors: read the analyzer's log for the provider's error; budget: check the LLM usage "
                "dashboard before raising the caps.",
            ),
        ),
        trend(
            "Analyzer: evidence and LLM latency (p95)",
            [
                Q("analyzer_evidence_p95", "evidence pack"),
                Q("llm_latency_p95", "LLM {{provider}}/{{model}}"),
            ],
            _ANALYZER,
            Advice(
                "95th percentile time to collect an evidence pack (Prometheus, Loki, annotations) and of an "
                "LLM call, per provider and model.",
                "Evidence above 2 s: Prometheus or Loki answers slowly; LLM near its timeout: the next provider "
                "or the fallback takes over.",
                "Check Prometheus' and Loki's health above; the provider's status page for the LLM.",
            ),
            Level(2, 10),
            unit="s",
        ),
        trend(
            "Analyzer: LLM tokens",
            [Q("llm_tokens_rate", "{{provider}}/{{model}} {{type}}")],
            _ANALYZER,
            Advice(
                "Tokens per second the analyzer's LLM calls use, input and output, per provider and model.",
                "A jump without more P1/P2 incidents: prompts grew (evidence pack) or a retry loop.",
                "Compare with the incident count (`obsctl incidents list`); the budget caps stop runaway spend.",
            ),
        ),
        trend(
            "Analyzer: LLM cost per hour",
            [Q("llm_cost_rate_hourly", "{{provider}}/{{model}}")],
            _ANALYZER,
            Advice(
                "Estimated spend per hour of the analyzer's LLM calls (tokens x the configured prices).",
                "Near the hourly cap: the next analyses fall back to the deterministic summary (reason budget).",
                "See the LLM usage dashboard for the trend; raise the caps only for a known storm.",
            ),
            unit="currencyUSD",
        ),
        detail_table(
            "Scrape targets",
            [Column(Q("service_up"), "Up", "bool", Level(1, 1, higher_is_bad=False))],
            "",
            Advice(
                "Every target Prometheus knows with its last scrape result.",
                "Up = 0 in red.",
                "Read the scrape error on Prometheus' targets page.",
                "service-down",
            ),
            hide=["__name__"],
            width=12,
        ),
        detail_table(
            "Alloy agents",
            [Column(Q("alloy_agents"), "Reporting", "bool"), Column(Q("alloy_running_components"), "Components")],
            "",
            Advice(
                "Each Alloy agent that reports now, its version and running components.",
                "A host missing from the list, or an old version after an upgrade.",
                "Re-run the alloy role for that host.",
                "alloy-agent-absent",
            ),
            width=12,
        ),
    )
