"""`make lab` end to end: up (cold) -> up again (site.yml must report changed=0) -> verify -> down.

Runs the real thing: moto + `terraform apply`, systemd containers on a private Docker network,
ansible-playbook lab_demo.yml and site.yml, `obsctl verify`. It skips, with the reason, where this
machine cannot run it (no Docker, no base image, no Terraform or provider source).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from obsctl.doctor import terraform_mirror
from tests.support import REPO, VENV_BIN, require_docker, require_image, tool

LOG_DIR = REPO / ".obs" / "logs"


def _obsctl(*args: str, log_name: str, timeout: float = 3600) -> tuple[int, str]:
    obsctl = tool("obsctl")
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        [obsctl, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / log_name).write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return proc.returncode, proc.stdout + proc.stderr


def _require_prerequisites() -> None:
    require_docker()
    # `lab up` builds the images itself, but from scratch that takes minutes: CI builds them first.
    require_image("obs/debian12-systemd:latest", "build it with `make images`")
    tool("terraform")
    if terraform_mirror() is None and os.environ.get("OBS_LAB_ALLOW_REGISTRY") != "1":
        pytest.skip("no local mirror of hashicorp/aws (set OBS_LAB_ALLOW_REGISTRY=1 where the registry answers)")
    for needed in ("ansible/site.yml", "roles/docker/tasks/main.yml", "inventories/lab/group_vars"):
        assert (REPO / needed).exists(), f"{needed} is missing (the lab runs site.yml)"


def _containers() -> list[str]:
    proc = subprocess.run(
        ["docker", "ps", "-a", "--filter", "label=org.obsctl.lab", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.split()


@pytest.mark.slow
def test_lab_end_to_end() -> None:
    _require_prerequisites()
    try:
        code, out = _obsctl("lab", "up", "--quiet", log_name="lab-up-first.log")
        assert code == 0, f"first `obsctl lab up` failed (log .obs/logs/lab-up-first.log):\n{out[-4000:]}"
        for phase in ("terraform apply", "lab hosts", "site.yml", "verify"):
            assert f"    {phase}: " in out, f"phase {phase!r} did not run:\n{out[-2000:]}"
        assert sorted(_containers()) == ["obs-lab-app-1", "obs-lab-mon-1"]

        code, out = _obsctl("lab", "up", "--quiet", "--expect-no-changes", log_name="lab-up-warm.log")
        assert code == 0, f"second `obsctl lab up` was not idempotent or failed:\n{out[-4000:]}"
        assert "site.yml: ok=" in out
        assert "changed=0" in out.split("site.yml: ok=", 1)[1].splitlines()[0]

        code, out = _obsctl("verify", "-i", "inventories/lab", log_name="lab-verify.log")
        assert code == 0, f"`obsctl verify -i inventories/lab` found failures:\n{out}"
        assert "prometheus  targets" in out
        assert "handshakes" in out
    finally:
        code, out = _obsctl("lab", "down", log_name="lab-down.log", timeout=600)
    assert code == 0, out
    assert _containers() == []
    net = subprocess.run(["docker", "network", "inspect", "obs-lab"], capture_output=True, check=False)
    assert net.returncode != 0, "the lab network is still there after `lab down`"
    assert not (REPO / "inventories" / "lab" / "group_vars" / "all" / "vault.yml").exists()
    assert not Path(REPO / ".obs" / "lab" / "localaws.json").exists()
