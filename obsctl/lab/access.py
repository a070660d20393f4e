"""How this machine gets into the lab: as an operator peer of the tunnel, with an admin SSH key.

The production road (docs/decisions/0005 and 0008): Terraform hands cloud-init the admins' SSH
public keys and the operators' WireGuard public keys; the operator reads the server's WireGuard
public key from the SSM parameter cloud-init published, brings up a WireGuard client, and Ansible
logs in over SSH at the tunnel addresses. The lab does exactly that with keys it generates per
lab (``.obs/lab/access/``, mode 0700, removed by `obsctl lab down`):

* ``operator.key`` -- the operator peer's WireGuard private key (``wg genkey``);
* ``id_ed25519`` -- the admin SSH key (``ssh-keygen -t ed25519``);
* ``known_hosts`` -- the lab hosts' SSH host keys, accepted on first use;
* ``obslab0.conf`` -- the wg-quick config of this machine's userspace interface (wireguard-go:
  the kernel here has no WireGuard module).

Only the public halves go to `terraform apply` (as variables overriding the discarded
placeholders of envs/lab.tfvars). The endpoint is mon-1's address on the lab network, standing
for the Elastic IP (moto's is not routable).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from obsctl.errors import ObsError
from obsctl.lab.layout import (
    ADMIN_USER,
    OPERATOR_ADDRESS,
    OPERATOR_INTERFACE,
    OPERATOR_NAME,
    access_dir,
    monitoring_host,
)
from obsctl.localaws import LocalAws
from obsctl.proc import run

SSH_KEY = "id_ed25519"
WG_KEY = "operator.key"
WG_PUBLIC_KEY = "operator.pub"
KNOWN_HOSTS = "known_hosts"
KEEPALIVE = 25
_WG_KEY_RE = re.compile(r"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$")


@dataclass(frozen=True)
class Keys:
    ssh_private: Path
    ssh_public: str
    wg_private: Path
    wg_public: str


def _tool(name: str, package: str) -> None:
    if run(["sh", "-c", f"command -v {name}"], check=False).returncode != 0:
        raise ObsError(
            f"{name} is not installed on this machine: the lab's control node joins the tunnel as an operator",
            fix=f"sudo apt-get install -y --no-install-recommends {package} (see `obsctl doctor`)",
        )


def ensure_keys(directory: Path | None = None) -> Keys:
    """The lab's operator WireGuard key and admin SSH key: generated once per lab, then reused."""
    base = directory or access_dir()
    ssh_private = base / SSH_KEY
    if not ssh_private.exists():
        _tool("ssh-keygen", "openssh-client")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "obs-lab-admin", "-f", str(ssh_private)])
    ssh_public = ssh_private.with_suffix(".pub").read_text(encoding="utf-8").strip()
    wg_private = base / WG_KEY
    if not wg_private.exists():
        _tool("wg", "wireguard-tools")
        key = run(["wg", "genkey"]).stdout.strip()
        fd = os.open(wg_private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
    wg_public = run(["wg", "pubkey"], input_text=wg_private.read_text(encoding="utf-8")).stdout.strip()
    public_file = base / WG_PUBLIC_KEY
    if not public_file.exists() or public_file.read_text(encoding="utf-8").strip() != wg_public:
        public_file.write_text(wg_public + "\n", encoding="utf-8")
    return Keys(ssh_private, ssh_public, wg_private, wg_public)


def terraform_variables(keys: Keys) -> dict[str, Any]:
    """The public halves for `terraform apply` (pure: unit-tested); they override the discarded
    placeholders of envs/lab.tfvars, so cloud-init authorizes the key and puts the peer in wg0."""
    return {
        "admin_ssh_public_keys": [keys.ssh_public],
        "wireguard_operator_peers": [
            {"name": OPERATOR_NAME, "public_key": keys.wg_public, "address": OPERATOR_ADDRESS}
        ],
    }


def operator_peer(keys: Keys) -> dict[str, str]:
    """The same operator peer for the wireguard role (hosts.yml), so site.yml keeps it in wg0."""
    return {"name": OPERATOR_NAME, "address": OPERATOR_ADDRESS, "public_key": keys.wg_public}


def hub_public_key(aws: LocalAws, parameter: str) -> str:
    """mon-1's WireGuard public key from the SSM parameter cloud-init wrote, as an operator reads
    it (`aws ssm get-parameter`): never from the host itself."""
    try:
        value = str(aws.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"]).strip()
    except Exception as exc:  # botocore raises per-service exception classes
        raise ObsError(
            f"cannot read the hub's WireGuard public key from SSM {parameter}: {exc.__class__.__name__}",
            fix="check cloud-init on mon-1 (docker exec obs-lab-mon-1 cat /var/log/cloud-init-output.log)",
        ) from None
    if not _WG_KEY_RE.match(value):
        raise ObsError(f"SSM {parameter} holds {value!r}, not a WireGuard public key", fix="re-run `obsctl lab up`")
    return value


def tunnel_config(  # noqa: PLR0917 - one argument per line of the config
    private_key: str, address: str, prefix: int, hub_key: str, endpoint: str, network: str
) -> str:
    """wg-quick config of this machine's operator interface (pure: unit-tested); the same shape
    as the client config the wireguard role writes for an operator (operator.conf.j2)."""
    return (
        "# Written by `obsctl lab up`: this machine as the lab's operator peer (removed by `lab down`).\n"
        "[Interface]\n"
        f"Address = {address}/{prefix}\n"
        f"PrivateKey = {private_key}\n"
        "\n[Peer]\n"
        "# hub mon-1 (public key from SSM; endpoint = its lab-network address, standing for the EIP)\n"
        f"PublicKey = {hub_key}\n"
        f"Endpoint = {endpoint}\n"
        f"AllowedIPs = {network}\n"
        f"PersistentKeepalive = {KEEPALIVE}\n"
    )


def config_path() -> Path:
    return access_dir() / f"{OPERATOR_INTERFACE}.conf"


def interface_up() -> bool:
    return run(["ip", "link", "show", "dev", OPERATOR_INTERFACE], check=False).returncode == 0


def _running_peer() -> tuple[str, str]:
    """(public key, endpoint) of the running interface's peer, empty when none."""
    proc = run(["wg", "show", OPERATOR_INTERFACE, "endpoints"], check=False)
    fields = proc.stdout.split()
    return (fields[0], fields[1]) if proc.returncode == 0 and len(fields) >= 2 else ("", "")


def ensure_tunnel(keys: Keys, aws: LocalAws, outputs: dict[str, Any]) -> str:
    """This machine's operator interface, up with mon-1 as its peer; reused when it already is."""
    _tool("wg-quick", "wireguard-tools")
    network = str(outputs["wireguard_network"])
    endpoint = f"{monitoring_host().lab_ip}:{outputs['wireguard_port']}"
    hub_key = hub_public_key(aws, str(outputs["wireguard_public_key_parameter"]))
    text = tunnel_config(
        keys.wg_private.read_text(encoding="utf-8").strip(),
        OPERATOR_ADDRESS,
        int(network.split("/")[1]),
        hub_key,
        endpoint,
        network,
    )
    path = config_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    if interface_up():
        if _running_peer() == (hub_key, endpoint):
            return "reused"
        remove_tunnel()
    # wg-quick falls back to wireguard-go when the kernel has no WireGuard module.
    proc = run(["wg-quick", "up", str(path)], check=False, timeout=60)
    if proc.returncode != 0:
        raise ObsError(
            f"cannot bring up {OPERATOR_INTERFACE}: {proc.stderr.strip()[-400:]}",
            fix="needs root, /dev/net/tun and wireguard-go (`obsctl doctor`)",
        )
    return "up"


def remove_tunnel() -> bool:
    """Take this machine's operator interface down; True when there was one."""
    if not interface_up():
        return False
    path = config_path()
    if path.exists():
        run(["wg-quick", "down", str(path)], check=False, timeout=60)
    if interface_up():
        run(["ip", "link", "delete", "dev", OPERATOR_INTERFACE], check=False)
    return True


def wait_ssh(address: str, keys: Keys, timeout: float = 120.0) -> float:
    """Seconds until ``admin`` logs in over SSH at ``address`` (a tunnel address) with the lab key."""
    start = time.monotonic()
    last = ""
    while time.monotonic() - start < timeout:
        proc = run(
            [*ssh_base(keys), f"{ADMIN_USER}@{address}", "true"],
            check=False,
            timeout=30,
        )
        if proc.returncode == 0:
            return time.monotonic() - start
        last = proc.stderr.strip()[-300:]
        time.sleep(2)
    raise ObsError(
        f"no SSH login as {ADMIN_USER}@{address} through {OPERATOR_INTERFACE} within {timeout:.0f}s: {last}",
        fix=f"wg show {OPERATOR_INTERFACE}; docker exec obs-lab-mon-1 wg show wg0 (is the operator peer there?)",
    )


def ssh_base(keys: Keys) -> list[str]:
    """ssh with the lab's key and known_hosts (host keys accepted on first use, then pinned)."""
    return [
        "ssh",
        "-i",
        str(keys.ssh_private),
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=5",
        "-o",
        "IdentitiesOnly=yes",
        *known_hosts_options(keys.ssh_private.parent / KNOWN_HOSTS),
    ]


def known_hosts_options(path: Path | str) -> list[str]:
    return ["-o", f"UserKnownHostsFile={path}", "-o", "StrictHostKeyChecking=accept-new"]
