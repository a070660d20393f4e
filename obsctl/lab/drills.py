"""Operational drills on a running lab: a reboot of the monitoring server.

``obsctl lab reboot``: ``docker restart obs-lab-mon-1`` stands for a reboot of the instance (the
container's systemd shuts down and boots again; cloud-init does not run the user_data again for
the same instance id). The drill records, before the reboot, what must survive it, then measures
the seconds until ``obsctl verify`` passes again (every Prometheus target up, tunnels handshaking)
and checks that:

* the data volume is mounted again (from the fstab line the user_data wrote) and the WireGuard
  key kept on it is unchanged;
* the same TCP listeners are back on the tunnel address;
* Prometheus still answers for a moment before the reboot with the same value (its TSDB survived).
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from obsctl import common, verify
from obsctl.errors import ObsError
from obsctl.lab import docker, secrets
from obsctl.lab.layout import inventory_dir, lab_state, monitoring_host, vault_file, vault_password_file
from obsctl.proc import run


def tunnel_listeners(ss_output: str, address: str) -> set[str]:
    """``ip:port`` of the TCP listeners on ``address`` in `ss -H -ltn` output (pure: unit-tested)."""
    found = set()
    for line in ss_output.splitlines():
        cols = line.split()
        if len(cols) >= 4 and cols[3].startswith(f"{address}:"):
            found.add(cols[3])
    return found


@dataclass
class RebootResult:
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _exec(container: str, *argv: str) -> str:
    proc = run(["docker", "exec", container, *argv], check=False, timeout=60)
    return proc.stdout if proc.returncode == 0 else ""


def _count_up_at(transport: verify.DockerTransport, moment: float) -> Any:  # noqa: ANN401 - JSON value
    query = urllib.parse.urlencode({"query": "count(up)", "time": f"{moment:.3f}"})
    code, body = transport.http(common.port("prometheus"), f"/api/v1/query?{query}")
    if code != 200:
        return None
    result = json.loads(body).get("data", {}).get("result", [])
    return result[0]["value"][1] if result else None


def reboot(echo: Callable[[str], None] = print, timeout: float = 600.0) -> RebootResult:
    mon = monitoring_host()
    hosts = verify.load_inventory(inventory_dir(), vault_password_file())
    mon_vars = next(h.vars for h in hosts if h.name == mon.name)
    tunnel = str(mon_vars["wireguard_address"])
    outputs = json.loads((lab_state() / "terraform-outputs.json").read_text(encoding="utf-8"))
    mount_point = str(outputs["data_mount_point"])
    transport = verify.DockerTransport(
        containers={h.name: str(h.vars.get("ansible_host", h.name)) for h in hosts}, monitoring_host=mon.name
    )
    if not docker.container_state(mon.container).running:
        raise ObsError(f"{mon.container} is not running", fix="obsctl lab up")
    listeners = tunnel_listeners(_exec(mon.container, "ss", "-H", "-ltn"), tunnel)
    key_before = _exec(mon.container, "sha256sum", f"{mount_point}/wireguard/wg0.key").split()[:1]
    moment = time.time() - 30
    count_before = _count_up_at(transport, moment)
    if not listeners or not key_before or count_before is None:
        raise ObsError(
            f"{mon.name} is not in a state worth rebooting (listeners on {tunnel}: {sorted(listeners)}, "
            f"key on the data volume: {bool(key_before)}, Prometheus count(up) 30 s ago: {count_before})",
            fix="obsctl lab up (and wait until verify passes)",
        )
    echo(f"before: {len(listeners)} listeners on {tunnel}, count(up)={count_before} at {moment:.0f}")
    result = RebootResult()
    start = time.monotonic()
    run(["docker", "restart", mon.container], timeout=180)
    docker.wait_systemd(mon.container, timeout=timeout)
    password = secrets.read(vault_file(), vault_password_file()).get("vault_grafana_admin_password")
    last: list[str] = []
    while time.monotonic() - start < timeout:
        report = verify.verify(hosts, transport, password)
        last = [f"{r.component} {r.check}: {r.detail}" for r in report.failed]
        if not last:
            break
        time.sleep(2)
    else:
        result.problems.append(f"verify still failing after {timeout:.0f}s: " + "; ".join(last[:5]))
    result.seconds = time.monotonic() - start
    echo(f"verify passes again {result.seconds:.1f}s after `docker restart {mon.container}`")
    mnt = _exec(mon.container, "findmnt", "-n", "-o", "SOURCE,FSTYPE", mount_point)
    if "ext4" not in mnt:
        result.problems.append(f"data volume not mounted at {mount_point} after the reboot")
    if _exec(mon.container, "sha256sum", f"{mount_point}/wireguard/wg0.key").split()[:1] != key_before:
        result.problems.append(f"the WireGuard key on {mount_point} changed or vanished")
    after = tunnel_listeners(_exec(mon.container, "ss", "-H", "-ltn"), tunnel)
    if after != listeners:
        result.problems.append(f"listeners on {tunnel}: before {sorted(listeners)}, after {sorted(after)}")
    count_after = _count_up_at(transport, moment)
    if count_after != count_before:
        result.problems.append(f"Prometheus count(up) at {moment:.0f}: before {count_before}, after {count_after}")
    result.notes = [
        f"data volume {mnt.split()[0] if mnt else '-'} on {mount_point}",
        f"{len(after)} listeners on {tunnel}",
        f"count(up) at {moment:.0f} = {count_after}",
    ]
    for line in result.notes + result.problems:
        echo(line)
    return result
