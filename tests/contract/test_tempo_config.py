"""The rendered tempo.yml uses only fields the pinned Tempo release documents.

No Tempo binary or image can run here, so its config is checked against the field tree of the
pinned release's configuration reference (tests/fixtures/tempo/config-schema-<major.minor>.yml,
with its sources): the role renders the stack with Tempo on (local disk and S3, metrics-generator
on and off) and every key of the result must be in the tree. A field another version has (a 2.x
block removed in 3.0) or a typo fails with its path. The image's own run is not possible here:
no registry serves grafana/tempo to this machine.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl import budget
from tests.contract.test_monitoring_stack_render import Rendered, _checked_by_tools, _fixture_inventory, render
from tests.support import REPO

DEFAULTS = REPO / "roles" / "monitoring_stack" / "defaults" / "main.yml"
SCHEMAS = REPO / "tests" / "fixtures" / "tempo"
# Tempo on a host large enough to hold it (the refusal on a t4g.small is tested separately).
TEMPO_ON = {"monitoring_stack_tempo_enabled": True, "monitoring_stack_host_memory_mib": 4096}


def pinned_series() -> str:
    image = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))["monitoring_stack_tempo_image"]
    match = re.search(r":(\d+)\.(\d+)\.\d+", image)
    assert match, f"monitoring_stack_tempo_image {image!r} is not pinned to a release"
    return f"{match.group(1)}.{match.group(2)}"


def schema() -> dict[str, Any]:
    path = SCHEMAS / f"config-schema-{pinned_series()}.yml"
    assert path.exists(), (
        f"no documented field tree for Tempo {pinned_series()} ({path.relative_to(REPO)}): transcribe it from that "
        "release's configuration manifest before pinning the image"
    )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def unknown_fields(config: object, tree: object, removed: dict[str, str], path: str = "") -> list[str]:
    """Every key of ``config`` that ``tree`` does not allow, as 'path: why'."""
    if tree is None:
        return []
    if isinstance(tree, list):
        if not isinstance(config, list):
            return [f"{path or '(top)'}: expected a list, found {type(config).__name__}"]
        return [p for i, item in enumerate(config) for p in unknown_fields(item, tree[0], removed, f"{path}[{i}]")]
    assert isinstance(tree, dict)
    if not isinstance(config, dict):
        return [f"{path or '(top)'}: expected a mapping, found {type(config).__name__}"]
    problems = []
    for key, value in config.items():
        where = f"{path}.{key}" if path else str(key)
        if key in tree:
            problems += unknown_fields(value, tree[key], removed, where)
        elif "*" in tree:
            problems += unknown_fields(value, tree["*"], removed, where)
        elif not path and key in removed:
            problems.append(f"{where}: {removed[key]}")
        else:
            problems.append(f"{where}: not a field of Tempo {schema()['version']} (a typo or another version's field)")
    return problems


def check(config: dict[str, Any]) -> list[str]:
    spec = schema()
    return unknown_fields(config, spec["fields"], spec["removed"])


@pytest.fixture(scope="module")
def rendered_local(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    tmp = tmp_path_factory.mktemp("tempo-local")
    extra = TEMPO_ON | {"monitoring_stack_tempo_metrics_generator_enabled": True}
    return render(_fixture_inventory(tmp), tmp / "out", extra)


@pytest.fixture(scope="module")
def rendered_s3(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    tmp = tmp_path_factory.mktemp("tempo-s3")
    extra = TEMPO_ON | {"monitoring_stack_loki_s3_bucket": "obs-data", "monitoring_stack_loki_s3_region": "eu-west-1"}
    return render(_fixture_inventory(tmp), tmp / "out", extra)


def test_the_schema_is_the_pinned_release() -> None:
    assert schema()["version"] == pinned_series()


@pytest.mark.parametrize("which", ["rendered_local", "rendered_s3"])
def test_stack_with_tempo_passes_every_tool(which: str, request: pytest.FixtureRequest) -> None:
    _checked_by_tools(request.getfixturevalue(which))


@pytest.mark.parametrize("which", ["rendered_local", "rendered_s3"])
def test_rendered_tempo_config_uses_only_documented_fields(which: str, request: pytest.FixtureRequest) -> None:
    rendered: Rendered = request.getfixturevalue(which)
    config = rendered.yaml("tempo/tempo.yml")
    assert check(config) == []


def test_receivers_listen_on_explicit_endpoints(rendered_local: Rendered) -> None:
    """Since Tempo 2.7 a receiver without an endpoint listens on localhost only: unreachable in a container."""
    protocols = rendered_local.yaml("tempo/tempo.yml")["distributor"]["receivers"]["otlp"]["protocols"]
    assert {name: p["endpoint"] for name, p in protocols.items()} == {"grpc": "0.0.0.0:4317", "http": "0.0.0.0:4318"}


def test_storage_follows_the_bucket_setting(rendered_local: Rendered, rendered_s3: Rendered) -> None:
    local = rendered_local.yaml("tempo/tempo.yml")["storage"]["trace"]
    assert (local["backend"], local["local"]["path"]) == ("local", "/var/tempo/blocks")
    s3 = rendered_s3.yaml("tempo/tempo.yml")["storage"]["trace"]
    assert s3["backend"] == "s3" and "local" not in s3
    assert s3["s3"] == {
        "bucket": "obs-data",
        "prefix": "tempo",
        "region": "eu-west-1",
        "endpoint": "s3.eu-west-1.amazonaws.com",
    }


def test_metrics_generator_writes_to_the_stacks_prometheus(rendered_local: Rendered) -> None:
    config = rendered_local.yaml("tempo/tempo.yml")
    [target] = config["metrics_generator"]["storage"]["remote_write"]
    assert target == {"url": "http://prometheus:9090/api/v1/write", "send_exemplars": True}
    assert config["overrides"]["defaults"]["metrics_generator"]["processors"] == ["service-graphs", "span-metrics"]


def test_a_removed_2x_block_is_rejected_with_its_replacement(rendered_local: Rendered) -> None:
    config = rendered_local.yaml("tempo/tempo.yml")
    config["compactor"] = {"compaction": {"block_retention": "168h"}}
    config["ingester"] = {"max_block_duration": "5m"}
    problems = check(config)
    assert any(p.startswith("compactor: removed in Tempo 3.0") and "backend_worker" in p for p in problems)
    assert any(p.startswith("ingester: removed in Tempo 3.0") for p in problems)


def test_a_misspelt_or_foreign_field_is_rejected_with_its_path(rendered_local: Rendered) -> None:
    config = rendered_local.yaml("tempo/tempo.yml")
    config["live_store"]["max_live_trace_bytes"] = 1  # typo of max_live_traces_bytes
    config["stream_over_http_enabled"] = True  # a 2.x top-level field the 3.0 manifest does not have
    problems = check(config)
    assert any(p.startswith("live_store.max_live_trace_bytes: not a field of Tempo 3.0") for p in problems)
    assert any(p.startswith("stream_over_http_enabled: not a field") for p in problems)


def test_tempo_does_not_fit_a_t4g_small_and_the_refusal_names_the_size(tmp_path: Path) -> None:
    defaults = budget.load_defaults()
    memtotal = defaults["monitoring_stack_instance_memtotal_mib"]
    fits = budget.smallest_instance(memtotal, budget.needed(defaults, ["core", "analyzer", "tempo"]), "t4g")
    extra = {"monitoring_stack_tempo_enabled": True, "monitoring_stack_instance_type": "t4g.small"}
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", extra, expect_ok=False)
    assert r.proc.returncode != 0
    assert fits != "t4g.small"
    assert f"smallest instance type that holds it is {fits} (MemTotal {memtotal[fits]} MiB)" in r.proc.stdout
    assert "monitoring_stack_tempo_enabled" in r.proc.stdout
    assert not (tmp_path / "out" / "compose.yml").exists(), "nothing rendered after the refusal"


def test_tempo_service_is_published_on_the_tunnel_only_for_otlp(rendered_local: Rendered) -> None:
    stack = rendered_local.yaml("compose.yml")
    tempo = stack["services"]["tempo"]
    assert sorted(tempo["ports"]) == sorted(
        ["10.100.0.1:3200:3200", "127.0.0.1:3200:3200", "10.100.0.1:4317:4317", "10.100.0.1:4318:4318"]
    )
    assert tempo["healthcheck"]["test"][:3] == ["CMD", "/tempo", "-health"]
    assert tempo["mem_limit"] == "512m"
    assert "--enable-feature=exemplar-storage" in stack["services"]["prometheus"]["command"]
    jobs = {j["job_name"] for j in rendered_local.yaml("prometheus/prometheus.yml")["scrape_configs"]}
    assert "tempo" in jobs
