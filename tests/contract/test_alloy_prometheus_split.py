"""One inventory, two renderings: Prometheus scrapes legacy hosts, Alloy ships migrated ones, never both.

The monitoring_stack role renders prometheus.yml from obs_agent (its render-only mode); this role
renders config.alloy for the migrated host. For every (job, instance) of host metrics and actuator
metrics exactly one path exists, so no series is collected twice and none is dropped at the switch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from obsctl.alloy_syntax import parse
from obsctl.common import port
from tests.contract.test_alloy_config import render_alloy_configs
from tests.support import REPO

PROMETHEUS_TEMPLATE = REPO / "roles/monitoring_stack/templates/prometheus/prometheus.yml.j2"


def _stack_helpers() -> Any:
    assert PROMETHEUS_TEMPLATE.exists(), f"{PROMETHEUS_TEMPLATE.relative_to(REPO)} is missing"
    from tests.contract import test_monitoring_stack_render as stack  # noqa: PLC0415 - the sibling's render helpers

    for name in ("FIXTURE_HOSTS", "render", "_fixture_inventory"):
        assert hasattr(stack, name), f"tests/contract/test_monitoring_stack_render.py has no {name} (interface changed)"
    return stack


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Path], dict[str, Any]]:
    stack = _stack_helpers()
    tmp = tmp_path_factory.mktemp("split")
    rendered = stack.render(stack._fixture_inventory(tmp), tmp / "stack")
    prometheus = rendered.yaml("prometheus/prometheus.yml")
    hosts: dict[str, Any] = stack.FIXTURE_HOSTS
    alloy = render_alloy_configs(tmp_path_factory.mktemp("split-alloy"), hosts=hosts)
    return prometheus, alloy, hosts


def _agents(hosts: dict[str, Any]) -> dict[str, str]:
    app_hosts = hosts["all"]["children"]["app"]["hosts"]
    return {name: hv.get("obs_agent", "alloy") for name, hv in app_hosts.items()}


def _prometheus_pairs(prometheus: dict[str, Any]) -> set[tuple[str, str]]:
    pairs = set()
    for job in prometheus["scrape_configs"]:
        if job["job_name"] not in ("node", "spring"):
            continue
        for static in job.get("static_configs", []):
            pairs.add((job["job_name"], static.get("labels", {}).get("instance", "")))
    return pairs


def _alloy_pairs(path: Path) -> set[tuple[str, str]]:
    pairs = set()
    for block in parse(path.read_text()).components():
        if block.name != "prometheus.scrape" or block.attr("job_name") not in ("node", "spring"):
            continue
        job = str(block.attr("job_name"))
        if job == "node":
            relabel = next(b for b in parse(path.read_text()).components() if b.name == "discovery.relabel")
            instance = {r.attr("target_label"): r.attr("replacement") for r in relabel.children("rule")}["instance"]
            pairs.add((job, str(instance)))
        else:
            targets = block.attr("targets")
            assert isinstance(targets, list)
            pairs.update((job, str(t["instance"])) for t in targets)
    return pairs


def test_each_host_has_exactly_one_collection_path(
    both: tuple[dict[str, Any], dict[str, Path], dict[str, Any]],
) -> None:
    prometheus, alloy, hosts = both
    agents = _agents(hosts)
    legacy = {h for h, a in agents.items() if a == "legacy"}
    migrated = {h for h, a in agents.items() if a == "alloy"}
    assert legacy and migrated, "the fixture inventory must hold one legacy and one migrated host"

    direct = _prometheus_pairs(prometheus)
    via_alloy = set().union(*(_alloy_pairs(alloy[h]) for h in migrated))

    assert {i for _, i in direct} == legacy, "Prometheus must scrape the legacy hosts only"
    assert {i for _, i in via_alloy} == migrated
    assert direct.isdisjoint(via_alloy), f"collected twice: {direct & via_alloy}"
    for host in migrated:
        assert ("node", host) in via_alloy and ("spring", host) in via_alloy


def test_alloy_writes_to_the_prometheus_that_accepts_remote_write(
    both: tuple[dict[str, Any], dict[str, Path], dict[str, Any]],
) -> None:
    _, alloy, hosts = both
    mon = hosts["all"]["children"]["monitoring"]["hosts"]
    address = next(iter(mon.values()))["wireguard_address"]
    compose = (REPO / "roles/monitoring_stack/templates/compose.yml.j2").read_text()
    assert "--web.enable-remote-write-receiver" in compose
    for host, agent in _agents(hosts).items():
        if agent != "alloy":
            continue
        remote = next(b for b in parse(alloy[host].read_text()).components() if b.name == "prometheus.remote_write")
        assert remote.children("endpoint")[0].attr("url") == f"http://{address}:{port('prometheus')}/api/v1/write"
