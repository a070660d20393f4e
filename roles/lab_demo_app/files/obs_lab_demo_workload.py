#!/usr/bin/python3
"""obs-lab demo workload: a small stdlib HTTP service that stands in for an application in the lab.

It is NOT Spring Boot and does not pretend to be. It exists so the lab's monitoring has something
real to scrape and read: it serves ``/actuator/prometheus`` and ``/actuator/health`` with the
metric *names and label sets* Micrometer uses (so the platform's dashboards, alerts and queries
work unchanged), drives real HTTP traffic at itself, and writes Spring-Boot-style application
logs and nginx-style access/error logs.

What is measured and what is simulated (also stated in each metric's HELP text):
- measured: http_server_requests_seconds (real requests through this server, real latency),
  process_start_time_seconds / process_uptime_seconds / process_cpu_usage (this process),
  jvm_threads_* (Python threads), hikaricp active/pending (requests in flight against a
  simulated pool of fixed size), tomcat_threads_busy_threads (requests in flight),
  logback_events_total (log lines written), chatbot_* (real requests to the chat endpoint).
- simulated: there is no JVM, so jvm_memory_* reports this process's resident memory split
  over the usual Micrometer memory pool ids, and jvm_gc_pause_seconds stays empty (no GC events).

Tracing, as a Spring Boot service with Micrometer Tracing does it (docs/tracing.md): every business
request runs in a span (W3C trace context: an incoming `traceparent` is continued, otherwise a new
trace starts); its log lines carry `[trace_id=<32 hex> span_id=<16 hex>]`; asked for OpenMetrics
(`Accept: application/openmetrics-text`, as Prometheus and Alloy ask), the request histograms
carry the last trace id of each bucket as an exemplar; with --otlp-endpoint the spans are sent as
OTLP/HTTP JSON to the local Alloy (batched from a bounded queue; the stdlib only, no SDK).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import re
import resource
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Micrometer's default SLO-less histogram buckets are ~70 values; this subset keeps the same
# le="..." formatting and enough resolution for p50/p95/p99 in the lab.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CHAT_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
PROM_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
OTLP_QUEUE_MAX = 2048  # spans kept while the collector is unreachable; the oldest are dropped beyond it
OTLP_BATCH_MAX = 256
LOG_ROTATE_BYTES = 10 * 1024 * 1024

# (method, uri template, weight, latency seconds range, error ratio): the demo's request mix.
API_ROUTES = (
    ("GET", "/api/posts", 6, (0.005, 0.08), 0.01),
    ("GET", "/api/posts/{id}", 4, (0.003, 0.05), 0.02),
    ("POST", "/api/posts", 1, (0.02, 0.25), 0.03),
    ("GET", "/api/users/{id}", 3, (0.002, 0.04), 0.01),
)
CHAT_ROUTES = (
    ("POST", "/api/chat/message", 5, (0.05, 0.9), 0.04),
    ("GET", "/api/chat/rooms", 2, (0.003, 0.03), 0.01),
)
INTENTS = ("greeting", "booking", "faq", "complaint", "unknown")
SATISFACTION_TYPES = ("thumbs_up_ratio", "csat")


def fmt(value: float) -> str:
    """Prometheus text format number (integers keep a trailing .0 like Micrometer)."""
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value)}.0"
    return repr(value)


def labels(**kv: str) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in kv.items())
    return "{" + inner + "}"


@dataclass(frozen=True)
class Span:
    """One server span: W3C ids (32 and 16 lower-case hex digits) and its timing."""

    trace_id: str
    span_id: str
    parent_id: str
    start: float = field(default_factory=time.time)

    @staticmethod
    def start_from(traceparent: str | None) -> Span:
        """Continue the caller's trace (W3C traceparent header) or start a new one."""
        match = TRACEPARENT.match(traceparent or "")
        if match and set(match.group(1)) != {"0"}:
            return Span(match.group(1), secrets.token_hex(8), match.group(2))
        return Span(secrets.token_hex(16), secrets.token_hex(8), "")

    def correlation(self) -> str:
        """What the documented Spring Boot correlation pattern writes into a log line."""
        return f"[trace_id={self.trace_id} span_id={self.span_id}] "


