"""/dashboard against a real Prometheus: seconds per rendered PNG and the bot process's peak memory.

Reproduce:  PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_bot_dashboard.py [--out DIR]

What runs, all on 127.0.0.1:
- Prometheus of the pinned release over a TSDB backfilled from the project's sample metrics
  (tests/fixtures/metrics, the fixture of the integration tests; needs prometheus + promtool from
  scripts/bootstrap-ci.sh);
- a fresh Python process that imports what ``obsctl bot run`` imports (discord.py, the bot, the
  clients), then answers /dashboard for each panel below through :class:`obsctl.bot.core.ChatOps`
  with the local renderer (matplotlib), writing each PNG to ``--out``. It reports the seconds per
  command (the first includes matplotlib's import) and its own peak RSS (``ru_maxrss``).
Prints a Markdown table (recorded in docs/chatops-bot.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.fixtures.metrics import samples
from tests.fixtures.metrics.prometheus import backfilled

PANELS = [("hosts", "CPU busy"), ("jvm", "Heap used vs. max"), ("chatbot", ""), ("hosts", "CPU busy")]

CHILD = """
import json, resource, sys, time
from pathlib import Path
t0 = time.monotonic()
import discord  # noqa: F401 - what the bot process holds
from obsctl.bot.core import ChatOps, Member
from obsctl.bot.panels import LocalRenderer, dashboards_dir
from obsctl.bot import discord_app  # noqa: F401
from obsctl.clients.alertmanager import AlertmanagerClient
from obsctl.clients.prometheus import PrometheusClient
from obsctl.incidents.store import IncidentStore
imported = time.monotonic() - t0
url, out, panels = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
prom = PrometheusClient(url)
bot = ChatOps(store=IncidentStore(out / "incidents.db"), alertmanager=AlertmanagerClient("http://127.0.0.1:9"),
              prometheus=prom, rules=[], operator_roles=frozenset(),
              render_dashboard=LocalRenderer(prom, dashboards_dir(), "http://grafana.invalid:3000"))
rows = []
for i, (name, panel) in enumerate(panels):
    t = time.monotonic()
    reply = bot.dashboard(Member("1", "bench"), name, panel)
    seconds = time.monotonic() - t
    if not reply.ok or reply.image is None:
        raise SystemExit(f"/dashboard {name} {panel!r} failed: {reply.text}")
    path = out / f"{i}-{reply.image_name}"
    path.write_bytes(reply.image)
    rows.append({"command": f"/dashboard {name} {panel}".strip(), "png": str(path), "bytes": len(reply.image),
                 "seconds": round(seconds, 2)})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"imported_s": round(imported, 2), "maxrss_mib": round(peak, 1), "rows": rows}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench-bot-dashboard")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        end = int(time.time()) // 60 * 60
        openmetrics = work / "samples.om"
        samples.write_openmetrics(str(openmetrics), end)
        with backfilled(work, openmetrics) as url:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, url, str(args.out), json.dumps(PANELS)],
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        return 1
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"bot imports: {result['imported_s']} s; peak RSS of the bot process: {result['maxrss_mib']} MiB\n")
    print("| command | PNG | bytes | seconds |\n|---|---|---|---|")
    for row in result["rows"]:
        print(f"| `{row['command']}` | `{row['png']}` | {row['bytes']} | {row['seconds']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
