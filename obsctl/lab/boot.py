"""mon-1 boots like the EC2 instance: Terraform's user_data through Debian's cloud-init.

The user_data is read back from the emulated EC2 API (``DescribeInstanceAttribute userData`` of
the instance ``terraform apply`` launched): the exact bytes Terraform sent, which an instance
reads from its metadata service. It is written, with a ``meta-data`` naming the instance id, into
a NoCloud seed directory that mon-1 mounts at ``/var/lib/cloud/seed/nocloud``; cloud-init's own
systemd units run it at the container's first boot, and never again for the same instance id.

The EBS data volume is a sparse file of the emulated volume's size, attached to a loop device on
this machine and passed into mon-1 as ``/dev/xvdf`` (one of the names the user_data's
data-volume script looks for); the script formats and mounts it itself.

mon-1 reaches the emulator at the lab network's gateway address; ``/etc/obs-lab/aws.env``
(mounted read-only) gives the image's ``aws`` wrapper the endpoint and test credentials, because
Debian 12's awscli has no AWS_ENDPOINT_URL (see molecule/images/debian12-cloud/aws).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from obsctl.errors import ObsError
from obsctl.lab.layout import DATA_DEVICE, LabHost, host_state
from obsctl.localaws import LocalAws
from obsctl.proc import run

SEED_MOUNT = "/var/lib/cloud/seed/nocloud"
AWS_ENV_MOUNT = "/etc/obs-lab"


@dataclass(frozen=True)
class BootFiles:
    seed: Path
    aws_dir: Path
    data_image: Path


def files(host: LabHost) -> BootFiles:
    base = host_state(host)
    return BootFiles(seed=base / "seed", aws_dir=base / "aws", data_image=base / "data-volume.img")


def instance_user_data(aws: LocalAws, instance_id: str) -> str:
    """The user_data the emulated EC2 instance was launched with (what IMDS would serve)."""
    reply = aws.client("ec2").describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    encoded = reply.get("UserData", {}).get("Value")
    if not encoded:
        raise ObsError(
            f"instance {instance_id} in the local AWS emulator has no userData",
            fix="check terraform/compute.tf (aws_instance.monitoring.user_data) and re-run `obsctl lab up`",
        )
    return base64.b64decode(encoded).decode("utf-8")


def volume_size_gib(aws: LocalAws, volume_id: str) -> int:
    """Size of the emulated EBS data volume (Terraform's data_volume_size, as AWS reports it)."""
    volumes = aws.client("ec2").describe_volumes(VolumeIds=[volume_id]).get("Volumes", [])
    if not volumes:
        raise ObsError(f"data volume {volume_id} is not in the local AWS emulator", fix="re-run `obsctl lab up`")
    return int(volumes[0]["Size"])


def meta_data(instance_id: str, hostname: str) -> str:
    """NoCloud meta-data: cloud-init runs the user_data once per instance id (pure: unit-tested)."""
    return f"instance-id: {instance_id}\nlocal-hostname: {hostname}\n"


def aws_env(endpoint: str, region: str) -> str:
    """What the image's aws wrapper sources (pure: unit-tested); moto accepts any credentials."""
    return (
        "# Written by `obsctl lab up`: the local AWS emulator as seen from the lab network.\n"
        f"AWS_LAB_ENDPOINT_URL={endpoint}\n"
        f"AWS_DEFAULT_REGION={region}\n"
        "AWS_ACCESS_KEY_ID=test\n"
        "AWS_SECRET_ACCESS_KEY=test\n"
    )


def _write(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def write_seed(host: LabHost, user_data: str, instance_id: str, aws: LocalAws) -> bool:
    """Write the NoCloud seed and the emulator settings; True when anything changed."""
    f = files(host)
    changed = _write(f.seed / "user-data", user_data)
    changed |= _write(f.seed / "meta-data", meta_data(instance_id, host.name))
    changed |= _write(f.aws_dir / "aws.env", aws_env(aws.endpoint, aws.region))
    return changed


def loop_device(image: Path) -> str | None:
    """The loop device this machine has attached to ``image``, if any."""
    proc = run(["losetup", "--associated", str(image)], check=False)
    match = re.match(r"^(/dev/loop\d+):", proc.stdout.strip())
    return match.group(1) if match else None


def ensure_data_volume(host: LabHost, size_gib: int) -> str:
    """A sparse file of the volume's size on a loop device (attached once); returns the device."""
    image = files(host).data_image
    if not image.exists():
        with image.open("wb") as fh:
            fh.truncate(size_gib * 2**30)
    device = loop_device(image)
    if device is not None:
        return device
    proc = run(["losetup", "--find", "--show", str(image)], check=False)
    if proc.returncode != 0:
        raise ObsError(
            f"cannot attach {image} to a loop device: {proc.stderr.strip()}",
            fix="the lab needs root and loop devices (/dev/loop-control) for mon-1's data volume",
        )
    return proc.stdout.strip()


def detach_data_volume(host: LabHost) -> str | None:
    image = files(host).data_image
    device = loop_device(image) if image.exists() else None
    if device is not None:
        run(["losetup", "--detach", device], check=False)
    return device


def run_extra(host: LabHost, device: str) -> list[str]:
    """The `docker run` options that make mon-1 an instance booting its user_data (pure)."""
    f = files(host)
    return [
        "-v",
        f"{f.seed}:{SEED_MOUNT}:ro",
        "-v",
        f"{f.aws_dir}:{AWS_ENV_MOUNT}:ro",
        # Under the name the user_data looks for, and under its own name: libblkid finds the
        # filesystem UUID in /etc/fstab by scanning /proc/partitions (there is no udev here).
        "--device",
        f"{device}:{DATA_DEVICE}",
        "--device",
        device,
    ]


def wait_cloud_init(container: str, timeout: float = 900.0) -> str:
    """Wait for cloud-init to finish; its final status ('done'), or an error naming the cause."""
    proc = run(["docker", "exec", container, "cloud-init", "status", "--wait", "--long"], check=False, timeout=timeout)
    status = re.search(r"^status:\s*(\S+)", proc.stdout, re.MULTILINE)
    value = status.group(1) if status else "unknown"
    if value != "done":
        raise ObsError(
            f"cloud-init on {container} ended with status {value!r}:\n{proc.stdout.strip()[-1500:]}",
            fix=f"docker exec {container} cat /var/log/cloud-init-output.log",
        )
    return value


def check_instance(container: str, aws: LocalAws, outputs: dict[str, object]) -> list[str]:
    """What the user_data must have done on mon-1, checked against Terraform's outputs and the
    emulator: the data volume mounted, wg0 up on the tunnel address, the key published to SSM."""
    mount_point = str(outputs["data_mount_point"])
    tunnel = str(outputs["monitoring_tunnel_address"])
    parameter = str(outputs["wireguard_public_key_parameter"])
    problems: list[str] = []
    notes: list[str] = []
    mnt = run(["docker", "exec", container, "findmnt", "-n", "-o", "SOURCE,FSTYPE", mount_point], check=False)
    if mnt.returncode != 0 or "ext4" not in mnt.stdout:
        problems.append(f"data volume not mounted at {mount_point} ({mnt.stdout.strip() or 'no mount'})")
    else:
        notes.append(f"{mount_point} on {mnt.stdout.split()[0]}")
    addr = run(["docker", "exec", container, "ip", "-4", "-o", "addr", "show", "dev", "wg0"], check=False)
    if f" {tunnel}/" not in addr.stdout:
        problems.append(f"wg0 does not carry {tunnel} ({addr.stdout.strip() or addr.stderr.strip()})")
    else:
        notes.append(f"wg0 {tunnel}")
    key = run(["docker", "exec", container, "wg", "show", "wg0", "public-key"], check=False).stdout.strip()
    try:
        published = str(aws.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"])
    except Exception as exc:  # botocore raises per-service exception classes
        published = f"<{exc.__class__.__name__}>"
    if not key or published != key:
        problems.append(f"SSM {parameter} holds {published!r}, wg0's public key is {key!r}")
    else:
        notes.append(f"public key in SSM {parameter}")
    if problems:
        raise ObsError(
            f"{container} did not come up as its user_data says: " + "; ".join(problems),
            fix=f"docker exec {container} cat /var/log/cloud-init-output.log",
        )
    return notes
