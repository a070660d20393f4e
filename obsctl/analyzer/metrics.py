"""The analyzer's own metrics on ``/metrics`` (Prometheus text format, prometheus-client).

One registry per service instance (not the library's global one), so two apps in one process
(tests, a restart drill) never collide. Label contract for the LLM series, shared with the
customer's LLM services (``*_llm_requests_total``, ``*_llm_tokens_used_total``): ``provider``,
``model``; requests add ``outcome`` (``ok``/``error``), tokens add ``type`` (``input``/``output``).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from obsctl.analyzer.llm import Attempt

PREFIX = "obs_analyzer"
CONTENT_TYPE = CONTENT_TYPE_LATEST
OUTCOMES = ("llm", "deterministic", "recorded", "duplicate", "resolved", "failed")


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
        self.llm_requests = Counter(f"{PREFIX}_llm_requests", "LLM calls", ["provider", "model", "outcome"], registry=r)
        self.llm_latency = Histogram(
            f"{PREFIX}_llm_request_duration_seconds",
            "LLM call latency",
            ["provider", "model"],
            buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120),
            registry=r,
        )
        self.llm_tokens = Counter(f"{PREFIX}_llm_tokens_used", "LLM tokens", ["provider", "model", "type"], registry=r)
        self.llm_cost = Counter(
            f"{PREFIX}_llm_cost_usd", "estimated LLM cost in US dollars", ["provider", "model"], registry=r
        )
        self.fallbacks = Counter(
            f"{PREFIX}_fallbacks",
            "analyses that fell back to the deterministic summary, by reason",
            ["reason"],
            registry=r,
        )

    def observe_attempt(self, attempt: Attempt) -> None:
        labels = {"provider": attempt.provider, "model": attempt.model}
        self.llm_requests.labels(**labels, outcome="ok" if attempt.ok else "error").inc()
        self.llm_latency.labels(**labels).observe(attempt.seconds)
        self.llm_tokens.labels(**labels, type="input").inc(attempt.input_tokens)
        self.llm_tokens.labels(**labels, type="output").inc(attempt.output_tokens)
        self.llm_cost.labels(**labels).inc(attempt.cost_usd)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def fallback_reason(note: str) -> str:
    """A bounded label value from a fallback note."""
    if note.startswith("over budget"):
        return "budget"
    if note.startswith("no LLM provider"):
        return "no_provider"
    return "provider_errors"
