"""One report, three shapes: plain text (dry run, number-check input), a Discord message, an HTML e-mail.

Trend charts are tiny PNG sparklines drawn here (zlib + struct, no plotting library): one per
(service, KPI) row, attached to the e-mail as inline images referenced by ``cid:``.
"""

from __future__ import annotations

import html
import itertools
import struct
import zlib
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import make_msgid

from obsctl.clients.discord import DiscordMessage, Embed, EmbedField
from obsctl.reports.build import DeployReport, Report, Row, fmt, fmt_change

COLOURS = {"good": "#2e7d32", "watch": "#f9a825", "bad": "#c62828", "none": "#757575", "no data": "#757575"}
DISCORD_COLOUR = {"good": 0x2E7D32, "watch": 0xF9A825, "bad": 0xC62828}
SPARK_WIDTH, SPARK_HEIGHT = 96, 24  # the inline trend chart, in CSS pixels
ICON = {"good": "🟢", "watch": "🟡", "bad": "🔴", "none": "⚪", "no data": "⚪"}


def title(report: Report) -> str:
    return f"{report.period.kind.capitalize()} health report {report.period.key}"


def text(report: Report) -> str:
    lines = [title(report), "", "Findings:"]
    lines += [f"- {f}" for f in report.findings] or ["- nothing breached or moved"]
    for service in report.services:
        lines += ["", f"[{service}]"]
        for r in report.rows_of(service):
            lines.append(
                f"  {r.kpi.label}: {fmt(r.kpi, r.value)} (baseline {fmt(r.kpi, r.baseline)},"
                f" change {fmt_change(r.change)}) {r.status}"
            )
    lines += ["", alerts_line(report), incidents_line(report)]
    return "\n".join(lines)


def _counts(counts: Mapping[str, int], baseline: Mapping[str, float] | None) -> str:
    if not counts:
        return "none"
    if baseline is None:
        return ", ".join(f"{sev} {n}" for sev, n in counts.items())
    return ", ".join(f"{sev} {n} (baseline {baseline.get(sev, 0.0):.1f})" for sev, n in counts.items())


def alerts_line(report: Report) -> str:
    """Alerts fired by severity against the baseline mean, or "no data" with the reason (never a
    0 that was not measured)."""
    if report.alerts is None:
        return f"Alerts fired: no data ({report.alerts_note})"
    text = f"Alerts fired: {_counts(report.alerts, report.alerts_baseline)}"
    return text + (f" ({report.alerts_note})" if report.alerts_note else "")


def incidents_line(report: Report) -> str:
    if report.incidents is None:
        return "Incidents: no data (incident log not readable)"
    return f"Incidents: {_counts(report.incidents, report.incidents_baseline)}"


def worst(rows: list[Row]) -> str:
    statuses = {r.status for r in rows}
    return next((s for s in ("bad", "watch", "good") if s in statuses), "none")


def discord(report: Report, dashboard_url: str = "") -> DiscordMessage:
    summary = "\n".join(report.findings) or "Nothing breached or moved against the baseline."
    summary += f"\n{alerts_line(report)}"
    if report.narrative:
        summary += f"\n\n{report.narrative}"
    elif report.narrative_note:
        summary += f"\n\n_{report.narrative_note}_"
    embeds = [
        Embed(title=title(report), description=summary, url=dashboard_url, color=DISCORD_COLOUR.get(worst(report.rows)))
    ]
    for service in report.services:
        rows = report.rows_of(service)
        fields = [
            EmbedField(r.kpi.label, f"{ICON[r.status]} {fmt(r.kpi, r.value)} ({fmt_change(r.change)})", inline=True)
            for r in rows
        ]
        embeds.append(Embed(title=service, fields=fields, color=DISCORD_COLOUR.get(worst(rows))))
    return DiscordMessage(embeds=embeds, username="obs-reports")


