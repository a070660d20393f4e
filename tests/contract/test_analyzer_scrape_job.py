"""The monitoring stack's Prometheus scrapes the incident analyzer as job "analyzer".

Rendered by the role (tests/contract/test_monitoring_stack_render.py's render helpers) for the
fixture inventory: the job targets the Compose service on the port of obs_common's port map (the
analyzer's alerts and the LLM usage dashboard read this job), and the switch
``monitoring_stack_analyzer_enabled`` removes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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


@pytest.mark.parametrize("switch", [False, "false"])
def test_switching_the_analyzer_off_removes_its_job(tmp_path: Path, switch: object) -> None:
    jobs = _jobs(tmp_path, {"monitoring_stack_analyzer_enabled": switch})
    assert "analyzer" not in jobs
    assert "prometheus" in jobs, "the rest of the configuration is still rendered"
