"""Alert storm against the real analyzer process on loopback: lost notifications, LLM calls per
incident, webhook latency, queue drain time and memory.

Reproduce:  PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_analyzer.py [--notifications 1000 --seconds 60]

What runs, all on 127.0.0.1:
- ``obsctl analyzer serve`` as its own process (uvicorn, the real worker and SQLite queue);
- an **LLM test double** speaking Anthropic's Messages API (``POST /v1/messages``), answering a
  valid analysis that cites the alert's evidence id ``A1``; it counts the calls;
- a **Discord capture server** standing for the webhook; it counts the messages.
No Prometheus, Loki or Grafana is configured (their evidence is measured by the lab drill, not
here): the pack holds the alert only and names the missing sources.

The storm: ``--notifications`` Grafana-shaped notifications spread evenly over ``--seconds``, for
``--incidents`` distinct alert instances (each repeated, as Grafana repeats); one in five is P3
(recorded, not analysed). Then it waits until the queue is empty and checks: every accepted
notification is counted on an incident (0 lost), LLM calls = distinct P1/P2 incidents, one Discord
message per P1/P2 incident. Prints a Markdown table (recorded in benchmarks/analyzer.md).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
ANSWER = {
    "summary": "benchmark answer",
    "probable_cause": {"text": "the alert itself", "evidence": ["A1"]},
    "impact": {"text": "none (benchmark)", "evidence": ["A1"]},
    "actions": [],
    "confidence": "low",
}


class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.n = 0

    def inc(self) -> None:
        with self.lock:
            self.n += 1


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def test_double_servers(llm_calls: Counter, discord_posts: Counter) -> tuple[int, int, list[ThreadingHTTPServer]]:
    class LlmTestDouble(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            llm_calls.inc()
            body = json.dumps(
                {
                    "content": [{"type": "text", "text": json.dumps(ANSWER)}],
                    "usage": {"input_tokens": 800, "output_tokens": 120},
                }
            ).encode()
            reply_json(self, body)

    class DiscordCapture(QuietHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            discord_posts.inc()
            body = json.dumps({"id": str(discord_posts.n)}).encode()
            reply_json(self, body)

    llm, llm_port = serve(LlmTestDouble)
    discord, discord_port = serve(DiscordCapture)
    return llm_port, discord_port, [llm, discord]


class QuietHandler(BaseHTTPRequestHandler):
    """No per-request log lines from the test servers."""

    def log_message(self, *_args: object) -> None:
        pass


def reply_json(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notification(i: int, incident: int) -> dict[str, object]:
    severity = "P3" if incident % 5 == 4 else ("P1" if incident % 2 else "P2")
    labels = {"alertname": f"BenchAlert{incident}", "severity": severity, "app": "bench"}
    return {
        "receiver": "analyzer",
        "status": "firing",
        "orgId": 1,
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"benchmark incident {incident} (notification {i})"},
                "startsAt": "2026-12-01T08:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": f"{incident:016x}",
                "values": {"B": float(i)},
            }
        ],
        "groupLabels": {"alertname": labels["alertname"]},
        "commonLabels": labels,
        "groupKey": f'{{}}:{{alertname="{labels["alertname"]}"}}',
        "version": "1",
    }


def rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def main() -> int:  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--incidents", type=int, default=100)
    args = parser.parse_args()

    llm_calls, discord_posts = Counter(), Counter()
    llm_port, discord_port, servers = test_double_servers(llm_calls, discord_posts)
    work = Path(tempfile.mkdtemp(prefix="bench-analyzer-"))
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OBS_ANALYZER_TOKEN": TOKEN,
        "OBS_ANALYZER_DB": str(work / "incidents.db"),
        "OBS_ANALYZER_QUEUE_CAPACITY": str(args.notifications * 2),
        "OBS_ANALYZER_PROVIDERS": "anthropic",
        "ANTHROPIC_API_KEY": "bench-key",
        "ANTHROPIC_MODEL": "bench-model",
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{llm_port}",
        "DISCORD_WEBHOOK_URL": f"http://127.0.0.1:{discord_port}/api/webhooks/1/bench",
        "OBS_ANALYZER_MAX_CALLS_HOUR": "100000",
        "OBS_ANALYZER_MAX_CALLS_DAY": "100000",
        "OBS_ANALYZER_MAX_USD_HOUR": "100000",
        "OBS_ANALYZER_MAX_USD_DAY": "100000",
    }
    log = (work / "analyzer.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "obsctl", "analyzer", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as client:
            for _ in range(200):
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            rss_idle = rss_kib(proc.pid)[0]
            # Control: the same server's cheapest answer, idle, shows what the machine itself adds.
            control = []
            for _ in range(200):
                t0 = time.perf_counter()
                client.get("/healthz")
                control.append(time.perf_counter() - t0)
                time.sleep(0.01)
            latencies: list[float] = []
            codes: dict[int, int] = {}
            interval = args.seconds / args.notifications
            storm_start = time.monotonic()
            for i in range(args.notifications):
                target = storm_start + i * interval
                if (pause := target - time.monotonic()) > 0:
                    time.sleep(pause)
                body = json.dumps(notification(i, i % args.incidents)).encode()
                t0 = time.perf_counter()
                response = client.post("/webhook", content=body, headers={"Content-Type": "application/json"})
                latencies.append(time.perf_counter() - t0)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1
            storm_seconds = time.monotonic() - storm_start
            drain_start = time.monotonic()
            while client.get("/healthz").json()["queue_depth"] and time.monotonic() - drain_start < 300:
                time.sleep(0.2)
            drain_seconds = time.monotonic() - drain_start
            rss_now, rss_peak = rss_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
        for server in servers:
            server.shutdown()
    db = sqlite3.connect(work / "incidents.db")
    incidents, counted = db.execute("SELECT COUNT(*), COALESCE(SUM(notifications), 0) FROM incidents").fetchone()
    analysed = db.execute("SELECT COUNT(*) FROM incidents WHERE severity IN ('P1', 'P2')").fetchone()[0]
    outcomes = dict(db.execute("SELECT outcome, COUNT(*) FROM incidents GROUP BY outcome").fetchall())
    left = db.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
    accepted = codes.get(202, 0)
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    control_q = statistics.quantiles(control, n=100, method="inclusive")
    rows = [
        ("notifications sent / accepted (202)", f"{args.notifications} / {accepted}", ""),
        ("other answers", str({c: n for c, n in codes.items() if c != 202} or "none"), "0"),
        ("storm duration", f"{storm_seconds:.1f} s", f"{args.seconds:g} s"),
        ("lost (accepted - counted on incidents - left in queue)", str(accepted - counted - left), "0"),
        ("distinct incidents / P1+P2", f"{incidents} / {analysed}", f"{args.incidents} / -"),
        ("LLM calls (test double)", str(llm_calls.n), f"= P1+P2 incidents ({analysed})"),
        ("Discord messages (capture server)", str(discord_posts.n), f"= P1+P2 incidents ({analysed})"),
        ("outcomes", json.dumps(outcomes, sort_keys=True), ""),
        (
            "webhook latency p50 / p99 / max",
            f"{quantiles[49] * 1000:.1f} / {quantiles[98] * 1000:.1f} / {max(latencies) * 1000:.1f} ms",
            "p99 <= 50 ms",
        ),
        (
            "control: GET /healthz on the idle analyzer p50 / p99",
            f"{control_q[49] * 1000:.1f} / {control_q[98] * 1000:.1f} ms",
            "",
        ),
        ("queue drained after the storm in", f"{drain_seconds:.1f} s", ""),
        (
            "analyzer RSS idle / after / peak",
            f"{rss_idle / 1024:.0f} / {rss_now / 1024:.0f} / {rss_peak / 1024:.0f} MiB",
            "<= 150 MiB",
        ),
    ]
    print("| measure | value | target |\n|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")
    ok = (
        accepted == args.notifications
        and accepted - counted - left == 0
        and llm_calls.n == analysed
        and discord_posts.n == analysed
    )
    print(f"\nwork directory (log, incident log): {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
