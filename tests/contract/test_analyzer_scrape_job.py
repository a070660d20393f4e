"""The monitoring stack's Prometheus scrapes the incident analyzer as job "analyzer".

Rendered by the role (tests/contract/test_monitoring_stack_render.py's render helpers) for the
fixture inventory: the job targets the Compose service on the port of obs_common's port map (the
analyzer's alerts and the LLM usage dashboard read this job), exactly when the Compose service
runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsctl import common
from tests.contract import test_monitoring_stack_render as stack


def _jobs(tmp: Path, extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    inv = stack._fixture_inventory(tmp)
    rendered = stack.render(inv, tmp / "out", {"monitoring_stack_loki_v13_from": stack.FUTURE, **extra})
    config = rendered.yaml("prometheus/prometheus.yml")
    return {j["job_name"]: j for j in config["scrape_configs"]}


def test_the_analyzer_is_scraped_on_its_shared_port(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path, {})
    job = jobs.get("analyzer")
    assert job is not None, f"no analyzer job in the rendered prometheus.yml (jobs: {sorted(jobs)})"
    assert job["metrics_path"] == "/metrics"
    [static] = job["static_configs"]
    assert static["targets"] == [f"analyzer:{common.port('analyzer')}"]
    assert {"instance", "host", "env"} <= set(static["labels"])


def test_the_job_is_scraped_exactly_when_the_service_runs(tmp_path: Path) -> None:
    """One switch: the job comes from the same list of enabled services as the Compose service
    (switching the analyzer off while Grafana routes to it is refused: test_monitoring_stack_services)."""
    inv = stack._fixture_inventory(tmp_path)
    rendered = stack.render(inv, tmp_path / "out", {"monitoring_stack_loki_v13_from": stack.FUTURE})
    jobs = {j["job_name"] for j in rendered.yaml("prometheus/prometheus.yml")["scrape_configs"]}
    services = set(rendered.yaml("compose.yml")["services"])
    assert ("analyzer" in jobs) == ("analyzer" in services)
    assert "analyzer" in services, f"the analyzer is on by default (services: {sorted(services)})"
