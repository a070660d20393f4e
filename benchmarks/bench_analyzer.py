"""Alert storm against the real analyzer process on loopback: lost notifications, LLM calls per
incident, webhook latency, evidence collection time against a real Prometheus, queue drain time
and memory.

Reproduce:  PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_analyzer.py [--notifications 1000 --seconds 60]
            (``--prometheus-url URL`` uses an existing Prometheus, e.g. the lab's, instead of starting one)

What runs, all on 127.0.0.1:
- ``obsctl analyzer serve`` as its own process (uvicorn, the real worker and SQLite queue);
- a **real Prometheus** of the pinned release (3.5; tests/fixtures/metrics/prometheus.py, the same
  support code as tests/integration/test_queries_prometheus.py) over a TSDB backfilled with 26 h of
  samples of every catalogued metric (tests/fixtures/metrics/samples.py: app-1 runs api and chat).
  The analyzer's evidence pack queries it (10 catalog concepts x window and baseline = 20 range
  queries per pack). Loki and Grafana cannot run here: their part of the pack is empty and named;
- an **LLM test double** speaking Anthropic's Messages API (``POST /v1/messages``), answering a
  valid analysis that cites the alert's evidence id ``A1``; it counts the calls;
- a **Discord capture server** standing for the webhook; it counts the messages.

Evidence collection is measured twice: ``--evidence-packs`` packs collected one after the other by
the analyzer's own ``EvidenceCollector`` and ``PrometheusClient`` (same timeouts as the service)
before the storm, timed one by one (p50/p95/max); and inside the serving process during the storm,
from its ``obs_analyzer_evidence_duration_seconds`` histogram (count, mean, the bucket holding p95).

The storm: ``--notifications`` Grafana-shaped notifications spread evenly over ``--seconds``, for
``--incidents`` distinct alert instances (each repeated, as Grafana repeats); one in five is P3
(recorded, not analysed). Then it waits until the queue is empty and checks: every accepted
notification is counted on an incident (0 lost), LLM calls = distinct P1/P2 incidents, one Discord
message per P1/P2 incident. RSS: VmHWM (peak resident set) of the serving process, and the largest
VmRSS sampled every 0.5 s during the storm. Prints a Markdown table (recorded in benchmarks/analyzer.md)
with each target met or not; the exit status is 0 only when the correctness targets hold.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from obsctl.analyzer.evidence import EvidenceCollector  # noqa: E402 - after the path set-up
from obsctl.analyzer.payload import parse  # noqa: E402
from obsctl.clients.prometheus import PrometheusClient  # noqa: E402
from tests.support import HttpTestDouble, free_port, serve_double  # noqa: E402 - the tests' double helpers

# The sample data's applications (tests/fixtures/metrics/samples.py): evidence queries find them.
APPS = (("api", "app-1:8080"), ("chat", "app-1:8081"))
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


def test_double_servers(llm_calls: Counter, discord_posts: Counter) -> tuple[int, int, ExitStack]:
    """The LLM and Discord test doubles on loopback: their ports, and what stops them (``close()``)."""

    class LlmTestDouble(HttpTestDouble):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            llm_calls.inc()
            self.reply(
                200,
                {
                    "content": [{"type": "text", "text": json.dumps(ANSWER)}],
                    "usage": {"input_tokens": 800, "output_tokens": 120},
                },
            )

    class DiscordCaptureTestDouble(HttpTestDouble):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            discord_posts.inc()
            self.reply(200, {"id": str(discord_posts.n)})

    doubles = ExitStack()
    llm = doubles.enter_context(serve_double(LlmTestDouble))
    discord = doubles.enter_context(serve_double(DiscordCaptureTestDouble))
    return llm.server_port, discord.server_port, doubles


def notification(i: int, incident: int, starts_at: str) -> dict[str, object]:
    severity = "P3" if incident % 5 == 4 else ("P1" if incident % 2 else "P2")
    app, instance = APPS[incident % len(APPS)]
    labels = {
        "alertname": f"BenchAlert{incident}",
        "severity": severity,
        "app": app,
        "instance": instance,
        "host": "app-1",
    }
    return {
        "receiver": "analyzer",
        "status": "firing",
        "orgId": 1,
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {"summary": f"benchmark incident {incident} (notification {i})"},
                "startsAt": starts_at,
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


@contextmanager
def prometheus(url: str, work: Path) -> Iterator[tuple[str, int]]:
    """(URL, end of the data): the given Prometheus, or the pinned release over backfilled samples."""
    if url:
        yield url, int(time.time())
        return
    from tests.fixtures.metrics import samples  # noqa: PLC0415 - test support, only when starting one
    from tests.fixtures.metrics.prometheus import backfilled  # noqa: PLC0415

    end = int(time.time()) // 60 * 60
    openmetrics = work / "samples.om"
    samples.write_openmetrics(str(openmetrics), end)
    with backfilled(work, openmetrics) as started:
        yield started, end


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def evidence_timings(url: str, end: int, packs: int) -> tuple[list[float], float]:
    """Seconds per pack for ``packs`` packs (alerts at different times in the last 20 h), and the
    mean number of metric items per pack (proof the queries found data)."""
    client = PrometheusClient(url, timeout=5.0, retries=1)  # as obsctl/analyzer/wiring.py builds it
    collector = EvidenceCollector(client)
    seconds: list[float] = []
    items = 0
    try:
        for k in range(packs):
            starts = datetime.fromtimestamp(end, UTC) - timedelta(minutes=30 + (k * 12) % (20 * 60))
            body = json.dumps(notification(k, k, iso(starts)))
            alert = parse(body).alerts[0]
            t0 = time.perf_counter()
            pack = collector.collect(alert)
            seconds.append(time.perf_counter() - t0)
            items += len(pack.of_kind("metric"))
    finally:
        client.close()
    return seconds, items / max(1, packs)


def histogram_from_metrics(text: str, name: str) -> tuple[float, float, str]:
    """(count, sum, upper bound of the bucket holding the 95th percentile) from /metrics text."""
    buckets: list[tuple[float, float]] = []
    count = total = 0.0
    for line in text.splitlines():
        if line.startswith(f"{name}_bucket{{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
        elif line.startswith(f"{name}_count"):
            count = float(line.rsplit(" ", 1)[1])
        elif line.startswith(f"{name}_sum"):
            total = float(line.rsplit(" ", 1)[1])
    bound = next((le for le, n in sorted(buckets) if count and n >= 0.95 * count), float("nan"))
    return count, total, f"<= {bound:g} s"


def commit_latencies(path: Path, n: int = 200) -> list[float]:
    """Control for the webhook: a bare SQLite WAL commit with synchronous=FULL (what each accepted
    notification costs at least: one fsync), ``n`` times, 50 ms apart, on the same file system."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (body TEXT)")
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t VALUES (?)", (f"notification {i}" * 50,))
        db.execute("COMMIT")
        out.append(time.perf_counter() - t0)
        time.sleep(0.05)
    db.close()
    return out


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak_kib = max(self.peak_kib, rss_kib(self.pid)[0])
            time.sleep(0.5)


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--evidence-packs", type=int, default=100)
    parser.add_argument("--prometheus-url", default="", help="use this Prometheus instead of starting one")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-analyzer-"))
    with prometheus(args.prometheus_url, work) as (prom_url, end):
        ok, rows = run(args, work, prom_url, end)
    print(f"Prometheus: {args.prometheus_url or 'the pinned release over backfilled samples, started here'}\n")
    print("| measure | value | target | |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nwork directory (log, incident log): {work}")
    return 0 if ok else 1


