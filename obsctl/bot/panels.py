"""/dashboard: a panel drawn locally with matplotlib from its own PromQL, or by Grafana's renderer.

Grafana's image renderer needs more memory than the host has, so by default the bot reads the dashboard JSON
that ``obsctl dashboards build`` generates from the query catalog (the files Grafana provisions),
takes the panel's Prometheus targets, replaces the dashboard variables by "every value", runs them
as range queries and draws the series. The reply carries the dashboard's Grafana link. When a
renderer is configured (``OBS_BOT_RENDERER=grafana``), :class:`GrafanaRenderer` finds the same
panel in the same JSON and asks Grafana for it (``GET /render/d-solo/<uid>?panelId=..``).
"""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx

from obsctl.clients import grafana
from obsctl.clients.prometheus import PrometheusClient
from obsctl.errors import ObsError
from obsctl.paths import repo_root

DEFAULT_SPAN = 6 * 3600
POINTS = 240
_SPAN = re.compile(r"^now-(\d+)([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}
# `label="$var"` (single value) and `label=~"$var"` (multi value): both become "any value".
_SINGLE_VAR = re.compile(r'(\w+)\s*=\s*"\$\{?\w+\}?"')
_MULTI_VAR = re.compile(r'(\w+)\s*=~\s*"\$\{?\w+\}?"')


def dashboards_dir() -> Path:
    return repo_root() / "roles" / "monitoring_stack" / "files" / "grafana" / "dashboards"


@dataclass(frozen=True)
class PanelQuery:
    dashboard_uid: str
    dashboard_title: str
    panel_id: int
    panel_title: str
    exprs: list[tuple[str, str]]  # (expression with variables replaced, legend format)
    span_seconds: int


def load_dashboards(directory: Path) -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            model = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ObsError(
                f"cannot read dashboard {path}: {exc}", fix="rebuild with: obsctl dashboards build"
            ) from None
        if isinstance(model, dict) and model.get("uid"):
            models[str(model["uid"])] = model
    if not models:
        raise ObsError(f"no dashboards in {directory}", fix="set OBS_BOT_DASHBOARDS_DIR to the provisioned dashboards")
    return models


def concrete(expr: str) -> str:
    """The expression with every dashboard variable matcher replaced by "any value"."""
    out = _SINGLE_VAR.sub(r'\1=~".+"', expr)
    out = _MULTI_VAR.sub(r'\1=~".*"', out)
    out = out.replace("$__rate_interval", "5m").replace("$__interval", "1m")
    if "$" in out:
        raise ObsError(f"the panel query has a variable the bot cannot fill: {expr}", fix="pick another panel")
    return out


def _prometheus_targets(panel: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (concrete(str(t["expr"])), str(t.get("legendFormat", "")))
        for t in panel.get("targets", [])
        if t.get("expr") and t.get("datasource", {}).get("type", "prometheus") == "prometheus"
    ]


def find_panel(models: dict[str, dict[str, Any]], name: str, panel: str = "") -> PanelQuery:
    """The dashboard by uid or title (case-insensitive); the panel by id or title, default the
    dashboard's first time series panel."""
    wanted = name.strip().lower()
    model = next(
        (m for uid, m in models.items() if wanted in {uid.lower(), str(m.get("title", "")).lower()}),
        None,
    )
    if model is None:
        names = ", ".join(sorted(models))
        raise ObsError(f"no dashboard '{name}'", fix=f"give one of: {names}")
    drawable = [p for p in model.get("panels", []) if p.get("type") in {"timeseries", "stat"} and p.get("targets")]
    drawable = [p for p in drawable if _prometheus_targets(p)]
    choice: dict[str, Any] | None
    if panel.strip():
        key = panel.strip().lower()
        choice = next((p for p in drawable if key in {str(p.get("id")), str(p.get("title", "")).lower()}), None)
        if choice is None:
            choice = next((p for p in drawable if key in str(p.get("title", "")).lower()), None)
    else:
        choice = next((p for p in drawable if p.get("type") == "timeseries"), drawable[0] if drawable else None)
    if choice is None:
        titles = ", ".join(sorted({str(p.get("title")) for p in drawable})[:20]) or "none"
        raise ObsError(
            f"dashboard '{model['uid']}' has no Prometheus panel '{panel}'", fix=f"give one of these panels: {titles}"
        )
    span = DEFAULT_SPAN
    match = _SPAN.match(str(model.get("time", {}).get("from", "")))
    if match:
        span = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return PanelQuery(
        str(model["uid"]),
        str(model.get("title", model["uid"])),
        int(choice.get("id", 0)),
        str(choice.get("title", "")),
        _prometheus_targets(choice),
        span,
    )


def _legend(fmt: str, labels: dict[str, str], expr_index: int) -> str:
    if fmt:
        text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt)
        if text.strip():
            return text
    shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")
    return shown or f"query {expr_index + 1}"


