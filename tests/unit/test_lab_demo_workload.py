"""The lab's demo workload (roles/lab_demo_app/files) run in-process on a free loopback port.

Its exposition is parsed and every series name must be one obsctl.signals.metrics lists, so the
platform's dashboards and alerts (which may only use those names) work against the lab.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import threading
import time
import urllib.request
from types import ModuleType

import pytest

from obsctl.signals.metrics import known_series_names
from tests.support import REPO

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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sum(h.count for h in work.http.values()) < 8:
        time.sleep(0.1)
    yield request.param, int(server.server_address[1]), tmp_path
    stop.set()
    server.shutdown()
    server.server_close()


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