@dataclass
class Histogram:
    buckets: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0
    maximum: float = 0.0
    # Per bucket (the +Inf bucket last): the latest observation made inside a span, as
    # (trace id, span id, value, unix time): Micrometer's exemplar sampler keeps the same.
    exemplars: list[tuple[str, str, float, float] | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)
        self.exemplars = [None] * (len(self.buckets) + 1)

    def observe(self, seconds: float, span: Span | None = None) -> None:
        for i, upper in enumerate(self.buckets):
            if seconds <= upper:
                self.counts[i] += 1
        self.total += seconds
        self.count += 1
        self.maximum = max(self.maximum, seconds)
        if span is not None:
            slot = next((i for i, upper in enumerate(self.buckets) if seconds <= upper), len(self.buckets))
            self.exemplars[slot] = (span.trace_id, span.span_id, seconds, time.time())

    def _exemplar(self, slot: int, openmetrics: bool) -> str:
        found = self.exemplars[slot] if openmetrics else None
        if found is None:
            return ""
        trace_id, span_id, value, stamp = found
        return f" # {labels(trace_id=trace_id, span_id=span_id)} {value!r} {stamp:.3f}"

    def lines(self, name: str, base: dict[str, str], openmetrics: bool = False) -> Iterator[str]:
        for slot, (upper, n) in enumerate(zip(self.buckets, self.counts, strict=True)):
            yield f"{name}_bucket{labels(**base, le=repr(upper))} {fmt(n)}{self._exemplar(slot, openmetrics)}"
        inf = self._exemplar(len(self.buckets), openmetrics)
        yield f"{name}_bucket{labels(**base, le='+Inf')} {fmt(self.count)}{inf}"
        yield f"{name}_count{labels(**base)} {fmt(self.count)}"
        yield f"{name}_sum{labels(**base)} {fmt(self.total)}"


class Logs:
    """Spring-Boot-style application log and nginx-style access/error logs, size-rotated."""

    def __init__(self, app: str, port: int, app_log: Path, access_log: Path, error_log: Path) -> None:
        self.app, self.port = app, port
        self.app_log, self.access_log, self.error_log = app_log, access_log, error_log
        self.events: dict[str, int] = {"info": 0, "warn": 0, "error": 0, "debug": 0, "trace": 0}
        self.lock = threading.Lock()
        for path in (app_log, access_log, error_log):
            path.parent.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _append(path: Path, line: str) -> None:
        if path.exists() and path.stat().st_size > LOG_ROTATE_BYTES:
            path.replace(path.with_name(path.name + ".1"))
        # O_APPEND writes of one short line are atomic, so two demo processes can share nginx logs.
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def app_line(self, level: str, logger: str, message: str, span: Span | None = None) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}+00:00"
        thread = f"nio-{self.port}-exec-{threading.get_ident() % 10 + 1}"
        correlation = span.correlation() if span else ""
        line = (
            f"{stamp} {level.upper():>5} {os.getpid()} --- [{self.app}] [{thread:>15}] "
            f"{correlation}{logger:<40} : {message}"
        )
        with self.lock:
            self.events[level.lower()] += 1
            self._append(self.app_log, line)

    def access(self, request: tuple[str, str], status: int, size: int, seconds: float, agent: str) -> None:
        method, path = request
        stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime())
        line = (
            f'127.0.0.1 - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "-" "{agent}" '
            f"rt={seconds:.3f} upstream=127.0.0.1:{self.port}"
        )
        with self.lock:
            self._append(self.access_log, line)
            if status >= 500:
                err = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime())
                self._append(
                    self.error_log,
                    f"{err} [error] {os.getpid()}#0: *1 upstream returned {status} while reading response header "
                    f'from upstream, client: 127.0.0.1, request: "{method} {path} HTTP/1.1", '
                    f'upstream: "http://127.0.0.1:{self.port}{path}"',
                )


