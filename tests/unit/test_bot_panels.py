"""/dashboard: panel lookup in the generated dashboards, variable filling, and the drawn PNG."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image, ImageDraw

from obsctl.bot.core import ChatOps
from obsctl.bot.panels import (
    GrafanaRenderer,
    LocalRenderer,
    PanelQuery,
    concrete,
    dashboards_dir,
    draw,
    find_panel,
    load_dashboards,
)
from obsctl.clients.prometheus import PrometheusClient
from obsctl.errors import ObsError
from tests.support import HttpTestDouble, double_url, serve_double
from tests.unit.bot_support import BOB, AlertmanagerTestDouble, make_chatops


def coloured_pixels(image: Image.Image) -> int:
    """Pixels clearly not grey: the drawn series (axes, grid and text are black or grey on white)."""
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000) or []
    return sum(n for n, (r, g, b) in colours if max(r, g, b) - min(r, g, b) > 60)


def test_dashboard_variables_become_any_value() -> None:
    assert concrete('sum(rate(x{app="$app",status=~"5.."}[5m]))') == 'sum(rate(x{app=~".+",status=~"5.."}[5m]))'
    assert concrete('up{instance=~"$host", job="node"}') == 'up{instance=~".*", job="node"}'
    assert concrete('rate(x{app=~"${app}"}[$__rate_interval])') == 'rate(x{app=~".*"}[5m])'
    with pytest.raises(ObsError, match="cannot fill"):
        concrete('x{a="b"} / $divisor')


def test_panels_are_found_in_the_generated_dashboards_by_title_or_id() -> None:
    models = load_dashboards(dashboards_dir())
    cpu = find_panel(models, "Hosts", "cpu busy")
    assert (cpu.dashboard_uid, cpu.panel_title) == ("hosts", "CPU busy")
    assert cpu.exprs and all("$" not in expr for expr, _ in cpu.exprs)
    assert 'mode="idle"' in cpu.exprs[0][0]
    assert find_panel(models, "hosts", str(cpu.panel_id)).panel_title == "CPU busy"
    default = find_panel(models, "chatbot")
    assert default.panel_title == "Success rate: today vs. yesterday"  # the first time series panel
    assert default.span_seconds == 24 * 3600  # the dashboard's own time range (now-24h)
    with pytest.raises(ObsError) as caught:
        find_panel(models, "no-such-board")
    assert "hosts" in str(caught.value.fix)
    with pytest.raises(ObsError) as caught:
        find_panel(models, "hosts", "no such panel")
    assert "CPU busy" in str(caught.value.fix)


class PrometheusRangeTestDouble:
    """Answers query_range with a sine per queried expression; records the queries."""

    def __init__(self, empty: bool = False) -> None:
        self.queries: list[dict[str, list[str]]] = []
        self.empty = empty

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/query_range"
        form = parse_qs(request.content.decode())
        self.queries.append(form)
        start, end, step = float(form["start"][0]), float(form["end"][0]), float(form["step"][0])
        values = []
        t = start
        while t <= end:
            values.append([t, str(0.5 + 0.4 * math.sin(t / 3600))])
            t += step
        result = [] if self.empty else [{"metric": {"instance": "app-1"}, "values": values}]
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": result}})


def _prometheus(double: PrometheusRangeTestDouble) -> PrometheusClient:
    return PrometheusClient("http://prometheus.test", retries=0, transport=httpx.MockTransport(double.handler))


def test_the_panel_is_drawn_as_a_png_with_its_series() -> None:
    double = PrometheusRangeTestDouble()
    query = PanelQuery("hosts", "Hosts", 11, "CPU busy", [("up", "{{instance}}")], 6 * 3600)
    png = draw(query, _prometheus(double), end=1_780_000_000)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (1000, 450)
    pixels = image.convert("RGB")
    colours = pixels.getcolors(maxcolors=1_000_000) or []
    assert len(colours) > 50  # text, axes and a line: not a blank canvas
    assert coloured_pixels(image) > 500, "the series line is missing"
    (asked,) = double.queries
    assert asked["query"] == ["up"]
    assert float(asked["end"][0]) - float(asked["start"][0]) == 6 * 3600


def test_no_data_answers_with_what_to_do(tmp_path: Path) -> None:
    renderer = LocalRenderer(_prometheus(PrometheusRangeTestDouble(empty=True)), dashboards_dir(), "http://g")
    bot: ChatOps = make_chatops(tmp_path, AlertmanagerTestDouble(), render_dashboard=renderer)
    reply = bot.dashboard(BOB, "hosts", "CPU busy")
    assert not reply.ok and "has no data" in reply.text and "pick another panel" in reply.text


def test_dashboard_reply_carries_the_image_and_the_link(tmp_path: Path) -> None:
    renderer = LocalRenderer(_prometheus(PrometheusRangeTestDouble()), dashboards_dir(), "https://grafana.example")
    bot = make_chatops(tmp_path, AlertmanagerTestDouble(), render_dashboard=renderer)
    reply = bot.dashboard(BOB, "hosts", "CPU busy")
    assert reply.ok, reply.text
    assert reply.image is not None and reply.image.startswith(b"\x89PNG")
    assert reply.image_name == "hosts-cpu-busy.png"
    assert "https://grafana.example/d/hosts?viewPanel=" in reply.text


class GrafanaRenderTestDouble(HttpTestDouble):
    """A local stand-in for Grafana's ``GET /render/d-solo/<uid>/<slug>`` (the image renderer):
    answers a PNG of the asked size drawn with Pillow, or, with ``login_page``, the HTML a Grafana
    without a valid token shows. Records every request's path, query and Authorization header."""

    received: ClassVar[list[dict[str, Any]]] = []
    login_page: ClassVar[bool] = False

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).received.append({"path": url.path, "query": query, "auth": self.headers.get("Authorization")})
        if type(self).login_page or not url.path.startswith("/render/d-solo/"):
            self.reply(200, b"<html><body>Grafana login</body></html>", "text/html")
            return
        image = Image.new("RGB", (int(query["width"]), int(query["height"])), "white")
        ImageDraw.Draw(image).line([(0, 0), (image.width, image.height)], fill=(30, 120, 200), width=5)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        self.reply(200, buffer.getvalue(), "image/png")


