"""Every role's Molecule scenarios, run as `molecule test` (create, converge, idempotence, verify, destroy).

Scenarios are discovered from roles/*/molecule/*/molecule.yml, so a new scenario is tested by existing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO, VENV_BIN, require_image, tool

BASE_IMAGE = "obs/debian12-systemd:latest"
SCENARIOS = sorted(REPO.glob("roles/*/molecule/*/molecule.yml"))


@pytest.mark.slow
@pytest.mark.parametrize("scenario_file", SCENARIOS, ids=[f"{p.parts[-4]}:{p.parts[-2]}" for p in SCENARIOS])
def test_molecule_scenario(scenario_file: Path) -> None:
    require_image(BASE_IMAGE, "build it with `make images`")
    molecule = tool("molecule")
    role_dir = scenario_file.parents[2]
    scenario = scenario_file.parent.name
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}", ANSIBLE_FORCE_COLOR="0", PY_COLORS="0")
    log = REPO / ".obs" / "logs" / f"molecule-{role_dir.name}-{scenario}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        proc = subprocess.run(
            [molecule, "test", "-s", scenario],
            cwd=role_dir,
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=3600,
        )
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-80:])
    assert proc.returncode == 0, f"molecule test failed for {role_dir.name}/{scenario} (log {log}):\n{tail}"
