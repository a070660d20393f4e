"""Names and addresses of the lab, defined once (docs/lab.md shows the same picture)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from obsctl import tools
from obsctl.paths import repo_root, state_dir

NETWORK = "obs-lab"
# A fixed subnet keeps the container addresses, and so the generated hosts.yml, stable.
SUBNET = "172.30.99.0/24"
LABEL = "org.obsctl.lab"
CONTAINER_PREFIX = "obs-lab-"

# Debian-built substitutes the monitoring stack uses where the upstream image cannot be pulled
# (docs/conventions.md, Local images): side-loaded into mon-1's Docker daemon.
SUBSTITUTE_RECIPES = tuple(s.recipe for s in tools.SUBSTITUTES)


@dataclass(frozen=True)
class LabHost:
    name: str
    group: str
    wireguard_address: str
    lab_ip: str
    # mon-1 runs Docker inside (the monitoring stack is a Compose project).
    docker_in_docker: bool

    @property
    def container(self) -> str:
        return CONTAINER_PREFIX + self.name

    @property
    def volume(self) -> str:
        return f"{self.container}-docker"


HOSTS: tuple[LabHost, ...] = (
    LabHost("mon-1", "monitoring", "10.100.0.1", "172.30.99.10", docker_in_docker=True),
    LabHost("app-1", "app", "10.100.0.11", "172.30.99.11", docker_in_docker=False),
)


def monitoring_host() -> LabHost:
    return next(h for h in HOSTS if h.group == "monitoring")


def lab_state() -> Path:
    """Everything the lab keeps between runs (moto pid/port, Terraform state, vault password)."""
    path = state_dir() / "lab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def inventory_dir() -> Path:
    return repo_root() / "inventories" / "lab"


def vault_file() -> Path:
    return inventory_dir() / "group_vars" / "all" / "vault.yml"


def vault_password_file() -> Path:
    return lab_state() / "vault-password"
