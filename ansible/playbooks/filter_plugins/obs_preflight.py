"""Preflight checks of an inventory, as an Ansible filter: `obs_preflight_problems`.

The preflight play collects one plain dict per host (see playbooks/preflight.yml) and passes the
list here; the result is a list of messages, each naming the host and the variable to fix. Kept
in Python (stdlib `ipaddress`) rather than Jinja so every rule is unit-tested
(tests/unit/test_obs_preflight.py) and needs no extra collection or `netaddr`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

MONITORING_GROUP = "monitoring"
_WEBHOOKS = ("monitoring_stack_discord_urgent_webhook_url", "monitoring_stack_discord_normal_webhook_url")
# obs_agent: which agent a host runs. Same choices as roles/alloy/meta/argument_specs.yml.
OBS_AGENTS = ("alloy", "legacy")


def _network(host: Mapping[str, Any]) -> tuple[ipaddress.IPv4Network | None, str | None]:
    raw = host.get("wireguard_network")
    try:
        net = ipaddress.ip_network(str(raw), strict=True)
    except ValueError:
        return None, f"host '{host['name']}': wireguard_network '{raw}' is not a CIDR network (e.g. 10.100.0.0/24)"
    if not isinstance(net, ipaddress.IPv4Network):
        return None, f"host '{host['name']}': wireguard_network '{raw}' must be an IPv4 network"
    return net, None


def _address_problem(owner: str, variable: str, raw: object, net: ipaddress.IPv4Network | None) -> str | None:
    if raw is None or raw == "":
        return f"{owner}: {variable} is not set (its tunnel address, e.g. 10.100.0.11)"
    try:
        addr = ipaddress.ip_address(str(raw))
    except ValueError:
        return f"{owner}: {variable} '{raw}' is not an IP address (no prefix length)"
    if net is None:
        return None
    if addr not in net:
        return f"{owner}: {variable} {addr} is outside wireguard_network {net}"
    if net.prefixlen < 31 and addr in (net.network_address, net.broadcast_address):
        return f"{owner}: {variable} {addr} is the network or broadcast address of {net}"
    return None


def _check_monitoring_group(hosts: Sequence[Mapping[str, Any]]) -> list[str]:
    members = [h["name"] for h in hosts if h.get("monitoring")]
    if len(members) == 1:
        return []
    return [f"inventory group '{MONITORING_GROUP}' must contain exactly one host, it has {len(members)}: {members}"]


def _check_addresses(hosts: Sequence[Mapping[str, Any]]) -> list[str]:
    problems: list[str] = []
    seen: dict[str, str] = {}
    for host in hosts:
        net, net_problem = _network(host)
        if net_problem:
            problems.append(net_problem)
        owner = f"host '{host['name']}'"
        problem = _address_problem(owner, "wireguard_address", host.get("wireguard_address"), net)
        if problem:
            problems.append(problem)
            continue
        address = str(ipaddress.ip_address(str(host["wireguard_address"])))
        if address in seen:
            problems.append(f"{owner}: wireguard_address {address} is already used by host '{seen[address]}'")
        else:
            seen[address] = host["name"]
    monitoring = [h for h in hosts if h.get("monitoring")]
    if len(monitoring) == 1:
        problems += _check_operators(monitoring[0], seen)
    return problems


def _check_operators(hub: Mapping[str, Any], taken: dict[str, str]) -> list[str]:
    problems: list[str] = []
    net, _ = _network(hub)
    operators = hub.get("wireguard_operator_peers") or []
    if not isinstance(operators, list):
        return ["group_vars: wireguard_operator_peers must be a list of {name, address, public_key}"]
    used = dict(taken)
    for index, peer in enumerate(operators):
        if not isinstance(peer, Mapping) or not peer.get("name"):
            problems.append(f"wireguard_operator_peers[{index}]: every operator peer needs a name")
            continue
        owner = f"operator peer '{peer['name']}'"
        problem = _address_problem(owner, "wireguard_operator_peers[].address", peer.get("address"), net)
        if problem:
            problems.append(problem)
        else:
            address = str(ipaddress.ip_address(str(peer["address"])))
            if address in used:
                problems.append(f"{owner}: address {address} is already used by '{used[address]}'")
            used[address] = str(peer["name"])
        key = peer.get("public_key")
        if key and not _is_wireguard_key(str(key)):
            problems.append(f"{owner}: wireguard_operator_peers[].public_key '{key}' is not a WireGuard public key")
        if not key and not hub.get("wireguard_operator_generate_keys"):
            problems.append(
                f"{owner}: wireguard_operator_peers[].public_key is missing "
                "(or set wireguard_operator_generate_keys: true to generate a key pair on the controller)"
            )
    return problems


def _is_wireguard_key(text: str) -> bool:
    try:
        return len(text) == 44 and len(base64.b64decode(text, validate=True)) == 32
    except binascii.Error:
        return False


def _check_apps(hosts: Sequence[Mapping[str, Any]]) -> list[str]:
    problems: list[str] = []
    for host in hosts:
        apps = host.get("obs_apps")
        owner = f"host '{host['name']}'"
        if apps is None:
            continue
        if not isinstance(apps, list):
            problems.append(f"{owner}: obs_apps must be a list of {{name, port, ...}}")
            continue
        names: set[str] = set()
        for index, app in enumerate(apps):
            where = f"{owner}: obs_apps[{index}]"
            if not isinstance(app, Mapping):
                problems.append(f"{where} must be a mapping with name and port")
                continue
            name = app.get("name")
            if not isinstance(name, str) or not name:
                problems.append(f"{where}.name is missing (the app label, e.g. api)")
            elif name in names:
                problems.append(f"{where}.name '{name}' appears twice on this host")
            else:
                names.add(name)
            port = app.get("port")
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                problems.append(f"{where}.port must be a TCP port number 1-65535 (got {port!r})")
    return problems


def _check_agents(hosts: Sequence[Mapping[str, Any]]) -> list[str]:
    """A mistyped obs_agent (e.g. 'Alloy') would silently count as legacy in some places and as
    Alloy in others: refuse anything but the exact choices."""
    problems: list[str] = []
    for host in hosts:
        agent = host.get("obs_agent")
        if agent is None or agent in OBS_AGENTS:
            continue
        problems.append(
            f"host '{host['name']}': obs_agent '{agent}' must be one of {', '.join(OBS_AGENTS)} "
            "(alloy: the Alloy agent; legacy: node_exporter/promtail scraped directly), lower-case"
        )
    return problems


def _check_probes(hosts: Sequence[Mapping[str, Any]]) -> list[str]:
    """The blackbox probes of public URLs (obs_probe_urls on the monitoring host): real http(s) URLs.
    An https URL is what gives probe_ssl_earliest_cert_expiry (the tls-cert-expiring alert)."""
    problems: list[str] = []
    for host in hosts:
        if not host.get("monitoring"):
            continue
        probes = host.get("probe_urls") or []
        owner = f"host '{host['name']}'"
        if not isinstance(probes, list):
            problems.append(f"{owner}: obs_probe_urls must be a list of {{name, url, app}}")
            continue
        for index, probe in enumerate(probes):
            where = f"{owner}: obs_probe_urls[{index}]"
            if not isinstance(probe, Mapping) or not probe.get("name"):
                problems.append(f"{where} must be a mapping with name, url and app")
                continue
            url = str(probe.get("url") or "")
            parts = urllib.parse.urlsplit(url)
            if "REPLACE_WITH" in url:
                problems.append(
                    f"{where}.url '{url}' is a placeholder: set the public https URL of the service "
                    "(its certificate feeds the tls-cert-expiring alert), or remove the entry"
                )
            elif parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append(f"{where}.url '{url}' must be an http:// or https:// URL with a host name")
    return problems


def _check_secrets(hosts: Sequence[Mapping[str, Any]]) -> list[str]:
    problems: list[str] = []
    for host in hosts:
        if not host.get("monitoring"):
            continue
        owner = f"host '{host['name']}'"
        if not host.get("wireguard_endpoint"):
            problems.append(f"{owner}: wireguard_endpoint is empty (the public IP/DNS name spokes connect to)")
        secrets = host.get("secrets") or {}
        for variable in ("monitoring_stack_grafana_admin_password", "monitoring_stack_grafana_secret_key"):
            if not secrets.get(variable):
                problems.append(f"{owner}: {variable} is empty or undefined (set its vault_* value in vault.yml)")
        if secrets.get("monitoring_stack_alerting_enabled", True):
            for variable in _WEBHOOKS:
                if not secrets.get(variable):
                    problems.append(
                        f"{owner}: {variable} is empty or undefined (set its vault_* value, "
                        "or set monitoring_stack_alerting_enabled: false explicitly)"
                    )
    return problems


def obs_preflight_problems(hosts: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every problem of the inventory, as messages naming the host and the variable."""
    return [
        *_check_monitoring_group(hosts),
        *_check_addresses(hosts),
        *_check_apps(hosts),
        *_check_agents(hosts),
        *_check_probes(hosts),
        *_check_secrets(hosts),
    ]


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"obs_preflight_problems": obs_preflight_problems}
