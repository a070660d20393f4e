"""Metric -> trace, proven with the real Prometheus: exemplars with trace ids are stored and served.

The lab's demo workload (roles/lab_demo_app/files, the program the lab runs on app-1) runs
in-process on a free loopback port with its traffic generator on; the pinned Prometheus release
(Debian forky's 3.5 build, tests/support.tool) scrapes it every second with exemplar storage on,
exactly as the stack's compose.yml starts it (the flag is read from the rendered template's
source, not repeated here). `/api/v1/query_exemplars` must return W3C trace ids on the request
histogram, and the same ids must be in the application log lines, where Loki's derived field
finds them: the trace id a Grafana exemplar opens is the one the logs carry.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support import REPO, free_port, local_server, serving, tool

SCRIPT = REPO / "roles" / "lab_demo_app" / "files" / "obs_lab_demo_workload.py"
COMPOSE = REPO / "roles" / "monitoring_stack" / "templates" / "compose.yml.j2"
DATASOURCES = REPO / "roles" / "monitoring_stack" / "templates" / "grafana" / "datasources" / "datasources.yml.j2"
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def _workload_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("obs_lab_demo_workload_exemplars", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _exemplar_flag() -> str:
    """The feature flag the stack's Prometheus runs with (compose.yml.j2), so the test uses the same."""
    [flag] = re.findall(r"--enable-feature=exemplar-storage", COMPOSE.read_text(encoding="utf-8"))
    return flag


def _exemplar_label() -> str:
    """The exemplar label Grafana's Prometheus datasource opens in Tempo (exemplarTraceIdDestinations)."""
    text = DATASOURCES.read_text(encoding="utf-8")
    [name] = re.findall(r"exemplarTraceIdDestinations:\s*\n\s*- name: (\w+)", text)
    return name


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    tmp = tmp_path_factory.mktemp("demo")
    mod = _workload_module()
    args = mod.parse_args(
        [
            "--name", "api", "--port", "0", "--bind", "127.0.0.1", "--traffic-interval", "0.02",
            "--app-log", str(tmp / "app.log"), "--nginx-access-log", str(tmp / "access.log"),
            "--nginx-error-log", str(tmp / "error.log"),
        ]
    )  # fmt: skip
    server, work, stop = mod.start(args)
    with serving(server):
        try:
            yield work.port, tmp / "app.log"
        finally:
            stop.set()


@pytest.fixture(scope="module")
def prometheus(demo: tuple[int, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = tool("prometheus")  # skips, saying why, unless it is the pinned release
    work = tmp_path_factory.mktemp("prom-exemplars")
    port, _ = demo
    config = work / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: spring\n"
        "    metrics_path: /actuator/prometheus\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n",
        encoding="utf-8",
    )
    listen = free_port()
    url = f"http://127.0.0.1:{listen}"
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={work / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{listen}",
        _exemplar_flag(),
    ]
    with local_server(argv, f"{url}/-/ready", work / "prometheus.log", "prometheus"):
        yield url


def _exemplars(url: str, query: str) -> list[dict[str, Any]]:
    now = time.time()
    params = urllib.parse.urlencode({"query": query, "start": f"{now - 300:.3f}", "end": f"{now + 5:.3f}"})
    with urllib.request.urlopen(f"{url}/api/v1/query_exemplars?{params}", timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    data: list[dict[str, Any]] = body["data"]
    return data


def _wait_for_exemplars(url: str, query: str, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = [e for series in _exemplars(url, query) for e in series.get("exemplars", [])]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(1)


def test_prometheus_stores_and_returns_trace_id_exemplars(prometheus: str, demo: tuple[int, Path]) -> None:
    label = _exemplar_label()
    exemplars = _wait_for_exemplars(prometheus, 'http_server_requests_seconds_bucket{job="spring"}')
    assert exemplars, "Prometheus 3.5 returned no exemplar for the demo's request histogram within 30 s"
    trace_ids = {e["labels"].get(label, "") for e in exemplars}
    assert trace_ids and all(TRACE_ID.match(t) for t in trace_ids), trace_ids
    for exemplar in exemplars:
        assert float(exemplar["value"]) > 0 and float(exemplar["timestamp"]) > time.time() - 300
    print(f"\n{len(exemplars)} exemplars from /api/v1/query_exemplars, e.g. {sorted(trace_ids)[:3]}")

    # The same ids are in the log lines (the link a Loki derived field follows back to Tempo).
    _, app_log = demo
    logged = set(re.findall(r"\btrace_id=([0-9a-f]{32})\b", app_log.read_text(encoding="utf-8")))
    assert trace_ids <= logged, f"exemplar trace ids not in the application log: {sorted(trace_ids - logged)[:3]}"


def test_exemplars_do_not_reach_a_text_format_scrape(demo: tuple[int, Path]) -> None:
    """The 0.0.4 text format has no exemplars: only an OpenMetrics scrape (what Prometheus asks for) carries them."""
    port, _ = demo
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/actuator/prometheus", timeout=10) as resp:
        text = resp.read().decode()
    assert " # {" not in text and "# EOF" not in text
