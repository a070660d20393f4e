"""How Ansible runs: Mitogen's strategy through the repository's shim, its fallback, and the
controller-side tasks that must not `sudo` on the operator's machine.

- ansible.cfg selects `mitogen_linear` (ansible/plugins/strategy/mitogen_linear.py): checked by
  running `mitogen_get_stack`, an action only Mitogen's strategy provides.
- Without an importable Mitogen the shim warns and runs Ansible's own linear strategy: checked by
  hiding Mitogen behind a package that raises ImportError (a test double, named so).
- Every inventory sets `ansible_become: true` for all hosts, and Ansible's implicit localhost takes
  the `all` group's variables too. A connection variable overrides the `become` keyword, so a
  task delegated to the controller with only `become: false` still runs under sudo there (an
  operator's laptop asks for a password, or fails). Those tasks set the variable instead; a
  real run shows the keyword losing and the variable winning, under both strategies.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import REPO, ansible_tasks, tool

CONTROLLER = {"localhost", "127.0.0.1"}
SHIM = REPO / "ansible" / "plugins" / "strategy" / "mitogen_linear.py"


def _run_ansible(
    args: list[str], cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    env.pop("ANSIBLE_STRATEGY", None)
    env.update(extra_env or {})
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300)


def _local_inventory(tmp_path: Path) -> Path:
    """One local host whose group `all` becomes root, like inventories/{prod,dev,lab}."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "vars": {"ansible_become": True, "ansible_python_interpreter": sys.executable},
                    "hosts": {"target": {"ansible_connection": "local"}},
                }
            }
        )
    )
    return inventory


