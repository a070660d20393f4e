"""The lab's demo workload (roles/lab_demo_app/files) run in-process on a free loopback port.

Its exposition is parsed and every series name must be one obsctl.signals.metrics lists, so the
platform's dashboards and alerts (which may only use those names) work against the lab.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import sys
import time
import urllib.request
from collections.abc import Iterator
from types import ModuleType

import pytest

from obsctl.signals.metrics import known_series_names
from tests.support import REPO, HttpTestDouble, double_url, serve_double, serving

SCRIPT = REPO / "roles" / "lab_demo_app" / "files" / "obs_lab_demo_workload.py"
# Label values may contain braces (Spring's uri="/api/posts/{id}"), so match quoted strings whole.
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)$')


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("obs_lab_demo_workload", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    # dataclasses resolve their module through sys.modules.
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module", params=["api", "chat"])
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    tmp_path = tmp_path_factory.mktemp(request.param)
    mod = _module()
    argv = [
        "--name",
        request.param,
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--traffic-interval",
        "0.01",
        "--pool",
        "ChatHikariPool" if request.param == "chat" else "DoktoriHikariPool",
        "--app-log",
        str(tmp_path / "app" / "app.log"),
        "--nginx-access-log",
        str(tmp_path / "nginx" / "access.log"),
        "--nginx-error-log",
        str(tmp_path / "nginx" / "error.log"),
    ]
    if request.param == "chat":
        argv += ["--chatbot", "--tomcat-max-threads", "100"]
    server, work, stop = mod.start(mod.parse_args(argv))
    with serving(server):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum(h.count for h in work.http.values()) < 8:
            time.sleep(0.1)
        yield request.param, int(server.server_address[1]), tmp_path
        stop.set()


def _get(port: int, path: str) -> tuple[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
        return resp.headers["Content-Type"], resp.read().decode()


def _samples(text: str) -> list[tuple[str, str, float]]:
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a valid exposition line: {line!r}"
        out.append((match.group(1), match.group(2) or "", float(match.group(3))))
    return out


def test_every_series_name_is_in_the_signal_catalog(running):
    _, port, _ = running
    ctype, text = _get(port, "/actuator/prometheus")
    assert ctype.startswith("text/plain; version=0.0.4")
    names = {name for name, _, _ in _samples(text)}
    unknown = names - known_series_names()
    assert not unknown, f"series the signal catalog does not know: {sorted(unknown)}"
    for required in (
        "http_server_requests_seconds_bucket",
        "hikaricp_connections_max",
        "process_start_time_seconds",
        "jvm_memory_used_bytes",
        "tomcat_threads_busy_threads",
        "logback_events_total",
    ):
        assert required in names


def test_requests_are_measured_by_route_and_status(running):
    _, port, _ = running
    samples = _samples(_get(port, "/actuator/prometheus")[1])
    counts = [(labels, v) for name, labels, v in samples if name == "http_server_requests_seconds_count"]
    generated = sum(v for labels, v in counts if 'uri="/api/' in labels)
    assert generated >= 8, counts
    # Buckets are cumulative: +Inf equals _count for each series.
    inf = {
        labels.replace(',le="+Inf"', ""): v
        for name, labels, v in samples
        if name == "http_server_requests_seconds_bucket" and 'le="+Inf"' in labels
    }
    for labels, v in counts:
        assert inf[labels] == v


def test_chatbot_metrics_only_on_chat(running):
    app, port, _ = running
    text = _get(port, "/actuator/prometheus")[1]
    names = {name for name, _, _ in _samples(text)}
    chat_names = {"chatbot_responses_total", "chatbot_response_duration_seconds_bucket", "chatbot_user_satisfaction"}
    if app == "chat":
        assert chat_names <= names
        assert 'tomcat_threads_config_max_threads{name="http-nio-' in text
        assert 'pool="ChatHikariPool"' in text
    else:
        assert not (chat_names & names)
        assert 'pool="DoktoriHikariPool"' in text


def test_health_and_logs(running):
    app, port, tmp_path = running
    assert json.loads(_get(port, "/actuator/health")[1])["status"] == "UP"
    app_log = (tmp_path / "app" / "app.log").read_text()
    assert f"--- [{app}]" in app_log
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00\s+(INFO|WARN|ERROR) \d+ --- ", app_log, re.M)
    access = (tmp_path / "nginx" / "access.log").read_text().splitlines()
    assert access
    assert re.match(r'^127\.0\.0\.1 - - \[[^\]]+\] "(GET|POST) /\S* HTTP/1\.1" \d{3} \d+ "-" "[^"]*" rt=', access[-1])


def _get_openmetrics(port: int) -> tuple[str, str]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/actuator/prometheus",
        headers={"Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return resp.headers["Content-Type"], resp.read().decode()


def test_openmetrics_scrape_carries_trace_id_exemplars_that_the_logs_carry(running):
    """What Prometheus and Alloy negotiate: OpenMetrics, with the request's trace id on its bucket."""
    _, port, tmp_path = running
    ctype, text = _get_openmetrics(port)
    assert ctype.startswith("application/openmetrics-text; version=1.0.0")
    assert text.endswith("# EOF\n")
    assert "# TYPE logback_events counter" in text and "# TYPE logback_events_total" not in text
    exemplar = re.compile(
        r'^http_server_requests_seconds_bucket\{[^}]*uri="/api/[^}]*\} \S+ '
        r'# \{trace_id="([0-9a-f]{32})",span_id="([0-9a-f]{16})"\} (\S+) (\d+\.\d{3})$',
        re.M,
    )
    found = exemplar.findall(text)
    assert found, "no exemplar on the request histogram"
    logged = set(
        re.findall(r"\[trace_id=([0-9a-f]{32}) span_id=[0-9a-f]{16}\] ", (tmp_path / "app" / "app.log").read_text())
    )
    assert {trace for trace, _, _, _ in found} <= logged
    assert not re.search(r'uri="/actuator/[^}]*\} \S+ # \{', text), "the actuator is not traced"