class OtlpExporter:
    """Spans to an OTLP/HTTP JSON endpoint (Alloy's otelcol.receiver.otlp): a bounded queue,
    one sender thread posting a batch every ``interval`` seconds. A collector that is down
    costs nothing but the spans beyond the queue's bound (counted in ``dropped``)."""

    def __init__(self, endpoint: str, service: str, interval: float = 2.0) -> None:
        self.endpoint, self.service, self.interval = endpoint, service, interval
        self.queue: collections.deque[dict[str, object]] = collections.deque(maxlen=OTLP_QUEUE_MAX)
        self.lock = threading.Lock()
        self.sent = self.dropped = self.failed_posts = 0

    def add(self, span: Span, name: str, status: int, attributes: dict[str, str | int]) -> None:
        end = time.time()
        record = {
            "traceId": span.trace_id,
            "spanId": span.span_id,
            "parentSpanId": span.parent_id,
            "name": name,
            "kind": 2,  # SPAN_KIND_SERVER
            "startTimeUnixNano": str(int(span.start * 1e9)),
            "endTimeUnixNano": str(int(end * 1e9)),
            "attributes": [_otlp_attribute(k, v) for k, v in attributes.items()],
            "status": {"code": 2 if status >= 500 else 1},  # ERROR / OK
        }
        with self.lock:
            if len(self.queue) == self.queue.maxlen:
                self.dropped += 1
            self.queue.append(record)

    def payload(self, spans: list[dict[str, object]]) -> bytes:
        resource = {"attributes": [_otlp_attribute("service.name", self.service)]}
        scope = {"name": "obs-lab-demo", "version": "1.0"}
        body = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": scope, "spans": spans}]}]}
        return json.dumps(body).encode()

    def flush(self) -> None:
        with self.lock:
            batch = [self.queue.popleft() for _ in range(min(OTLP_BATCH_MAX, len(self.queue)))]
        if not batch:
            return
        req = urllib.request.Request(  # noqa: S310 - the configured local collector (http)
            self.endpoint, data=self.payload(batch), method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - same URL
                resp.read()
            self.sent += len(batch)
        except (urllib.error.URLError, OSError):
            self.failed_posts += 1
            with self.lock:  # back to the front, still bounded: the oldest fall out first
                for record in reversed(batch):
                    if len(self.queue) == self.queue.maxlen:
                        self.dropped += 1
                        break
                    self.queue.appendleft(record)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self.flush()


def _otlp_attribute(key: str, value: str | int) -> dict[str, object]:
    typed = {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}
    return {"key": key, "value": typed}


class Workload:
    """All state of one demo application instance (api or chat)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.app: str = args.name
        self.port: int = args.port
        self.pool: str = args.pool
        self.pool_max: int = args.pool_max
        self.tomcat_max: int = args.tomcat_max_threads
        self.chat: bool = args.chatbot
        self.routes = CHAT_ROUTES if self.chat else API_ROUTES
        self.started = time.time()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak_threads = threading.active_count()
        self.pool_timeouts = 0
        self.http: dict[tuple[str, str, str, str, str], Histogram] = {}
        self.chat_hist: dict[str, Histogram] = {}
        self.chat_responses: dict[tuple[str, str], int] = {}
        self.satisfaction = {"thumbs_up_ratio": 0.9, "csat": 4.2}
        self.logs = Logs(
            self.app, self.port, Path(args.app_log), Path(args.nginx_access_log), Path(args.nginx_error_log)
        )
        self.cpu_last = (time.monotonic(), sum(os.times()[:2]))
        self.cpu_usage = 0.0
        endpoint = getattr(args, "otlp_endpoint", "")
        self.otlp = OtlpExporter(endpoint, self.app) if endpoint else None

    # --- recording -------------------------------------------------------------------------
    def record_http(  # noqa: PLR0917 - one request's facts
        self, method: str, uri: str, status: int, seconds: float, exception: str, span: Span | None = None
    ) -> None:
        outcome = {2: "SUCCESS", 3: "REDIRECTION", 4: "CLIENT_ERROR", 5: "SERVER_ERROR"}.get(status // 100, "UNKNOWN")
        key = (method, uri, str(status), outcome, exception)
        with self.lock:
            self.http.setdefault(key, Histogram(HTTP_BUCKETS)).observe(seconds, span)

    def record_chat(self, intent: str, status: str, seconds: float, span: Span | None = None) -> None:
        with self.lock:
            self.chat_hist.setdefault(intent, Histogram(CHAT_BUCKETS)).observe(seconds, span)
            self.chat_responses[(status, intent)] = self.chat_responses.get((status, intent), 0) + 1
            # A slow random walk so the satisfaction panel moves, bounded to its real range.
            drift = -0.02 if status != "success" else 0.005
            self.satisfaction["thumbs_up_ratio"] = min(1.0, max(0.0, self.satisfaction["thumbs_up_ratio"] + drift))
            self.satisfaction["csat"] = min(5.0, max(1.0, self.satisfaction["csat"] + drift * 5))

    # --- exposition --------------------------------------------------------------------------
    def _cpu(self) -> float:
        now, cpu = time.monotonic(), sum(os.times()[:2])
        last_t, last_cpu = self.cpu_last
        if now - last_t >= 1.0:
            self.cpu_usage = max(0.0, (cpu - last_cpu) / (now - last_t) / (os.cpu_count() or 1))
            self.cpu_last = (now, cpu)
        return self.cpu_usage

    def exposition(self, openmetrics: bool = False) -> str:  # noqa: PLR0912, PLR0915 - one listing of every family
        """Prometheus text format 0.0.4, or OpenMetrics 1.0 (with trace-id exemplars) when asked."""
        out: list[str] = []
        om = openmetrics
        add = out.append
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        with self.lock:
            add("# HELP http_server_requests_seconds Duration of HTTP request handling (demo workload: measured)")
            add("# TYPE http_server_requests_seconds histogram")
            for (method, uri, status, outcome, exc), hist in sorted(self.http.items()):
                base = {"exception": exc, "method": method, "outcome": outcome, "status": status, "uri": uri}
                out.extend(hist.lines("http_server_requests_seconds", base, om))
            add("# HELP http_server_requests_seconds_max Duration of HTTP server request handling")
            add("# TYPE http_server_requests_seconds_max gauge")
            for (method, uri, status, outcome, exc), hist in sorted(self.http.items()):
                base = {"exception": exc, "method": method, "outcome": outcome, "status": status, "uri": uri}
                add(f"http_server_requests_seconds_max{labels(**base)} {fmt(hist.maximum)}")
            if self.chat:
                add("# HELP chatbot_responses_total Chatbot answers by status and intent (demo workload: measured)")
                add("# TYPE chatbot_responses_total counter")
                for (status, intent), n in sorted(self.chat_responses.items()):
                    add(f"chatbot_responses_total{labels(intent=intent, status=status)} {fmt(n)}")
                add("# HELP chatbot_response_duration_seconds Time to answer one chat message (demo workload)")
                add("# TYPE chatbot_response_duration_seconds histogram")
                for intent, hist in sorted(self.chat_hist.items()):
                    out.extend(hist.lines("chatbot_response_duration_seconds", {"intent": intent}, om))
                add("# HELP chatbot_user_satisfaction User satisfaction (demo workload: simulated random walk)")
                add("# TYPE chatbot_user_satisfaction gauge")
                for rating, value in sorted(self.satisfaction.items()):
                    add(f"chatbot_user_satisfaction{labels(rating_type=rating)} {fmt(round(value, 4))}")
            in_flight = self.in_flight
            events = dict(self.logs.events)
        threads = threading.active_count()
        self.peak_threads = max(self.peak_threads, threads)
        heap = {"G1 Eden Space": 0.25, "G1 Old Gen": 0.55, "G1 Survivor Space": 0.05}
        nonheap = {"Metaspace": 0.1, "CodeCache": 0.05}
        add("# HELP jvm_memory_used_bytes Used memory (demo workload: no JVM, this process's RSS split by pool)")
        add("# TYPE jvm_memory_used_bytes gauge")
        for area, pools in (("heap", heap), ("nonheap", nonheap)):
            for pool_id, share in pools.items():
                add(f"jvm_memory_used_bytes{labels(area=area, id=pool_id)} {fmt(float(int(rss * share)))}")
        add("# HELP jvm_memory_committed_bytes Committed memory (demo workload: simulated)")
        add("# TYPE jvm_memory_committed_bytes gauge")
        for area, pools in (("heap", heap), ("nonheap", nonheap)):
            for pool_id, share in pools.items():
                add(f"jvm_memory_committed_bytes{labels(area=area, id=pool_id)} {fmt(float(int(rss * share * 1.2)))}")
        add("# HELP jvm_memory_max_bytes Max memory (demo workload: simulated 512 MiB heap, -1 when unbounded)")
        add("# TYPE jvm_memory_max_bytes gauge")
        for area, pools in (("heap", heap), ("nonheap", nonheap)):
            for pool_id, share in pools.items():
                value = float(int(512 * 1024 * 1024 * share)) if area == "heap" else -1.0
                add(f"jvm_memory_max_bytes{labels(area=area, id=pool_id)} {fmt(value)}")
        add("# HELP jvm_gc_pause_seconds Time spent in GC pause (demo workload: no JVM, no GC events)")
        add("# TYPE jvm_gc_pause_seconds summary")
        add("# HELP jvm_threads_live_threads Live threads (demo workload: Python threads)")
        add("# TYPE jvm_threads_live_threads gauge")
        add(f"jvm_threads_live_threads {fmt(threads)}")
        add("# HELP jvm_threads_daemon_threads Daemon threads (demo workload: Python daemon threads)")
        add("# TYPE jvm_threads_daemon_threads gauge")
        add(f"jvm_threads_daemon_threads {fmt(sum(t.daemon for t in threading.enumerate()))}")
        add("# HELP jvm_threads_peak_threads Peak live threads (demo workload: Python threads)")
        add("# TYPE jvm_threads_peak_threads gauge")
        add(f"jvm_threads_peak_threads {fmt(self.peak_threads)}")
        add("# HELP jvm_threads_states_threads Threads by state (demo workload: busy=runnable, rest waiting)")
        add("# TYPE jvm_threads_states_threads gauge")
        add(f"jvm_threads_states_threads{labels(state='runnable')} {fmt(in_flight + 1)}")
        add(f"jvm_threads_states_threads{labels(state='waiting')} {fmt(max(0, threads - in_flight - 1))}")
        add("# HELP process_cpu_usage Recent CPU usage of this process (demo workload: measured)")
        add("# TYPE process_cpu_usage gauge")
        add(f"process_cpu_usage {fmt(round(self._cpu(), 6))}")
        add("# HELP process_start_time_seconds Start time of the process since unix epoch (measured)")
        add("# TYPE process_start_time_seconds gauge")
        add(f"process_start_time_seconds {fmt(round(self.started, 3))}")
        add("# HELP process_uptime_seconds Uptime of the process (measured)")
        add("# TYPE process_uptime_seconds gauge")
        add(f"process_uptime_seconds {fmt(round(time.time() - self.started, 3))}")
        pool = {"pool": self.pool}
        active = min(in_flight, self.pool_max)
        for name, value, help_text in (
            ("hikaricp_connections_active", active, "Active connections (demo: requests in flight)"),
            ("hikaricp_connections_idle", self.pool_max - active, "Idle connections (demo: simulated pool)"),
            ("hikaricp_connections_pending", max(0, in_flight - self.pool_max), "Threads awaiting a connection"),
            ("hikaricp_connections_max", self.pool_max, "Max connections (demo: configured pool size)"),
        ):
            add(f"# HELP {name} {help_text}")
            add(f"# TYPE {name} gauge")
            add(f"{name}{labels(**pool)} {fmt(value)}")
        add("# HELP hikaricp_connections_timeout_total Connection timeouts (demo: simulated pool)")
        add("# TYPE hikaricp_connections_timeout_total counter")
        add(f"hikaricp_connections_timeout_total{labels(**pool)} {fmt(self.pool_timeouts)}")
        tomcat = {"name": f"http-nio-{self.port}"}
        for name, value, help_text in (
            ("tomcat_threads_busy_threads", in_flight, "Busy request threads (demo: requests in flight)"),
            ("tomcat_threads_current_threads", threads, "Request threads (demo: Python threads)"),
            ("tomcat_threads_config_max_threads", self.tomcat_max, "Configured maximum request threads"),
        ):
            add(f"# HELP {name} {help_text}")
            add(f"# TYPE {name} gauge")
            add(f"{name}{labels(**tomcat)} {fmt(value)}")
        add("# HELP logback_events_total Log events by level (demo workload: lines written)")
        add("# TYPE logback_events_total counter")
        for level, n in sorted(events.items()):
            add(f"logback_events_total{labels(level=level)} {fmt(n)}")
        if not openmetrics:
            return "\n".join(out) + "\n"
        return "\n".join(_openmetrics_names(out)) + "\n# EOF\n"

    def health(self) -> dict[str, object]:
        return {
            "status": "UP",
            "components": {
                "db": {"status": "UP", "details": {"pool": self.pool, "note": "simulated by the demo workload"}},
                "ping": {"status": "UP"},
            },
        }

    # --- the business endpoints the traffic generator calls -------------------------------
    def route_for(self, method: str, path: str) -> tuple[str, float, float] | None:
        """Match a request to a route: (uri template, latency range, error ratio)."""
        for r_method, template, _, (low, high), error_ratio in self.routes:
            if r_method != method:
                continue
            parts, tparts = path.split("?", maxsplit=1)[0].rstrip("/").split("/"), template.split("/")
            if len(parts) == len(tparts) and all(t in (p, "{id}") for t, p in zip(tparts, parts, strict=True)):
                return template, random.uniform(low, high), error_ratio  # noqa: S311 - demo traffic, not crypto
        return None


def _openmetrics_names(lines: list[str]) -> list[str]:
    """OpenMetrics names a counter family without its _total suffix (the samples keep it)."""
    counters = {ln.split()[2] for ln in lines if ln.startswith("# TYPE ") and ln.endswith(" counter")}
    renamed = []
    for line in lines:
        parts = line.split(" ", 3)
        if line.startswith(("# TYPE ", "# HELP ")) and parts[2] in counters and parts[2].endswith("_total"):
            parts[2] = parts[2].removesuffix("_total")
        renamed.append(" ".join(parts))
    return renamed


def wants_openmetrics(accept: str | None) -> bool:
    """True when the scraper negotiates OpenMetrics (Prometheus 3 and Alloy put it first)."""
    return "application/openmetrics-text" in (accept or "")


def make_handler(work: Workload) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "obs-lab-demo/1.0"

        def log_message(self, format: str, *args: object) -> None:
            """Requests are logged in nginx style by the workload itself, not on stderr."""

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self, method: str) -> None:
            start = time.perf_counter()
            span = Span.start_from(self.headers.get("traceparent"))
            with work.lock:
                work.in_flight += 1
            try:
                status, body, ctype, uri, exc = self._dispatch(method, span)
            finally:
                with work.lock:
                    work.in_flight -= 1
            self._send(status, body, ctype)
            elapsed = time.perf_counter() - start
            traced = span if uri.startswith("/api/") else None  # the actuator is not traced
            work.record_http(method, uri, status, elapsed, exc, traced)
            if traced and work.otlp:
                attributes: dict[str, str | int] = {
                    "http.request.method": method,
                    "http.route": uri,
                    "url.path": self.path.split("?", maxsplit=1)[0],
                    "http.response.status_code": status,
                }
                work.otlp.add(traced, f"{method} {uri}", status, attributes)
            work.logs.access((method, self.path), status, len(body), elapsed, self.headers.get("User-Agent", "-"))

        def _dispatch(self, method: str, span: Span) -> tuple[int, bytes, str, str, str]:
            path = self.path.split("?", maxsplit=1)[0]
            if method == "GET" and path == "/actuator/prometheus":
                if wants_openmetrics(self.headers.get("Accept")):
                    return 200, work.exposition(openmetrics=True).encode(), OPENMETRICS_CONTENT_TYPE, path, "None"
                return 200, work.exposition().encode(), PROM_CONTENT_TYPE, path, "None"
            if method == "GET" and path == "/actuator/health":
                return 200, json.dumps(work.health()).encode(), "application/json", path, "None"
            route = work.route_for(method, path)
            if route is None:
                return 404, b'{"error":"Not Found"}', "application/json", "/**", "None"
            template, latency, error_ratio = route
            length = int(self.headers.get("Content-Length", "0") or 0)
            if length:
                self.rfile.read(length)
            time.sleep(latency)
            failed = random.random() < error_ratio  # noqa: S311
            logger = f"c.d.{work.app}.{template.split('/')[2].capitalize()}Controller"
            if template == "/api/chat/message":
                intent = random.choice(INTENTS)  # noqa: S311
                status_label = "error" if failed else ("fallback" if intent == "unknown" else "success")
                work.record_chat(intent, status_label, latency, span)
            if failed:
                work.logs.app_line(
                    "error",
                    logger,
                    f"{method} {path} failed: java-style DataAccessResourceFailureException (demo)",
                    span,
                )
                return 500, b'{"error":"Internal Server Error"}', "application/json", template, "DataAccessException"
            if latency > 0.5:
                work.logs.app_line("warn", logger, f"{method} {path} slow: {latency * 1000:.0f} ms", span)
            else:
                work.logs.app_line("info", logger, f"{method} {path} 200 {latency * 1000:.0f} ms", span)
            return 200, b'{"ok":true}', "application/json", template, "None"

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

    return Handler


def traffic(work: Workload, interval: float, stop: threading.Event) -> None:
    """Real HTTP requests against this server, weighted by the route mix."""
    weights = [r[2] for r in work.routes]
    while not stop.wait(interval):
        method, template, *_ = random.choices(work.routes, weights=weights)[0]  # noqa: S311
        path = template.replace("{id}", str(random.randint(1, 500)))  # noqa: S311
        data = b'{"message":"hello"}' if method == "POST" else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{work.port}{path}",
            data=data,
            method=method,
            headers={"User-Agent": "obs-lab-demo-traffic/1.0", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
                resp.read()
        except (urllib.error.URLError, OSError):
            continue


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True, help="application name (label app=)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bind", default="0.0.0.0", help="listen address")  # noqa: S104 - lab container only
    p.add_argument("--pool", default="HikariPool-1", help="HikariCP pool name")
    p.add_argument("--pool-max", type=int, default=10)
    p.add_argument("--tomcat-max-threads", type=int, default=200)
    p.add_argument("--chatbot", action="store_true", help="serve the chat routes and chatbot_* metrics")
    p.add_argument("--traffic-interval", type=float, default=0.5, help="seconds between generated requests; 0=off")
    p.add_argument("--app-log", required=True)
    p.add_argument("--nginx-access-log", required=True)
    p.add_argument("--nginx-error-log", required=True)
    p.add_argument(
        "--otlp-endpoint",
        default="",
        help="OTLP/HTTP traces URL of the local collector (e.g. http://127.0.0.1:4318/v1/traces); empty: no export",
    )
    return p.parse_args(argv)


def start(args: argparse.Namespace) -> tuple[ThreadingHTTPServer, Workload, threading.Event]:
    """Bind, start the traffic generator and return; the caller runs serve_forever()."""
    work = Workload(args)
    server = ThreadingHTTPServer((args.bind, args.port), make_handler(work))
    server.daemon_threads = True
    # --port 0 (tests) binds a free port: the generator and the logs must use the real one.
    work.port = work.logs.port = int(server.server_address[1])
    stop = threading.Event()
    if args.traffic_interval > 0:
        threading.Thread(target=traffic, args=(work, args.traffic_interval, stop), daemon=True).start()
    if work.otlp:
        threading.Thread(target=work.otlp.run, args=(stop,), daemon=True).start()
    work.logs.app_line("info", "c.d.DemoWorkload", f"obs-lab demo workload '{work.app}' listening on :{work.port}")
    return server, work, stop


def main(argv: list[str] | None = None) -> int:
    server, _, stop = start(parse_args(sys.argv[1:] if argv is None else argv))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
