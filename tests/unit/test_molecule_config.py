"""The shared Molecule config every scenario merges (molecule/config.yml, found through
.config/molecule/config.yml): guards what the scenarios rely on from it."""

from __future__ import annotations

import yaml

from tests.support import REPO

SHARED = REPO / "molecule" / "config.yml"


def test_molecule_finds_the_shared_config_at_the_repository_root() -> None:
    link = REPO / ".config" / "molecule" / "config.yml"
    assert link.resolve() == SHARED.resolve()


def test_docker_api_timeout_outlasts_removing_a_host_with_docker_inside() -> None:
    # community.docker reads DOCKER_TIMEOUT (default 60 s); destroy of the monitoring_stack host
    # (vfs copies of every inner image layer) ran past 60 s on a loaded CI machine.
    env = yaml.safe_load(SHARED.read_text(encoding="utf-8"))["provisioner"]["env"]
    assert int(env["DOCKER_TIMEOUT"]) >= 300
