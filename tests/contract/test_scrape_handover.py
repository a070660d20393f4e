"""A host switching to Alloy keeps its direct scrape until its Alloy's own metrics arrive (issue 12, Found 7).

The monitoring_stack role renders prometheus.yml (rendering only) for the fixture inventory, where
app-alloy is marked ``obs_agent: alloy``, while asking a real Prometheus (the pinned release) which
hosts it still scrapes directly. That Prometheus scrapes a loopback test server standing for
app-alloy's node_exporter (job node) and, once "Alloy" reports, its alloy_build_info (job alloy).
Before: app-alloy stays in the node and spring jobs. After: it is dropped.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract import test_monitoring_stack_render as stack
from tests.support import HttpTestDouble, free_port, local_server, serve_double, tool

HOST = "app-alloy"  # obs_agent: alloy in the render test's fixture inventory
LEGACY = "app-legacy"


class Exporters:
    """A test double for app-alloy's node_exporter (/node) and its Alloy self-metrics (/alloy)."""

    def __init__(self) -> None:
        self.alloy_reports = False
        owner = self

        class Handler(HttpTestDouble):
            def do_GET(self) -> None:
                if self.path == "/node":
                    body = "node_exporter_build_info 1\n"
                elif self.path == "/alloy":
                    body = f'alloy_build_info{{host="{HOST}",version="v1.21.2"}} 1\n' if owner.alloy_reports else ""
                else:
                    self.send_error(404)
                    return
                self.reply(200, body, "text/plain; version=0.0.4")

        self.handler = Handler


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Exporters]]:
    binary = tool("prometheus")
    work = tmp_path_factory.mktemp("handover")
    exporters = Exporters()
    with serve_double(exporters.handler) as server:
        target = f"127.0.0.1:{server.server_port}"
        (work / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n"
            f"  - job_name: node\n    metrics_path: /node\n    static_configs:\n"
            f'      - targets: ["{target}"]\n        labels: {{host: {HOST}}}\n'
            f"  - job_name: alloy\n    metrics_path: /alloy\n    honor_labels: true\n    static_configs:\n"
            f'      - targets: ["{target}"]\n',
            encoding="utf-8",
        )
        port = free_port()
        argv = [
            binary,
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ]
        with local_server(argv, f"http://127.0.0.1:{port}/-/ready", work / "prometheus.log", "prometheus"):
            yield port, exporters


def query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as resp:
        result: list[dict[str, Any]] = json.load(resp)["data"]["result"]
    return result


def wait_for(port: int, expr: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not query(port, expr):
        assert time.monotonic() < deadline, f"Prometheus never returned {expr}"
        time.sleep(0.5)


def directly_scraped(tmp: Path, port: int) -> dict[str, set[str]]:
    """job -> hosts prometheus.yml scrapes directly, as the role renders it while asking ``port``."""
    extra = {"_monitoring_stack_handover_probe": True, "monitoring_stack_prometheus_port": port}
    rendered = stack.render(stack._fixture_inventory(tmp), tmp / "out", extra)
    jobs = rendered.yaml("prometheus/prometheus.yml")["scrape_configs"]
    return {
        job["job_name"]: {static["labels"]["host"] for static in job.get("static_configs", [])}
        for job in jobs
        if job["job_name"] in ("node", "spring")
    }


def test_the_direct_scrape_stays_until_alloy_reports(prometheus: tuple[int, Exporters], tmp_path: Path) -> None:
    port, exporters = prometheus
    wait_for(port, f'up{{job="node",host="{HOST}"}} == 1')

    before = directly_scraped(tmp_path / "before", port)
    assert before == {"node": {LEGACY, HOST}, "spring": {LEGACY, HOST}}, (
        f"{HOST} is switching (obs_agent: alloy) but its Alloy has not reported: its direct scrape must stay"
    )

    exporters.alloy_reports = True
    wait_for(port, f'alloy_build_info{{host="{HOST}"}}')
    after = directly_scraped(tmp_path / "after", port)
    assert after == {"node": {LEGACY}, "spring": {LEGACY}}, f"{HOST}'s Alloy reports: the direct scrape goes"


def test_without_an_answer_from_prometheus_nothing_is_kept(tmp_path: Path) -> None:
    """First install (no Prometheus yet): a host marked alloy is never scraped directly."""
    scraped = directly_scraped(tmp_path, free_port())
    assert HOST not in scraped.get("node", set()) | scraped.get("spring", set())
