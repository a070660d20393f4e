"""The analyzer's own metrics on ``/metrics`` (Prometheus text format, prometheus-client).

One registry per service instance (not the library's global one), so two apps in one process
(tests, a restart drill) never collide. The LLM series follow the label contract of
:mod:`obsctl.signals.llm` (docs/llm-metrics.md), shared with the customer's LLM services: names,
label names and help text are taken from there, so the dashboards and this registry cannot drift.
Every bounded label value (outcome, fallback reason) is created at start with 0, so the first
event is an increase Prometheus can see (``increase()`` cannot see a series born at 1).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from obsctl.analyzer.llm import Attempt
from obsctl.signals import llm

PREFIX = llm.ANALYZER.prefix
CONTENT_TYPE = CONTENT_TYPE_LATEST
OUTCOMES = ("llm", "deterministic", "recorded", "duplicate", "resolved", "failed")
FALLBACK_REASONS = ("budget", "no_provider", "provider_errors")
LLM_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120)
EVIDENCE_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


def _counter_name(family: llm.Family) -> str:
    """prometheus-client appends ``_total`` to a counter's name itself."""
    return llm.ANALYZER.name(family).removesuffix("_total")


class AnalyzerMetrics:
    def __init__(self, queue_depth: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.analyses = Counter(
            f"{PREFIX}_analyses",
            "alerts handled, by outcome (llm, deterministic, recorded, ...)",
            ["outcome"],
            registry=r,
        )
        for outcome in OUTCOMES:
            self.analyses.labels(outcome=outcome)
        self.webhooks = Counter(f"{PREFIX}_webhook_requests", "webhook requests by HTTP status", ["code"], registry=r)
        self.queue_depth = Gauge(f"{PREFIX}_queue_depth", "notifications accepted and not yet processed", registry=r)
        self.queue_depth.set_function(queue_depth)
        self.evidence_latency = Histogram(
            f"{PREFIX}_evidence_duration_seconds",
            "time to collect one evidence pack (Prometheus, Loki, annotations)",
            buckets=EVIDENCE_BUCKETS,
            registry=r,
        )
        families = llm.FAMILIES
        self.llm_requests = Counter(
            _counter_name("requests"), families["requests"].help, families["requests"].labels, registry=r
        )
        self.llm_latency = Histogram(
            llm.ANALYZER.name("duration"),
            families["duration"].help,
            families["duration"].labels,
            buckets=LLM_BUCKETS,
            registry=r,
        )
        self.llm_tokens = Counter(
            _counter_name("tokens"), families["tokens"].help, families["tokens"].labels, registry=r
        )
        self.llm_cost = Counter(_counter_name("cost"), families["cost"].help, families["cost"].labels, registry=r)
        self.fallbacks = Counter(
            f"{PREFIX}_fallbacks",
            "analyses that fell back to the deterministic summary, by reason",
            ["reason"],
            registry=r,
        )
        for reason in FALLBACK_REASONS:
            self.fallbacks.labels(reason=reason)

    def observe_attempt(self, attempt: Attempt) -> None:
        labels = {"provider": attempt.provider, "model": attempt.model}
        self.llm_requests.labels(**labels, outcome=llm.OUTCOMES[0] if attempt.ok else llm.OUTCOMES[1]).inc()
        self.llm_latency.labels(**labels).observe(attempt.seconds)
        input_type, output_type = llm.TOKEN_TYPES
        self.llm_tokens.labels(**labels, type=input_type).inc(attempt.input_tokens)
        self.llm_tokens.labels(**labels, type=output_type).inc(attempt.output_tokens)
        self.llm_cost.labels(**labels).inc(attempt.cost_usd)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def fallback_reason(note: str) -> str:
    """A bounded label value (one of :data:`FALLBACK_REASONS`) from a fallback note."""
    if note.startswith("over budget"):
        return "budget"
    if note.startswith("no LLM provider"):
        return "no_provider"
    return "provider_errors"
