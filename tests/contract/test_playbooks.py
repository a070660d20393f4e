"""site.yml: play order, tags, syntax against every inventory, and the preflight's refusals."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from tests.support import REPO, tool

SITE = REPO / "ansible" / "site.yml"
PREFLIGHT = REPO / "ansible" / "playbooks" / "preflight.yml"
ROLES_USED = ("obs_common", "wireguard", "docker", "monitoring_stack", "alloy")
GOOD_KEY = "2wtU1K0l/cTb9SEMm2HSQn5/KMz3iWRrG8fNQwJVUUc="
ENVS = ("prod", "dev", "lab")
LAB_VAULT_PASSWORD = REPO / ".obs" / "lab" / "vault-password"


def vault_args(env: str) -> list[str]:
    """Lab secrets are generated (encrypted) by `obsctl lab up`; without its password they cannot load."""
    if not (REPO / "inventories" / env / "group_vars" / "all" / "vault.yml").exists():
        return []
    if env == "lab" and LAB_VAULT_PASSWORD.exists():
        return ["--vault-password-file", str(LAB_VAULT_PASSWORD)]
    pytest.skip(f"inventories/{env}/group_vars/all/vault.yml exists but no vault password is available here")


def ansible_playbook(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("ansible-playbook"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1"),
        timeout=1800,
    )


def require_roles() -> None:
    missing = [role for role in ROLES_USED if not (REPO / "roles" / role / "meta" / "main.yml").exists()]
    if missing:
        pytest.fail(f"site.yml uses roles that are missing: {', '.join(missing)}")


def test_site_imports_the_parts_in_order() -> None:
    plays = yaml.safe_load(SITE.read_text())
    assert [p["ansible.builtin.import_playbook"] for p in plays] == [
        # First: a spoke that has not joined the tunnel is reached at its first-contact address.
        "playbooks/first_contact.yml",
        "playbooks/preflight.yml",
        "playbooks/wireguard.yml",
        "playbooks/monitoring.yml",
        "playbooks/agents.yml",
        "playbooks/handover.yml",
    ]


@pytest.mark.parametrize("env", ENVS)
def test_site_syntax_against_each_inventory(env: str) -> None:
    require_roles()
    proc = ansible_playbook("-i", str(REPO / "inventories" / env), *vault_args(env), "--syntax-check", str(SITE))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_tags_select_one_part() -> None:
    require_roles()
    proc = ansible_playbook("-i", str(REPO / "inventories" / "prod"), "--list-tasks", "--tags", "wireguard", str(SITE))
    assert proc.returncode == 0, proc.stderr
    # Role argument validation is tagged `always` by Ansible itself and changes nothing.
    listed = "\n".join(line for line in proc.stdout.splitlines() if "Validating arguments" not in line)
    assert "wireguard : Ensure this host's key pair" in listed
    assert "Check the inventory" in listed  # preflight guards every selection (tag always)
    assert "docker : " not in listed and "alloy : " not in listed and "monitoring_stack : " not in listed
    tags = ansible_playbook("-i", str(REPO / "inventories" / "prod"), "--list-tags", str(SITE)).stdout
    for tag in ("preflight", "wireguard", "docker", "monitoring", "alloy"):
        assert tag in tags


def write_inventory(tmp_path: Path, hosts: dict[str, object], extra: dict[str, object] | None = None) -> Path:
    inv = tmp_path / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": hosts}}))
    all_vars = {
        "wireguard_network": "10.100.0.0/24",
        "wireguard_port": 51820,
        "wireguard_operator_peers": [{"name": "ops", "address": "10.100.0.200", "public_key": GOOD_KEY}],
        "monitoring_stack_grafana_admin_password": "{{ vault_grafana_admin_password }}",
        "monitoring_stack_grafana_secret_key": "{{ vault_grafana_secret_key }}",
        "monitoring_stack_discord_urgent_webhook_url": "{{ vault_discord_urgent_webhook_url }}",
        "monitoring_stack_discord_normal_webhook_url": "{{ vault_discord_normal_webhook_url }}",
        "vault_grafana_admin_password": "test-only",
        "vault_grafana_secret_key": "test-only",
        "vault_discord_urgent_webhook_url": "https://discord.invalid/u",
        "vault_discord_normal_webhook_url": "https://discord.invalid/n",
        **(extra or {}),
    }
    (inv / "group_vars" / "all" / "main.yml").write_text(yaml.safe_dump(all_vars))
    return inv


def hub_and_app(app_address: str = "10.100.0.11", **app_vars: object) -> dict[str, object]:
    return {
        "monitoring": {"hosts": {"mon-1": {"wireguard_address": "10.100.0.1", "wireguard_endpoint": "203.0.113.10"}}},
        "app": {"hosts": {"app-1": {"wireguard_address": app_address, **app_vars}}},
    }


def test_preflight_accepts_a_sane_inventory(tmp_path: Path) -> None:
    proc = ansible_playbook("-i", str(write_inventory(tmp_path, hub_and_app())), str(PREFLIGHT))
    assert proc.returncode == 0, proc.stdout
    assert "Inventory OK: 2 hosts" in proc.stdout


@pytest.mark.parametrize(
    ("hosts", "extra", "message"),
    [
        (hub_and_app("10.100.0.1"), None, "wireguard_address 10.100.0.1 is already used by host"),
        (hub_and_app("10.100.9.1"), None, "host 'app-1': wireguard_address 10.100.9.1 is outside wireguard_network"),
        (
            hub_and_app(obs_apps=[{"name": "api"}]),
            None,
            "host 'app-1': obs_apps[0].port must be a TCP port number 1-65535 (got None)",
        ),
        (
            hub_and_app(),
            {"vault_grafana_admin_password": ""},
            "host 'mon-1': monitoring_stack_grafana_admin_password is empty or undefined",
        ),
        (
            {**hub_and_app(), "monitoring": {"hosts": {}}},
            None,
            "inventory group 'monitoring' must contain exactly one host, it has 0",
        ),
        (hub_and_app(obs_agent="Alloy"), None, "host 'app-1': obs_agent 'Alloy' must be one of alloy, legacy"),
    ],
    ids=[
        "duplicate-address",
        "outside-network",
        "app-without-port",
        "empty-admin-password",
        "no-monitoring-host",
        "mistyped-obs-agent",
    ],
)
def test_preflight_refuses_naming_host_and_variable(
    tmp_path: Path, hosts: dict[str, object], extra: dict[str, object] | None, message: str
) -> None:
    proc = ansible_playbook("-i", str(write_inventory(tmp_path, hosts, extra)), str(PREFLIGHT))
    assert proc.returncode != 0
    flat = " ".join(proc.stdout.split())  # the YAML callback folds long messages
    assert message in flat, proc.stdout


def test_preflight_undefined_vault_value_is_reported(tmp_path: Path) -> None:
    inv = write_inventory(tmp_path, hub_and_app())
    main = inv / "group_vars" / "all" / "main.yml"
    data = yaml.safe_load(main.read_text())
    del data["vault_discord_urgent_webhook_url"]
    main.write_text(yaml.safe_dump(data))
    proc = ansible_playbook("-i", str(inv), str(PREFLIGHT))
    assert proc.returncode != 0
    assert "monitoring_stack_discord_urgent_webhook_url is empty or undefined" in " ".join(proc.stdout.split())
    data["monitoring_stack_alerting_enabled"] = False
    main.write_text(yaml.safe_dump(data))
    assert ansible_playbook("-i", str(inv), str(PREFLIGHT)).returncode == 0


def test_prod_template_needs_only_real_secrets_and_operator_keys() -> None:
    """The committed prod inventory is a template: with the example vault, only the placeholders are
    refused (the operator key and the public https URL to probe)."""
    example = REPO / "inventories" / "prod" / "vault.example.yml"
    proc = ansible_playbook("-i", str(REPO / "inventories" / "prod"), "-e", f"@{example}", str(PREFLIGHT))
    assert proc.returncode != 0
    flat = " ".join(proc.stdout.split())
    assert "operator peer 'ops-laptop-1': wireguard_operator_peers[].public_key" in flat
    assert "host 'mon-1': obs_probe_urls[0].url 'https://REPLACE_WITH_THE_PUBLIC_HOSTNAME/' is a placeholder" in flat
    # No other host problem (Ansible prints the list twice, once with doubled quotes).
    assert set(re.findall(r"host '+([\w-]+)'+: (\S+)", flat)) == {("mon-1", "obs_probe_urls[0].url")}, proc.stdout


@pytest.mark.parametrize(("agent", "ok"), [("Alloy", False), ("alloy", True), ("legacy", True)])
def test_alloy_role_argument_spec_refuses_a_mistyped_obs_agent(tmp_path: Path, agent: str, ok: bool) -> None:
    """The alloy role's own argument validation (what runs before its tasks) sees the inventory's
    obs_agent, so even a run with --skip-tags preflight stops on `Alloy`."""
    spec = REPO / "roles" / "alloy" / "meta" / "argument_specs.yml"
    playbook = tmp_path / "validate.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Validate like the role does",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars": {"obs_agent": agent, "spec": str(spec)},
                    "tasks": [
                        {
                            "name": "Validate",
                            "ansible.builtin.validate_argument_spec": {
                                "argument_spec": "{{ (lookup('file', spec) | from_yaml).argument_specs.main.options }}"
                            },
                        }
                    ],
                }
            ]
        )
    )
    proc = ansible_playbook("-i", "localhost,", "-c", "local", str(playbook))
    if ok:
        assert proc.returncode == 0, proc.stdout
    else:
        assert proc.returncode != 0
        flat = " ".join(proc.stdout.split())
        assert "obs_agent" in flat and "alloy, legacy" in flat, proc.stdout


FIRST_CONTACT = REPO / "ansible" / "playbooks" / "first_contact.yml"


def _ssh_banner_double() -> tuple[socket.socket, int]:
    """A test double of an SSH server: it only sends the identification line the probe reads."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"SSH-2.0-test-double\r\n")

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_first_contact_uses_the_existing_address_only_where_the_tunnel_does_not_answer(tmp_path: Path) -> None:
    server, open_port = _ssh_banner_double()
    closed = _closed_port()
    try:
        inv = tmp_path / "hosts.yml"
        common = {"ansible_connection": "local", "obs_first_contact_probe_timeout": 1}
        inv.write_text(
            yaml.safe_dump(
                {
                    "all": {
                        "hosts": {
                            "joined": {**common, "ansible_host": "127.0.0.1", "ansible_port": open_port},
                            "fresh": {
                                **common,
                                "ansible_host": "127.0.0.1",
                                "ansible_port": closed,
                                "obs_first_contact_address": "127.0.0.2",
                            },
                        }
                    }
                }
            )
        )
        playbook = tmp_path / "pb.yml"
        playbook.write_text(
            yaml.safe_dump(
                [
                    {"ansible.builtin.import_playbook": str(FIRST_CONTACT)},
                    {
                        "name": "Show the address",
                        "hosts": "all",
                        "gather_facts": False,
                        "tasks": [
                            {"ansible.builtin.debug": {"msg": "ADDRESS {{ inventory_hostname }} {{ ansible_host }}"}}
                        ],
                    },
                ]
            )
        )
        proc = ansible_playbook("-i", str(inv), str(playbook))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "ADDRESS joined 127.0.0.1" in proc.stdout
        assert "ADDRESS fresh 127.0.0.2" in proc.stdout
        assert "first contact: fresh reached at 127.0.0.2" in proc.stdout
        assert "first contact: joined" not in proc.stdout

        # A host that answers nowhere and has no first-contact address: refused with the fix named.
        inv.write_text(
            yaml.safe_dump(
                {"all": {"hosts": {"lost": {**common, "ansible_host": "127.0.0.1", "ansible_port": closed}}}}
            )
        )
        proc = ansible_playbook("-i", str(inv), str(playbook))
        assert proc.returncode != 0
        assert "lost: nothing answers SSH at 127.0.0.1" in proc.stdout
        assert "obs_first_contact_address" in proc.stdout
    finally:
        server.close()
