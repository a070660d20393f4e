"""The analyzer's Discord messages: the analysis of a new incident, and the follow-up when it resolves.

Both are fitted to Discord's limits by :func:`obsctl.clients.discord.fit_to_limits` (the one place
the limits live) and redacted once more as a whole before they are handed to the webhook.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from obsctl.analyzer.evidence import EvidencePack
from obsctl.analyzer.owners import Owner
from obsctl.analyzer.payload import WebhookAlert
from obsctl.analyzer.redact import redact
from obsctl.clients.discord import LIMITS, DiscordMessage, Embed, EmbedField, fit_to_limits, truncate
from obsctl.incidents.store import Incident

# Shares of Discord's 6000-character message total, so that the summary and the cause survive a
# long answer (the generic fit would shrink the description first). Their sum, with the title,
# the short fields and the field names, stays under LIMITS.total; fit_to_limits stays the guard.
BUDGET = {
    "description": 1500,
    "Probable cause": 700,
    "Impact": 400,
    "Recommended actions": 800,
    "Evidence": 800,
    "Links": 500,
    "Sources unavailable": 300,
    "footer": 200,
}
# 400: the short fields (severity, service, owner, confidence: at most 100 each) and every field name.
assert LIMITS.title + sum(BUDGET.values()) + 400 <= LIMITS.total, "the analyzer's message budget exceeds Discord's"
COLOURS = {"P1": 0xD62728, "P2": 0xFF7F0E, "P3": 0xFFBF00, "P4": 0x1F77B4, "resolved": 0x2CA02C}


def _claim(value: Any) -> str:  # noqa: ANN401 - a claim of an analysis document
    if isinstance(value, dict):
        refs = ", ".join(str(r) for r in value.get("evidence") or [])
        return f"{value.get('text', '')}" + (f" [{refs}]" if refs else "")
    return str(value)


def footer(provider: str, model: str, seconds: float, cost_usd: float, note: str = "") -> str:
    used = f"{provider}/{model}" if provider else "no LLM" + (f" ({note})" if note else "")
    cost = f"${cost_usd:.4f}" if provider or cost_usd else "no LLM cost"
    return f"{used} · {seconds:.1f} s · {cost}"


def _links(alert: WebhookAlert) -> str:
    links = [
        ("dashboard", alert.dashboard_url),
        ("panel", alert.panel_url),
        ("runbook", alert.annotations.get("runbook_url", "")),
        ("source", alert.generator_url),
        ("silence", alert.silence_url),
    ]
    return " · ".join(f"[{name}]({url})" for name, url in links if url) or "-"


def _redacted(message: DiscordMessage) -> DiscordMessage:
    embeds = [
        replace(
            e,
            title=redact(e.title),
            description=redact(e.description),
            footer=redact(e.footer),
            fields=[EmbedField(redact(f.name), redact(f.value), f.inline) for f in e.fields],
        )
        for e in message.embeds
    ]
    return replace(message, content=redact(message.content), embeds=embeds)


def _mention(owner: Owner | None) -> tuple[str, list[str], list[str]]:
    if owner is None:
        return "", [], []
    return owner.mention, [owner.id] if owner.kind == "user" else [], [owner.id] if owner.kind == "role" else []


def analysis_message(
    incident: Incident,
    alert: WebhookAlert,
    analysis: dict[str, Any],
    pack: EvidencePack,
    *,
    owner: Owner | None,
    footer_text: str,
) -> DiscordMessage:
    mention, users, roles = _mention(owner)
    service = incident.service or "-"
    title = f"[{incident.severity}] {incident.alertname} — {service}"
    actions = "\n".join(f"• {_claim(a)}" for a in analysis.get("actions") or []) or "-"
    evidence = "\n".join(f"[{i.id}] {i.title}: {i.detail}" for i in pack.items if i.kind != "alert")
    fields = [
        EmbedField("Severity", incident.severity, inline=True),
        EmbedField("Service", service, inline=True),
        EmbedField("Owner", mention or "no owner mapped", inline=True),
        EmbedField("Probable cause", _claim(analysis.get("probable_cause"))),
        EmbedField("Impact", _claim(analysis.get("impact"))),
        EmbedField("Recommended actions", actions),
        EmbedField("Confidence", str(analysis.get("confidence", "-")), inline=True),
        EmbedField("Evidence", evidence or "-"),
        EmbedField("Links", _links(alert)),
    ]
    if pack.errors:
        fields.append(EmbedField("Sources unavailable", "\n".join(pack.errors)))
    fields = [
        EmbedField(f.name, truncate(f.value, min(BUDGET.get(f.name, 100), LIMITS.field_value)), f.inline)
        for f in fields
    ]
    embed = Embed(
        title=title,
        description=truncate(str(analysis.get("summary", "")), BUDGET["description"]),
        url=alert.dashboard_url or alert.generator_url,
        color=COLOURS.get(incident.severity, COLOURS["P4"]),
        fields=fields,
        footer=truncate(footer_text, BUDGET["footer"]),
        timestamp=incident.started_at.isoformat(),
    )
    content = f"{mention} {incident.severity} incident #{incident.id}: {incident.alertname} on {service}".strip()
    message = DiscordMessage(content=content, embeds=[embed], allowed_users=users, allowed_roles=roles)
    return fit_to_limits(_redacted(message))


def resolved_message(incident: Incident, *, owner: Owner | None) -> DiscordMessage:
    """The short follow-up: duration and what was found; no LLM call."""
    mention, users, roles = _mention(owner)
    minutes = (incident.duration_seconds or 0.0) / 60
    found = "no analysis was recorded"
    if incident.analysis:
        cause = incident.analysis.get("probable_cause")
        found = _claim(cause) if cause else str(incident.analysis.get("summary", found))
    embed = Embed(
        title=f"[resolved] {incident.alertname} — {incident.service or '-'}",
        description=f"Resolved after {minutes:.1f} min. Found: {found}",
        color=COLOURS["resolved"],
        footer=f"incident #{incident.id} · {incident.notifications} notification(s) · no LLM (follow-up)",
    )
    content = f"{mention} resolved: incident #{incident.id} {incident.alertname}".strip()
    return fit_to_limits(
        _redacted(DiscordMessage(content=content, embeds=[embed], allowed_users=users, allowed_roles=roles))
    )
