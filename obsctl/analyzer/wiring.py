"""Assemble the analyzer from its settings (the one place real clients are created)."""

from __future__ import annotations

from typing import Any

from obsctl.analyzer.config import Settings
from obsctl.analyzer.evidence import AnnotationFetcher, EvidenceCollector
from obsctl.analyzer.llm import AnalysisChain, Budget, Configured
from obsctl.analyzer.metrics import AnalyzerMetrics
from obsctl.analyzer.owners import load_owners
from obsctl.analyzer.service import Analyzer, Sender
from obsctl.clients import grafana
from obsctl.clients.discord import DiscordWebhook
from obsctl.clients.http import Transport
from obsctl.clients.llm import LlmClient
from obsctl.clients.loki import LokiClient
from obsctl.clients.prometheus import PrometheusClient
from obsctl.incidents.store import IncidentStore, LlmLedger, WorkQueue


def build(settings: Settings, *, transport: Transport | None = None) -> Analyzer:
    """``transport`` routes every outgoing call (tests: a MockTransport test double)."""
    owners = load_owners(settings.owners)  # validated before anything starts
    # Two connections to the one file: the webhook's commits are durable one by one (FULL: the 202
    # promises the alert is on disk); the worker's are not fsynced each (NORMAL) — its work is
    # idempotent and redone from the durable queue after a power loss — so that accepting a
    # notification never waits behind the worker's fsyncs (the webhook's p99).
    store = IncidentStore(settings.db, synchronous="NORMAL")
    queue = WorkQueue(store, capacity=settings.queue_capacity)
    intake = WorkQueue(IncidentStore(settings.db), capacity=settings.queue_capacity)
    metrics = AnalyzerMetrics(lambda: float(intake.depth()))
    # Evidence is best effort and bounded in time: a slow source costs at most ~2 x 5 s per query.
    prometheus = (
        PrometheusClient(settings.prometheus_url, timeout=5.0, retries=1, transport=transport)
        if settings.prometheus_url
        else None
    )
    loki = LokiClient(settings.loki_url, timeout=5.0, retries=1, transport=transport) if settings.loki_url else None
    fetch: AnnotationFetcher | None = None
    if settings.grafana_url:
        url, token = settings.grafana_url, settings.grafana_token

        def fetch(start_ms: int, end_ms: int, tags: list[str]) -> list[dict[str, Any]]:
            return grafana.list_annotations(
                url, token, start_ms=start_ms, end_ms=end_ms, tags=tags, transport=transport
            )

    providers = [
        Configured(
            LlmClient(
                p.name, p.model, p.api_key, base_url=p.base_url, timeout=settings.llm_timeout, transport=transport
            ),
            p.price,
        )
        for p in settings.providers
    ]
    chain = AnalysisChain(providers, Budget(LlmLedger(store), settings.caps), observe=metrics.observe_attempt)
    send: Sender | None = None
    if settings.discord_webhook_url:
        send = DiscordWebhook(settings.discord_webhook_url, transport=transport).send
    collector = EvidenceCollector(prometheus, loki, fetch)
    return Analyzer(store, queue, collector, chain, metrics, send=send, owners=owners, intake=intake)
