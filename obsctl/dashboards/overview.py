"""Overview: is anything down, erroring or slow, and did a deployment just happen?"""

from __future__ import annotations

from obsctl.dashboards import variables
from obsctl.dashboards.layout import Page
from obsctl.dashboards.panels import (
    Advice,
    Column,
    Level,
    Q,
    alert_list,
    deployments_list,
    detail_table,
    kpi,
    status,
    trend,
)

UID = "overview"


def build() -> Page:
    m = 'app=~"$app"'
    return Page(
        UID,
        "Overview",
        "Start here: firing alerts, services up, errors, traffic and the latest deployments.",
        variables=[variables.app("up", multi=True)],
    ).add(
        alert_list(
            "Firing alerts",
            Advice(
                "Every Grafana alert that is firing or pending, most severe first.",
                "Any P1/P2 line means users are affected or soon will be.",
                "Open the alert's runbook (link in the notification) and the dashboard it names; "
                "if a deployment marker sits just before the start, consider a rollback first.",
            ),
        ),
        status(
            "Targets down",
            Q("services_down_count"),
            "",
            Advice(
                "Application, nginx and host targets whose last scrape failed.",
                "Above 0: a process is down, hung, or its host is unreachable over the tunnel.",
                "Check the 'Service status' table below for which one, then follow the runbook.",
                "service-down",
            ),
            Level(1, 1),
        ),
        status(
            "Probes failing",
            Q("probes_failing_count"),
            "",
            Advice(
                "Blackbox HTTP probes of the public endpoints that fail right now.",
                "Above 0: users most likely cannot reach that endpoint.",
                "Open the endpoint yourself, then check nginx and the application behind it.",
                "probe-failed",
            ),
            Level(1, 1),
        ),
        kpi(
            "Services up",
            Q("services_up_ratio"),
            m,
            Advice(
                "Share of application, nginx and host targets that answer.",
                "Below 100% means at least one target is down.",
                "See 'Targets down' above and the status table below.",
                "service-down",
            ),
            Level(0.999, 0.99, higher_is_bad=False),
            unit="percentunit",
        ),
        kpi(
            "5xx error rate",
            Q("http_5xx_ratio_all"),
            m,
            Advice(
                "Share of HTTP requests answered with a 5xx status, all selected applications.",
                "Above 1% users see errors; above 10% it pages (P2), above 50% it is an outage (P1).",
                "Open 'HTTP RED' for the failing endpoint and 'Logs' for the exception; roll back if it "
                "started at a deployment marker.",
                "http-error-rate",
            ),
            Level(0.01, 0.1),
            unit="percentunit",
        ),
        kpi(
            "Requests/s",
            Q("http_request_rate_all"),
            m,
            Advice(
                "HTTP requests per second served by the selected applications.",
                "A sudden drop to near 0 while services are 'up' means traffic is not reaching them.",
                "Check nginx and the blackbox probes; a spike instead means check capacity (JVM, hosts).",
            ),
            unit="reqps",
        ),
        kpi(
            "Chatbot success",
            Q("chatbot_success_ratio"),
            'app=~".+"',
            Advice(
                "Share of chatbot answers that succeeded (last 5 minutes).",
                "Below 95% is degraded; below 80% it pages (P1).",
                "Open the Chatbot dashboard: compare with yesterday and check the latest deployment.",
                "chatbot-success-low",
            ),
            Level(0.95, 0.8, higher_is_bad=False),
            unit="percentunit",
        ),
        trend(
            "Requests/s per application",
            [Q("http_request_rate", "{{app}}")],
            m,
            Advice(
                "Traffic per application; deployment markers show when a release went out.",
                "A step change at a deployment marker, or a drop to 0.",
                "Compare with the same time yesterday; for a drop check nginx and the probes.",
            ),
            unit="reqps",
        ),
        trend(
            "5xx ratio per application",
            [Q("http_5xx_ratio", "{{app}}")],
            m,
            Advice(
                "Share of 5xx answers per application.",
                "Above the amber line (1%) users notice; above red (10%) it pages.",
                "Open 'HTTP RED' for the endpoint and 'Logs' for the stack trace.",
                "http-error-rate",
            ),
            Level(0.01, 0.1),
            unit="percentunit",
        ),
        trend(
            "p95 latency per application",
            [Q("http_latency_p95", "{{app}}")],
            m,
            Advice(
                "95th percentile response time per application.",
                "Above 1 s users wait; above 5 s (p99) it pages.",
                "Check the JVM dashboard (GC, HikariCP pending, Tomcat threads) for the bottleneck.",
                "http-latency-p99-high",
            ),
            Level(1, 5),
            unit="s",
        ),
        trend(
            "Host CPU",
            [Q("host_cpu_used_ratio", "{{instance}}")],
            "",
            Advice(
                "CPU busy share per host.",
                "Above 80% for minutes, requests start queueing.",
                "Open 'Hosts' for the busy host; find the process (top) before scaling up.",
            ),
            Level(0.8, 0.95),
            unit="percentunit",
        ),
        detail_table(
            "Service status",
            [Column(Q("service_up"), "Up", "bool", Level(1, 1, higher_is_bad=False))],
            'job=~"spring|nginx|node",' + m,
            Advice(
                "Every scraped application, nginx and host target with its last scrape result.",
                "Up = 0 (red) means that target is down or unreachable.",
                "Click the application to open its JVM dashboard at this time range.",
                "service-down",
            ),
            hide=["__name__"],
            links=[("app", "/d/jvm?var-app=${__value.raw}&${__url_time_range}")],
            width=12,
        ),
        deployments_list(
            "Recent deployments",
            Advice(
                "The latest deployments recorded with `obsctl annotate` (service, version, commit).",
                "A deployment right before errors or latency rose is the first suspect.",
                "Click one to jump to that moment; roll back if the trends changed there.",
            ),
        ),
    )
