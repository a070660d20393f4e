"""The bot's settings, from the environment (the Compose service gets the secrets from the vault).

Secrets are read from ``<NAME>`` or from the file ``<NAME>_FILE`` names, never from arguments.

=====================================  ==========================================================
``DISCORD_BOT_TOKEN`` (``_FILE``)      the bot's token (Developer Portal > Bot). Required to run.
``OBS_BOT_GUILDS``                     comma-separated guild ids the slash commands are registered in
``OBS_BOT_OPERATOR_ROLES``             comma-separated role ids or names allowed to change anything
                                       (silence, unsilence, ack). Everyone may read.
``PROMETHEUS_URL``                     for /status and /dashboard
``GRAFANA_URL`` + ``GRAFANA_TOKEN``    Grafana's Alertmanager (alerts, silences), annotations, links
``OBS_BOT_ALERTMANAGER_URL``           a standalone Alertmanager instead of Grafana's (v2 API at the root)
``OBS_ANALYZER_DB``                    the incident log the analyzer writes
``OBS_BOT_MAX_SILENCE``                longest silence allowed (default ``24h``)
``OBS_BOT_ACK_SILENCE``                the silence an /ack adds (default ``1h``)
``OBS_BOT_DASHBOARDS_DIR``             the provisioned dashboard JSON (default: the repository's)
``OBS_BOT_RENDERER``                   ``local`` (default: matplotlib from the panel's PromQL) or
                                       ``grafana`` (Grafana's ``/render/d-solo``; needs Grafana's image
                                       renderer configured, GRAFANA_URL and GRAFANA_TOKEN)
``DISCORD_WEBHOOK_URL`` (``_FILE``)    the analyzer's webhook (same secret): /ack edits the alert
                                       message it posted. Unset: /ack only answers in the channel.
=====================================  ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from obsctl.analyzer.config import secret
from obsctl.errors import ObsError
from obsctl.incidents.store import DEFAULT_DB

DEFAULT_MAX_SILENCE = "24h"
DEFAULT_ACK_SILENCE = "1h"
RENDERERS = ("local", "grafana")


def _ids(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class BotSettings:
    token: str = ""
    guilds: tuple[int, ...] = ()
    operator_roles: frozenset[str] = field(default_factory=frozenset)
    prometheus_url: str = ""
    grafana_url: str = ""
    grafana_token: str = ""
    alertmanager_url: str = ""
    db: Path = Path(DEFAULT_DB)
    max_silence: str = DEFAULT_MAX_SILENCE
    ack_silence: str = DEFAULT_ACK_SILENCE
    dashboards_dir: Path | None = None
    renderer: str = "local"
    alert_webhook_url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> BotSettings:
        env = os.environ if env is None else env
        guilds = []
        for raw in _ids(env.get("OBS_BOT_GUILDS", "")):
            if not raw.isdigit():
                raise ObsError(
                    f"OBS_BOT_GUILDS: '{raw}' is not a guild id",
                    fix="give numeric ids (Discord developer mode: right-click the server > Copy Server ID)",
                )
            guilds.append(int(raw))
        dashboards = env.get("OBS_BOT_DASHBOARDS_DIR", "").strip()
        renderer = env.get("OBS_BOT_RENDERER", "").strip().lower() or "local"
        if renderer not in RENDERERS:
            raise ObsError(
                f"OBS_BOT_RENDERER: '{renderer}' is not a renderer",
                fix="give 'local' (matplotlib, the default) or 'grafana' (Grafana's image renderer)",
            )
        return cls(
            token=secret(env, "DISCORD_BOT_TOKEN"),
            guilds=tuple(guilds),
            operator_roles=frozenset(_ids(env.get("OBS_BOT_OPERATOR_ROLES", ""))),
            prometheus_url=env.get("PROMETHEUS_URL", "").strip(),
            grafana_url=env.get("GRAFANA_URL", "").strip().rstrip("/"),
            grafana_token=secret(env, "GRAFANA_TOKEN"),
            alertmanager_url=env.get("OBS_BOT_ALERTMANAGER_URL", "").strip(),
            db=Path(env.get("OBS_ANALYZER_DB", DEFAULT_DB)),
            max_silence=env.get("OBS_BOT_MAX_SILENCE", DEFAULT_MAX_SILENCE).strip(),
            ack_silence=env.get("OBS_BOT_ACK_SILENCE", DEFAULT_ACK_SILENCE).strip(),
            dashboards_dir=Path(dashboards) if dashboards else None,
            renderer=renderer,
            alert_webhook_url=secret(env, "DISCORD_WEBHOOK_URL"),
        )

    def require_runnable(self) -> None:
        """What ``obsctl bot run`` needs before it connects; one error naming every gap."""
        gaps = []
        if not self.token:
            gaps.append("DISCORD_BOT_TOKEN (or DISCORD_BOT_TOKEN_FILE): the bot's token")
        if not self.guilds:
            gaps.append("OBS_BOT_GUILDS: the guild ids to register the commands in")
        if not self.operator_roles:
            gaps.append("OBS_BOT_OPERATOR_ROLES: the role ids/names allowed to silence and ack")
        if not self.prometheus_url:
            gaps.append("PROMETHEUS_URL")
        if not (self.alertmanager_url or self.grafana_url):
            gaps.append("GRAFANA_URL (+ GRAFANA_TOKEN) or OBS_BOT_ALERTMANAGER_URL")
        if self.renderer == "grafana" and not (self.grafana_url and self.grafana_token):
            gaps.append("OBS_BOT_RENDERER=grafana needs GRAFANA_URL and GRAFANA_TOKEN")
        if gaps:
            raise ObsError("the bot is not configured: " + "; ".join(gaps), fix="set them in the service environment")
