"""The docker.service drop-in of the monitoring_stack role, rendered by Ansible from the role's own
defaults and vars, as systemd would read it.

After a reboot dockerd must start only once the tunnel address is up (ports are published on it)
and the data volume is mounted (it is mounted nofail). The Molecule scenario checks what systemd
loaded (`systemctl show docker`); this test runs everywhere, without Docker or systemd.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO, VENV_BIN, tool

ROLE = REPO / "roles" / "monitoring_stack"
DROPIN = "systemd/docker-monitoring-stack.conf.j2"


def _render(tmp_path: Path, extra: dict[str, Any]) -> dict[str, list[str]]:
    """Render the drop-in with the role's defaults/main.yml and vars/main.yml plus ``extra`` (the
    inventory's host variables) and parse its [Unit] section: directive -> values (systemd joins
    repeated directives and space-separated lists)."""
    out = tmp_path / "monitoring-stack.conf"
    playbook = tmp_path / "render-dropin.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render the docker.service drop-in",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars_files": [str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")],
                    "tasks": [
                        {
                            "name": "Render",
                            "ansible.builtin.template": {"src": str(ROLE / "templates" / DROPIN), "dest": str(out)},
                        }
                    ],
                }
            ]
        ),
        encoding="utf-8",
    )
    extra_vars = {"ansible_connection": "local", "ansible_python_interpreter": str(VENV_BIN / "python"), **extra}
    proc = subprocess.run(
        [tool("ansible-playbook"), "-i", "localhost,", str(playbook), "-e", json.dumps(extra_vars)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1"),
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    directives: dict[str, list[str]] = {}
    section = None
    for raw in out.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        assert section == "[Unit]", f"directive outside [Unit]: {line}"
        key, _, value = line.partition("=")
        directives.setdefault(key.strip(), []).extend(value.split())
    return directives


def _default_data_dir() -> str:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    value = defaults["monitoring_stack_data_dir"]
    assert isinstance(value, str)
    return value


def test_prod_like_host_waits_for_tunnel_and_both_data_directories(tmp_path: Path) -> None:
    group_vars = yaml.safe_load((REPO / "inventories/prod/group_vars/monitoring.yml").read_text(encoding="utf-8"))
    hosts = yaml.safe_load((REPO / "inventories/prod/hosts.yml").read_text(encoding="utf-8"))
    mon = hosts["all"]["children"]["monitoring"]["hosts"]["mon-1"]
    extra = {
        "wireguard_address": mon["wireguard_address"],
        "docker_data_root": group_vars["docker_data_root"],
        "monitoring_stack_data_dir": group_vars["monitoring_stack_data_dir"],
    }
    unit = _render(tmp_path, extra)
    assert sorted(unit["RequiresMountsFor"]) == sorted([extra["monitoring_stack_data_dir"], extra["docker_data_root"]])
    assert unit["After"] == ["wg-quick@wg0.service"]
    assert unit["Wants"] == ["wg-quick@wg0.service"], "Wants= starts the tunnel too if nothing else did"


def test_the_interface_name_comes_from_the_wireguard_role_variable(tmp_path: Path) -> None:
    unit = _render(tmp_path, {"wireguard_address": "10.100.0.1", "wireguard_interface": "wg7"})
    assert unit["After"] == ["wg-quick@wg7.service"]
    assert unit["RequiresMountsFor"] == [_default_data_dir()]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="no-tunnel"),
        pytest.param(
            {"wireguard_address": "10.100.0.1", "monitoring_stack_bind_address": "127.0.0.1"}, id="bound-to-loopback"
        ),
    ],
)
def test_no_tunnel_dependency_when_the_stack_does_not_bind_to_the_tunnel(tmp_path: Path, extra: dict[str, Any]) -> None:
    unit = _render(tmp_path, extra)
    assert "After" not in unit and "Wants" not in unit, unit
    assert unit["RequiresMountsFor"] == [_default_data_dir()], "the data directory is required in every case"


def test_a_changed_dropin_reloads_systemd_and_restarts_docker() -> None:
    tasks = yaml.safe_load((ROLE / "tasks" / "docker_unit.yml").read_text(encoding="utf-8"))
    template = next(t for t in tasks if "ansible.builtin.template" in t)
    assert template["ansible.builtin.template"]["src"] == DROPIN
    assert template["ansible.builtin.template"]["dest"].startswith("/etc/systemd/system/docker.service.d/")
    handlers = yaml.safe_load((ROLE / "handlers" / "main.yml").read_text(encoding="utf-8"))
    notified = [h for h in handlers if h.get("listen") == template["notify"]]
    assert len(notified) == 1, f"one handler must listen to {template['notify']!r}"
    systemd = notified[0]["ansible.builtin.systemd_service"]
    assert systemd == {"name": "docker", "daemon_reload": True, "state": "restarted"}
    # Applied before the stack is (re)started, not at the end of the play.
    assert any(t.get("ansible.builtin.meta") == "flush_handlers" for t in tasks[tasks.index(template) :])
    main = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text(encoding="utf-8"))
    order = [t.get("ansible.builtin.include_tasks") or t.get("ansible.builtin.import_tasks") for t in main]
    assert order.index("docker_unit.yml") < order.index("compose.yml")
