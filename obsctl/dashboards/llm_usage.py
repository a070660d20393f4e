"""LLM usage: requests, errors, latency, tokens and cost per service, provider and model.

One dashboard for every service that follows the LLM label contract (obsctl/signals/llm.py,
docs/llm-metrics.md): the incident analyzer's own calls and the customer's LLM services (the SDB
agent's ``sdb_llm_requests_total`` / ``sdb_llm_tokens_used_total``, seed 002). Each series carries
a ``service`` label naming its source. Latency and cost show the services that export them.
"""

from __future__ import annotations

from obsctl.dashboards.layout import Page
from obsctl.dashboards.panels import Advice, Column, Level, Q, alert_list, detail_table, kpi, status, trend

UID = "llm"
_LEGEND = "{{service}} {{provider}}/{{model}}"


def build() -> Page:
    return Page(
        UID,
        "LLM usage",
        "Calls to LLM providers by every service that reports them (the incident analyzer, the customer's "
        "agents): how many, how many fail, how slow, how many tokens and what they cost.",
        tags=["llm"],
        time_from="now-24h",
    ).add(
        alert_list(
            "Firing alerts",
            Advice(
                "Alerts about the analyzer and its LLM calls (down, repeated fallbacks).",
                "analyzer-fallbacks: the LLM answers are not arriving; incidents get the deterministic summary.",
                "Follow the runbook in the alert.",
            ),
            'service="analyzer"',
        ),
        status(
            "Analyzer up",
            Q("analyzer_up"),
            "",
            Advice(
                "1 when Prometheus scrapes the incident analyzer (the one service here the platform runs itself).",
                "0: no analyzer calls will show here, and P1/P2 incidents get no analysis.",
                "`docker compose -f /opt/monitoring/compose.yml ps analyzer` on the monitoring server.",
                "analyzer-down",
            ),
            Level(1, 1, higher_is_bad=False),
            unit="bool",
            width=12,
        ),
        kpi(
            "LLM calls/s",
            Q("llm_request_rate_all"),
            "",
            Advice(
                "LLM calls per second over every service.",
                "A jump without more traffic: a retry loop or a runaway agent. No analyzer calls while P1/P2 "
                "incidents are open: the analyzer is down or has no provider.",
                "Find the service in the requests panel; for the analyzer, its Analyzer up tile on 'self'.",
                "analyzer-down",
            ),
            unit="reqps",
        ),
        kpi(
            "Error ratio",
            Q("llm_error_ratio_all"),
            "",
            Advice(
                "Share of LLM calls that failed in the last 5 minutes (timeouts, HTTP errors, rejected answers).",
                "Above 5%: a provider degrades; above 20%: calls mostly fail and the analyzer falls back.",
                "Find the provider and model in the errors panel and check its status page; the analyzer moves "
                "on to its next provider by itself.",
            ),
            Level(0.05, 0.2),
            unit="percentunit",
        ),
        kpi(
            "Tokens (24 h)",
            Q("llm_tokens_24h_all"),
            "",
            Advice(
                "Tokens used in the last 24 hours by every service (input and output).",
                "Much more than the same day last week: prompts grew or calls multiplied.",
                "Compare the services in the tokens panel.",
            ),
        ),
        kpi(
            "Cost (24 h)",
            Q("llm_cost_24h_all"),
            "",
            Advice(
                "Estimated spend in the last 24 hours of the services that report cost (the analyzer today).",
                "Near the analyzer's daily cap: its next analyses fall back to the deterministic summary.",
                "Check which model costs most in the table below.",
            ),
            unit="currencyUSD",
        ),
        trend(
            "Requests per service, provider and model",
            [Q("llm_request_rate", _LEGEND)],
            "",
            Advice(
                "LLM calls per second.",
                "A service's calls dropping to 0 while it serves traffic: it lost its provider.",
                "Read that service's log for the provider error.",
            ),
            unit="reqps",
        ),
        trend(
            "Errors per service, provider and model",
            [Q("llm_error_rate", _LEGEND)],
            "",
            Advice(
                "Failed LLM calls per second (outcome=error).",
                "Any sustained error rate on one provider/model.",
                "The provider's status page; switch the service to another model if it persists.",
            ),
            unit="reqps",
        ),
        trend(
            "Latency p95 per provider and model",
            [Q("llm_latency_p95", _LEGEND)],
            "",
            Advice(
                "95th percentile LLM call latency (services that export the duration histogram).",
                "Near the callers' timeout (analyzer: 30 s by default): calls start failing.",
                "A slower model or provider-side degradation; consider a faster model for that service.",
            ),
            unit="s",
        ),
        trend(
            "Tokens per second",
            [Q("llm_tokens_rate", "{{service}} {{provider}}/{{model}} {{type}}")],
            "",
            Advice(
                "Input and output tokens per second.",
                "Input growing faster than calls: prompts got longer.",
                "Trim the prompt (evidence, context) of that service.",
            ),
        ),
        trend(
            "Cost per hour",
            [Q("llm_cost_rate_hourly", _LEGEND)],
            "",
            Advice(
                "Estimated spend per hour of the services that report cost.",
                "A rising hourly cost outside incidents.",
                "Check the analyzer's budget caps and the table below.",
            ),
            unit="currencyUSD",
            width=24,
        ),
        detail_table(
            "Per service, provider and model",
            [
                Column(Q("llm_request_rate"), "Calls/s", "reqps"),
                Column(Q("llm_error_rate"), "Errors/s", "reqps", Level(0.001, 0.1)),
                Column(Q("llm_tokens_24h"), "Tokens (24 h)"),
                Column(Q("llm_cost_24h"), "Cost (24 h)", "currencyUSD"),
            ],
            "",
            Advice(
                "Every service/provider/model pair with its current call and error rate, tokens and cost of "
                "the last 24 hours (cost empty where the service does not report it).",
                "Errors in red; a model you did not expect to be used.",
                "Fix that service's provider configuration.",
            ),
        ),
    )
