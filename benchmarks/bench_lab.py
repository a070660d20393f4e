"""Cold and warm `make lab` wall time, the warm run's changed count, and the lab's memory.

Reproduce:  .venv/bin/python benchmarks/bench_lab.py [--keep]
Memory of an already running lab only:  .venv/bin/python benchmarks/bench_lab.py --memory-only

1. `obsctl lab down` (a clean slate: no containers, no moto, no Terraform data),
2. cold `obsctl lab up --quiet` (what `make lab` runs once the venv is current), timed,
3. warm `obsctl lab up --quiet` again, timed; site.yml's PLAY RECAP changed count,
4. memory: `docker stats --no-stream` of the lab containers and of mon-1's inner containers, and
   the PSS/RSS of each lab host's whole process tree (docker stats under-reports systemd
   containers that see the host's cgroup tree: see obsctl.lab.docker.process_tree_memory),
5. `obsctl lab down` unless --keep.
Prints a Markdown table (recorded in benchmarks/lab.md).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OBSCTL = str(REPO / ".venv" / "bin" / "obsctl")


def timed(*args: str) -> tuple[float, int, str]:
    start = time.monotonic()
    proc = subprocess.run([OBSCTL, *args], cwd=REPO, capture_output=True, text=True, check=False)
    return time.monotonic() - start, proc.returncode, proc.stdout + proc.stderr


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    parser.add_argument("--memory-only", action="store_true", help="only measure the running lab's memory")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.memory_only:
        print("| measure | value |\n| --- | --- |")
        memory_rows()
        return 0

    timed("lab", "down")
    cold, code, out = timed("lab", "up", "--quiet")
    (REPO / ".obs" / "bench-lab-cold.log").write_text(out)
    if code != 0:
        print(out[-3000:])
        return code
    warm, code, out = timed("lab", "up", "--quiet")
    (REPO / ".obs" / "bench-lab-warm.log").write_text(out)
    changed = re.search(r"site\.yml: .*changed=(\d+)", out)
    time.sleep(30)  # let the stack settle after the warm run before sampling memory
    print("| measure | value |\n| --- | --- |")
    print(f"| cold `obsctl lab up` wall time | {cold:.0f} s |")
    print(f"| warm re-run wall time | {warm:.0f} s (exit {code}) |")
    print(f"| warm re-run site.yml changed | {changed.group(1) if changed else 'n/a'} |")
    memory_rows()
    print("\nwarm run phases:\n" + out[out.find("phase timings:") :])
    if not args.keep:
        timed("lab", "down")
    return 0


def memory_rows() -> None:
    from obsctl.lab import docker  # noqa: PLC0415 - after sys.path is set
    from obsctl.lab.layout import HOSTS  # noqa: PLC0415

    stats = docker.memory_usage()
    for name, used in sorted(stats.items()):
        print(f"| docker stats {name} | {used / 2**20:.0f} MiB |")
    print(f"| docker stats, sum | {sum(stats.values()) / 2**20:.0f} MiB |")
    total_pss = 0
    for host in HOSTS:
        count, rss, pss = docker.process_tree_memory(host.container)
        total_pss += pss
        mib = f"{pss / 2**20:.0f} MiB PSS, {rss / 2**20:.0f} MiB RSS"
        print(f"| process tree {host.container} | {mib}, {count} processes |")
    print(f"| process trees, PSS total | {total_pss / 2**20:.0f} MiB |")


if __name__ == "__main__":
    raise SystemExit(main())