def test_incoming_traceparent_is_continued_and_malformed_ones_start_a_new_trace():
    mod = _module()
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    span = mod.Span.start_from(parent)
    assert (span.trace_id, span.parent_id) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert re.fullmatch(r"[0-9a-f]{16}", span.span_id) and span.span_id != "00f067aa0ba902b7"
    for bad in (None, "", "00-" + "0" * 32 + "-00f067aa0ba902b7-01", "01-xyz", parent.upper()):
        fresh = mod.Span.start_from(bad)
        assert re.fullmatch(r"[0-9a-f]{32}", fresh.trace_id) and fresh.parent_id == ""


@contextlib.contextmanager
def otlp_collector_double() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """Test double of Alloy's otelcol.receiver.otlp HTTP listener: yields its URL and every OTLP/JSON body it got."""
    bodies: list[dict[str, object]] = []

    class Handler(HttpTestDouble):
        def do_POST(self) -> None:
            assert self.path == "/v1/traces"
            assert self.headers["Content-Type"] == "application/json"
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.reply(200, {})

    with serve_double(Handler) as server:
        yield double_url(server, "/v1/traces"), bodies


def test_spans_go_to_the_collector_as_otlp_json_with_the_logged_trace_ids(tmp_path):
    mod = _module()
    with otlp_collector_double() as (collector_url, collector_bodies):
        args = mod.parse_args(
            [
                "--name", "api", "--port", "0", "--bind", "127.0.0.1", "--traffic-interval", "0.01",
                "--app-log", str(tmp_path / "app.log"), "--nginx-access-log", str(tmp_path / "a.log"),
                "--nginx-error-log", str(tmp_path / "e.log"), "--otlp-endpoint", collector_url,
            ]
        )  # fmt: skip
        server, work, stop = mod.start(args)
        with serving(server):
            try:
                work.otlp.interval = 0.2
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and work.otlp.sent < 5:
                    time.sleep(0.1)
            finally:
                stop.set()
    assert work.otlp.sent >= 5, "no spans reached the collector double"
    resource_spans = [rs for body in collector_bodies for rs in body["resourceSpans"]]
    assert {"key": "service.name", "value": {"stringValue": "api"}} in resource_spans[0]["resource"]["attributes"]
    spans = [s for rs in resource_spans for ss in rs["scopeSpans"] for s in ss["spans"]]
    for span in spans:
        assert re.fullmatch(r"[0-9a-f]{32}", span["traceId"]) and re.fullmatch(r"[0-9a-f]{16}", span["spanId"])
        assert span["kind"] == 2 and int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"])
        assert span["name"].split(" ", 1)[1].startswith("/api/")
    logged = set(re.findall(r"trace_id=([0-9a-f]{32})", (tmp_path / "app.log").read_text()))
    assert {s["traceId"] for s in spans} <= logged


def test_a_dead_collector_costs_only_the_spans_beyond_the_bound():
    mod = _module()
    exporter = mod.OtlpExporter("http://127.0.0.1:9/v1/traces", "api")  # discard port: nothing listens
    for _ in range(mod.OTLP_QUEUE_MAX + 10):
        exporter.add(mod.Span.start_from(None), "GET /api/posts", 200, {"http.route": "/api/posts"})
    exporter.flush()
    assert len(exporter.queue) == mod.OTLP_QUEUE_MAX
    assert exporter.dropped >= 10 and exporter.failed_posts == 1 and exporter.sent == 0
