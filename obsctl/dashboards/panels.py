"""Panel factories: every panel is built here, so every panel follows the same rules.

A panel always gets an :class:`Advice` (what it shows, what a bad value means, what to do, and
the runbook of the related P1/P2 alert) and its queries by concept key from
:mod:`obsctl.signals.queries` — never a PromQL/LogQL string of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from grafana_foundation_sdk.builders import annotationslist, common, logs, loki, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

from obsctl.dashboards import runbooks, style
from obsctl.dashboards.promql import with_offset
from obsctl.signals import queries

PanelBuilder = cogbuilder.Builder[dm.Panel]
Section = Literal["act", "kpi", "trends", "details"]


@dataclass(frozen=True)
class Advice:
    """The answer to "so what do I do?" that every panel carries in its description."""

    shows: str
    bad: str
    do: str
    runbook: str | None = None  # uid of the related P1/P2 alert in alerting/catalog.yml

    def markdown(self) -> str:
        parts = [self.shows, f"**Bad:** {self.bad}", f"**Do:** {self.do}"]
        if self.runbook:
            runbooks.check_uid(self.runbook)
            path = runbooks.runbook_path(self.runbook)
            url = runbooks.runbook_url(self.runbook)
            parts.append(f"**Runbook:** [{path}]({url})" if url else f"**Runbook:** `{path}` in the repository")
        return "\n\n".join(parts)

    def links(self) -> list[cogbuilder.Builder[dm.DashboardLink]]:
        url = runbooks.runbook_url(self.runbook) if self.runbook else None
        if not url or not self.runbook:
            return []
        return [db.DashboardLink(f"Runbook: {self.runbook}").url(url).target_blank(True)]


@dataclass(frozen=True)
class Q:
    """One query of a panel: a concept key, rendered with the dashboard's label matchers."""

    concept: str
    legend: str = ""
    offset: str = ""  # e.g. "1d": the same concept shifted back (today vs. yesterday)

    def expr(self, matchers: str) -> str:
        text = queries.get(self.concept).render(matchers)
        return with_offset(text, self.offset) if self.offset else text

    @property
    def language(self) -> queries.Language:
        return queries.get(self.concept).language


@dataclass(frozen=True)
class Level:
    """Threshold steps in the shared palette. ``higher_is_bad`` decides which end is red."""

    warning: float
    critical: float
    higher_is_bad: bool = True

    def steps(self) -> list[dm.Threshold]:
        if self.higher_is_bad:
            return [
                dm.Threshold(value=None, color=style.NORMAL),
                dm.Threshold(value=self.warning, color=style.WARNING),
                dm.Threshold(value=self.critical, color=style.CRITICAL),
            ]
        return [
            dm.Threshold(value=None, color=style.CRITICAL),
            dm.Threshold(value=self.critical, color=style.WARNING),
            dm.Threshold(value=self.warning, color=style.NORMAL),
        ]


def _thresholds(level: Level | None) -> db.ThresholdsConfig:
    steps = level.steps() if level else [dm.Threshold(value=None, color=style.INFO)]
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(steps)


def _targets(qs: Sequence[Q], matchers: str, *, instant: bool, table_format: bool = False) -> list[object]:
    out: list[object] = []
    for i, q in enumerate(qs):
        ref = chr(ord("A") + i)
        if q.language == "logql":
            lq = loki.Dataquery().expr(q.expr(matchers)).ref_id(ref).datasource(style.LOKI)
            lq = lq.legend_format(q.legend) if q.legend else lq
            out.append(lq.query_type("instant" if instant else "range"))
            continue
        pq = prometheus.Dataquery().expr(q.expr(matchers)).ref_id(ref).datasource(style.PROMETHEUS)
        pq = pq.legend_format(q.legend) if q.legend else pq
        pq = pq.instant() if instant else pq.range()
        if table_format:
            pq = pq.format(pm.PromQueryFormat.TABLE)
        out.append(pq)
    return out


def _datasource(qs: Sequence[Q]) -> dm.DataSourceRef:
    languages = {q.language for q in qs}
    if len(languages) != 1:
        raise ValueError("a panel's queries must all use one datasource")
    return style.LOKI if languages == {"logql"} else style.PROMETHEUS


@dataclass
class Spec:
    """A panel before layout: the builder plus the section and width it asks for."""

    section: Section
    builder: PanelBuilder
    width: int


def alert_list(title: str, advice: Advice, label_filter: str = "", width: int = 12) -> Spec:
    """Firing and pending Grafana-managed alerts (the 'what needs action now' list)."""
    options = {
        "viewMode": "list",
        "groupMode": "default",
        "groupBy": [],
        "maxItems": 20,
        "sortOrder": 1,  # importance: firing before pending
        "dashboardAlerts": False,
        "alertName": "",
        "alertInstanceLabelFilter": label_filter,
        "stateFilter": {"firing": True, "pending": True, "noData": True, "error": True, "normal": False},
    }
    builder = (
        db.Panel().type("alertlist").title(title).description(advice.markdown()).links(advice.links()).options(options)
    )
    return Spec("act", builder, width)


def status(
    title: str, q: Q, matchers: str, advice: Advice, level: Level, *, unit: str = "short", width: int = 6
) -> Spec:
    """A red/amber/green tile for the top row: the whole tile takes the colour."""
    builder = _stat(title, q, matchers, advice, level, unit=unit).color_mode(cm.BigValueColorMode.BACKGROUND)
    return Spec("act", builder.graph_mode(cm.BigValueGraphMode.NONE), width)


