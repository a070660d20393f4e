"""Terraform's instance_type and the inventory's monitoring_stack_instance_type agree, per environment,
and the type holds the memory profile the environment can enable.

Terraform: ``instance_type`` of terraform/envs/<env>.tfvars, else the variable's default in
terraform/variables.tf. Inventory: the monitoring host's ``monitoring_stack_instance_type`` as
``ansible-inventory`` resolves it, else the role's default. The memory preflight plans with that
type's MemTotal when it has no facts and names a larger type of the same family when the profile
does not fit (tests/contract/test_monitoring_stack_memory.py).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from obsctl import budget
from tests.contract.test_monitoring_stack_render import _monitoring_host
from tests.support import REPO

ENVS = ["dev", "prod", "lab"]
# The lab's monitoring host is a container on the build machine (its facts show the machine's
# memory): its instance type is Terraform's against the emulator, not a host that must hold the stack.
EMULATED = {"lab"}


def terraform_instance_type(env: str) -> str:
    tfvars = (REPO / "terraform" / "envs" / f"{env}.tfvars").read_text(encoding="utf-8")
    match = re.search(r'^instance_type\s*=\s*"([^"]+)"', tfvars, re.MULTILINE)
    if match:
        return match.group(1)
    variables = (REPO / "terraform" / "variables.tf").read_text(encoding="utf-8")
    block = re.search(r'variable "instance_type" \{(.*?)\n\}', variables, re.DOTALL)
    assert block, "terraform/variables.tf has no instance_type variable"
    default = re.search(r'^\s*default\s*=\s*"([^"]+)"', block.group(1), re.MULTILINE)
    assert default, "terraform/variables.tf: instance_type has no default"
    return default.group(1)


def inventory_hostvars(env: str) -> dict[str, Any]:
    _, hostvars = _monitoring_host(REPO / "inventories" / env)
    return hostvars


@pytest.fixture(scope="module")
def defaults() -> dict[str, Any]:
    return budget.load_defaults()


@pytest.mark.parametrize("env", ENVS)
def test_inventory_declares_terraforms_instance_type(env: str, defaults: dict[str, Any]) -> None:
    terraform = terraform_instance_type(env)
    inventory = inventory_hostvars(env).get(
        "monitoring_stack_instance_type", defaults["monitoring_stack_instance_type"]
    )
    print(f"{env}: terraform {terraform}, inventory {inventory}")
    assert inventory == terraform, (
        f"{env}: the inventory's monitoring_stack_instance_type is {inventory} but Terraform's instance_type is "
        f"{terraform}: set both to the same type"
    )
    assert terraform in defaults["monitoring_stack_instance_memtotal_mib"], (
        f"{env}: {terraform} has no planning MemTotal in monitoring_stack_instance_memtotal_mib"
    )


@pytest.mark.parametrize("env", sorted(set(ENVS) - EMULATED))
def test_instance_type_holds_every_profile_the_environment_can_enable(env: str, defaults: dict[str, Any]) -> None:
    """The bot and the reports switch on with secrets (Vault), so both are counted; Tempo and the
    analyzer as the inventory sets them."""
    hostvars = inventory_hostvars(env)
    steps = ["core"]
    if str(hostvars.get("monitoring_stack_analyzer_enabled", True)).lower() in ("true", "1", "yes"):
        steps.append("analyzer")
    steps.append("bot")
    if str(hostvars.get("monitoring_stack_tempo_enabled", False)).lower() in ("true", "1", "yes"):
        steps.append("tempo")
    steps.append("reports")
    need = budget.needed(defaults, steps)
    kind = terraform_instance_type(env)
    memtotal = defaults["monitoring_stack_instance_memtotal_mib"][kind]
    print(f"{env}: {' + '.join(steps)} needs {need} MiB; {kind} MemTotal {memtotal} MiB")
    fits = budget.smallest_instance(defaults["monitoring_stack_instance_memtotal_mib"], need, budget.family(kind))
    assert need <= memtotal, (
        f"{env}: {' + '.join(steps)} needs {need} MiB, more than {kind}'s MemTotal {memtotal} MiB; "
        f"the smallest type that holds it: {fits}"
    )
