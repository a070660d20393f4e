"""Tasks that write a private key must not print it: `ansible-playbook --diff` shows a templated
file's whole content, and a task's result (with -v, or in a callback) shows what it wrote.

Every role task that renders a template carrying a private key must set `diff: false` and
`no_log: true`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support import REPO, ansible_tasks

# What puts a private key into a rendered file: a WireGuard PrivateKey filled in by Jinja, or a
# lookup of a key file.
SECRET = re.compile(r"PrivateKey\s*=\s*\{\{|lookup\([^)]*\.key['\"]")
TEMPLATE_MODULES = ("ansible.builtin.template", "template")


def secret_template_tasks(roles: Path) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for tasks_file in sorted(roles.glob("*/tasks/*.yml")):
        for task in ansible_tasks(yaml.safe_load(tasks_file.read_text(encoding="utf-8"))):
            if not any(m in task for m in TEMPLATE_MODULES):
                continue
            args = next(task[m] for m in TEMPLATE_MODULES if m in task)
            src = tasks_file.parent.parent / "templates" / str(args["src"])
            if src.is_file() and SECRET.search(src.read_text(encoding="utf-8")):
                found.append((tasks_file, task))
    return found


def test_the_operator_config_is_found_as_secret_bearing() -> None:
    found = {(p.parent.parent.name, t["name"]) for p, t in secret_template_tasks(REPO / "roles")}
    assert ("wireguard", "Write ready-to-import client configs for the operators") in found, found


def test_tasks_writing_private_keys_hide_them_from_diff_and_logs() -> None:
    for tasks_file, task in secret_template_tasks(REPO / "roles"):
        where = f"{tasks_file.relative_to(REPO)}: '{task['name']}'"
        assert task.get("diff") is False, f"{where} renders a private key: set `diff: false` (--diff prints it)"
        assert task.get("no_log") is True, f"{where} renders a private key: set `no_log: true`"
