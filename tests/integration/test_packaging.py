"""`pip install .` into a clean venv gives a working `obsctl` with only the declared dependencies.

The CI workflow of docs/annotations.md installs the package this way, without requirements.txt:
every subcommand's --help and `annotate --dry-run` must run there, and a command whose optional
extra is absent must say which extra to install (exit 2) instead of a traceback. PyPI must answer
(it does on this project's machines); the test skips with that reason when it does not.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from obsctl.cli import command_names
from tests.support import REPO

pytestmark = pytest.mark.slow

PIP_TIMEOUT = 900


@pytest.fixture(scope="module")
def clean_obsctl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `obsctl` script of a fresh venv where only `pip install <a copy of the repo's package>` ran."""
    root = tmp_path_factory.mktemp("packaging")
    src = root / "src"
    src.mkdir()
    # A copy, so the build leaves no egg-info or build/ in the checkout.
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "obsctl", src / "obsctl", ignore=shutil.ignore_patterns("__pycache__"))
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    proc = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(src)],
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT,
        check=False,
    )
    if proc.returncode != 0 and ("Could not find a version" in proc.stderr or "NewConnectionError" in proc.stderr):
        pytest.skip(f"PyPI does not answer here: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    return env_dir / "bin" / "obsctl"


def _run(obsctl: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(obsctl), *args], capture_output=True, text=True, timeout=120, check=False, cwd=obsctl.parent
    )


def test_the_installed_package_has_every_command_and_none_of_the_test_code(clean_obsctl: Path) -> None:
    python = clean_obsctl.parent / "python"
    probe = (
        "import importlib.metadata as m, json, obsctl.cli as c;"
        "print(json.dumps([c.command_names(), [str(f) for f in m.files('obsctl') or []]]))"
    )
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=120, check=True, cwd=clean_obsctl.parent
    ).stdout
    names, files = json.loads(out)
    assert names == command_names()
    assert any(f.startswith("obsctl/clients/") for f in files), files
    strays = [f for f in files if not f.startswith(("obsctl/", "obsctl-", "../../../bin/obsctl"))]
    assert not strays, f"installed beside the obsctl package: {strays}"


@pytest.mark.parametrize("command", command_names())
def test_every_subcommand_help_runs_without_the_dev_requirements(clean_obsctl: Path, command: str) -> None:
    proc = _run(clean_obsctl, command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert f"usage: obsctl {command}" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_annotate_dry_run_prints_the_request(clean_obsctl: Path) -> None:
    proc = _run(
        clean_obsctl,
        "annotate", "--grafana-url", "http://grafana.invalid:3000", "--service", "chat", "--version", "1.4.2",
        "--commit", "abc123", "--dry-run",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "would POST to http://grafana.invalid:3000/api/annotations" in proc.stdout
    assert '"chat"' in proc.stdout and '"1.4.2"' in proc.stdout


def test_a_missing_optional_extra_names_the_extra_instead_of_a_traceback(clean_obsctl: Path) -> None:
    proc = _run(clean_obsctl, "dashboards", "build", "--check")
    assert proc.returncode == 2
    assert "obsctl[dashboards]" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_clean_venv_is_not_the_project_venv(clean_obsctl: Path) -> None:
    # Guards the fixture itself: a venv that inherited site-packages would hide a missing dependency.
    cfg = (clean_obsctl.parent.parent / "pyvenv.cfg").read_text(encoding="utf-8")
    assert "include-system-site-packages = false" in cfg
    assert Path(sys.prefix) != clean_obsctl.parent.parent
