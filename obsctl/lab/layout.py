"""Names and addresses of the lab, defined once (docs/lab.md shows the same picture)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from obsctl import tools
from obsctl.images import IMAGE_PREFIX, SYSTEMD_IMAGE
from obsctl.paths import repo_root, state_dir

NETWORK = "obs-lab"
# A fixed subnet keeps the container addresses, and so the generated hosts.yml, stable.
SUBNET = "172.30.99.0/24"
# The bridge's own address (set explicitly at `docker network create`): the local AWS emulator
# listens here, so mon-1 reaches the emulated AWS API the way an instance reaches AWS.
GATEWAY = str(next(ipaddress.ip_network(SUBNET).hosts()))
LABEL = "org.obsctl.lab"
CONTAINER_PREFIX = "obs-lab-"

# Debian-built substitutes the monitoring stack uses where the upstream image cannot be pulled
# (docs/conventions.md, Local images): side-loaded into mon-1's Docker daemon.
SUBSTITUTE_RECIPES = tuple(s.recipe for s in tools.SUBSTITUTES)
# The monitoring server's image: Debian 12 + cloud-init + openssh-server (molecule/images/).
CLOUD_RECIPE = "debian12-cloud"
# The block device the EBS data volume appears as: one of the names Terraform's data-volume
# script (terraform/templates/data-volume.sh.tftpl) looks for; the lab maps a loop device there.
DATA_DEVICE = "/dev/xvdf"


@dataclass(frozen=True)
class LabHost:
    name: str
    group: str
    wireguard_address: str
    lab_ip: str
    # mon-1 runs Docker inside (the monitoring stack is a Compose project).
    docker_in_docker: bool
    # Boots Terraform's user_data with cloud-init (NoCloud seed) from the lab's "AMI" image, with
    # a loop device standing in for the EBS data volume.
    cloud_init: bool = False

    @property
    def container(self) -> str:
        return CONTAINER_PREFIX + self.name

    @property
    def volume(self) -> str:
        return f"{self.container}-docker"

    @property
    def image(self) -> str:
        return f"{IMAGE_PREFIX}/{CLOUD_RECIPE}:latest" if self.cloud_init else SYSTEMD_IMAGE


HOSTS: tuple[LabHost, ...] = (
    LabHost("mon-1", "monitoring", "10.100.0.1", "172.30.99.10", docker_in_docker=True, cloud_init=True),
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


def host_state(host: LabHost) -> Path:
    """Per-host files on this machine: cloud-init seed, emulator settings, data volume image."""
    path = lab_state() / host.name
    path.mkdir(parents=True, exist_ok=True)
    return path
