"""Logs (Loki): where the errors are, how many, and the lines themselves."""

from __future__ import annotations

from obsctl.dashboards import variables
from obsctl.dashboards.layout import Page
from obsctl.dashboards.panels import (
    Advice,
    Column,
    Level,
    Q,
    alert_list,
    detail_table,
    kpi,
    log_stream,
    status,
    trend,
)

UID = "logs"


def build() -> Page:
    m = 'app=~"$app"'
    return Page(
        UID,
        "Logs",
        "Error stream, log volume by application and level, and the most frequent errors.",
        variables=[variables.loki_var("app", "Application", "app")],
        time_from="now-3h",
    ).add(
        alert_list(
            "Firing alerts",
            Advice(
                "Alerts firing or pending, including log-based ones (error bursts).",
                "Any entry means an application is failing now.",
                "Read the error stream below for the cause; follow the alert's runbook.",
            ),
            'app=~"$app"',
        ),
        status(
            "Error lines (5m)",
            Q("log_error_lines_rate"),
            m,
            Advice(
                "Error log lines in the last 5 minutes, per application.",
                "A burst well above the usual level means something new is failing.",
                "Read 'Top error messages' and the error stream below.",
            ),
            Level(10, 100),
        ),
        status(
            "Loki ingesting (lines/s)",
            Q("loki_ingest_lines_rate"),
            "",
            Advice(
                "Log lines per second Loki accepts from all agents.",
                "0 means no logs arrive: this dashboard is then blind, not quiet.",
                "Check the 'Monitoring self-health' dashboard (Alloy agents, Loki).",
                "loki-ingestion-stopped",
            ),
            Level(1, 0.01, higher_is_bad=False),
        ),
        kpi(
            "Error lines (5m)",
            Q("log_error_lines_rate"),
            m,
            Advice(
                "Error lines in the last 5 minutes.",
                "More than the usual baseline (compare with yesterday).",
                "See 'Top error messages'.",
            ),
            Level(10, 100),
        ),
        kpi(
            "Warnings (5m)",
            Q("log_warn_lines_rate"),
            m,
            Advice(
                "Warning lines in the last 5 minutes.",
                "Warnings rising ahead of errors often announce the next incident.",
                "Read the top warnings while nothing is on fire yet.",
            ),
            Level(50, 500),
        ),
        kpi(
            "Log volume (5m)",
            Q("log_lines_5m_total"),
            m,
            Advice(
                "All log lines in the last 5 minutes for the selected applications.",
                "A sudden 10x jump is usually a logging loop that fills the disk.",
                "Find the chatty logger and lower its level.",
            ),
        ),
        kpi(
            "Loki bytes/s",
            Q("loki_ingest_bytes_rate"),
            "",
            Advice(
                "Log bytes per second Loki receives.",
                "Far above the usual rate fills the data volume early.",
                "Check the disk forecast on 'Hosts'; drop debug logs at the agent.",
            ),
            unit="Bps",
        ),
        trend(
            "Log volume by application and level",
            [Q("log_volume_by_app_level", "{{app}} {{level}}")],
            m,
            Advice(
                "Lines per 5 minutes by application and level.",
                "The ERROR series rising at a deployment marker.",
                "Open the error stream at that time; roll back if the release caused it.",
            ),
        ),
        trend(
            "Error lines per application",
            [Q("log_error_lines_rate", "{{app}}")],
            m,
            Advice(
                "Error lines per 5 minutes per application.",
                "Any application leaving its usual baseline.",
                "Read its errors below.",
            ),
            Level(10, 100),
        ),
        detail_table(
            "Top error messages (1h)",
            [Column(Q("log_top_errors"), "Count", "short", Level(10, 100))],
            m,
            Advice(
                "The ten most frequent error messages of the last hour (Spring Boot 'logger : message' "
                "layout, digits removed so ids do not split a message).",
                "A message at the top that was not there yesterday is the new failure.",
                "Search for it in the error stream below and in the code.",
            ),
        ),
        log_stream(
            "Error stream",
            Q("log_error_stream"),
            m,
            Advice(
                "The error lines themselves, newest first.",
                "Repeating stack traces: something fails on every request.",
                "Expand a line for its labels (host, app); jump to 'HTTP RED' for that application.",
            ),
        ),
    )
