"""Warm re-run of site.yml against the running lab: wall time, task count, SSH round trip, ratio.

Reproduce (the lab must be up: `obsctl lab up`; run from the repository root):

    .venv/bin/python benchmarks/bench_rerun.py [--runs N] [--strategies linear,mitogen_linear]

1. the SSH round trip to each lab host over an open ControlMaster connection (`ssh ... true`:
   the transport cost of one task with pipelining, without the module), and the wall time of one
   ad-hoc `ansible HOST -m ansible.builtin.ping` (Ansible's start-up plus one module execution),
2. site.yml exactly as `obsctl lab up` runs it (inventories/lab, the lab's vault password file),
   with the profile_tasks callback, N times per strategy (ansible.cfg's Mitogen by default; stock
   `linear` to compare); each run's wall time and the last run's PLAY RECAP,
3. the task count: every task result per host in the last run (ok + changed + failed; skipped
   tasks cost no round trip) and the ratio wall time / (task results x round trip),
4. the ten slowest tasks of the last run (profile_tasks' TASKS RECAP).
Prints a Markdown table (recorded in benchmarks/lab.md). The log of each run is kept in
.obs/bench-rerun-<n>.log.

    .venv/bin/python benchmarks/bench_rerun.py --packages

needs no lab: the time to install, alone, the packages a cold converge installs (lab_demo.yml and
site.yml), for comparison with the cold `obsctl lab up`. Each lab host's image is started as a
systemd container (not a lab container: the names are obs-bench-pkg-*), `apt-get update`, then
`apt-get install --no-install-recommends` of that host's set (services start as they do in the
lab), both hosts at the same time as Ansible runs them.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"


def _env() -> dict[str, str]:
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
        ANSIBLE_NOCOLOR="1",
        PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    )


def ssh_round_trip(address: str, key: Path, known_hosts: Path, user: str, samples: int = 10) -> float:
    """Median seconds of `ssh true` over an open master connection (the master is opened first)."""
    control = f"/tmp/obs-bench-rtt-{address}"
    base = ["ssh", "-i", str(key), "-o", f"UserKnownHostsFile={known_hosts}", "-o", f"ControlPath={control}"]
    subprocess.run(
        [*base, "-o", "ControlMaster=yes", "-o", "ControlPersist=60", f"{user}@{address}", "true"], check=True
    )
    times = []
    try:
        for _ in range(samples):
            start = time.monotonic()
            subprocess.run([*base, f"{user}@{address}", "true"], check=True)
            times.append(time.monotonic() - start)
    finally:
        subprocess.run([*base, "-O", "exit", f"{user}@{address}"], check=False, capture_output=True)
    return statistics.median(times)


def adhoc_ping(host: str, vault_password: Path, samples: int = 3) -> float:
    """Median wall seconds of one `ansible HOST -m ping` (Ansible start-up + one module execution)."""
    times = []
    for _ in range(samples):
        start = time.monotonic()
        subprocess.run(
            [str(VENV_BIN / "ansible"), host, "-i", "inventories/lab", "--vault-password-file", str(vault_password),
             "-m", "ansible.builtin.ping"],
            cwd=REPO, env=_env(), check=True, capture_output=True,
        )  # fmt: skip
        times.append(time.monotonic() - start)
    return statistics.median(times)


def run_site(vault_password: Path, log: Path, strategy: str) -> tuple[float, str]:
    start = time.monotonic()
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "inventories/lab", "--vault-password-file", str(vault_password),
         "ansible/site.yml"],
        cwd=REPO, env=dict(_env(), ANSIBLE_STRATEGY=strategy), capture_output=True, text=True, check=False,
    )  # fmt: skip
    took = time.monotonic() - start
    log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        sys.exit(f"site.yml failed (exit {proc.returncode}); log: {log}")
    return took, proc.stdout


# What the cold converge installs per lab host, and where each is written: mon-1's image boots
# cloud-init, whose user_data already installed wireguard-tools (terraform/templates/packages.sh.tftpl),
# so it is installed before the timing; then docker.io (roles/docker, tasks/install-debian.yml, lab
# inventory docker_package_source: debian), wireguard-go (roles/wireguard, no kernel module here)
# and nftables (roles/wireguard, the hub firewall). app-1: prometheus-node-exporter
# (roles/lab_demo_app, the legacy agent), wireguard-tools and wireguard-go (roles/wireguard).
PACKAGE_SETS = {
    "mon-1": ("obs/debian12-cloud:latest", ["wireguard-tools"], ["docker.io", "wireguard-go", "nftables"]),
    "app-1": ("obs/debian12-ssh:latest", [], ["prometheus-node-exporter", "wireguard-tools", "wireguard-go"]),
}


def _install_alone(host: str, image: str, before: list[str], packages: list[str]) -> str:
    name = f"obs-bench-pkg-{host}"
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
         "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
         "--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", image, "/sbin/init"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        for _ in range(60):
            state = subprocess.run(
                ["docker", "exec", name, "systemctl", "is-system-running"], capture_output=True, text=True, check=False
            ).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(1)
        apt = ["docker", "exec", "-e", "DEBIAN_FRONTEND=noninteractive", name, "apt-get", "-qq"]
        start = time.monotonic()
        subprocess.run([*apt, "update"], check=True, capture_output=True)
        update = time.monotonic() - start
        if before:
            subprocess.run([*apt, "install", "-y", "--no-install-recommends", *before], check=True, capture_output=True)
        start = time.monotonic()
        subprocess.run([*apt, "install", "-y", "--no-install-recommends", *packages], check=True, capture_output=True)
        install = time.monotonic() - start
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
    return f"| {host}: apt-get update, then install {' '.join(packages)} | {update:.1f} s + {install:.1f} s |"


def packages_alone() -> None:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    load = os.getloadavg()[0]
    start = time.monotonic()
    with ThreadPoolExecutor(len(PACKAGE_SETS)) as pool:
        rows = list(pool.map(lambda kv: _install_alone(kv[0], *kv[1]), PACKAGE_SETS.items()))
    both = time.monotonic() - start
    print("| measure | value |\n| --- | --- |")
    print(f"| load average (1 min) before | {load:.1f} |")
    print("\n".join(rows))
    print(f"| both hosts at once, container start to last install done | {both:.1f} s |")


def task_results(output: str) -> int:
    """Task results that ran on a host or the controller: ok/changed/failed lines (loop items
    counted one by one), not skipped ones and not `included:` lines."""
    return len(re.findall(r"^(?:ok|changed|failed|fatal): \[", output, re.MULTILINE))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1, help="warm site.yml runs to time (default 1)")
    parser.add_argument("--packages", action="store_true", help="only time installing the packages alone (no lab)")
    parser.add_argument(
        "--strategies",
        default="mitogen_linear",
        help="comma-separated Ansible strategies to time, each --runs times (default: mitogen_linear, ansible.cfg's; "
        "`linear,mitogen_linear` compares with stock Ansible)",
    )
    args = parser.parse_args()
    if args.packages:
        packages_alone()
        return 0
    sys.path.insert(0, str(REPO))
    from obsctl.lab import recap  # noqa: PLC0415 - after sys.path is set
    from obsctl.lab.layout import ADMIN_USER, HOSTS, lab_state, vault_password_file  # noqa: PLC0415

    load_before = os.getloadavg()[0]
    access = lab_state() / "access"
    rtts = {
        h.name: ssh_round_trip(h.wireguard_address, access / "id_ed25519", access / "known_hosts", ADMIN_USER)
        for h in HOSTS
    }
    ping = adhoc_ping(HOSTS[0].name, vault_password_file())
    strategies = [name.strip() for name in args.strategies.split(",") if name.strip()]
    walls: dict[str, list[float]] = {name: [] for name in strategies}
    out = ""
    for strategy in strategies:
        for n in range(1, args.runs + 1):
            log = REPO / ".obs" / f"bench-rerun-{strategy}-{n}.log"
            took, out = run_site(vault_password_file(), log, strategy)
            counts = recap.parse(out)
            if counts.changed:  # a warm re-run that changes something is not the figure asked for
                sys.exit(f"warm site.yml ({strategy}, run {n}) changed something: {counts.summary()}; log: {log}")
            walls[strategy].append(took)
    last = walls[strategies[-1]]
    result = recap.parse(out)
    tasks = task_results(out)
    rtt = max(rtts.values())
    print("| measure | value |\n| --- | --- |")
    print(f"| load average (1 min) before / after the runs | {load_before:.1f} / {os.getloadavg()[0]:.1f} |")
    for name, value in rtts.items():
        print(f"| SSH round trip {name} (open ControlMaster, `ssh true`, median of 10) | {value * 1000:.0f} ms |")
    print(f"| one ad-hoc `ansible {HOSTS[0].name} -m ping` (start-up + one module) | {ping:.2f} s |")
    for strategy, times in walls.items():
        for n, took in enumerate(times, 1):
            print(f"| warm site.yml, strategy {strategy}, run {n}: wall time | {took:.1f} s |")
    print(f"| site.yml PLAY RECAP (last run, {strategies[-1]}) | {result.summary()} |")
    print(f"| task results (ok/changed lines, loop items one by one) | {tasks} |")
    print(f"| task results x SSH round trip | {tasks * rtt:.1f} s |")
    print(f"| ratio wall / (task results x round trip), {strategies[-1]} | {min(last) / (tasks * rtt):.0f} |")
    print(f"| wall time per task result, {strategies[-1]} | {min(last) / tasks:.2f} s |")
    slowest = out[out.find("TASKS RECAP") :].splitlines()[3:13]
    print("\nslowest tasks (last run):\n" + "\n".join(slowest))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
