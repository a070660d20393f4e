"""The LLM label contract (obsctl/signals/llm.py) and the analyzer's own registry that follows it.

The analyzer's /metrics is parsed with prometheus-client's own text parser, so names, types and
label names are read the way Prometheus reads them: the catalogued analyzer metrics
(obsctl/signals/metrics.py, what dashboards and alerts may read) must be exactly what it exports.
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from obsctl.analyzer.llm import Attempt
from obsctl.analyzer.metrics import FALLBACK_REASONS, AnalyzerMetrics, fallback_reason
from obsctl.signals import llm, metrics, provenance, queries

# Labels Prometheus adds at scrape time (target labels), not the exporter.
TARGET_LABELS = {"instance"}


def _exported() -> dict[str, tuple[str, frozenset[str]]]:
    """Exported series name -> (type, label names), as Prometheus reads the analyzer's /metrics."""
    m = AnalyzerMetrics(lambda: 2.0)
    m.observe_attempt(Attempt("anthropic", "claude-x", True, 1.5, 800, 120, 0.01))
    m.evidence_latency.observe(0.3)
    m.webhooks.labels(code="202").inc()
    out: dict[str, tuple[str, frozenset[str]]] = {}
    for family in text_string_to_metric_families(m.render().decode()):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = frozenset(sample.labels) - {"le"}
            name = sample.name if family.type != "histogram" else family.name
            out[name] = (family.type, labels)
    return out


def test_every_catalogued_analyzer_metric_is_exported_with_its_kind_and_labels() -> None:
    exported = _exported()
    catalogued = [m for m in metrics.METRICS if m.source == provenance.ANALYZER]
    assert catalogued
    for metric in catalogued:
        assert metric.name in exported, f"{metric.name} is catalogued but the analyzer does not export it"
        kind, labels = exported[metric.name]
        assert kind == metric.kind, (metric.name, kind)
        assert labels == set(metric.labels) - TARGET_LABELS, (metric.name, labels)


def test_every_exported_analyzer_metric_is_catalogued() -> None:
    unknown = set(_exported()) - set(metrics.BY_NAME)
    assert not unknown, f"catalogue these in obsctl/signals/metrics.py (dashboards may only read those): {unknown}"


def test_the_analyzer_follows_the_label_contract() -> None:
    exported = _exported()
    for family, spec in llm.FAMILIES.items():
        kind, labels = exported[llm.ANALYZER.name(family)]
        assert kind == spec.kind
        assert labels == set(spec.labels)


def test_llm_values_are_the_contracts() -> None:
    registry = AnalyzerMetrics(lambda: 0.0)
    registry.observe_attempt(Attempt("openai", "gpt-x", False, 30.0, 0, 0, 0.0))
    rendered = registry.render().decode()
    assert 'obs_analyzer_llm_requests_total{model="gpt-x",outcome="error",provider="openai"} 1.0' in rendered
    for token_type in llm.TOKEN_TYPES:
        assert f'type="{token_type}"' in rendered


def test_fallback_reasons_exist_at_zero_before_the_first_fallback() -> None:
    """increase() cannot see a counter born at 1: the alert would miss the first fallbacks."""
    rendered = AnalyzerMetrics(lambda: 0.0).render().decode()
    for reason in FALLBACK_REASONS:
        assert f'obs_analyzer_fallbacks_total{{reason="{reason}"}} 0.0' in rendered
    assert {fallback_reason("over budget: x"), fallback_reason("no LLM provider"), fallback_reason("x")} == set(
        FALLBACK_REASONS
    )


@pytest.mark.parametrize("family", sorted(llm.FAMILIES))
def test_a_family_is_read_from_every_source_that_exports_it(family: llm.Family) -> None:
    expr = llm.union(family, "rate({metric}{{%(m)s}}[5m])", "provider") % {"m": ""}
    read = {n.removesuffix("_bucket") for n in provenance.metric_names(expr)}
    assert read == {s.name(family) for s in llm.sources_with(family)}
    for source in llm.sources_with(family):
        assert f'"service", "{source.service}"' in expr


def test_customer_llm_metrics_are_application_side_with_their_source() -> None:
    for source in llm.SOURCES:
        if source is llm.ANALYZER:
            continue
        assert source.producer.application_side and source.producer.what
        for family in source.families:
            assert metrics.BY_NAME[source.name(family)].source is source.producer
    assert {"sdb_llm_requests_total", "sdb_llm_tokens_used_total"} <= set(metrics.BY_NAME)  # seed 002


def test_the_dashboard_queries_read_the_customers_series() -> None:
    names = queries.get("llm_request_rate").metric_names() | queries.get("llm_tokens_rate").metric_names()
    assert {"sdb_llm_requests_total", "sdb_llm_tokens_used_total"} <= names
    assert {"obs_analyzer_llm_requests_total", "obs_analyzer_llm_tokens_used_total"} <= names
