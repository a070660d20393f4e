"""Names and addresses of the lab, defined once (docs/lab.md shows the same picture)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from obsctl import tools
from obsctl.images import IMAGE_PREFIX
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
# The app hosts' image: the systemd base plus sshd and an `admin` login with sudo, standing for
# the customer's existing server (an app host is never built by Terraform).
APP_RECIPE = "debian12-ssh"
# The block device the EBS data volume appears as: one of the names Terraform's data-volume
# script (terraform/templates/data-volume.sh.tftpl) looks for; the lab maps a loop device there.
DATA_DEVICE = "/dev/xvdf"

# The control node (this machine) is an operator peer of the tunnel, as an operator's laptop is in
# prod: its userspace WireGuard interface, its tunnel address (the operator peer's address in
# terraform/envs/lab.tfvars, unit-tested) and its peer name. Ansible logs in as ADMIN_USER, the
# login cloud-init authorizes on the monitoring server (the AMI's default user) and the app
# image has.
OPERATOR_INTERFACE = "obslab0"
OPERATOR_NAME = "lab-operator"
OPERATOR_ADDRESS = "10.100.0.200"
ADMIN_USER = "admin"
# Where the app image's sshd also reads authorized keys (molecule/images/debian12-ssh): the lab
# mounts the admin key there at container creation.
AUTHORIZED_KEYS_DIR = "/etc/ssh/authorized_keys"


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
        return f"{IMAGE_PREFIX}/{CLOUD_RECIPE if self.cloud_init else APP_RECIPE}:latest"

    @property
    def first_contact(self) -> bool:
        """Reached at its address on the lab network until the wireguard play joins it (an app
        host); the monitoring server is on the tunnel from its first boot (cloud-init)."""
        return not self.cloud_init


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


def access_dir() -> Path:
    """The lab's access keys (operator WireGuard key, admin SSH key, known_hosts), mode 0700."""
    path = lab_state() / "access"
    path.mkdir(mode=0o700, exist_ok=True)
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
