"""LOAD GENERATOR for benchmarks/bench_capacity.py: a synthetic scrape target, not a real exporter.

It serves ``/t/<k>/metrics`` (Prometheus text format) for targets k = 0, 1, ...; each target exposes
``series_per_target`` series shaped like one application host of this stack: a Spring Boot app
(``http_server_requests_seconds`` histograms per uri/method/status, JVM memory, GC, threads,
HikariCP, Tomcat, logback) and the host's node metrics (CPU modes, filesystems, network). When a
target needs more series than that template holds, more ``uri`` values are added, as a growing
application would. Prometheus tells the targets apart by the ``instance``/``host`` labels its own
scrape config attaches (bench_capacity.py writes one static target per k).

Values move the way real ones do, so the TSDB compresses them as it would real data: counters grow
by random (Poisson) increments — some buckets rarely, the ``_sum`` series by fractional amounts —
and gauges take a random walk with one decimal. Each target has its own seeded generator: a run is
repeatable. The same model writes OpenMetrics for ``promtool tsdb create-blocks-from`` (days of data
in minutes, for the disk measurement).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

COUNTER, GAUGE, FLOAT_COUNTER, CONSTANT = 0, 1, 2, 3
# Gauges that hold still in real life (sizes, configured maxima): they compress to almost nothing.
CONSTANT_NAMES = (
    "jvm_memory_max_bytes",
    "hikaricp_connections_max",
    "tomcat_threads_config_max_threads",
    "node_filesystem_size_bytes",
    "node_memory_MemTotal_bytes",
)
METHODS = ("GET", "POST")
STATUSES = (("200", "SUCCESS"), ("404", "CLIENT_ERROR"), ("500", "SERVER_ERROR"))
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "+Inf")


@dataclass(frozen=True)
class SeriesDef:
    name: str
    labels: str  # rendered ``k="v",...`` without braces
    kind: int


def _fixed_series(app: str) -> Iterator[SeriesDef]:  # noqa: PLR0912 - one loop per metric family
    """Everything of one host but the per-uri HTTP series (~200 series)."""
    base = f'application="{app}"'
    for area, ids in (
        ("heap", ("G1 Eden Space", "G1 Old Gen", "G1 Survivor Space")),
        ("nonheap", ("Metaspace", "CodeCache", "Compressed Class Space")),
    ):
        for ident in ids:
            for name in ("jvm_memory_used_bytes", "jvm_memory_committed_bytes", "jvm_memory_max_bytes"):
                yield SeriesDef(name, f'{base},area="{area}",id="{ident}"', GAUGE)
    for action, cause in (("end of minor GC", "G1 Evacuation Pause"), ("end of major GC", "G1 Compaction Pause")):
        gc = f'{base},action="{action}",cause="{cause}"'
        yield SeriesDef("jvm_gc_pause_seconds_count", gc, COUNTER)
        yield SeriesDef("jvm_gc_pause_seconds_sum", gc, FLOAT_COUNTER)
        yield SeriesDef("jvm_gc_pause_seconds_max", gc, GAUGE)
    for state in ("runnable", "blocked", "waiting", "timed-waiting", "new", "terminated"):
        yield SeriesDef("jvm_threads_states_threads", f'{base},state="{state}"', GAUGE)
    for name in ("jvm_threads_live_threads", "jvm_threads_daemon_threads", "process_cpu_usage", "system_cpu_usage"):
        yield SeriesDef(name, base, GAUGE)
    for name in ("active", "idle", "pending", "max"):
        yield SeriesDef(f"hikaricp_connections_{name}", f'{base},pool="HikariPool-1"', GAUGE)
    yield SeriesDef("hikaricp_connections_timeout_total", f'{base},pool="HikariPool-1"', COUNTER)
    for name in ("busy", "current", "config_max"):
        yield SeriesDef(f"tomcat_threads_{name}_threads", f'{base},name="http-nio-8080"', GAUGE)
    for level in ("error", "warn", "info", "debug", "trace"):
        yield SeriesDef("logback_events_total", f'{base},level="{level}"', COUNTER)
    for cpu in range(2):
        for mode in ("idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"):
            yield SeriesDef("node_cpu_seconds_total", f'cpu="{cpu}",mode="{mode}"', FLOAT_COUNTER)
    for device, mount, fstype in (
        ("/dev/nvme0n1p1", "/", "ext4"),
        ("/dev/nvme1n1", "/data", "ext4"),
        ("tmpfs", "/run", "tmpfs"),
    ):
        fs = f'device="{device}",fstype="{fstype}",mountpoint="{mount}"'
        for name in (
            "node_filesystem_avail_bytes",
            "node_filesystem_free_bytes",
            "node_filesystem_size_bytes",
            "node_filesystem_files_free",
        ):
            yield SeriesDef(name, fs, GAUGE)
    for device in ("ens5", "lo", "wg0", "docker0"):
        for name in (
            "receive_bytes",
            "transmit_bytes",
            "receive_packets",
            "transmit_packets",
            "receive_errs",
            "transmit_errs",
            "receive_drop",
            "transmit_drop",
        ):
            yield SeriesDef(f"node_network_{name}_total", f'device="{device}"', COUNTER)
    for name in (
        "MemAvailable",
        "MemFree",
        "MemTotal",
        "Buffers",
        "Cached",
        "SwapFree",
        "Active",
        "Inactive",
        "Dirty",
        "Slab",
    ):
        yield SeriesDef(f"node_memory_{name}_bytes", "", GAUGE)
    for name in (
        "node_load1",
        "node_load5",
        "node_load15",
        "node_procs_running",
        "node_procs_blocked",
        "node_time_seconds",
    ):
        yield SeriesDef(name, "", GAUGE)
    for device in ("nvme0n1", "nvme1n1"):
        for name in (
            "reads_completed",
            "writes_completed",
            "read_bytes",
            "written_bytes",
            "io_time_seconds",
            "read_time_seconds",
            "write_time_seconds",
        ):
            kind = FLOAT_COUNTER if name.endswith("seconds") else COUNTER
            yield SeriesDef(f"node_disk_{name}_total", f'device="{device}"', kind)


def _http_series(app: str, uri: str) -> Iterator[SeriesDef]:
    """One uri's request histogram: 2 methods x 3 statuses x (10 buckets + count + sum + max) = 78 series."""
    for method in METHODS:
        for status, outcome in STATUSES:
            labels = (
                f'application="{app}",exception="None",method="{method}",outcome="{outcome}",'
                f'status="{status}",uri="{uri}"'
            )
            for le in BUCKETS:
                yield SeriesDef("http_server_requests_seconds_bucket", f'{labels},le="{le}"', COUNTER)
            yield SeriesDef("http_server_requests_seconds_count", labels, COUNTER)
            yield SeriesDef("http_server_requests_seconds_sum", labels, FLOAT_COUNTER)
            yield SeriesDef("http_server_requests_seconds_max", labels, GAUGE)


