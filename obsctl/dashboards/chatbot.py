"""Chatbot / business KPIs (seed 000): success, speed, errors, satisfaction, and the deployment effect."""

from __future__ import annotations

from obsctl.dashboards import variables
from obsctl.dashboards.layout import Page
from obsctl.dashboards.panels import Advice, Column, Level, Q, alert_list, detail_table, kpi, status, trend

UID = "chatbot"

_ROLLBACK = (
    "If it changed at a deployment marker, roll back first and investigate after; otherwise check "
    "the per-intent table for the failing intent and the chat service's logs."
)


def build() -> Page:
    m = 'app=~"$app"'
    return Page(
        UID,
        "Chatbot",
        "Chatbot answers: success rate, response time, errors, satisfaction, per intent, and today "
        "against the same time yesterday.",
        variables=[variables.app("chatbot_responses_total", multi=True)],
        time_from="now-24h",
    ).add(
        alert_list(
            "Firing alerts",
            Advice(
                "Alerts firing or pending for the chatbot application.",
                "Any entry: customers get wrong or slow answers now.",
                "Follow the runbook in the alert.",
            ),
            'app=~"$app"',
        ),
        status(
            "Success rate",
            Q("chatbot_success_ratio"),
            m,
            Advice(
                "Share of chatbot answers that succeeded in the last 5 minutes.",
                "Below 80%: act now (P1) — consider an immediate rollback.",
                _ROLLBACK,
                "chatbot-success-low",
            ),
            Level(0.95, 0.8, higher_is_bad=False),
            unit="percentunit",
        ),
        status(
            "p95 response time",
            Q("chatbot_p95_seconds"),
            m,
            Advice(
                "95th percentile chatbot response time.",
                "Above 3 s: customers wait too long — add capacity (scale out).",
                "Check JVM (chat) for GC, DB pool and Tomcat threads (max 100) before scaling.",
            ),
            Level(2, 3),
            unit="s",
        ),
        kpi(
            "Success rate",
            Q("chatbot_success_ratio"),
            m,
            Advice(
                "Share of successful answers.",
                "Below 95% degraded, below 80% critical.",
                _ROLLBACK,
                "chatbot-success-low",
            ),
            Level(0.95, 0.8, higher_is_bad=False),
            unit="percentunit",
        ),
        kpi(
            "p95 response time",
            Q("chatbot_p95_seconds"),
            m,
            Advice(
                "95th percentile response time.",
                "Above 3 s customers give up waiting (P3 alert).",
                "Check the JVM dashboard for chat (GC, DB pool, Tomcat threads), then scale out.",
            ),
            Level(2, 3),
            unit="s",
        ),
        kpi(
            "Errors (24h)",
            Q("chatbot_error_count_24h"),
            m,
            Advice(
                "Failed chatbot answers in the last 24 hours.",
                "More than yesterday's count for the same period.",
                "Open the per-intent table for where they come from.",
            ),
            Level(100, 1000),
        ),
        kpi(
            "Satisfaction",
            Q("chatbot_satisfaction"),
            m,
            Advice(
                "Average positive satisfaction score (0-5).",
                "Falling below 3.5 means customers are unhappy with answers even when they 'succeed'.",
                "Read recent conversations for the worst intent; schedule model retraining.",
            ),
            Level(4, 3.5, higher_is_bad=False),
        ),
        trend(
            "Success rate: today vs. yesterday",
            [
                Q("chatbot_success_ratio", "today {{app}}"),
                Q("chatbot_success_ratio", "yesterday {{app}}", offset="1d"),
            ],
            m,
            Advice(
                "Success rate now and at the same time yesterday, with deployment markers.",
                "Today's line falling below yesterday's right after a deployment marker.",
                _ROLLBACK,
                "chatbot-success-low",
            ),
            Level(0.95, 0.8, higher_is_bad=False),
            unit="percentunit",
        ),
        trend(
            "p95 response time: today vs. yesterday",
            [
                Q("chatbot_p95_seconds", "today {{app}}"),
                Q("chatbot_p95_seconds", "yesterday {{app}}", offset="1d"),
            ],
            m,
            Advice(
                "p95 response time now and at the same time yesterday.",
                "Today above yesterday after a deployment, or above the 3 s line.",
                "Roll back a slow release; otherwise scale out.",
            ),
            Level(2, 3),
            unit="s",
        ),
        trend(
            "Answers/s per intent",
            [Q("chatbot_response_rate_by_intent", "{{intent}}")],
            m,
            Advice(
                "Chatbot answers per second per intent.",
                "One intent surging (e.g. refund requests) often signals a business problem upstream.",
                "Tell the CS team; check the product/orders side.",
            ),
            unit="reqps",
        ),
        trend(
            "Errors/s per intent",
            [Q("chatbot_error_rate_by_intent", "{{intent}}")],
            m,
            Advice(
                "Failed answers per second per intent.",
                "One intent failing while others are fine: its handler or data source broke.",
                "Check the chat service logs for that intent.",
            ),
            unit="reqps",
        ),
        detail_table(
            "Per intent",
            [
                Column(Q("chatbot_response_rate_by_intent"), "Answers/s", "reqps"),
                Column(Q("chatbot_success_ratio_by_intent"), "Success", "percentunit", Level(0.95, 0.8, False)),
                Column(Q("chatbot_p95_by_intent"), "p95", "s", Level(2, 3)),
                Column(Q("chatbot_error_rate_by_intent"), "Errors/s", "reqps", Level(0.01, 0.1)),
            ],
            m,
            Advice(
                "Every intent with its traffic, success rate, p95 and errors now.",
                "Red cells show the intent to fix first.",
                "Read that intent's failures in the chat service logs.",
            ),
        ),
        detail_table(
            "Before/after: now vs. same time yesterday",
            [
                Column(Q("chatbot_success_ratio"), "Success now", "percentunit", Level(0.95, 0.8, False)),
                Column(Q("chatbot_success_ratio", offset="1d"), "Success yesterday", "percentunit"),
                Column(Q("chatbot_p95_seconds"), "p95 now", "s", Level(2, 3)),
                Column(Q("chatbot_p95_seconds", offset="1d"), "p95 yesterday", "s"),
            ],
            m,
            Advice(
                "Today against the same hour yesterday — look at this first after every deployment.",
                "'now' clearly worse than 'yesterday' after a deployment.",
                _ROLLBACK,
                "chatbot-success-low",
            ),
        ),
    )