def draw(query: PanelQuery, prometheus: PrometheusClient, *, end: float | None = None) -> bytes:
    """PNG of the panel's series over its dashboard's default time range."""
    import matplotlib  # noqa: PLC0415 - the `bot` extra, only when drawing

    matplotlib.use("Agg")
    from matplotlib import dates  # noqa: PLC0415
    from matplotlib import pyplot as plt  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    del plt  # the pyplot state machine is not used: one Figure per call, thread-safe
    t1 = end if end is not None else time.time()
    t0 = t1 - query.span_seconds
    step = max(15.0, query.span_seconds / POINTS)
    figure = Figure(figsize=(10, 4.5), dpi=100)
    axes = figure.add_subplot()
    drawn = 0
    for index, (expr, legend) in enumerate(query.exprs):
        for series in prometheus.query_range(expr, t0, t1, step)[:20]:
            if not series.points:
                continue
            xs = [ts / 86400.0 for ts, _ in series.points]  # matplotlib date numbers: days since 1970-01-01
            axes.plot(xs, [v for _, v in series.points], label=_legend(legend, series.labels, index), linewidth=1.4)
            drawn += 1
    if not drawn:
        raise ObsError(
            f"'{query.panel_title}' on '{query.dashboard_title}' has no data in the last {query.span_seconds // 3600}h",
            fix="check that Prometheus scrapes these targets, or pick another panel",
        )
    axes.set_title(f"{query.dashboard_title} — {query.panel_title}")
    axes.grid(True, alpha=0.3)
    axes.xaxis.set_major_formatter(dates.DateFormatter("%H:%M", tz=UTC))  # type: ignore[no-untyped-call]
    axes.set_xlabel("UTC")
    if drawn <= 12:
        axes.legend(fontsize="small", loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class LocalRenderer:
    """``render(name, panel) -> (png, title, link)`` for :class:`obsctl.bot.core.ChatOps`."""

    def __init__(self, prometheus: PrometheusClient, directory: Path, grafana_url: str = "") -> None:
        self.prometheus = prometheus
        self.directory = directory
        self.grafana_url = grafana_url.rstrip("/")

    def __call__(self, name: str, panel: str) -> tuple[bytes, str, str]:
        query = find_panel(load_dashboards(self.directory), name, panel)
        png = draw(query, self.prometheus)
        base = self.grafana_url or "<GRAFANA_URL>"
        link = f"{base}/d/{query.dashboard_uid}?viewPanel={query.panel_id}"
        return png, f"{query.dashboard_title} — {query.panel_title}", link


class GrafanaRenderer:
    """Like :class:`LocalRenderer`, but the PNG comes from Grafana's image renderer: the panel over
    its dashboard's default range, at ``width`` x ``height``."""

    def __init__(
        self,
        directory: Path,
        grafana_url: str,
        token: str,
        *,
        width: int = 1000,
        height: int = 450,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.directory = directory
        self.grafana_url = grafana_url.rstrip("/")
        self.token = token
        self.width = width
        self.height = height
        self.transport = transport

    def __call__(self, name: str, panel: str) -> tuple[bytes, str, str]:
        query = find_panel(load_dashboards(self.directory), name, panel)
        png = grafana.render_panel(
            self.grafana_url,
            self.token,
            query.dashboard_uid,
            query.panel_id,
            span_seconds=query.span_seconds,
            width=self.width,
            height=self.height,
            transport=self.transport,
        )
        link = f"{self.grafana_url}/d/{query.dashboard_uid}?viewPanel={query.panel_id}"
        return png, f"{query.dashboard_title} — {query.panel_title}", link