@pytest.fixture
def grafana_render_double() -> Iterator[str]:
    GrafanaRenderTestDouble.received = []
    GrafanaRenderTestDouble.login_page = False
    with serve_double(GrafanaRenderTestDouble) as server:
        yield double_url(server)


def test_a_configured_renderer_asks_grafana_for_the_same_panel(tmp_path: Path, grafana_render_double: str) -> None:
    renderer = GrafanaRenderer(dashboards_dir(), grafana_render_double, "glsa_test", width=800, height=300)
    bot = make_chatops(tmp_path, AlertmanagerTestDouble(), render_dashboard=renderer)
    reply = bot.dashboard(BOB, "hosts", "CPU busy")
    assert reply.ok, reply.text
    assert reply.image is not None
    image = Image.open(io.BytesIO(reply.image))
    assert image.format == "PNG" and image.size == (800, 300)
    (asked,) = GrafanaRenderTestDouble.received
    panel = find_panel(load_dashboards(dashboards_dir()), "hosts", "CPU busy")
    assert asked["path"].startswith("/render/d-solo/hosts/")
    assert asked["query"]["panelId"] == str(panel.panel_id)
    assert (asked["query"]["width"], asked["query"]["height"]) == ("800", "300")
    assert asked["query"]["from"] == f"now-{panel.span_seconds}s" and asked["query"]["to"] == "now"
    assert asked["auth"] == "Bearer glsa_test"
    assert f"{grafana_render_double}/d/hosts?viewPanel={panel.panel_id}" in reply.text


def test_a_renderer_answering_without_a_png_says_what_to_do(tmp_path: Path, grafana_render_double: str) -> None:
    GrafanaRenderTestDouble.login_page = True
    renderer = GrafanaRenderer(dashboards_dir(), grafana_render_double, "glsa_test")
    bot = make_chatops(tmp_path, AlertmanagerTestDouble(), render_dashboard=renderer)
    reply = bot.dashboard(BOB, "hosts", "CPU busy")
    assert not reply.ok and reply.image is None
    assert "without a PNG" in reply.text and "OBS_BOT_RENDERER" in reply.text
