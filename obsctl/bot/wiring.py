"""Build :class:`obsctl.bot.core.ChatOps` from :class:`obsctl.bot.config.BotSettings`."""

from __future__ import annotations

from datetime import UTC, datetime

from obsctl.alerting import catalog
from obsctl.bot.alert_message import AlertMessages
from obsctl.bot.config import BotSettings
from obsctl.bot.core import Annotation, ChatOps, Rule, parse_duration
from obsctl.bot.panels import GrafanaRenderer, LocalRenderer, dashboards_dir
from obsctl.clients import grafana
from obsctl.clients.alertmanager import AlertmanagerClient
from obsctl.clients.discord import DiscordWebhook
from obsctl.clients.prometheus import PrometheusClient
from obsctl.errors import ObsError
from obsctl.incidents.store import IncidentStore


def catalog_rules() -> list[Rule]:
    return [Rule(alert.uid, alert.title) for alert in catalog.load().alerts]


def build(settings: BotSettings) -> ChatOps:
    if settings.alertmanager_url:
        alertmanager = AlertmanagerClient(settings.alertmanager_url)
        uid_matcher = False  # a standalone Alertmanager's alerts come from Prometheus rules: no rule uid
    elif settings.grafana_url:
        alertmanager = grafana.alertmanager(settings.grafana_url, settings.grafana_token)
        uid_matcher = True
    else:
        raise ObsError(
            "no Alertmanager for the bot", fix="set GRAFANA_URL (+ GRAFANA_TOKEN) or OBS_BOT_ALERTMANAGER_URL"
        )
    prometheus = PrometheusClient(settings.prometheus_url) if settings.prometheus_url else None
    annotate = None
    if settings.grafana_url and settings.grafana_token:
        url, token = settings.grafana_url, settings.grafana_token

        def annotate(note: Annotation) -> None:
            now_ms = int(datetime.now(UTC).timestamp() * 1000)
            grafana.create_annotation(url, token, {"time": now_ms, "tags": note.tags, "text": note.text}, retries=1)

    directory = settings.dashboards_dir or dashboards_dir()
    renderer: GrafanaRenderer | LocalRenderer | None = None
    if settings.renderer == "grafana":
        renderer = GrafanaRenderer(directory, settings.grafana_url, settings.grafana_token)
    elif prometheus is not None:
        renderer = LocalRenderer(prometheus, directory, settings.grafana_url)
    marker = AlertMessages(DiscordWebhook(settings.alert_webhook_url)) if settings.alert_webhook_url else None
    return ChatOps(
        store=IncidentStore(settings.db),
        alertmanager=alertmanager,
        prometheus=prometheus,
        rules=catalog_rules(),
        operator_roles=settings.operator_roles,
        max_silence=parse_duration(settings.max_silence),
        ack_silence=parse_duration(settings.ack_silence, parse_duration(settings.max_silence)),
        rule_uid_matcher=uid_matcher,
        annotate=annotate,
        render_dashboard=renderer,
        mark_alert_message=marker.mark if marker is not None else None,
    )
