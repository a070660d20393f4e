"""The PromQL metric-name reader behind the provenance contract (obsctl.signals.provenance)."""

from __future__ import annotations

import pytest

from obsctl.alerting import promrules
from obsctl.signals import metrics, provenance, queries
from obsctl.signals.provenance import PromQLNameError, metric_names, variable_metric_names

TRICKY = [
    # selector with matchers whose label names and values look like metric names
    ('up{job="node_cpu_seconds_total", instance=~"app-.*"}', {"up"}),
    # bare name, no braces
    ("node_load1", {"node_load1"}),
    # aggregation with a label list before and after the body, functions, ranges
    ("sum by (app, le) (rate(http_server_requests_seconds_bucket[5m]))", {"http_server_requests_seconds_bucket"}),
    ("sum(rate(foo_total[5m])) without (instance, job)", {"foo_total"}),
    # vector matching keywords with label lists, bool, binary set operators
    (
        "a_total / on (instance) group_left (nodename) node_uname_info",
        {"a_total", "node_uname_info"},
    ),
    ("x_seconds > bool 3 and ignoring (cpu) y_seconds unless z_info", {"x_seconds", "y_seconds", "z_info"}),
    # durations, subqueries, offset, @ modifiers, numbers that look like words
    ("max_over_time(rate(c_total[1h30m])[1d:5m] offset 1w) @ end()", {"c_total"}),
    ("predict_linear(avail_bytes[6h], 24 * 3600) < 0x10 or vector(0) + Inf - NaN", {"avail_bytes"}),
    ("1e3 * 2.5E-2 + .5", set()),
    # strings: double, single and backtick, with escaped quotes and braces inside
    (
        'label_replace(up, "dst", "$1 {not_a_metric}", "src", "(.*)") + count_values(\'v\', b_gauge)',
        {"up", "b_gauge"},
    ),
    ('m_total{path=`a"}b`, q="x\\"}y"}', {"m_total"}),
    # __name__ matcher and the Prometheus 3 quoted-name form
    ('{__name__="probe_success", job="blackbox"}', {"probe_success"}),
    ('{"http.server.duration", service="api"}', {"http.server.duration"}),
    # recording-rule names with colons next to a subquery colon
    ("job:up:sum[10m:1m]", {"job:up:sum"}),
    # Grafana variables and macros, inside and outside strings
    ('rate(r_total{app=~"$app"}[$__rate_interval]) / ${scale} * [[factor]]', {"r_total"}),
    ('topk(5, sum by (uri) (rate(h_count{app=~"${app:regex}"}[$__interval])))', {"h_count"}),
    # an aggregator used as a word inside a label list is still a label
    ("count by (group, sum) (w_info)", {"w_info"}),
    # a comment
    ("up # the scrape result\n + down_total", {"up", "down_total"}),
]


@pytest.mark.parametrize(("expr", "expected"), TRICKY, ids=[e for e, _ in TRICKY])
def test_metric_names_in_tricky_expressions(expr: str, expected: set[str]) -> None:
    assert metric_names(expr) == expected


@pytest.mark.parametrize(
    "expr",
    ['{__name__=~"node_.*"}', "sum(rate(x_total[5m])", 'up{job="a"', 'up{job="a"} ; drop'],
)
def test_unreadable_expressions_are_refused_with_the_text(expr: str) -> None:
    with pytest.raises(PromQLNameError) as caught:
        metric_names(expr)
    assert repr(expr) in str(caught.value)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("label_values(node_uname_info, instance)", {"node_uname_info"}),
        ('label_values(jvm_memory_used_bytes{app="$app", area="heap"}, instance)', {"jvm_memory_used_bytes"}),
        ("label_values(app)", set()),
        ("query_result(topk(3, sum by (app) (rate(c_total[5m]))))", {"c_total"}),
        ("sum(up) by (job)", {"up"}),
    ],
)
def test_grafana_variable_queries(query: str, expected: set[str]) -> None:
    assert variable_metric_names(query) == expected


def test_a_label_values_query_without_a_label_is_refused() -> None:
    with pytest.raises(PromQLNameError, match="label_values"):
        variable_metric_names('label_values(up{job="a"}, )')


@pytest.mark.parametrize("key", sorted(k for k, q in queries.QUERIES.items() if q.language == "promql"))
def test_every_shared_query_reads_at_least_one_catalogued_metric(key: str) -> None:
    names = queries.QUERIES[key].metric_names()
    assert names, f"{key}: no metric name found in {queries.QUERIES[key].render()!r}"
    assert names <= set(metrics.BY_SERIES), sorted(names - set(metrics.BY_SERIES))


def test_producer_keys_are_unique_and_jobs_are_label_values() -> None:
    keys = [p.key for p in provenance.PRODUCERS]
    assert len(keys) == len(set(keys))
    for producer in provenance.PRODUCERS:
        assert all(job and job.replace("-", "_").isidentifier() for job in producer.jobs), producer


@pytest.mark.parametrize("key", sorted(promrules.SYNTHESIZERS))
def test_synthetic_alert_series_use_only_catalogued_metrics(key: str) -> None:
    """The promtool rule tests' series may only be metrics whose producer the provenance contract proves."""
    names: set[str] = set()
    for target in (0.0, 0.5, 1.0):
        for series in promrules.SYNTHESIZERS[key](target, 10, 15.0).series:
            names |= metric_names(series.selector)
    assert names, key
    assert names <= set(metrics.BY_SERIES), f"{key} invents {sorted(names - set(metrics.BY_SERIES))}"


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('count(up{job=~"prometheus|loki|blackbox-exporter",} == 0)', {"prometheus", "loki", "blackbox-exporter"}),
        ('up{job="node"} / on (job) group_left up{job = "spring"}', {"node", "spring"}),
        ('up{job=~".+"} + up{job!="x"} + up{job=~"$job"} + up{job=~"node.*"} + up{job=~"a.b"}', set()),
        ('sum by (job) (up{instance="job"})', set()),
        ('label_replace(up, "job", "fake", "", "")', set()),
    ],
)
def test_matched_label_values(expr: str, expected: set[str]) -> None:
    assert provenance.matched_label_values(expr, "job") == expected
