"""/status and /dashboard against a real Prometheus over the backfilled sample TSDB
(the fixture of tests/integration/test_queries_prometheus.py) and a real Alertmanager
(the fixture of tests/integration/test_bot_alertmanager.py)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from obsctl.bot.core import ChatOps
from obsctl.bot.panels import LocalRenderer, dashboards_dir
from obsctl.clients.alertmanager import AlertmanagerClient
from obsctl.clients.prometheus import PrometheusClient
from obsctl.incidents.store import IncidentStore
from tests.integration.test_bot_alertmanager import alertmanager_url  # noqa: F401 - a fixture
from tests.integration.test_queries_prometheus import prometheus  # noqa: F401 - a fixture
from tests.unit.bot_support import BOB, OPERATOR_ROLE, RULES
from tests.unit.test_bot_panels import coloured_pixels


@pytest.fixture
def bot(tmp_path: Path, prometheus: tuple[str, int], alertmanager_url: str) -> ChatOps:  # noqa: F811
    client = PrometheusClient(prometheus[0])
    return ChatOps(
        store=IncidentStore(tmp_path / "incidents.db"),
        alertmanager=AlertmanagerClient(alertmanager_url),
        prometheus=client,
        rules=RULES,
        operator_roles=frozenset({OPERATOR_ROLE}),
        render_dashboard=LocalRenderer(client, dashboards_dir(), "http://grafana.test:3000"),
    )


def test_status_reports_the_target_that_is_down(bot: ChatOps) -> None:
    reply = bot.status(BOB)
    assert reply.ok and reply.embed is not None
    services = {f.name: f.value for f in reply.embed.fields}["Services"]
    # the samples keep nginx on app-2 down (up == 0) and every node exporter up
    assert services.splitlines()[0].startswith("🔴 **nginx**") and "down: app-2" in services
    assert "🟢 node" in services
    assert reply.embed.color == 0xE74C3C


@pytest.mark.parametrize(("dashboard", "panel"), [("hosts", "CPU busy"), ("jvm", "Heap used vs. max"), ("chatbot", "")])
def test_dashboard_png_is_drawn_from_real_data(bot: ChatOps, tmp_path: Path, dashboard: str, panel: str) -> None:
    t0 = time.monotonic()
    reply = bot.dashboard(BOB, dashboard, panel)
    seconds = time.monotonic() - t0
    assert reply.ok, reply.text
    assert reply.image is not None
    out = tmp_path / reply.image_name
    out.write_bytes(reply.image)
    print(f"\n/dashboard {dashboard} {panel!r}: {out} ({len(reply.image)} bytes) in {seconds:.2f}s")
    image = Image.open(out)
    assert image.format == "PNG" and image.size == (1000, 450)
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50
    assert coloured_pixels(image) > 500, "no series drawn"
    assert f"http://grafana.test:3000/d/{dashboard}?viewPanel=" in reply.text
    assert seconds < 30
    assert Image.open(io.BytesIO(reply.image)).getbbox() is not None
