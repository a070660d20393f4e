"""The users' online CI runs the pinned upstream images and fails on a missing one (issue 12, Found 7).

The Molecule scenario of monitoring_stack chooses its images from the environment: its inventory
variables are resolved here by Ansible itself (``ansible --playbook-dir`` at the scenario, as Molecule
runs converge from there), once as the online CI runs them (OBS_UPSTREAM_IMAGES=1) and once offline.
Molecule itself is not run here (tests/integration/test_molecule.py does).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.support import REPO, tool

SCENARIO = REPO / "roles" / "monitoring_stack" / "molecule" / "default"
DEFAULTS = REPO / "roles" / "monitoring_stack" / "defaults" / "main.yml"
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
IMAGES = ("monitoring_stack_prometheus_image", "monitoring_stack_blackbox_image")
CHOSEN = ("monitoring_stack_missing_image_policy", *IMAGES)


def resolve(tmp_path: Path, upstream: bool) -> dict[str, Any]:
    """The scenario's group_vars for its host, resolved by Ansible with or without OBS_UPSTREAM_IMAGES=1."""
    molecule = yaml.safe_load((SCENARIO / "molecule.yml").read_text(encoding="utf-8"))
    group_vars = molecule["provisioner"]["inventory"]["group_vars"]["all"]
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        yaml.safe_dump({"all": {"hosts": {"stack-mon": {"ansible_connection": "local"}}}}), encoding="utf-8"
    )
    (inventory / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "OBS_UPSTREAM_IMAGES"}
    if upstream:
        env["OBS_UPSTREAM_IMAGES"] = "1"
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.json"
    proc = subprocess.run(
        [
            tool("ansible"),
            "stack-mon",
            "-i",
            str(inventory),
            "--playbook-dir",
            str(SCENARIO),
            "-m",
            "ansible.builtin.debug",
            "-a",
            "msg={{ {" + ", ".join(f"'{v}': {v}" for v in CHOSEN) + "} }}",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["stack-mon"]["msg"]
    assert isinstance(result, dict)
    return result


def test_online_molecule_runs_the_pinned_upstream_images_and_fails_on_a_missing_one(tmp_path: Path) -> None:
    pinned = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))
    chosen = resolve(tmp_path, upstream=True)
    assert chosen["monitoring_stack_missing_image_policy"] == "fail"
    for variable in IMAGES:
        assert chosen[variable] == pinned[variable], f"{variable}: online CI must run the pinned upstream image"


def test_offline_molecule_keeps_the_stand_ins_and_skips(tmp_path: Path) -> None:
    chosen = resolve(tmp_path, upstream=False)
    assert chosen["monitoring_stack_missing_image_policy"] == "skip"
    for variable in IMAGES:
        assert chosen[variable].startswith("obs/") and chosen[variable].endswith("-debian:latest"), chosen


def test_the_online_workflow_requires_the_upstream_images() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    job = workflow["jobs"]["integration"]
    assert str(job.get("env", {}).get("OBS_UPSTREAM_IMAGES")) == "1", (
        "the integration job (Molecule and the lab, registries reachable) must set OBS_UPSTREAM_IMAGES=1"
    )
    assert any("make test" in str(step.get("run", "")) for step in job["steps"])


def test_only_the_stand_ins_are_side_loaded_offline() -> None:
    """prepare.yml side-loads the Debian-built images only in the offline mode."""
    prepare = yaml.safe_load((SCENARIO / "prepare.yml").read_text(encoding="utf-8"))
    [side_load] = [t for play in prepare for t in play.get("tasks", []) if "docker save" in str(t)]
    assert side_load.get("when") == "not molecule_upstream_images | bool"