def sparkline(values: list[float | None], width: int = 120, height: int = 28) -> bytes:
    """A PNG line chart of the values (gaps for None); the last point is marked."""
    pixels = [[(255, 255, 255)] * width for _ in range(height)]
    known = [v for v in values if v is not None]
    if len(values) >= 1 and known:
        lo, hi = min(known), max(known)
        span = (hi - lo) or 1.0
        n = max(1, len(values) - 1)

        def xy(i: int, v: float) -> tuple[int, int]:
            return round(2 + i * (width - 5) / n), round(height - 3 - (v - lo) / span * (height - 6))

        points = [(xy(i, v) if v is not None else None) for i, v in enumerate(values)]
        for a, b in itertools.pairwise(points):
            if a and b:
                steps = max(abs(b[0] - a[0]), abs(b[1] - a[1]), 1)
                for s in range(steps + 1):
                    x = a[0] + (b[0] - a[0]) * s // steps
                    y = a[1] + (b[1] - a[1]) * s // steps
                    pixels[y][x] = (21, 101, 192)
        last = points[-1]
        if last:
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    pixels[min(height - 1, max(0, last[1] + dy))][min(width - 1, max(0, last[0] + dx))] = (198, 40, 40)
    raw = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def email(
    report: Report, sender: str, recipients: tuple[str, ...], dashboard_url: str, history_url: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = title(report)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg.set_content(text(report))
    images: list[tuple[str, bytes]] = []
    body = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body style='font-family:sans-serif;margin:8px'>",
        f"<h2>{html.escape(title(report))}</h2>",
        "<h3>Findings</h3><ul>",
        *[f"<li>{html.escape(f)}</li>" for f in report.findings or ["nothing breached or moved"]],
        "</ul>",
    ]
    if report.narrative:
        body.append(f"<h3>AI narrative</h3><p>{html.escape(report.narrative)}</p>")
    elif report.narrative_note:
        body.append(f"<p><em>{html.escape(report.narrative_note)}</em></p>")
    # Five columns and the trend chart under the KPI's name, one header row per service: the table
    # fits a 390 px phone screen without scrolling (tests/integration/test_reports_chromium.py).
    body.append(
        "<table style='border-collapse:collapse;font-size:13px;width:100%;max-width:760px'>"
        "<tr><th align='left'>KPI</th><th align='left'>Value</th><th align='left'>Baseline</th>"
        "<th align='left'>Change</th><th align='left'>Status</th></tr>"
    )
    for service in report.services:
        body.append(
            "<tr><th colspan='5' align='left' style='background:#eceff1;padding:4px 6px'>"
            f"{html.escape(service)}</th></tr>"
        )
        for r in report.rows_of(service):
            cid = make_msgid(domain="obs-reports")
            images.append((cid, sparkline(r.trend, SPARK_WIDTH, SPARK_HEIGHT)))
            colour = COLOURS[r.status]
            body.append(
                f"<tr class='kpi' data-status='{r.status}' data-service='{html.escape(r.service)}'>"
                f"<td style='padding:3px 6px 3px 0'>{html.escape(r.kpi.label)}<br>"
                f"<img src='cid:{cid[1:-1]}' alt='trend' width='{SPARK_WIDTH}' height='{SPARK_HEIGHT}'></td>"
                f"<td>{html.escape(fmt(r.kpi, r.value))}</td><td>{html.escape(fmt(r.kpi, r.baseline))}</td>"
                f"<td>{fmt_change(r.change)}</td>"
                f"<td style='background:{colour};color:#fff;padding:2px 6px'>{html.escape(r.status)}</td></tr>"
            )
    body.append("</table>")
    body.append(f"<p>{html.escape(alerts_line(report))}</p>")
    body.append(f"<p>{html.escape(incidents_line(report))}</p>")
    links = [(u, t) for u, t in ((dashboard_url, "Live dashboard"), (history_url, "History")) if u]
    if links:
        body.append("<p>" + " · ".join(f"<a href='{html.escape(u)}'>{t}</a>" for u, t in links) + "</p>")
    body.append("</body></html>")
    msg.add_alternative("".join(body), subtype="html")
    html_part = next(p for p in msg.iter_parts() if p.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    for cid, png in images:
        html_part.add_related(png, "image", "png", cid=cid)
    return msg


def deploy_text(report: DeployReport) -> str:
    minutes = int(report.window.total_seconds() // 60)
    lines = [
        f"Deployment impact: {report.service} {report.version} at {report.at.isoformat()} ({minutes} min before/after)"
    ]
    for c in report.comparisons:
        flag = "REGRESSION" if c.regression else "ok"
        lines.append(f"- {c.kpi.label}: {fmt(c.kpi, c.before)} -> {fmt(c.kpi, c.after)} {flag}")
    if not report.comparisons:
        lines.append("- no data for this service before or after the deploy")
    return "\n".join(lines)


def deploy_email(
    report: DeployReport, sender: str, recipients: tuple[str, ...], dashboard_url: str = ""
) -> EmailMessage:
    """The deployment impact as HTML (before/after table, regressions in red) with a plain-text alternative."""
    msg = EmailMessage()
    flagged = f"{len(report.regressions)} regression(s)" if report.regressions else "no regression"
    msg["Subject"] = f"Deployment impact: {report.service} {report.version} ({flagged})"
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    plain = deploy_text(report) + (f"\n\n{report.narrative}" if report.narrative else "")
    msg.set_content(plain)
    minutes = int(report.window.total_seconds() // 60)
    body = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body style='font-family:sans-serif;margin:8px'>",
        f"<h2>Deployment impact: {html.escape(report.service)} {html.escape(report.version)}</h2>",
        f"<p>{html.escape(report.at.isoformat())}: {minutes} min after the deploy"
        f" against the {minutes} min before.</p>",
        "<table style='border-collapse:collapse;font-size:13px;width:100%;max-width:760px'>"
        "<tr><th align='left'>KPI</th><th align='left'>Before</th><th align='left'>After</th>"
        "<th align='left'>Result</th></tr>",
    ]
    for c in report.comparisons:
        result, colour = ("regression", COLOURS["bad"]) if c.regression else ("ok", COLOURS["good"])
        body.append(
            f"<tr class='kpi' data-result='{result}'><td>{html.escape(c.kpi.label)}</td>"
            f"<td>{html.escape(fmt(c.kpi, c.before))}</td><td>{html.escape(fmt(c.kpi, c.after))}</td>"
            f"<td style='background:{colour};color:#fff;padding:2px 6px'>{result}</td></tr>"
        )
    if not report.comparisons:
        body.append("<tr><td colspan='4'>no data for this service before or after the deploy</td></tr>")
    body.append("</table>")
    if report.narrative:
        body.append(f"<h3>AI impact note</h3><p>{html.escape(report.narrative)}</p>")
    elif report.narrative_note:
        body.append(f"<p><em>{html.escape(report.narrative_note)}</em></p>")
    if dashboard_url:
        body.append(f"<p><a href='{html.escape(dashboard_url)}'>Live dashboard</a></p>")
    body.append("</body></html>")
    msg.add_alternative("".join(body), subtype="html")
    return msg


def deploy_discord(report: DeployReport) -> DiscordMessage:
    body = deploy_text(report)
    if report.narrative:
        body += f"\n\n{report.narrative}"
    elif report.narrative_note:
        body += f"\n\n_{report.narrative_note}_"
    colour = DISCORD_COLOUR["bad" if report.regressions else "good"]
    return DiscordMessage(
        embeds=[Embed(title=f"Deploy {report.service} {report.version}", description=body, color=colour)]
    )
