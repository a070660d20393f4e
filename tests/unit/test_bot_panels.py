"""/dashboard: panel lookup in the generated dashboards, variable filling, and the drawn PNG."""

from __future__ import annotations

import io
import math
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from PIL import Image

from obsctl.bot.core import ChatOps
from obsctl.bot.panels import LocalRenderer, PanelQuery, concrete, dashboards_dir, draw, find_panel, load_dashboards
from obsctl.clients.prometheus import PrometheusClient
from obsctl.errors import ObsError
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
