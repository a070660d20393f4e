"""Peak memory (RSS) of every stack component that can run on this machine, under a stated load.

Reproduce:  PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_memory.py [--write]
            (``--only prometheus,report`` runs a subset; ``--write`` records the figures in
            benchmarks/memory.json, which the role's memory limits are checked against)

What runs, all on 127.0.0.1 (nothing of the lab is used):

- **prometheus**: the pinned Prometheus 3.5 (Debian forky's build, scripts/bootstrap-ci.sh) with
  the role's storage flags, scraping ``--targets`` synthetic targets (served by this script) that
  together expose ``--series`` active series, every ``--scrape-interval``, for ``--seconds``; each
  sample value changes on every scrape (no constant-chunk shortcut). Meanwhile a dashboard-shaped
  query load: every 5 s one range query over all series (``sum by (target) (rate(...[1m]))``, the
  last 10 minutes at 15 s steps) and one instant query. Prometheus also scrapes itself and the
  blackbox exporter. Recorded: VmHWM (peak resident set) of the process at the end, per size in
  ``--series`` (comma-separated: one run each).
- **blackbox**: the pinned exporter release (Debian forky's ``prometheus-blackbox-exporter``
  0.28, fetched with ``apt-get download`` through scripts/bootstrap-ci.sh's forky sources list when
  not given with ``--blackbox``), probing ``--probes`` HTTP targets (the synthetic target's
  health path, module http_2xx) from the Prometheus above: VmHWM at the end.
- **analyzer**: benchmarks/bench_analyzer.py (the real ``obsctl analyzer serve`` through an alert
  storm, its own real Prometheus) with ``--analyzer-args``; its reported peak (VmHWM) is taken.
- **bot**: benchmarks/bench_bot_dashboard.py's child process (everything ``obsctl bot run``
  imports, then four /dashboard panels drawn with matplotlib from a real Prometheus over the
  project's backfilled sample metrics): its peak RSS (``wait4`` ru_maxrss = VmHWM at exit).
- **report**: ``python -m obsctl report daily --dry-run`` as its own process against a real
  Prometheus over the same backfilled samples (26 h, app-1 running api and chat): peak RSS
  (``wait4`` ru_maxrss).

Grafana, Loki, Alloy and Tempo cannot run here (no image or package reachable): their entries in
benchmarks/memory.json are upstream sizing guidance with its source, written by hand, and this
script leaves them as they are.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fixtures.metrics import samples  # noqa: E402 - after the path set-up
from tests.fixtures.metrics.prometheus import backfilled  # noqa: E402
from tests.support import free_port, local_server, tool  # noqa: E402

RESULTS = REPO / "benchmarks" / "memory.json"
FORKY_APT = Path(os.environ.get("OBS_TOOLS_DIR", "/opt/obs-tools")) / "apt-forky"
MIB = 1024 * 1024


# ---- the synthetic targets -------------------------------------------------------------------


class Targets:
    """``count`` targets at /metrics/<i>, ``series`` series in all, values moving on every scrape."""

    def __init__(self, count: int, series: int) -> None:
        per = max(1, series // count)
        # Label shapes like an application's: a metric name per 50 series, a few labels each (n keeps
        # every series distinct once rate() drops the name).
        self.lines = [
            [
                f'bench_metric_{k // 50}{{target="t{i}",route="/r{k % 50}",status="{200 + k % 3}",n="{k}"}}'
                for k in range(per)
            ]
            for i in range(count)
        ]
        self.values = [[random.random() for _ in range(per)] for _ in range(count)]
        self.series = per * count

    def render(self, i: int) -> bytes:
        values = self.values[i]
        for k in range(len(values)):
            values[k] += random.random()  # counters: monotonic, never constant
        return ("\n".join(f"{name} {v:.3f}" for name, v in zip(self.lines[i], values, strict=True)) + "\n").encode()


@contextmanager
def serve_targets(targets: Targets) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/health"):
                body = b"UP"
            else:
                match = re.fullmatch(r"/metrics/(\d+)", self.path)
                if not match:
                    self.send_error(404)
                    return
                body = targets.render(int(match.group(1)))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


# ---- process memory --------------------------------------------------------------------------


def status_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def pid_listening(port: int) -> int:
    """The pid of the process that listens on 127.0.0.1:port (found through /proc/net/tcp inodes)."""
    want = f"0100007F:{port:04X}"
    inode = next(
        line.split()[9]
        for line in Path("/proc/net/tcp").read_text(encoding="utf-8").splitlines()[1:]
        if line.split()[1] == want and line.split()[3] == "0A"
    )
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(str(fd.readlink()) == f"socket:[{inode}]" for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    raise RuntimeError(f"no process owns the listening socket 127.0.0.1:{port}")


def run_peak(argv: list[str], env: dict[str, str], timeout: float = 900) -> tuple[float, str]:
    """Run ``argv`` to the end; its peak RSS in MiB (wait4's ru_maxrss, KiB on Linux) and stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=REPO)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise TimeoutError(f"{argv[:4]} did not finish in {timeout} s")
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:5])} exited {proc.returncode}: {stderr[-2000:]}")
    return usage.ru_maxrss / 1024, stdout