def run(  # noqa: PLR0915 - one linear script
    args: argparse.Namespace, work: Path, prom_url: str, end: int
) -> tuple[bool, list[tuple[str, str, str, str]]]:
    evidence, metric_items = evidence_timings(prom_url, end, args.evidence_packs)
    llm_calls, discord_posts = Counter(), Counter()
    llm_port, discord_port, doubles = test_double_servers(llm_calls, discord_posts)
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
        "PROMETHEUS_URL": prom_url,
        "OBS_ANALYZER_MAX_CALLS_HOUR": "100000",
        "OBS_ANALYZER_MAX_CALLS_DAY": "100000",
        "OBS_ANALYZER_MAX_USD_HOUR": "100000",
        "OBS_ANALYZER_MAX_USD_DAY": "100000",
    }
    for unset in ("LOKI_URL", "GRAFANA_URL", "GRAFANA_TOKEN"):
        env.pop(unset, None)
    starts_at = iso(datetime.fromtimestamp(end, UTC) - timedelta(hours=1))
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
            commits = commit_latencies(work / "control.db")
            sampler = RssSampler(proc.pid)
            sampler.start()
            latencies: list[float] = []
            codes: dict[int, int] = {}
            interval = args.seconds / args.notifications
            storm_start = time.monotonic()
            for i in range(args.notifications):
                target = storm_start + i * interval
                if (pause := target - time.monotonic()) > 0:
                    time.sleep(pause)
                body = json.dumps(notification(i, i % args.incidents, starts_at)).encode()
                t0 = time.perf_counter()
                response = client.post("/webhook", content=body, headers={"Content-Type": "application/json"})
                latencies.append(time.perf_counter() - t0)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1
            storm_seconds = time.monotonic() - storm_start
            drain_start = time.monotonic()
            while client.get("/healthz").json()["queue_depth"] and time.monotonic() - drain_start < 300:
                time.sleep(0.2)
            drain_seconds = time.monotonic() - drain_start
            sampler.stop.set()
            sampler.join()
            rss_now, rss_peak = rss_kib(proc.pid)
            served_count, served_sum, served_p95 = histogram_from_metrics(
                client.get("/metrics").text, "obs_analyzer_evidence_duration_seconds"
            )
    finally:
        proc.terminate()
        proc.wait(30)
        doubles.close()
    db = sqlite3.connect(work / "incidents.db")
    incidents, counted = db.execute("SELECT COUNT(*), COALESCE(SUM(notifications), 0) FROM incidents").fetchone()
    analysed = db.execute("SELECT COUNT(*) FROM incidents WHERE severity IN ('P1', 'P2')").fetchone()[0]
    outcomes = dict(db.execute("SELECT outcome, COUNT(*) FROM incidents GROUP BY outcome").fetchall())
    left = db.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
    accepted = codes.get(202, 0)
    lost = accepted - counted - left
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    control_q = statistics.quantiles(control, n=100, method="inclusive")
    evidence_q = statistics.quantiles(evidence, n=100, method="inclusive")
    commit_q = statistics.quantiles(commits, n=100, method="inclusive")
    peak_mib = max(rss_peak, sampler.peak_kib) / 1024
    correct = accepted == args.notifications and lost == 0 and llm_calls.n == analysed == discord_posts.n
    rows = [
        (
            "notifications sent / accepted (202)",
            f"{args.notifications} / {accepted}",
            "all",
            verdict(accepted == args.notifications),
        ),
        ("other answers", str({c: n for c, n in codes.items() if c != 202} or "none"), "none", ""),
        ("storm duration", f"{storm_seconds:.1f} s", f"{args.seconds:g} s", ""),
        ("lost (accepted - counted on incidents - left in queue)", str(lost), "0", verdict(lost == 0)),
        ("distinct incidents / P1+P2", f"{incidents} / {analysed}", f"{args.incidents} / -", ""),
        (
            "LLM calls (test double)",
            str(llm_calls.n),
            f"= P1+P2 incidents ({analysed})",
            verdict(llm_calls.n == analysed),
        ),
        (
            "Discord messages (capture server)",
            str(discord_posts.n),
            f"= P1+P2 incidents ({analysed})",
            verdict(discord_posts.n == analysed),
        ),
        ("outcomes", json.dumps(outcomes, sort_keys=True), "", ""),
        (
            "webhook latency p50 / p99 / max",
            f"{quantiles[49] * 1000:.1f} / {quantiles[98] * 1000:.1f} / {max(latencies) * 1000:.1f} ms",
            "p99 <= 50 ms",
            verdict(quantiles[98] <= 0.050),
        ),
        (
            "control: GET /healthz on the idle analyzer p50 / p99",
            f"{control_q[49] * 1000:.1f} / {control_q[98] * 1000:.1f} ms",
            "",
            "",
        ),
        (
            "control: bare SQLite WAL commit with fsync (synchronous=FULL) p50 / p99 / max",
            f"{commit_q[49] * 1000:.1f} / {commit_q[98] * 1000:.1f} / {max(commits) * 1000:.1f} ms",
            "",
            "",
        ),
        (
            f"evidence pack, {len(evidence)} collected one by one, p50 / p95 / max",
            f"{evidence_q[49]:.3f} / {evidence_q[94]:.3f} / {max(evidence):.3f} s"
            f" ({metric_items:.1f} metric items per pack)",
            "p95 <= 2 s",
            verdict(evidence_q[94] <= 2.0 and metric_items > 0),
        ),
        (
            "evidence packs in the serving process during the storm: count / mean / p95 bucket",
            f"{served_count:.0f} / {served_sum / max(served_count, 1):.3f} s / {served_p95}",
            "",
            "",
        ),
        ("queue drained after the storm in", f"{drain_seconds:.1f} s", "", ""),
        (
            "analyzer RSS idle / after / peak",
            f"{rss_idle / 1024:.0f} / {rss_now / 1024:.0f} / {peak_mib:.0f} MiB",
            "<= 150 MiB",
            verdict(peak_mib <= 150),
        ),
    ]
    return correct, rows


if __name__ == "__main__":
    sys.exit(main())
