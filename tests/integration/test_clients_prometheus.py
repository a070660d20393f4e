"""The Prometheus client against a real Prometheus (Debian's binary) scraping itself on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from obsctl.clients.http import ClientError
from obsctl.clients.prometheus import PrometheusClient
from tests.support import free_port, local_server, tool


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusClient]:
    binary = tool("prometheus")
    work: Path = tmp_path_factory.mktemp("prom-client")
    port = free_port()
    (work / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: self\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{port}']\n",
        encoding="utf-8",
    )
    argv = [
        binary,
        f"--config.file={work / 'prometheus.yml'}",
        f"--storage.tsdb.path={work / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    url = f"http://127.0.0.1:{port}"
    with local_server(argv, f"{url}/-/ready", work / "log", "prometheus"):
        client = PrometheusClient(url, timeout=5)
        try:
            deadline = time.monotonic() + 60
            while not client.query('up{job="self"}'):  # the first scrape
                if time.monotonic() > deadline:
                    pytest.fail("prometheus never scraped itself")
                time.sleep(0.5)
            yield client
        finally:
            client.close()


def test_instant_query_returns_the_self_scrape(prom: PrometheusClient) -> None:
    samples = prom.query('up{job="self"}')
    assert len(samples) == 1
    assert samples[0].value == 1.0
    assert samples[0].labels["job"] == "self"
    assert prom.query("1 + 1")[0].value == 2.0  # scalar result


def test_range_query_has_points_in_the_window(prom: PrometheusClient) -> None:
    time.sleep(2)
    end = time.time()
    series = prom.query_range('up{job="self"}', end - 30, end, 1)
    assert len(series) == 1
    assert series[0].points
    assert all(end - 31 <= ts <= end + 1 for ts, _ in series[0].points)
    # up is 1 per successful self-scrape; a scrape that times out on a loaded machine is a 0.
    assert 1.0 in series[0].values()
    assert set(series[0].values()) <= {0.0, 1.0}


def test_targets_and_buildinfo(prom: PrometheusClient) -> None:
    targets = prom.targets()
    assert [t["labels"]["job"] for t in targets] == ["self"]
    assert prom.buildinfo()["version"]


def test_a_bad_expression_carries_prometheus_own_message(prom: PrometheusClient) -> None:
    with pytest.raises(ClientError) as err:
        prom.query("sum(rate(")
    assert err.value.status == 400
    assert "parse error" in str(err.value)


def test_naive_datetime_is_refused(prom: PrometheusClient) -> None:
    with pytest.raises(ValueError, match="naive"):
        prom.query("up", at=datetime(2026, 1, 1))