def test_ansible_cfg_runs_mitogen_through_the_shim(tmp_path: Path) -> None:
    result = _run_ansible(
        [tool("ansible"), "target", "-i", str(_local_inventory(tmp_path)), "-m", "mitogen_get_stack",
         "-e", "ansible_become=false"],
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "method: local" in result.stdout, result.stdout
    assert "Mitogen cannot be imported" not in result.stderr + result.stdout


def test_without_mitogen_the_shim_warns_and_runs_linear(tmp_path: Path) -> None:
    double = tmp_path / "hidden" / "ansible_mitogen"
    double.mkdir(parents=True)
    (double / "__init__.py").write_text('raise ImportError("test double: Mitogen hidden")\n')
    inventory = str(_local_inventory(tmp_path))
    extra = {"PYTHONPATH": f"{double.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    ping = _run_ansible(
        [tool("ansible"), "target", "-i", inventory, "-m", "ansible.builtin.ping", "-e", "ansible_become=false"],
        cwd=tmp_path, extra_env=extra,
    )  # fmt: skip
    assert ping.returncode == 0, ping.stdout + ping.stderr
    assert "Mitogen cannot be imported (test double: Mitogen hidden)" in ping.stderr + ping.stdout
    assert "pip install -r requirements.txt" in ping.stderr + ping.stdout
    # ... and the run really is Ansible's linear strategy: Mitogen's own action does not exist there.
    stack = _run_ansible(
        [tool("ansible"), "target", "-i", inventory, "-m", "mitogen_get_stack", "-e", "ansible_become=false"],
        cwd=tmp_path, extra_env=extra,
    )  # fmt: skip
    assert stack.returncode != 0
    assert "mitogen_get_stack" in stack.stdout + stack.stderr


@pytest.mark.parametrize("strategy", ["mitogen_linear", "linear"])
def test_a_controller_task_escapes_become_only_through_the_variable(tmp_path: Path, strategy: str) -> None:
    playbook = tmp_path / "controller.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Controller tasks under an inventory that becomes root",
                    "hosts": "target",
                    "gather_facts": False,
                    "tasks": [
                        {"name": "keyword", "ansible.builtin.command": "id -un", "delegate_to": "localhost",
                         "become": False, "changed_when": False, "ignore_errors": True, "register": "by_keyword"},
                        {"name": "variable", "ansible.builtin.command": "id -un", "delegate_to": "localhost",
                         "vars": {"ansible_become": False}, "changed_when": False, "register": "by_variable"},
                        {"name": "report", "ansible.builtin.debug": {"msg": (
                            "keyword-failed={{ by_keyword is failed }} variable-failed={{ by_variable is failed }}")}},
                    ],
                }
            ]
        )
    )  # fmt: skip
    result = _run_ansible(
        [tool("ansible-playbook"), "-i", str(_local_inventory(tmp_path)), str(playbook)],
        cwd=tmp_path,
        # Become even as the same user, through a sudo that does not exist: any task that still
        # becomes fails, whoever runs the tests.
        extra_env={"ANSIBLE_STRATEGY": strategy, "ANSIBLE_BECOME_ALLOW_SAME_USER": "true",
                   "ANSIBLE_BECOME_EXE": str(tmp_path / "no-such-sudo")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "keyword-failed=True variable-failed=False" in result.stdout, result.stdout


def _task_files() -> list[Path]:
    patterns = ("roles/*/tasks/*.yml", "roles/*/handlers/*.yml", "ansible/playbooks/*.yml", "ansible/tasks/*.yml")
    return sorted(path for pattern in patterns for path in REPO.glob(pattern))


def test_task_files_are_found() -> None:
    files = _task_files()
    assert len(files) > 20
    tasks = [task for path in files for task in ansible_tasks(yaml.safe_load(path.read_text()))]
    assert sum(1 for task in tasks if task.get("delegate_to")) >= 5


@pytest.mark.parametrize("path", _task_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_tasks_on_the_controller_do_not_become(path: Path) -> None:
    wrong = [
        task.get("name", "?")
        for task in ansible_tasks(yaml.safe_load(path.read_text()))
        if str(task.get("delegate_to", "")) in CONTROLLER
        and (task.get("vars") or {}).get("ansible_become") is not False
    ]
    assert not wrong, (
        f"{path.relative_to(REPO)}: tasks delegated to the controller without `vars: {{ansible_become: false}}` "
        f"(the `become` keyword loses to the inventory's ansible_become): {wrong}"
    )


class _SpecDouble:
    """Test double of Mitogen's connection spec: only the ssh args the wrapper reads."""

    def __init__(self, args: list[str]) -> None:
        self._args = args

    def ssh_args(self) -> list[str]:
        return self._args


@pytest.mark.parametrize(
    ("ssh_args", "mode"),
    [
        (["-o", "ControlMaster=auto", "-o", "StrictHostKeyChecking=accept-new"], "accept"),  # the lab's inventory
        (["-oStrictHostKeyChecking accept-new"], "accept"),
        (["-o", "StrictHostKeyChecking=yes"], "enforce"),
        (["-o", "ControlPersist=30m"], "enforce"),  # prod without the option: Mitogen's own default
        ([], "enforce"),
    ],
)
def test_the_shim_keeps_an_inventorys_accept_new_under_mitogen(ssh_args: list[str], mode: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "obs_mitogen_linear", REPO / "ansible/plugins/strategy/mitogen_linear.py"
    )
    assert spec is not None and spec.loader is not None
    shim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shim)
    import ansible_mitogen.connection  # noqa: PLC0415 - after the shim patched it

    def mitogen_default(_spec: object) -> dict[str, Any]:  # Mitogen's answer with host_key_checking on
        return {"method": "ssh", "kwargs": {"check_host_keys": "enforce"}}

    assert ansible_mitogen.connection.CONNECTION_METHOD["ssh"].__name__ == "connect_ssh"
    wrapped = shim._host_keys_as_the_inventory_says(mitogen_default)
    assert wrapped(_SpecDouble(ssh_args))["kwargs"]["check_host_keys"] == mode


@pytest.mark.parametrize("path", _task_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_conditional_reset_connection(path: Path) -> None:
    """Ansible ignores `when` on `meta: reset_connection` (it warns and resets every host): a
    conditional reset goes through an include (ansible/tasks/drop_connection.yml)."""
    wrong = [
        task.get("name", "?")
        for task in ansible_tasks(yaml.safe_load(path.read_text()))
        if task.get("ansible.builtin.meta", task.get("meta")) == "reset_connection" and "when" in task
    ]
    assert not wrong, f"{path.relative_to(REPO)}: `when` on meta reset_connection is ignored: {wrong}"
