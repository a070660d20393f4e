"""The rendered Grafana datasources, field by field against Grafana's documented provisioning, and
the trace links checked against what the rest of the platform really produces.

No Grafana can run here, and Grafana ignores an unknown jsonData key without a word: the link it
was meant to make just never appears. So every key of the rendered datasources.yml (stack with
Tempo on) must be in tests/fixtures/grafana/datasource-provisioning.yml (transcribed from Grafana's
provisioning documentation, sources in the file), and each link must meet its other end:

- exemplars -> Tempo: the exemplar label is the one the lab's demo workload (standing in for
  Micrometer) writes;
- Tempo -> Loki (tracesToLogsV2) and Tempo -> Prometheus (tracesToMetrics): the label each span
  attribute maps to is a label the rendered Alloy config puts on the application's log streams
  and metrics, and Alloy sets the attribute host.name to the same host name;
- Loki -> Tempo (derived field): the regex finds the trace id in a log line written the way
  docs/tracing.md tells the Spring Boot services to write it (the demo workload writes the same).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from obsctl.alloy_syntax import Block, parse
from obsctl.signals.metrics import known_series_names
from obsctl.signals.provenance import metric_names
from tests.contract.test_alloy_config import render_alloy_configs
from tests.contract.test_monitoring_stack_render import Rendered, _fixture_inventory, render
from tests.support import REPO

SCHEMA = REPO / "tests" / "fixtures" / "grafana" / "datasource-provisioning.yml"
DEMO = REPO / "roles" / "lab_demo_app" / "files" / "obs_lab_demo_workload.py"
TEMPO_ON = {"monitoring_stack_tempo_enabled": True, "monitoring_stack_host_memory_mib": 4096}


def _schema() -> dict[str, Any]:
    data = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("obs_lab_demo_workload_links", DEMO)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def unknown_keys(value: object, tree: object, path: str) -> list[str]:
    if tree is None:
        return []
    if isinstance(tree, list):
        if not isinstance(value, list):
            return [f"{path}: expected a list"]
        return [p for i, item in enumerate(value) for p in unknown_keys(item, tree[0], f"{path}[{i}]")]
    assert isinstance(tree, dict)
    if not isinstance(value, dict):
        return [f"{path}: expected a mapping"]
    out = []
    for key, inner in value.items():
        if key not in tree:
            out.append(f"{path}.{key}: not in Grafana's documented provisioning fields")
        else:
            out += unknown_keys(inner, tree[key], f"{path}.{key}")
    return out


def check(datasources: list[dict[str, Any]]) -> list[str]:
    spec = _schema()
    problems = []
    for ds in datasources:
        where = f"datasource {ds.get('uid')}"
        problems += unknown_keys(ds, spec["datasource"], where)
        tree = spec["jsonData"].get(ds.get("type"))
        if tree is None:
            problems.append(f"{where}: type {ds.get('type')!r} has no documented jsonData here")
        else:
            problems += unknown_keys(ds.get("jsonData", {}), tree, f"{where}.jsonData")
    return problems


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    tmp = tmp_path_factory.mktemp("datasources")
    extra = TEMPO_ON | {"monitoring_stack_tempo_metrics_generator_enabled": True}
    return render(_fixture_inventory(tmp), tmp / "out", extra)


@pytest.fixture(scope="module")
def datasources(stack: Rendered) -> dict[str, dict[str, Any]]:
    listed = stack.yaml("grafana/provisioning/datasources/datasources.yml")["datasources"]
    return {d["uid"]: d for d in listed}


@pytest.fixture(scope="module")
def alloy_app_host(tmp_path_factory: pytest.TempPathFactory) -> list[Block]:
    rendered = render_alloy_configs(tmp_path_factory.mktemp("alloy-links"), {"alloy_tracing_enabled": True})
    return parse(rendered["app-1"].read_text(encoding="utf-8")).components()


def _component(components: list[Block], name: str, label: str) -> Block:
    [block] = [b for b in components if (b.name, b.label) == (name, label)]
    return block


def test_every_rendered_field_is_documented(datasources: dict[str, dict[str, Any]]) -> None:
    assert set(datasources) == {"prometheus", "loki", "tempo"}
    assert check(list(datasources.values())) == []


def test_the_checker_rejects_an_undocumented_field(datasources: dict[str, dict[str, Any]]) -> None:
    tempo = dict(datasources["tempo"])
    tempo["jsonData"] = dict(tempo["jsonData"]) | {"tracesToLogs": {"datasourceUid": "loki"}}  # the pre-V2 key
    assert check([tempo]) == ["datasource tempo.jsonData.tracesToLogs: not in Grafana's documented provisioning fields"]


def test_every_link_points_at_a_provisioned_datasource(datasources: dict[str, dict[str, Any]]) -> None:
    def uids(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "datasourceUid"] + [u for v in node.values() for u in uids(v)]
        if isinstance(node, list):
            return [u for item in node for u in uids(item)]
        return []

    linked = set(uids([d["jsonData"] for d in datasources.values()]))
    assert linked == {"tempo", "loki", "prometheus"} and linked <= set(datasources)


def test_exemplar_label_is_the_one_the_instrumentation_writes(datasources: dict[str, dict[str, Any]]) -> None:
    [destination] = datasources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"]
    demo = _demo()
    histogram = demo.Histogram((0.1, 1.0))
    span = demo.Span.start_from(None)
    histogram.observe(0.05, span)
    [bucket] = [line for line in histogram.lines("x", {}, openmetrics=True) if " # {" in line]
    assert f'{destination["name"]}="{span.trace_id}"' in bucket
    assert destination["datasourceUid"] == "tempo"


def test_traces_to_logs_maps_onto_labels_alloy_puts_on_app_logs(
    datasources: dict[str, dict[str, Any]], alloy_app_host: list[Block]
) -> None:
    link = datasources["tempo"]["jsonData"]["tracesToLogsV2"]
    write = _component(alloy_app_host, "loki.write", "monitoring").attr("external_labels")
    targets = _component(alloy_app_host, "local.file_match", "apps").attr("path_targets")
    assert isinstance(write, dict) and isinstance(targets, list)
    stream_labels = set(write) | {k for t in targets for k in t if not k.startswith("__")}
    mapped = {t["key"]: t["value"] for t in link["tags"]}
    assert set(mapped.values()) <= stream_labels, f"labels Alloy does not put on app logs: {mapped}"
    assert link["datasourceUid"] == "loki" and link["filterByTraceID"] is True
    # Alloy sets the span attribute to the very value of the Loki host label.
    transform = _component(alloy_app_host, "otelcol.processor.transform", "resource")
    statements = transform.children("trace_statements")[0].attr("statements")
    assert isinstance(statements, list)
    host_key = next(k for k, v in mapped.items() if v == "host")
    assert f'set(attributes["{host_key}"], "{write["host"]}")' in statements


def test_traces_to_metrics_maps_onto_spring_labels_and_queries_catalogued_metrics(
    datasources: dict[str, dict[str, Any]], alloy_app_host: list[Block]
) -> None:
    link = datasources["tempo"]["jsonData"]["tracesToMetrics"]
    targets = _component(alloy_app_host, "prometheus.scrape", "spring").attr("targets")
    assert isinstance(targets, list)
    series_labels = {k for t in targets for k in t if not k.startswith("__")}
    assert {t["value"] for t in link["tags"]} <= series_labels
    assert link["queries"]
    for query in link["queries"]:
        # Grafana replaces $__tags with the mapped label matchers ($$ survives its env expansion).
        assert "{$$__tags}" in query["query"]
        names = metric_names(query["query"].replace("$$__tags", 'app="api"'))
        assert names and names <= known_series_names(), query


def test_loki_derived_field_finds_the_trace_id_in_the_documented_log_line(
    datasources: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    [field] = datasources["loki"]["jsonData"]["derivedFields"]
    assert field["datasourceUid"] == "tempo" and field["url"] == "$${__value.raw}"
    demo = _demo()
    logs = demo.Logs("api", 8080, tmp_path / "app.log", tmp_path / "a.log", tmp_path / "e.log")
    span = demo.Span.start_from(None)
    logs.app_line("info", "c.d.api.PostsController", "GET /api/posts 200 12 ms", span)
    logs.app_line("info", "c.d.DemoWorkload", "started outside any request")
    traced, untraced = (tmp_path / "app.log").read_text(encoding="utf-8").splitlines()
    match = re.search(field["matcherRegex"], traced)
    assert match and match.group(1) == span.trace_id
    assert re.search(field["matcherRegex"], untraced) is None
    guide = (REPO / "docs" / "tracing.md").read_text(encoding="utf-8")
    assert "[trace_id=%X{traceId:-} span_id=%X{spanId:-}]" in guide, "the guide's log pattern is the one matched"


def test_dollar_signs_survive_grafanas_environment_expansion(stack: Rendered) -> None:
    text = stack.text("grafana/provisioning/datasources/datasources.yml")
    assert not re.search(r"(?<!\$)\$\{__", text), "write $${__...}: Grafana expands ${...} from the environment"
    assert not re.search(r"(?<!\$)\$__tags", text)