def target_series(target: int, size: int) -> list[SeriesDef]:
    """The ``size`` series of target ``target`` (its app is ``app-<target % 7>``: apps repeat across hosts)."""
    app = f"app-{target % 7}"
    out = list(_fixed_series(app))
    uri = 0
    while len(out) < size:
        out.extend(_http_series(app, f"/api/v1/resource{uri}/{{id}}"))
        uri += 1
    out = [SeriesDef(s.name, s.labels, CONSTANT) if s.name in CONSTANT_NAMES else s for s in out]
    return out[:size]


class TargetValues:
    """The current values of one target's series and how they move from one sample to the next."""

    def __init__(self, series: list[SeriesDef], seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        kinds = np.array([s.kind for s in series])
        n = len(series)
        self.counter = kinds == COUNTER
        self.float_counter = kinds == FLOAT_COUNTER
        self.gauge = kinds == GAUGE
        self.constant = kinds == CONSTANT
        # Per-series activity: many counters barely move (rare statuses, high buckets), a few move a lot.
        self.rate = self.rng.gamma(0.6, 4.0, n)
        self.values = np.where(
            self.gauge, np.round(self.rng.uniform(0, 1000, n), 1), np.floor(self.rng.uniform(0, 1e5, n))
        )
        self.step_scale = np.round(self.rng.uniform(0, 3, n), 1)
        self.lock = threading.Lock()

    def advance(self, steps: float = 1.0) -> list[float]:
        """Move every series ``steps`` sample intervals on; return the new values."""
        rng = self.rng
        n = self.values.size
        with self.lock:
            incr = rng.poisson(self.rate * steps).astype(float)
            frac = np.round(incr * rng.uniform(0.001, 0.2, n), 2)
            walk = np.round(rng.normal(0.0, 1.0, n) * self.step_scale, 1)
            moves = np.where(self.counter, incr, np.where(self.float_counter, frac, walk))
            self.values = self.values + np.where(self.constant, 0.0, moves)
            self.values = np.where(self.gauge, np.abs(self.values), self.values)
            return list(self.values.tolist())


def render(prefixes: list[str], values: list[float], timestamp: float | None = None) -> str:
    suffix = "" if timestamp is None else f" {timestamp:.3f}"
    return "".join(f"{p} {v!r}{suffix}\n" for p, v in zip(prefixes, values, strict=True))


def prefixes_of(series: list[SeriesDef]) -> list[str]:
    return [f"{s.name}{{{s.labels}}}" if s.labels else s.name for s in series]


class LoadGenerator:
    """The HTTP load generator: ``/t/<k>/metrics`` serves target k; every request advances its values."""

    PATH = re.compile(r"^/t/(\d+)/metrics$")

    def __init__(self, series_per_target: int, host: str = "127.0.0.1", port: int = 0) -> None:
        self.series_per_target = series_per_target
        self._targets: dict[int, tuple[list[str], TargetValues]] = {}
        self._lock = threading.Lock()
        gen = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                match = gen.PATH.match(self.path)
                if not match:
                    self.send_error(404)
                    return
                body = gen.body(int(match.group(1))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                # A scrape Prometheus gave up on (its scrape timeout) closes the socket mid-write:
                # counted, not printed.
                with gen._lock:
                    gen.aborted += 1

        self.aborted = 0
        self.server = Server((host, port), Handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _target(self, k: int) -> tuple[list[str], TargetValues]:
        with self._lock:
            if k not in self._targets:
                series = target_series(k, self.series_per_target)
                self._targets[k] = (prefixes_of(series), TargetValues(series, seed=k))
            return self._targets[k]

    def body(self, k: int) -> str:
        prefixes, values = self._target(k)
        return render(prefixes, values.advance())

    def __enter__(self) -> LoadGenerator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def write_openmetrics(
    path: Path, series: list[SeriesDef], *, start: int, seconds: int, interval: int, seed: int = 0
) -> int:
    """Samples of ``series`` every ``interval`` s from ``start`` (unix seconds) for ``seconds``, as
    OpenMetrics (one metric family after another, no TYPE lines); returns the sample count."""
    times = np.arange(start, start + seconds, interval)
    values = TargetValues(series, seed=seed)
    history = np.array([values.advance() for _ in times])  # one row per sample time
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for name in sorted({s.name for s in series}):
            for i, s in enumerate(series):
                if s.name == name:
                    prefix = f"{s.name}{{{s.labels}}}" if s.labels else s.name
                    out.write(
                        "".join(
                            f"{prefix} {v!r} {t}\n" for t, v in zip(times.tolist(), history[:, i].tolist(), strict=True)
                        )
                    )
                    count += int(times.size)
        out.write("# EOF\n")
    return count
