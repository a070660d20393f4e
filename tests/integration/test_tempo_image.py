"""Tempo's own run: the pinned image starts on the rendered tempo.yml, answers /ready and its health
check, and its effective config (/status/config) holds what the role set.

Runs only where the pinned grafana/tempo image is on this machine or pullable; otherwise it skips
with the reason (no registry serves it to the offline build machine). The rendered config is
always checked against the documented field tree by tests/contract/test_tempo_config.py.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import yaml

from tests.contract.test_monitoring_stack_render import _fixture_inventory, render
from tests.contract.test_tempo_config import DEFAULTS, TEMPO_ON
from tests.support import free_port, require_docker

IMAGE = yaml.safe_load(DEFAULTS.read_text(encoding="utf-8"))["monitoring_stack_tempo_image"]


def _image_or_skip() -> None:
    require_docker()
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode == 0:
        return
    pull = subprocess.run(["docker", "pull", IMAGE], capture_output=True, text=True, timeout=300, check=False)
    if pull.returncode != 0:
        reason = (pull.stderr.strip().splitlines() or ["no output"])[-1][:200]
        pytest.skip(f"the pinned Tempo image {IMAGE} cannot be had here: {reason}")


@pytest.fixture(scope="module")
def tempo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _image_or_skip()
    tmp = tmp_path_factory.mktemp("tempo-run")
    rendered = render(_fixture_inventory(tmp), tmp / "out", TEMPO_ON)
    data = tmp / "data"
    data.mkdir()
    os.chmod(data, 0o777)
    port = free_port()
    name = f"obs-test-tempo-{port}"
    subprocess.run(
        [
            "docker", "run", "-d", "--rm", "--name", name, "--user", "10001:10001",
            "-v", f"{rendered.out / 'tempo'}:/etc/tempo:ro", "-v", f"{data}:/var/tempo",
            "-p", f"127.0.0.1:{port}:3200", IMAGE, "-config.file=/etc/tempo/tempo.yml",
        ],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/ready", timeout=3) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False)
                pytest.fail(f"Tempo did not become ready on the rendered config: {(logs.stdout + logs.stderr)[-2000:]}")
            time.sleep(1)
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_tempo_runs_the_rendered_config_and_its_health_check_passes(tempo: str) -> None:
    check = subprocess.run(
        ["docker", "exec", tempo, "/tempo", "-health", "-health.url=http://127.0.0.1:3200/ready"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_effective_config_holds_the_roles_values(tempo: str) -> None:
    port = subprocess.run(["docker", "port", tempo, "3200"], capture_output=True, text=True, check=True)
    host_port = port.stdout.strip().rsplit(":", 1)[-1]
    with urllib.request.urlopen(f"http://127.0.0.1:{host_port}/status/config", timeout=10) as resp:
        effective = yaml.safe_load(resp.read())
    protocols = effective["distributor"]["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317"
    assert effective["backend_worker"]["compaction"]["block_retention"] == "168h0m0s"
    assert effective["storage"]["trace"]["backend"] == "local"
