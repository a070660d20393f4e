"""The generated notification policy as a Prometheus Alertmanager configuration.

Grafana's alerting runs Alertmanager's routing, timers and time intervals inside Grafana. Where
Grafana cannot run (this machine: no registry serves its image) Debian's Alertmanager stands in for
it: the policy tree :func:`obsctl.alerting.grafana.notification_policies` generates from the
catalog is translated 1:1 (same receivers, matchers, group_by, group_wait / group_interval /
repeat_interval, mute timings), so the timers the time-to-detect table uses are the ones measured.

Receivers mirror the generated contact points: each channel posts to a Discord webhook (Alertmanager's
own ``discord_configs``) and, for the channels carrying the analyzer's severities, to the incident
analyzer's webhook with ``Authorization: Bearer`` (read from a credentials file, as Grafana reads
its secure setting). The callers choose the URLs: the lab points Discord at its capture server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from obsctl.alerting import grafana
from obsctl.alerting.catalog import Catalog


def route(node: Mapping[str, Any]) -> dict[str, Any]:
    """One Grafana policy node (and its children) as an Alertmanager route."""
    out: dict[str, Any] = {"receiver": node["receiver"]}
    if "object_matchers" in node:
        out["matchers"] = [f'{name}{op}"{value}"' for name, op, value in node["object_matchers"]]
    for key in ("group_by", "group_wait", "group_interval", "repeat_interval", "mute_time_intervals"):
        if key in node:
            out[key] = node[key]
    if node.get("routes"):
        out["routes"] = [route(child) for child in node["routes"]]
    return out


def time_intervals(catalog: Catalog) -> list[dict[str, Any]]:
    mutes = grafana.mute_timings(catalog)["muteTimes"]
    return [{"name": m["name"], "time_intervals": m["time_intervals"]} for m in mutes]


def config(
    catalog: Catalog,
    *,
    discord_urls: Mapping[str, str],
    analyzer_url: str = "",
    analyzer_credentials_file: str = "",
) -> dict[str, Any]:
    """An Alertmanager configuration equivalent to the generated policy and contact points.

    ``discord_urls``: webhook URL per catalog channel. ``analyzer_url``: the analyzer's webhook
    (empty: not routed to it, like ``analyzer.enabled: false``)."""
    missing = sorted(set(catalog.channels) - set(discord_urls))
    if missing:
        raise ValueError(f"no Discord webhook URL for channel(s) {', '.join(missing)}")
    receivers = []
    for channel in catalog.channels:
        receiver: dict[str, Any] = {
            "name": grafana.contact_point_name(channel),
            "discord_configs": [{"webhook_url": discord_urls[channel], "send_resolved": True}],
        }
        covered = {s.key for s in catalog.severities.values() if s.channel == channel}
        if analyzer_url and catalog.analyzer.enabled and covered & set(catalog.analyzer.severities):
            webhook: dict[str, Any] = {"url": analyzer_url, "send_resolved": True}
            if analyzer_credentials_file:
                webhook["http_config"] = {
                    "authorization": {"type": "Bearer", "credentials_file": analyzer_credentials_file}
                }
            receiver["webhook_configs"] = [webhook]
        receivers.append(receiver)
    policy = grafana.notification_policies(catalog)["policies"][0]
    return {"route": route(policy), "receivers": receivers, "time_intervals": time_intervals(catalog)}
