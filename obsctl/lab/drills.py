"""Operational drills on a running lab: a reboot of the monitoring server, and the second day.

``obsctl lab reboot``: ``docker restart obs-lab-mon-1`` stands for a reboot of the instance (the
container's systemd shuts down and boots again; cloud-init does not run the user_data again for
the same instance id). The drill records, before the reboot, what must survive it, then measures
the seconds until ``obsctl verify`` passes again (every Prometheus target up, tunnels handshaking)
and checks that:

* the data volume is mounted again (from the fstab line the user_data wrote) and the WireGuard
  key kept on it is unchanged;
* the same TCP listeners are back on the tunnel address;
* Prometheus still answers for a moment before the reboot with the same value (its TSDB survived).

``obsctl lab second-day``: site.yml again with every host's clock one day ahead, expecting
changed=0. The clock is shifted for what Ansible runs on the hosts (its modules and every command
they start, e.g. apt): ``ansible_python_interpreter`` points at a small wrapper the drill installs
on each lab host, ``exec env LD_PRELOAD=<Debian's libfaketime> FAKETIME=+1d /usr/bin/python3``
(ansible-core 2.19 takes the interpreter as one path, so the preload cannot go inline), through
``obs_lab_python_interpreter`` (inventories/lab/group_vars/all/connection.yml), so that tasks
delegated to this machine keep its own Python.
Time-based decisions on the hosts (apt's cache_valid_time, file ages, certificate lifetimes) then
see tomorrow. The containers' init and
daemons keep the real clock (the kernel's clock is shared with this machine).
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
from obsctl.lab import docker, orchestrate, recap, secrets
from obsctl.lab.layout import HOSTS, inventory_dir, lab_state, monitoring_host, vault_file, vault_password_file
from obsctl.paths import repo_root
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


def _count_up_at(transport: verify.Transport, moment: float) -> Any:  # noqa: ANN401 - JSON value
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
    # verify's view, as in prod: HTTP to the tunnel address, host commands over SSH through the
    # tunnel (this machine's operator interface stays up while mon-1 reboots).
    transport = orchestrate.tunnel_transport(hosts)
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


FAKETIME_PACKAGE = "libfaketime"
SECOND_DAY_OFFSET = "+1d"
_DAY = 86400
WRAPPER = "/usr/local/lib/obs-lab/python3-tomorrow"


def faketime_library(container: str) -> str:
    """Install Debian's libfaketime on a lab host (lab tooling, not part of site.yml); its path."""
    listing = _exec(container, "dpkg", "-L", FAKETIME_PACKAGE)
    if not listing:
        proc = run(
            [
                "docker",
                "exec",
                container,
                "sh",
                "-c",
                f"apt-get update -q && apt-get install -y -q --no-install-recommends {FAKETIME_PACKAGE}",
            ],
            check=False,
            timeout=600,
        )
        if proc.returncode != 0:
            raise ObsError(
                f"cannot install {FAKETIME_PACKAGE} on {container}: {proc.stderr.strip()[-300:]}",
                fix="the lab hosts need Debian's mirror for the second-day drill",
            )
        listing = _exec(container, "dpkg", "-L", FAKETIME_PACKAGE)
    libs = [line for line in listing.splitlines() if line.endswith("/libfaketime.so.1")]
    if not libs:
        raise ObsError(f"{FAKETIME_PACKAGE} on {container} has no libfaketime.so.1", fix="check the package")
    return libs[0]


def second_day(echo: Callable[[str], None] = print, stream: bool = False) -> recap.Recap:
    libs = {host.name: faketime_library(host.container) for host in HOSTS}
    if len(set(libs.values())) != 1:
        raise ObsError(f"libfaketime lies in different places on the lab hosts: {libs}")
    lib = next(iter(libs.values()))
    wrapper = f'#!/bin/sh\nexec env LD_PRELOAD={lib} FAKETIME={SECOND_DAY_OFFSET} /usr/bin/python3 "$@"\n'
    for host in HOSTS:
        install = f"mkdir -p {WRAPPER.rsplit('/', 1)[0]} && cat > {WRAPPER} && chmod 0755 {WRAPPER}"
        run(["docker", "exec", "-i", host.container, "sh", "-c", install], input_text=wrapper, timeout=60)
        # The shift must really be in effect where the modules run, or the drill proves nothing.
        probe = f"date +%s; {WRAPPER} -c 'import time; print(int(time.time()))'"
        shifted = _exec(host.container, "sh", "-c", probe)
        real, fake = (int(v) for v in shifted.split())
        if abs(fake - real - _DAY) > 60:
            raise ObsError(f"faketime on {host.container} moved the clock by {fake - real}s, not one day")
    echo(f"site.yml with the hosts' clock {SECOND_DAY_OFFSET} (libfaketime through obs_lab_python_interpreter)")
    result = orchestrate.run_playbook(
        repo_root() / "ansible" / "site.yml",
        lab_state() / "logs" / "site-second-day.log",
        echo,
        stream,
        # Not ansible_python_interpreter itself: an extra var would also hit the tasks delegated
        # to this machine; the lab hosts' interpreter is read from this variable (connection.yml).
        extra=["-e", f"obs_lab_python_interpreter={WRAPPER}"],
    )
    echo(f"second day: site.yml {result.summary()}")
    return result