def kpi(title: str, q: Q, matchers: str, advice: Advice, level: Level | None = None, *, unit: str = "short") -> Spec:
    """One of the four key numbers: coloured value with a sparkline."""
    builder = _stat(title, q, matchers, advice, level, unit=unit).color_mode(cm.BigValueColorMode.VALUE)
    return Spec("kpi", builder.graph_mode(cm.BigValueGraphMode.AREA), 6)


def _stat(title: str, q: Q, matchers: str, advice: Advice, level: Level | None, *, unit: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(advice.markdown())
        .links(advice.links())
        .datasource(_datasource([q]))
        .targets(_targets([q], matchers, instant=False))  # type: ignore[arg-type]
        .unit(unit)
        .decimals(_decimals(unit))
        .thresholds(_thresholds(level))
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .text_mode(cm.BigValueTextMode.AUTO)
        .justify_mode(cm.BigValueJustifyMode.CENTER)
        .text(common.VizTextDisplayOptions().value_size(style.STAT_VALUE_SIZE).title_size(style.STAT_TITLE_SIZE))
        .no_value("no data")
    )


def _decimals(unit: str) -> int:
    return 1 if unit in {"percentunit", "reqps", "s"} else 0


def trend(
    title: str,
    qs: Sequence[Q],
    matchers: str,
    advice: Advice,
    level: Level | None = None,
    *,
    unit: str = "short",
    width: int = 12,
) -> Spec:
    """A time series in shades of one colour; thresholds, when given, drawn as dashed lines."""
    builder = (
        timeseries.Panel()
        .title(title)
        .description(advice.markdown())
        .links(advice.links())
        .datasource(_datasource(qs))
        .targets(_targets(qs, matchers, instant=False))  # type: ignore[arg-type]
        .unit(unit)
        .min(0)
        .line_width(2)
        .fill_opacity(10)
        .show_points(cm.VisibilityMode.NEVER)
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.SHADES).fixed_color(style.INFO))
        .thresholds(_thresholds(level))
        .thresholds_style(
            common.GraphThresholdsStyleConfig().mode(
                cm.GraphThresholdsStyleMode.DASHED if level else cm.GraphThresholdsStyleMode.OFF
            )
        )
        .legend(
            common.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(common.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
    )
    return Spec("trends", builder, width)


@dataclass(frozen=True)
class Column:
    """A table column: one instant query, its header and unit."""

    q: Q
    header: str
    unit: str = "short"
    level: Level | None = None


def detail_table(
    title: str,
    columns: Sequence[Column],
    matchers: str,
    advice: Advice,
    *,
    hide: Sequence[str] = (),
    links: Sequence[tuple[str, str]] = (),
    width: int = 24,
) -> Spec:
    """Instant values side by side, one row per label set (merged on the shared labels)."""
    qs = [c.q for c in columns]
    rename = {f"Value #{chr(ord('A') + i)}": c.header for i, c in enumerate(columns)}
    if len(columns) == 1:
        # Grafana names the value field "Value" (no "#A") when a table has a single query.
        rename["Value"] = columns[0].header
    excluded = {"Time": True, **{name: True for name in hide}}
    builder = (
        table.Panel()
        .title(title)
        .description(advice.markdown())
        .links(advice.links())
        .datasource(_datasource(qs))
        .targets(_targets(qs, matchers, instant=True, table_format=True))  # type: ignore[arg-type]
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dm.DataTransformerConfig(id_val="organize", options={"excludeByName": excluded, "renameByName": rename})
        )
        .thresholds(_thresholds(None))
        .color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .filterable(False)
    )
    for column in columns:
        props = [dm.DynamicConfigValue(id_val="unit", value=column.unit)]
        if column.level:
            props += [
                dm.DynamicConfigValue(id_val="thresholds", value={"mode": "absolute", "steps": column.level.steps()}),
                dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
            ]
        builder = builder.override_by_name(column.header, props)
    for field, url in links:
        builder = builder.override_by_name(
            field, [dm.DynamicConfigValue(id_val="links", value=[{"title": f"Open {field}", "url": url}])]
        )
    return Spec("details", builder, width)


def log_stream(title: str, q: Q, matchers: str, advice: Advice, *, width: int = 24) -> Spec:
    """The log lines themselves (Loki), newest first."""
    builder = (
        logs.Panel()
        .title(title)
        .description(advice.markdown())
        .links(advice.links())
        .datasource(style.LOKI)
        .targets(_targets([q], matchers, instant=False))  # type: ignore[arg-type]
        .show_time(True)
        .wrap_log_message(True)
        .enable_log_details(True)
        .sort_order(cm.LogsSortOrder.DESCENDING)
        .dedup_strategy(cm.LogsDedupStrategy.SIGNATURE)
    )
    return Spec("details", builder, width)


def deployments_list(title: str, advice: Advice, *, width: int = 12) -> Spec:
    """The latest deployment annotations written by `obsctl annotate`, newest first."""
    builder = (
        annotationslist.Panel()
        .title(title)
        .description(advice.markdown())
        .links(advice.links())
        .only_from_this_dashboard(False)
        .only_in_time_range(False)
        .tags([style.DEPLOYMENT_TAG])
        .limit(10)
        .show_user(True)
        .show_time(True)
        .show_tags(True)
        .navigate_to_panel(False)
        .navigate_before("10m")
        .navigate_after("30m")
    )
    return Spec("details", builder, width)
