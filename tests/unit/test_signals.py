from __future__ import annotations

import pytest

from obsctl.signals import metrics, queries


@pytest.mark.parametrize("key", sorted(queries.QUERIES))
def test_every_promql_query_uses_only_catalogued_metrics(key: str) -> None:
    query = queries.QUERIES[key]
    unknown = query.metric_names() - metrics.known_series_names()
    assert not unknown, f"{key} references metrics not in obsctl/signals/metrics.py: {sorted(unknown)}"


@pytest.mark.parametrize("key", sorted(queries.QUERIES))
def test_matcher_slot_is_filled_everywhere(key: str) -> None:
    rendered = queries.QUERIES[key].render('app=~"$app"')
    assert "%(m)s" not in rendered
    assert rendered.count('app=~"$app"') == queries.QUERIES[key].expr.count("%(m)s")


def test_unknown_concept_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: "):
        queries.get("no_such_concept")


def test_histogram_metrics_expand_to_prometheus_series() -> None:
    names = metrics.BY_NAME["http_server_requests_seconds"].series_names()
    assert names == (
        "http_server_requests_seconds_bucket",
        "http_server_requests_seconds_sum",
        "http_server_requests_seconds_count",
    )
