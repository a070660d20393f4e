"""HTTP RED: rate, errors and duration of one application, per endpoint."""

from __future__ import annotations

from obsctl.dashboards import variables
from obsctl.dashboards.layout import Page
from obsctl.dashboards.panels import Advice, Column, Level, Q, alert_list, detail_table, kpi, status, trend

UID = "http-red"

_LATENCY_DO = (
    "Find the slow endpoint in the table below, then check the JVM dashboard (GC, DB pool, Tomcat "
    "threads) at the same time."
)


def build() -> Page:
    m = 'app="$app"'
    return Page(
        UID,
        "HTTP RED",
        "Requests, errors and latency per endpoint of one Spring Boot application.",
        variables=[variables.app("http_server_requests_seconds_count", multi=False)],
    ).add(
        alert_list(
            "Firing alerts for $app",
            Advice(
                "Alerts firing or pending for the selected application.",
                "Any entry: users of this application are affected now.",
                "Follow the runbook in the alert; the panels below show which endpoint.",
            ),
            'app="$app"',
        ),
        status(
            "5xx ratio",
            Q("http_5xx_ratio"),
            m,
            Advice(
                "Share of requests answered with 5xx in the last 5 minutes.",
                "Above 10% pages (P2); above 50% the service is effectively down (P1).",
                "If it started at a deployment marker, roll back; else read the errors in 'Logs'.",
                "http-5xx-critical",
            ),
            Level(0.1, 0.5),
            unit="percentunit",
        ),
        status(
            "p99 latency",
            Q("http_latency_p99"),
            m,
            Advice(
                "99th percentile response time.",
                "Above 5 s pages (P2): one request in a hundred is that slow.",
                _LATENCY_DO,
                "http-latency-p99-high",
            ),
            Level(2, 5),
            unit="s",
        ),
        kpi(
            "Requests/s",
            Q("http_request_rate_all"),
            m,
            Advice(
                "Requests per second.",
                "A drop to near 0 while the service is up: traffic does not reach it.",
                "Check nginx and the blackbox probes.",
            ),
            unit="reqps",
        ),
        kpi(
            "5xx ratio",
            Q("http_5xx_ratio_all"),
            m,
            Advice(
                "Share of 5xx answers.",
                "Above 1% users notice; above 10% it pages.",
                "See the endpoint table below and the error logs.",
                "http-error-rate",
            ),
            Level(0.01, 0.1),
            unit="percentunit",
        ),
        kpi(
            "p95 latency",
            Q("http_latency_p95_all"),
            m,
            Advice("95th percentile response time.", "Above 1 s users wait noticeably.", _LATENCY_DO),
            Level(1, 3),
            unit="s",
        ),
        kpi(
            "p99 latency",
            Q("http_latency_p99_all"),
            m,
            Advice(
                "99th percentile response time.",
                "Above 5 s it pages.",
                _LATENCY_DO,
                "http-latency-p99-high",
            ),
            Level(2, 5),
            unit="s",
        ),
        trend(
            "Requests/s per endpoint",
            [Q("http_endpoint_request_rate", "{{uri}}")],
            m,
            Advice(
                "Traffic per endpoint (Spring's URI template).",
                "One endpoint growing fast can starve the others.",
                "Check who calls it (nginx access log) and whether a deployment changed it.",
            ),
            unit="reqps",
        ),
        trend(
            "5xx/s per endpoint",
            [Q("http_endpoint_error_rate", "{{uri}}")],
            m,
            Advice(
                "Server errors per second per endpoint.",
                "Any sustained line above 0.",
                "Open 'Logs' for the exception of that endpoint; roll back if it began at a deployment.",
                "http-error-rate",
            ),
            unit="reqps",
        ),
        trend(
            "Latency p50 / p95 / p99",
            [
                Q("http_latency_p50", "p50"),
                Q("http_latency_p95", "p95"),
                Q("http_latency_p99", "p99"),
            ],
            m,
            Advice(
                "Median, 95th and 99th percentile response time (Micrometer histograms).",
                "p99 above 5 s pages; a widening gap between p50 and p99 means some requests queue.",
                _LATENCY_DO,
                "http-latency-p99-high",
            ),
            Level(2, 5),
            unit="s",
        ),
        trend(
            "p95 latency per endpoint",
            [Q("http_endpoint_latency_p95", "{{uri}}")],
            m,
            Advice(
                "95th percentile response time per endpoint.",
                "One endpoint far above the others is the bottleneck.",
                "Profile that endpoint's queries and downstream calls.",
            ),
            Level(1, 3),
            unit="s",
        ),
        detail_table(
            "Endpoints",
            [
                Column(Q("http_endpoint_request_rate"), "Requests/s", "reqps"),
                Column(Q("http_endpoint_error_rate"), "5xx/s", "reqps", Level(0.01, 0.1)),
                Column(Q("http_endpoint_latency_p95"), "p95", "s", Level(1, 3)),
                Column(Q("http_endpoint_max_seconds"), "Slowest", "s", Level(3, 10)),
            ],
            m,
            Advice(
                "Every endpoint with its traffic, errors and latency right now.",
                "Red cells: that endpoint fails or is slow.",
                "Sort by the red column; open 'Logs' filtered on the application for the stack trace.",
            ),
        ),
    )
