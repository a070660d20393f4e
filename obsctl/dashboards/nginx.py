"""Nginx: is the front door open, how busy is it, and which status codes does it return?"""

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

UID = "nginx"


def build() -> Page:
    m = 'instance=~"$host"'
    lm = 'host=~"$host"'  # Loki streams carry the inventory hostname as `host`
    return Page(
        UID,
        "Nginx",
        "stub_status metrics and access/error logs of the nginx in front of the applications.",
        variables=[variables.host("nginx_up")],
    ).add(
        alert_list(
            "Firing alerts",
            Advice(
                "Alerts firing or pending for the nginx hosts.",
                "Any entry: the front door is degraded.",
                "Follow the alert's runbook; the tiles next to it tell whether nginx itself is down.",
            ),
            'instance=~"$host"',
        ),
        status(
            "nginx up",
            Q("nginx_up"),
            m,
            Advice(
                "1 when the exporter can read nginx's stub_status.",
                "0: nginx is stopped or stub_status is unreachable — users probably get errors.",
                "`systemctl status nginx` and `nginx -t` on the host; check the error log below.",
                "service-down",
            ),
            Level(1, 1, higher_is_bad=False),
            unit="bool",
        ),
        status(
            "Dropped connections/s",
            Q("nginx_dropped_connections_rate"),
            m,
            Advice(
                "Connections accepted but not handled (accepted - handled).",
                "Above 0: worker_connections or the open-file limit is exhausted.",
                "Raise worker_connections / worker_rlimit_nofile, then reload nginx.",
            ),
            Level(0.01, 1),
        ),
        kpi(
            "Requests/s",
            Q("nginx_request_rate"),
            m,
            Advice(
                "Requests per second nginx handles.",
                "A drop to 0 while nginx is up: DNS, the security group or the probe path is broken.",
                "Check the blackbox probes on 'Overview'.",
            ),
            unit="reqps",
        ),
        kpi(
            "Active connections",
            Q("nginx_active_connections"),
            m,
            Advice(
                "Open client connections.",
                "Climbing while requests/s stays flat: slow clients or a stuck upstream.",
                "Look at 'writing' connections below and the upstream's latency (HTTP RED).",
            ),
        ),
        kpi(
            "5xx lines (5m)",
            Q("nginx_5xx_lines_rate"),
            lm,
            Advice(
                "Access-log lines with a 5xx status in the last 5 minutes (Loki).",
                "502/504 mean the upstream application is down or too slow.",
                "Check the application's JVM and HTTP RED dashboards.",
                "http-error-rate",
            ),
            Level(1, 50),
        ),
        kpi(
            "Waiting (keep-alive)",
            Q("nginx_connections_waiting"),
            m,
            Advice(
                "Idle keep-alive connections.",
                "Only a problem near worker_connections.",
                "Lower keepalive_timeout if it approaches the limit.",
            ),
        ),
        trend(
            "Requests/s",
            [Q("nginx_request_rate", "{{instance}}")],
            m,
            Advice(
                "Requests per second per nginx host.",
                "Step changes at a deployment marker or a drop to 0.",
                "Compare with the applications' request rate (Overview).",
            ),
            unit="reqps",
        ),
        trend(
            "Connections by state",
            [
                Q("nginx_connections_reading", "reading {{instance}}"),
                Q("nginx_connections_writing", "writing {{instance}}"),
                Q("nginx_connections_waiting", "waiting {{instance}}"),
            ],
            m,
            Advice(
                "Connections reading a request, writing a response, or idle.",
                "'writing' piling up means responses are slow: the upstream is the bottleneck.",
                "Open HTTP RED for the upstream application.",
            ),
        ),
        trend(
            "Responses by status (access log)",
            [Q("nginx_status_lines_rate", "{{status}}")],
            lm,
            Advice(
                "Access-log lines per status code per 5 minutes (Loki).",
                "5xx lines rising; many 499 = clients gave up waiting.",
                "Check the upstream application; for 4xx spikes look for a bad client or a scan.",
            ),
        ),
        trend(
            "Dropped connections/s",
            [Q("nginx_dropped_connections_rate", "{{instance}}")],
            m,
            Advice(
                "Connections nginx accepted but could not handle.",
                "Any value above 0.",
                "Raise worker_connections and the file limit.",
            ),
            Level(0.01, 1),
        ),
        detail_table(
            "Hosts",
            [
                Column(Q("nginx_up"), "Up", "bool", Level(1, 1, higher_is_bad=False)),
                Column(Q("nginx_request_rate"), "Requests/s", "reqps"),
                Column(Q("nginx_active_connections"), "Active"),
            ],
            m,
            Advice(
                "Each nginx with its state now.",
                "Up = 0 in red.",
                "Restart nginx after `nginx -t`; read its error log below.",
            ),
            hide=["__name__", "job"],
        ),
        log_stream(
            "nginx error log",
            Q("nginx_error_log_stream"),
            lm,
            Advice(
                "nginx's error log lines, newest first.",
                "'upstream timed out' / 'connect() failed' = the application; 'too many open files' = limits.",
                "Fix the upstream or the limit the message names.",
            ),
        ),
    )
