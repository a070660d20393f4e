"""Cold and warm `make lab` wall time, the warm run's changed count, and the lab's memory.

Reproduce:  .venv/bin/python benchmarks/bench_lab.py [--keep]

1. `obsctl lab down` (a clean slate: no containers, no moto, no Terraform data),
2. cold `obsctl lab up --quiet` (what `make lab` runs once the venv is current), timed,
3. warm `obsctl lab up --quiet` again, timed; site.yml's PLAY RECAP changed count,
4. `docker stats --no-stream` of the lab containers and of mon-1's inner containers,
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
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from obsctl.lab import docker  # noqa: PLC0415 - after sys.path is set

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
    mem = docker.memory_usage()
    total = sum(v for k, v in mem.items())
    print("| measure | value |\n| --- | --- |")
    print(f"| cold `obsctl lab up` wall time | {cold:.0f} s |")
    print(f"| warm re-run wall time | {warm:.0f} s (exit {code}) |")
    print(f"| warm re-run site.yml changed | {changed.group(1) if changed else 'n/a'} |")
    for name, used in sorted(mem.items()):
        print(f"| memory {name} | {used / 2**20:.0f} MiB |")
    print(f"| memory, lab total | {total / 2**20:.0f} MiB |")
    print("\nwarm run phases:\n" + out[out.find("phase timings:") :])
    if not args.keep:
        timed("lab", "down")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