# ---- components ------------------------------------------------------------------------------


def blackbox_binary(given: str) -> Path:
    if given:
        return Path(given)
    work = Path(tempfile.gettempdir()) / "bench-memory-blackbox"
    binary = work / "root" / "usr" / "bin" / "prometheus-blackbox-exporter"
    if binary.exists():
        return binary
    if not (FORKY_APT / "forky.list").exists():
        raise SystemExit(f"no {FORKY_APT}/forky.list: run scripts/bootstrap-ci.sh first, or pass --blackbox BINARY")
    work.mkdir(parents=True, exist_ok=True)
    opts = [
        "-o",
        f"Dir::Etc::SourceList={FORKY_APT}/forky.list",
        "-o",
        "Dir::Etc::SourceParts=/dev/null",
        "-o",
        f"Dir::State::Lists={FORKY_APT}/lists",
        "-o",
        f"Dir::Cache={FORKY_APT}/cache",
    ]
    subprocess.run(["apt-get", *opts, "download", "prometheus-blackbox-exporter/forky"], cwd=work, check=True)
    deb = next(work.glob("prometheus-blackbox-exporter_*.deb"))
    subprocess.run(["dpkg-deb", "-x", str(deb), str(work / "root")], check=True)
    return binary


def version(binary: Path | str) -> str:
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    return (done.stdout + done.stderr).strip().splitlines()[0]


def measure_prometheus(
    series: int, *, targets: int, probes: int, interval: int, seconds: int, blackbox: Path, work: Path
) -> dict[str, object]:
    prometheus = tool("prometheus")
    load = Targets(targets, series)
    with serve_targets(load) as tport:
        bport, pport = free_port(), free_port()
        (work / "blackbox.yml").write_text(
            "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n", encoding="utf-8"
        )
        bb_argv = [
            str(blackbox),
            f"--config.file={work / 'blackbox.yml'}",
            f"--web.listen-address=127.0.0.1:{bport}",
        ]
        jobs = [
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{pport}"]}]},
            {"job_name": "blackbox-exporter", "static_configs": [{"targets": [f"127.0.0.1:{bport}"]}]},
            {
                "job_name": "blackbox",
                "metrics_path": "/probe",
                "params": {"module": ["http_2xx"]},
                "static_configs": [{"targets": [f"http://127.0.0.1:{tport}/health?p={i}" for i in range(probes)]}],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": f"127.0.0.1:{bport}"},
                ],
            },
        ] + [
            {
                "job_name": f"synthetic-{i}",
                "metrics_path": f"/metrics/{i}",
                "static_configs": [{"targets": [f"127.0.0.1:{tport}"]}],
            }
            for i in range(targets)
        ]
        config = {"global": {"scrape_interval": f"{interval}s", "evaluation_interval": f"{interval}s"}}
        config["scrape_configs"] = jobs  # type: ignore[assignment]
        (work / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")
        data = work / f"tsdb-{series}"
        argv = [
            prometheus,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{pport}",
            "--storage.tsdb.retention.time=30d",
            "--storage.tsdb.retention.size=8GB",
        ]
        url = f"http://127.0.0.1:{pport}"
        with (
            local_server(bb_argv, f"http://127.0.0.1:{bport}/metrics", work / "blackbox.log", "blackbox"),
            local_server(argv, f"{url}/-/ready", work / f"prometheus-{series}.log", "prometheus"),
        ):
            ppid, bpid = pid_listening(pport), pid_listening(bport)
            queries, head, started = 0, 0.0, time.monotonic()
            with httpx.Client(base_url=url, timeout=60) as client:
                while time.monotonic() - started < seconds:
                    now = time.time()
                    client.get(
                        "/api/v1/query_range",
                        params={
                            "query": "sum by (job) (rate({__name__=~'bench_metric_.*'}[1m]))",
                            "start": now - 600,
                            "end": now,
                            "step": 15,
                        },
                    ).raise_for_status()
                    client.get("/api/v1/query", params={"query": "sum(up)"}).raise_for_status()
                    queries += 2
                    time.sleep(5)
                head = float(
                    client.get("/api/v1/query", params={"query": "prometheus_tsdb_head_series"}).json()["data"][
                        "result"
                    ][0]["value"][1]
                )
                probes_ok = float(
                    client.get("/api/v1/query", params={"query": 'sum(probe_success{job="blackbox"})'}).json()["data"][
                        "result"
                    ][0]["value"][1]
                )
            prom, bb = status_kib(ppid), status_kib(bpid)
    return {
        "synthetic_series": load.series,
        "head_series": int(head),
        "targets": targets,
        "probes": probes,
        "probes_succeeding": int(probes_ok),
        "scrape_interval_s": interval,
        "seconds": seconds,
        "queries": queries,
        "prometheus_peak_mib": round(prom["VmHWM"] / 1024, 1),
        "prometheus_rss_end_mib": round(prom["VmRSS"] / 1024, 1),
        "blackbox_peak_mib": round(bb["VmHWM"] / 1024, 1),
        "prometheus_version": version(prometheus),
        "blackbox_version": version(blackbox),
    }


def measure_analyzer(extra: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_analyzer.py"), *extra],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        timeout=1800,
    )
    match = re.search(r"analyzer RSS idle / after / peak \| (\d+) / (\d+) / (\d+) MiB", done.stdout)
    if not match:
        raise RuntimeError(f"bench_analyzer.py printed no RSS row (exit {done.returncode}): {done.stderr[-2000:]}")
    return {"peak_mib": float(match.group(3)), "idle_mib": float(match.group(1)), "args": extra}


@contextmanager
def sample_prometheus(work: Path) -> Iterator[tuple[str, int]]:
    end = int(time.time()) // 60 * 60
    openmetrics = work / "samples.om"
    samples.write_openmetrics(str(openmetrics), end)
    with backfilled(work, openmetrics) as url:
        yield url, end


def measure_bot(url: str, work: Path) -> dict[str, object]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_bot_dashboard import CHILD, PANELS  # noqa: PLC0415 - the bot benchmark's own child

    out = work / "bot"
    out.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND="Agg")
    peak, stdout = run_peak([sys.executable, "-c", CHILD, url, str(out), json.dumps(PANELS)], env)
    panels = len(json.loads(stdout.strip().splitlines()[-1])["rows"])
    return {"peak_mib": round(peak, 1), "panels_drawn": panels}


