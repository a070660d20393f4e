"""The lab's Docker objects: one private network and one systemd container per lab host."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from obsctl.errors import ObsError
from obsctl.images import SYSTEMD_IMAGE, image_id
from obsctl.lab.layout import GATEWAY, HOSTS, LABEL, NETWORK, SUBNET, LabHost
from obsctl.proc import run

_SYSTEMD_ARGS = ("--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw")
# --privileged fails on this kind of machine (the kernel withholds CAP_SYS_RESOURCE); this set is
# what Docker-in-Docker needs and works (shared/ENVIRONMENT.md).
_DIND_ARGS = (
    "--cap-add",
    "ALL",
    "--cap-drop",
    "SYS_RESOURCE",
    "--security-opt",
    "seccomp=unconfined",
    "--security-opt",
    "apparmor=unconfined",
)
# WireGuard runs in userspace (wireguard-go): it needs the tun device and NET_ADMIN only.
_TUN_ARGS = ("--cap-add", "NET_ADMIN", "--device", "/dev/net/tun")


def require_daemon() -> None:
    if run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=20).returncode != 0:
        raise ObsError(
            "the Docker daemon does not answer",
            fix="start it (sudo systemctl start docker; without systemd: sudo dockerd >/var/log/dockerd.log 2>&1 &)",
        )


def require_base_image() -> None:
    for image in sorted({SYSTEMD_IMAGE, *(h.image for h in HOSTS)}):
        if image_id(image) is None:
            raise ObsError(f"the lab's host image {image} is not built", fix="make images")


def ensure_network() -> bool:
    """Create the lab network if absent; True when it was created."""
    if run(["docker", "network", "inspect", NETWORK], check=False).returncode == 0:
        return False
    proc = run(
        ["docker", "network", "create", "--subnet", SUBNET, "--gateway", GATEWAY, "--label", f"{LABEL}=1", NETWORK],
        check=False,
    )
    if proc.returncode != 0:
        raise ObsError(
            f"cannot create the Docker network {NETWORK} ({SUBNET}): {proc.stderr.strip()}",
            fix=f"remove the network that overlaps {SUBNET} (docker network ls) or run `obsctl lab down`",
        )
    return True


@dataclass(frozen=True)
class ContainerState:
    exists: bool
    running: bool
    image: str = ""


def container_state(name: str) -> ContainerState:
    proc = run(["docker", "container", "inspect", name], check=False)
    if proc.returncode != 0:
        return ContainerState(exists=False, running=False)
    info = json.loads(proc.stdout)[0]
    return ContainerState(exists=True, running=bool(info["State"]["Running"]), image=str(info["Image"]))


def run_args(host: LabHost, extra: Sequence[str] = ()) -> list[str]:
    """The `docker run` command line of one lab host (pure: unit-tested); ``extra`` are further
    options (mon-1's cloud-init seed, emulator settings and data volume device)."""
    argv = [
        "docker",
        "run",
        "-d",
        "--name",
        host.container,
        "--hostname",
        host.name,
        "--network",
        NETWORK,
        "--ip",
        host.lab_ip,
        "--label",
        f"{LABEL}=1",
        *_SYSTEMD_ARGS,
    ]
    if host.docker_in_docker:
        # A named volume for the inner daemon's data: not on the container's own overlay layer.
        argv += [*_DIND_ARGS, "--device", "/dev/net/tun", "-v", f"{host.volume}:/var/lib/docker"]
    if host.group == "monitoring":
        # The hub forwards between tunnel peers (the operator reaches the spokes through it);
        # /proc/sys is read-only inside, so the namespace's forwarding is set at creation.
        argv += ["--sysctl", "net.ipv4.ip_forward=1"]
    else:
        argv += list(_TUN_ARGS)
    argv += [*extra, host.image, "/sbin/init"]
    return argv


def ensure_host(host: LabHost, extra: Sequence[str] = ()) -> str:
    """Start the host's container (create, or start a stopped one); return what was done."""
    state = container_state(host.container)
    wanted = image_id(host.image)
    if state.exists and wanted is not None and state.image != wanted:
        raise ObsError(
            f"{host.container} runs image {state.image[:19]}, not the current {host.image} ({wanted[:19]})",
            fix="`obsctl lab down` then `obsctl lab up` (a new image is a new instance: it boots its user_data)",
        )
    if state.running:
        return "running"
    if state.exists:
        run(["docker", "start", host.container], timeout=60)
        action = "started"
    else:
        run(run_args(host, extra), timeout=120)
        action = "created"
    wait_systemd(host.container)
    return action


def wait_systemd(container: str, timeout: float = 90.0) -> None:
    """Wait until systemd in the container has finished booting (running or degraded)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        proc = run(["docker", "exec", container, "systemctl", "is-system-running"], check=False, timeout=30)
        last = proc.stdout.strip()
        if last in ("running", "degraded"):
            return
        time.sleep(1)
    raise ObsError(
        f"systemd in {container} did not finish booting within {timeout:.0f}s (state: {last or 'unknown'})",
        fix=f"docker logs {container}; docker exec {container} systemctl --failed",
    )


def container_ip(container: str) -> str:
    fmt = '{{ (index .NetworkSettings.Networks "' + NETWORK + '").IPAddress }}'
    return run(["docker", "inspect", "--format", fmt, container]).stdout.strip()


def sideload_image(container: str, image: str) -> bool:
    """Copy a local image into the container's Docker daemon unless it already has that image id."""
    local = image_id(image)
    if local is None:
        raise ObsError(f"image {image} is not built on this machine", fix="make images")
    inner = run(["docker", "exec", container, "docker", "image", "inspect", "--format", "{{.Id}}", image], check=False)
    if inner.returncode == 0 and inner.stdout.strip() == local:
        return False
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    load = subprocess.run(
        ["docker", "exec", "-i", container, "docker", "load"],
        stdin=save.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    save.wait()
    if save.returncode != 0 or load.returncode != 0:
        raise ObsError(
            f"could not load {image} into {container}'s Docker daemon: {load.stderr.strip()[-300:]}",
            fix=f"docker exec {container} systemctl status docker",
        )
    return True


def lab_containers() -> list[str]:
    proc = run(["docker", "ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}"], check=False)
    return sorted(line for line in proc.stdout.split() if line)


def remove_all() -> list[str]:
    """Remove every lab container, volume and the network; return what was removed."""
    removed: list[str] = []
    for name in lab_containers():
        run(["docker", "rm", "-f", "-v", name], timeout=120)
        removed.append(f"container {name}")
    for host in HOSTS:
        if host.docker_in_docker and run(["docker", "volume", "inspect", host.volume], check=False).returncode == 0:
            run(["docker", "volume", "rm", "-f", host.volume], timeout=120)
            removed.append(f"volume {host.volume}")
    if run(["docker", "network", "inspect", NETWORK], check=False).returncode == 0:
        run(["docker", "network", "rm", NETWORK], timeout=60)
        removed.append(f"network {NETWORK}")
    return removed


def memory_usage() -> dict[str, int]:
    """Memory of each running lab container in bytes (docker stats --no-stream), plus the
    containers of mon-1's own Docker daemon as ``<container>/<inner>``: with the host's cgroup
    tree mounted, the inner daemon's cgroups are not nested under mon-1's, so its stats miss them."""
    names = lab_containers()
    if not names:
        return {}
    fmt = "{{.Name}}\t{{.MemUsage}}"
    usage = parse_stats(run(["docker", "stats", "--no-stream", "--format", fmt, *names], timeout=60).stdout)
    for host in HOSTS:
        if host.docker_in_docker and host.container in usage:
            inner = run(
                ["docker", "exec", host.container, "docker", "stats", "--no-stream", "--format", fmt],
                check=False,
                timeout=60,
            )
            if inner.returncode == 0:
                usage.update({f"{host.container}/{k}": v for k, v in parse_stats(inner.stdout).items()})
    return usage


def _children_map(proc_root: Path) -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may itself hold spaces.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _smaps_kib(path: Path, key: str) -> int:
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def process_tree_memory(container: str, proc_root: Path = Path("/proc")) -> tuple[int, int, int]:
    """(processes, RSS bytes, PSS bytes) of every process descending from the container's init.

    The lab's systemd containers see the host's cgroup tree (the proven systemd-in-Docker
    recipe here), so `docker stats` can miss processes systemd moved into its own cgroups, and
    misses mon-1's inner containers entirely; the process tree has them all. PSS splits shared
    pages between the processes that share them, so the sum is not inflated by shared libraries.
    """
    pid = int(run(["docker", "inspect", "--format", "{{.State.Pid}}", container]).stdout.strip() or 0)
    if pid <= 0:
        return 0, 0, 0
    children = _children_map(proc_root)
    todo, seen = [pid], []
    while todo:
        current = todo.pop()
        seen.append(current)
        todo.extend(children.get(current, []))
    rss = sum(_smaps_kib(proc_root / str(p) / "smaps_rollup", "Rss") for p in seen) * 1024
    pss = sum(_smaps_kib(proc_root / str(p) / "smaps_rollup", "Pss") for p in seen) * 1024
    return len(seen), rss, pss


_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "kB": 1000, "MB": 1000**2, "GB": 1000**3}


def parse_stats(text: str) -> dict[str, int]:
    """Parse `docker stats` lines `name<TAB>12.5MiB / 23.4GiB` into bytes used."""
    usage: dict[str, int] = {}
    for line in text.splitlines():
        if "\t" not in line:
            continue
        name, mem = line.split("\t", 1)
        used = mem.split("/")[0].strip()
        for unit in sorted(_UNITS, key=len, reverse=True):
            if used.endswith(unit):
                usage[name.strip()] = int(float(used[: -len(unit)]) * _UNITS[unit])
                break
    return usage
