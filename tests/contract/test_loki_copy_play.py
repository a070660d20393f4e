"""The automated cross-host copy of the Loki 2.9 data (ansible/playbooks/monitoring.yml,
roles/monitoring_stack/tasks/loki_legacy_copy.yml): where it runs in the play order, what its tags
select, and the parts that keep it safe (own key withdrawn after every copy, the old host's own
host key, a pull that never deletes, both sides compared). Runs for real in the Molecule scenario
loki_migration."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support import REPO, tool

PLAYBOOK = REPO / "ansible" / "playbooks" / "monitoring.yml"
TASKS = REPO / "roles" / "monitoring_stack" / "tasks" / "loki_legacy_copy.yml"
DEFAULTS = REPO / "roles" / "monitoring_stack" / "defaults" / "main.yml"
SPECS = REPO / "roles" / "monitoring_stack" / "meta" / "argument_specs.yml"


def _walk(tasks: list[dict[str, Any]], section: str = "tasks") -> list[tuple[str, dict[str, Any]]]:
    """(section, task) for every task, looking into blocks; section is block/rescue/always of the innermost."""
    found: list[tuple[str, dict[str, Any]]] = []
    for task in tasks:
        if "block" in task:
            for part in ("block", "rescue", "always"):
                found += _walk(task.get(part, []), part)
        else:
            found.append((section, task))
    return found


def _tasks() -> list[tuple[str, dict[str, Any]]]:
    return _walk(yaml.safe_load(TASKS.read_text(encoding="utf-8")))


def _using(module: str) -> list[tuple[str, dict[str, Any]]]:
    return [(section, task) for section, task in _tasks() if module in task]


def test_copy_runs_after_the_drain_and_before_the_monitoring_play() -> None:
    plays = yaml.safe_load(PLAYBOOK.read_text(encoding="utf-8"))
    names = [p["hosts"] for p in plays]
    drain = next(i for i, p in enumerate(plays) if "loki_drain" in p.get("tags", []))
    copy = next(i for i, p in enumerate(plays) if "loki_copy" in p.get("tags", []))
    stack = names.index("monitoring")
    assert drain < copy < stack
    assert plays[copy]["hosts"] == "loki_legacy" and plays[copy]["become"] is True
    include = plays[copy]["tasks"][0]["ansible.builtin.include_role"]
    assert (include["name"], include["tasks_from"]) == ("monitoring_stack", TASKS.name)


def test_tag_loki_copy_selects_the_copy_alone(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "monitoring": {"hosts": {"mon-1": {"wireguard_address": "10.100.0.1"}}},
                        "loki_legacy": {"hosts": {"old-loki": {"wireguard_address": "10.100.0.50"}}},
                    }
                }
            }
        )
    )
    proc = subprocess.run(
        [tool("ansible-playbook"), "-i", str(inventory), "--list-tasks", "--tags", "loki_copy", str(PLAYBOOK)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), NO_COLOR="1"),
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Pull, compare and withdraw the copy key" in proc.stdout
    assert "Flush, stop and check the old Loki" not in proc.stdout, "the drain is its own tag"
    # Role argument validation is tagged `always` by Ansible itself and changes nothing.
    listed = "\n".join(line for line in proc.stdout.splitlines() if "Validating arguments" not in line)
    assert "docker :" not in listed and "monitoring_stack :" not in listed


def test_copy_key_is_authorized_restricted_and_withdrawn_in_always() -> None:
    keys = _using("ansible.posix.authorized_key")
    present = [(s, t) for s, t in keys if t["ansible.posix.authorized_key"].get("state") == "present"]
    absent = [(s, t) for s, t in keys if t["ansible.posix.authorized_key"].get("state") == "absent"]
    assert len(present) == 1 and len(absent) == 1
    assert present[0][1]["ansible.posix.authorized_key"]["key_options"] == "restrict"
    assert absent[0][0] == "always", "the key is withdrawn also when the copy fails"
    assert present[0][1]["ansible.posix.authorized_key"]["key"] == absent[0][1]["ansible.posix.authorized_key"]["key"]


def test_pull_runs_on_the_monitoring_server_with_the_old_hosts_own_host_key() -> None:
    ((_, pull),) = _using("monitoring_stack_loki_pull")
    assert pull["delegate_to"] == "{{ _monitoring_stack_loki_copy_to }}"
    args = pull["monitoring_stack_loki_pull"]
    ((_, trust),) = _using("ansible.builtin.known_hosts")
    assert trust["ansible.builtin.known_hosts"]["path"] == args["known_hosts_file"]
    ((_, hostkey),) = _using("ansible.builtin.slurp")
    assert "delegate_to" not in hostkey, "the host key is read on the old host itself, not from the network"
    assert not _using("ansible.builtin.command") and not _using("ansible.builtin.shell"), "modules, no shell"


def test_both_sides_are_scanned_and_compared_after_the_pull() -> None:
    names = [t.get("name", "") for _, t in _tasks()]
    scans = [(s, t) for s, t in _using("monitoring_stack_loki_tree")]
    assert len(scans) == 2
    assert ["delegate_to" in t for _, t in scans] == [False, True], "the old host, then the monitoring server"
    ((_, pull),) = _using("monitoring_stack_loki_pull")
    assert names.index(pull["name"]) < min(names.index(t["name"]) for _, t in scans)
    compare = next(
        t for _, t in _using("ansible.builtin.assert") if "differs" in t["ansible.builtin.assert"]["fail_msg"]
    )
    assert any("digest" in cond for cond in compare["ansible.builtin.assert"]["that"])
    assert any("trees" in cond for cond in compare["ansible.builtin.assert"]["that"])


def test_every_copy_setting_is_a_documented_default_with_a_spec() -> None:
    defaults = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    specs = yaml.safe_load(SPECS.read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    readme = (REPO / "roles" / "monitoring_stack" / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"monitoring_stack_loki_legacy_\w+", TASKS.read_text(encoding="utf-8")))
    assert {"monitoring_stack_loki_legacy_copy", "monitoring_stack_loki_legacy_ssh_address"} <= used
    for name in used:
        assert name in defaults, f"{name} has no default"
        assert name in specs, f"{name} is not in meta/argument_specs.yml"
        assert f"`{name}`" in readme, f"{name} is not in the role README"
    assert specs["monitoring_stack_loki_legacy_copy"]["choices"] == ["ssh", "manual"]
