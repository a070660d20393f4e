"""The preflight's inventory rules (ansible/playbooks/filter_plugins/obs_preflight.py)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.support import REPO

_SPEC = importlib.util.spec_from_file_location(
    "obs_preflight", REPO / "ansible" / "playbooks" / "filter_plugins" / "obs_preflight.py"
)
assert _SPEC and _SPEC.loader
_MODULE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_MODULE)
problems: Callable[[list[dict[str, Any]]], list[str]] = _MODULE.obs_preflight_problems

KEY = "2wtU1K0l/cTb9SEMm2HSQn5/KMz3iWRrG8fNQwJVUUc="
SECRETS_OK = {
    "monitoring_stack_grafana_admin_password": True,
    "monitoring_stack_grafana_secret_key": True,
    "monitoring_stack_discord_urgent_webhook_url": True,
    "monitoring_stack_discord_normal_webhook_url": True,
    "monitoring_stack_alerting_enabled": True,
}


def _host(name: str, address: str | None, *, monitoring: bool = False, **extra: Any) -> dict[str, Any]:
    host: dict[str, Any] = {
        "name": name,
        "monitoring": monitoring,
        "wireguard_address": address,
        "wireguard_network": "10.100.0.0/24",
        "wireguard_endpoint": "203.0.113.10" if monitoring else "",
        "wireguard_operator_peers": [{"name": "ops", "address": "10.100.0.200", "public_key": KEY}],
        "wireguard_operator_generate_keys": False,
        "obs_apps": None,
        "secrets": dict(SECRETS_OK),
    }
    host.update(extra)
    return host


def _good() -> list[dict[str, Any]]:
    return [
        _host("mon-1", "10.100.0.1", monitoring=True),
        _host("app-1", "10.100.0.11", obs_apps=[{"name": "api", "port": 8080}, {"name": "chat", "port": 8081}]),
    ]


def test_a_sane_inventory_has_no_problems() -> None:
    assert problems(_good()) == []


@pytest.mark.parametrize("count", [0, 2])
def test_exactly_one_monitoring_host(count: int) -> None:
    hosts = _good()
    hosts[0]["monitoring"] = count > 0
    hosts[1]["monitoring"] = count > 1
    assert any("group 'monitoring' must contain exactly one host" in p for p in problems(hosts))


def test_missing_address_names_host_and_variable() -> None:
    hosts = _good()
    hosts[1]["wireguard_address"] = None
    assert problems(hosts) == ["host 'app-1': wireguard_address is not set (its tunnel address, e.g. 10.100.0.11)"]


def test_duplicate_address_names_both_hosts() -> None:
    hosts = _good()
    hosts[1]["wireguard_address"] = "10.100.0.1"
    assert problems(hosts) == ["host 'app-1': wireguard_address 10.100.0.1 is already used by host 'mon-1'"]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.100.1.5", "host 'app-1': wireguard_address 10.100.1.5 is outside wireguard_network 10.100.0.0/24"),
        ("10.100.0.255", "host 'app-1': wireguard_address 10.100.0.255 is the network or broadcast address"),
        ("10.100.0.11/24", "host 'app-1': wireguard_address '10.100.0.11/24' is not an IP address"),
    ],
)
def test_bad_addresses(address: str, expected: str) -> None:
    hosts = _good()
    hosts[1]["wireguard_address"] = address
    found = problems(hosts)
    assert len(found) == 1
    assert found[0].startswith(expected)


def test_bad_network() -> None:
    hosts = _good()
    hosts[0]["wireguard_network"] = "10.100.0.1/24"
    assert "host 'mon-1': wireguard_network '10.100.0.1/24' is not a CIDR network" in problems(hosts)[0]


def test_operator_address_must_be_free_and_inside() -> None:
    hosts = _good()
    hosts[0]["wireguard_operator_peers"] = [
        {"name": "a", "address": "10.100.0.11", "public_key": KEY},
        {"name": "b", "address": "10.200.0.1", "public_key": KEY},
    ]
    assert problems(hosts) == [
        "operator peer 'a': address 10.100.0.11 is already used by 'app-1'",
        "operator peer 'b': wireguard_operator_peers[].address 10.200.0.1 is outside wireguard_network 10.100.0.0/24",
    ]


def test_operator_key_required_unless_generated() -> None:
    hosts = _good()
    hosts[0]["wireguard_operator_peers"] = [{"name": "a", "address": "10.100.0.200"}]
    assert "operator peer 'a': wireguard_operator_peers[].public_key is missing" in problems(hosts)[0]
    hosts[0]["wireguard_operator_generate_keys"] = True
    assert problems(hosts) == []


def test_placeholder_operator_key_is_refused() -> None:
    hosts = _good()
    hosts[0]["wireguard_operator_peers"][0]["public_key"] = "REPLACE_WITH_THE_OPERATORS_WG_PUBLIC_KEY="
    assert problems(hosts) == [
        "operator peer 'ops': wireguard_operator_peers[].public_key 'REPLACE_WITH_THE_OPERATORS_WG_PUBLIC_KEY=' "
        "is not a WireGuard public key"
    ]


@pytest.mark.parametrize(
    ("apps", "expected"),
    [
        ([{"port": 8080}], "host 'app-1': obs_apps[0].name is missing"),
        (
            [{"name": "api", "port": "8080"}],
            "host 'app-1': obs_apps[0].port must be a TCP port number 1-65535 (got '8080')",
        ),
        ([{"name": "api", "port": 70000}], "host 'app-1': obs_apps[0].port must be a TCP port number"),
        (
            [{"name": "api", "port": 1}, {"name": "api", "port": 2}],
            "host 'app-1': obs_apps[1].name 'api' appears twice",
        ),
        ({"name": "api"}, "host 'app-1': obs_apps must be a list"),
        (["api"], "host 'app-1': obs_apps[0] must be a mapping"),
    ],
)
def test_malformed_apps(apps: Any, expected: str) -> None:
    hosts = _good()
    hosts[1]["obs_apps"] = apps
    found = problems(hosts)
    assert len(found) == 1
    assert found[0].startswith(expected)


def test_missing_secrets_name_the_variable() -> None:
    hosts = _good()
    hosts[0]["secrets"]["monitoring_stack_grafana_admin_password"] = False
    hosts[0]["secrets"]["monitoring_stack_discord_normal_webhook_url"] = False
    found = problems(hosts)
    assert [p.split(" is empty")[0] for p in found] == [
        "host 'mon-1': monitoring_stack_grafana_admin_password",
        "host 'mon-1': monitoring_stack_discord_normal_webhook_url",
    ]


def test_empty_webhooks_allowed_only_with_alerting_disabled() -> None:
    hosts = _good()
    hosts[0]["secrets"]["monitoring_stack_discord_urgent_webhook_url"] = False
    hosts[0]["secrets"]["monitoring_stack_discord_normal_webhook_url"] = False
    assert len(problems(hosts)) == 2
    hosts[0]["secrets"]["monitoring_stack_alerting_enabled"] = False
    assert problems(hosts) == []


def test_hub_needs_an_endpoint() -> None:
    hosts = _good()
    hosts[0]["wireguard_endpoint"] = ""
    assert problems(hosts) == ["host 'mon-1': wireguard_endpoint is empty (the public IP/DNS name spokes connect to)"]


@pytest.mark.parametrize("agent", ["Alloy", "ALLOY", "alloy ", "promtail", ""])
def test_mistyped_obs_agent_is_refused(agent: str) -> None:
    hosts = _good()
    hosts[1]["obs_agent"] = agent
    assert problems(hosts) == [
        f"host 'app-1': obs_agent '{agent}' must be one of alloy, legacy "
        "(alloy: the Alloy agent; legacy: node_exporter/promtail scraped directly), lower-case"
    ]


@pytest.mark.parametrize("agent", ["alloy", "legacy", None])
def test_valid_or_unset_obs_agent_passes(agent: str | None) -> None:
    hosts = _good()
    hosts[1]["obs_agent"] = agent
    assert problems(hosts) == []


def test_preflight_play_hands_obs_agent_to_the_rule() -> None:
    play = yaml.safe_load((REPO / "ansible" / "playbooks" / "preflight.yml").read_text(encoding="utf-8"))[0]
    describe = play["tasks"][0]
    assert "obs_agent" in describe["vars"]["_host"], "the rule never sees obs_agent unless the play collects it"


def test_alloy_role_spec_has_the_same_choices() -> None:
    spec = yaml.safe_load((REPO / "roles" / "alloy" / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    option = spec["argument_specs"]["main"]["options"]["obs_agent"]
    assert tuple(option["choices"]) == _MODULE.OBS_AGENTS


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://REPLACE_WITH_THE_PUBLIC_HOSTNAME/", "is a placeholder: set the public https URL"),
        ("ftp://example.org/", "must be an http:// or https:// URL with a host name"),
        ("https:///health", "must be an http:// or https:// URL with a host name"),
    ],
)
def test_probe_urls_must_be_real_http_urls(url: str, expected: str) -> None:
    hosts = _good()
    hosts[0]["probe_urls"] = [{"name": "public-api", "url": url, "app": "api"}]
    [problem] = problems(hosts)
    assert problem.startswith("host 'mon-1': obs_probe_urls[0].url")
    assert expected in problem


def test_a_real_https_probe_is_accepted() -> None:
    hosts = _good()
    hosts[0]["probe_urls"] = [{"name": "public-api", "url": "https://api.example.org/", "app": "api"}]
    assert problems(hosts) == []