def measure_report(url: str, end: int, work: Path) -> dict[str, object]:
    day = (datetime.fromtimestamp(end, UTC) - timedelta(days=1)).date().isoformat()
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        PROMETHEUS_URL=url,
        OBS_REPORT_TZ="UTC",
        OBS_REPORT_HISTORY_DB=str(work / "history.db"),
        OBS_ANALYZER_DB=str(work / "absent.db"),
        OBS_REPORT_PROVIDERS="",
    )
    peak, stdout = run_peak([sys.executable, "-m", "obsctl", "report", "daily", "--date", day, "--dry-run"], env)
    if "Daily health report" not in stdout:
        raise RuntimeError(f"the report printed no report: {stdout[-1000:]}")
    return {"peak_mib": round(peak, 1), "command": f"python -m obsctl report daily --date {day} --dry-run"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", default="prometheus,analyzer,bot,report")
    parser.add_argument("--series", default="6000,20000,50000", help="active series per run (comma-separated)")
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--probes", type=int, default=4)
    parser.add_argument("--scrape-interval", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--blackbox", default="", help="blackbox exporter binary (default: forky's, downloaded)")
    parser.add_argument("--analyzer-args", default="--notifications 300 --seconds 30 --evidence-packs 10")
    parser.add_argument("--write", action="store_true", help=f"record the figures in {RESULTS.relative_to(REPO)}")
    args = parser.parse_args()
    only = set(args.only.split(","))
    measured: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "prometheus" in only:
            blackbox = blackbox_binary(args.blackbox)
            runs = []
            for size in [int(s) for s in args.series.split(",")]:
                run = measure_prometheus(
                    size,
                    targets=args.targets,
                    probes=args.probes,
                    interval=args.scrape_interval,
                    seconds=args.seconds,
                    blackbox=blackbox,
                    work=work,
                )
                print(json.dumps(run), flush=True)
                runs.append(run)
            measured["prometheus_runs"] = runs
        if only & {"bot", "report"}:
            with sample_prometheus(work) as (url, end):
                if "bot" in only:
                    measured["bot"] = measure_bot(url, work)
                    print(json.dumps({"bot": measured["bot"]}), flush=True)
                if "report" in only:
                    measured["report"] = measure_report(url, end, work)
                    print(json.dumps({"report": measured["report"]}), flush=True)
        if "analyzer" in only:
            measured["analyzer"] = measure_analyzer(args.analyzer_args.split())
            print(json.dumps({"analyzer": measured["analyzer"]}), flush=True)
    if args.write:
        data = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
        data.setdefault("measured", {}).update(measured)
        data["measured"]["machine"] = f"{os.uname().sysname} {os.uname().machine}, {os.cpu_count()} cores"
        data["measured"]["date"] = datetime.now(UTC).date().isoformat()
        RESULTS.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"written: {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
