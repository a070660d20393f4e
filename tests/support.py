"""Shared helpers for tests: locating the repo and skipping, with a reason, what cannot run here."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"


def tool(name: str) -> str:
    """Path of a CLI tool, preferring the project's venv; skips the test when it is absent."""
    venv_tool = VENV_BIN / name
    if venv_tool.exists():
        return str(venv_tool)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"'{name}' is not installed here (run `make setup` / scripts/bootstrap-ci.sh)")
    return found


@functools.cache
def docker_available() -> str | None:
    """None when a Docker daemon answers, else the reason it does not."""
    if not shutil.which("docker"):
        return "docker CLI not installed"
    try:
        proc = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    return None if proc.returncode == 0 else "no Docker daemon answers (start dockerd)"


def require_docker() -> None:
    reason = docker_available()
    if reason:
        pytest.skip(reason)


def image_present(ref: str) -> bool:
    if docker_available():
        return False
    proc = subprocess.run(["docker", "image", "inspect", ref], capture_output=True, text=True, check=False)
    return proc.returncode == 0


def require_image(ref: str, why: str = "") -> None:
    require_docker()
    if not image_present(ref):
        extra = f" ({why})" if why else ""
        pytest.skip(f"image {ref} is not available on this machine{extra}")


def terraform_cli_config(scratch: Path) -> Path:
    """An offline Terraform CLI config for the local provider mirror; skips, with the reason,
    when terraform or a mirror holding hashicorp/aws is missing."""
    from obsctl.terraform import offline_cli_config  # noqa: PLC0415 - only Terraform tests need it

    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed (obsctl doctor)")
    cli_config = offline_cli_config(scratch)
    if cli_config is None:
        pytest.skip("no Terraform provider mirror with hashicorp/aws on this machine (set OBS_TF_MIRROR)")
    return cli_config
