"""A dashboard page laid out by the seed-000 rules, whatever panels a module hands it.

Reading order, top to bottom (phones stack panels in the same order):
  1. "Act now"        — the firing-alert list and red/amber status tiles;
  2. "Key indicators" — exactly four big numbers;
  3. "Trends"         — time series, two per row, deployment markers on each;
  4. "Details"        — tables and logs for digging in.
Each section starts with a row header. Panel ids and grid positions are assigned here, in
order, so the generated JSON is stable from one build to the next.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dm

from obsctl.dashboards import style
from obsctl.dashboards.panels import Section, Spec

SECTIONS: tuple[tuple[Section, str], ...] = (
    ("act", "Act now"),
    ("kpi", "Key indicators"),
    ("trends", "Trends"),
    ("details", "Details"),
)
_HEIGHT = {
    "act": style.ACT_HEIGHT,
    "kpi": style.KPI_HEIGHT,
    "trends": style.TREND_HEIGHT,
    "details": style.DETAIL_HEIGHT,
}


class LayoutError(ValueError):
    """A dashboard module broke a layout rule (caught by `obsctl dashboards build`)."""


@dataclass
class Page:
    uid: str
    title: str
    description: str
    variables: Sequence[cogbuilder.Builder[dm.VariableModel]] = ()
    tags: Sequence[str] = ()
    time_from: str = "now-6h"
    specs: list[Spec] = field(default_factory=list)

    def add(self, *specs: Spec) -> Page:
        self.specs.extend(specs)
        return self

    def _check(self) -> None:
        by_section = {name: [s for s in self.specs if s.section == name] for name, _ in SECTIONS}
        act = by_section["act"]
        if not any(_panel_type(s) == "alertlist" for s in act):
            raise LayoutError(f"{self.uid}: the 'Act now' row needs the firing-alert list")
        if len(by_section["kpi"]) != 4:
            raise LayoutError(f"{self.uid}: the key-indicator row takes exactly four stats")
        for s in self.specs:
            if not 0 < s.width <= style.GRID_WIDTH:
                raise LayoutError(f"{self.uid}: panel width {s.width} outside 1..{style.GRID_WIDTH}")
            if s.width < style.GRID_WIDTH // style.MAX_PANELS_PER_ROW:
                raise LayoutError(f"{self.uid}: panel narrower than a quarter row is unreadable on a phone")

    def build(self) -> dict[str, Any]:
        self._check()
        dash = (
            db.Dashboard(self.title)
            .uid(self.uid)
            .description(self.description)
            .tags([style.PLATFORM_TAG, *self.tags])
            .timezone("browser")
            .time(self.time_from, "now")
            .refresh("1m")
            .tooltip(dm.DashboardCursorSync.CROSSHAIR)
            .readonly()
            .timepicker(db.TimePicker().refresh_intervals(["30s", "1m", "5m", "15m"]))
            .annotations(_annotations())
            .links(_links())
            .variables(list(self.variables))
        )
        model = dash.build()
        model.panels = list(self._panels())
        # Round-trip through JSON so callers get plain dicts (what Grafana reads from the file).
        data: dict[str, Any] = json.loads(json.dumps(model, cls=JSONEncoder))
        return data

    def _panels(self) -> list[dm.Panel | dm.RowPanel]:
        out: list[dm.Panel | dm.RowPanel] = []
        next_id = 1
        y = 0
        for name, header in SECTIONS:
            specs = [s for s in self.specs if s.section == name]
            if not specs:
                continue
            out.append(
                dm.RowPanel(
                    id_val=next_id,
                    title=header,
                    collapsed=False,
                    grid_pos=dm.GridPos(h=1, w=style.GRID_WIDTH, x=0, y=y),
                    panels=[],
                )
            )
            next_id += 1
            y += 1
            x = 0
            height = _HEIGHT[name]
            for spec in specs:
                if x + spec.width > style.GRID_WIDTH:
                    x, y = 0, y + height
                panel = spec.builder.build()
                panel.id_val = next_id
                panel.grid_pos = dm.GridPos(h=height, w=spec.width, x=x, y=y)
                out.append(panel)
                next_id += 1
                x += spec.width
            y += height
        return out


def _panel_type(spec: Spec) -> str:
    return str(spec.builder.build().type_val)


def _annotations() -> list[cogbuilder.Builder[dm.AnnotationQuery]]:
    builtin = (
        db.AnnotationQuery()
        .name("Annotations & Alerts")
        .datasource(style.GRAFANA)
        .enable(True)
        .hide(True)
        .icon_color(style.INFO)
        .type("dashboard")
        .built_in(1)
    )
    deployments = (
        db.AnnotationQuery()
        .name("Deployments")
        .datasource(style.GRAFANA)
        .enable(True)
        .hide(False)
        .icon_color(style.INFO)
        .target(db.AnnotationTarget().type("tags").tags([style.DEPLOYMENT_TAG]).match_any(False).limit(100))
    )
    return [builtin, deployments]


def _links() -> list[cogbuilder.Builder[dm.DashboardLink]]:
    # keepTime carries the time range when drilling down; includeVars carries $app/$host where
    # the target dashboard has the same variable.
    return [
        db.DashboardLink("Dashboards")
        .type(dm.DashboardLinkType.DASHBOARDS)
        .tags([style.PLATFORM_TAG])
        .as_dropdown(True)
        .keep_time(True)
        .include_vars(True)
        .target_blank(False)
    ]
