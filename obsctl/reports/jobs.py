"""The report jobs behind ``obsctl report``: build, narrate, deliver once per period and channel."""

from __future__ import annotations

import smtplib
import ssl
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx

from obsctl.analyzer.llm import Budget, Configured
from obsctl.clients.discord import DiscordMessage, DiscordWebhook
from obsctl.clients.llm import LlmClient
from obsctl.clients.prometheus import PrometheusClient
from obsctl.clients.sheets import Cell, SheetsClient, load_key
from obsctl.errors import ObsError
from obsctl.incidents.store import IncidentStore, LlmLedger
from obsctl.reports import alerts, build, kpis, narrative, render
from obsctl.reports.config import KPIS, Settings, Smtp, thresholds
from obsctl.reports.history import History


def send_email(
    smtp: Smtp, message: EmailMessage, *, context: ssl.SSLContext | None = None, timeout: float = 30
) -> None:
    """SMTP submission with STARTTLS (refused if the server does not offer it) and AUTH when a user is set."""
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
            client.ehlo()
            if not client.has_extn("starttls"):
                raise ObsError(
                    f"{smtp.host}:{smtp.port} does not offer STARTTLS: refusing to send credentials in clear",
                    fix="use the submission port 587 of a server that supports STARTTLS",
                )
            client.starttls(context=context or ssl.create_default_context())
            client.ehlo()
            if smtp.user:
                client.login(smtp.user, smtp.password)
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise ObsError(
            f"sending the report through {smtp.host}:{smtp.port} failed: {exc}",
            fix="check OBS_REPORT_SMTP_HOST/PORT/USER and the password (Gmail: an app password)",
        ) from None


@dataclass
class Channels:
    """Where a report goes; each callable delivers and returns a reference (message id...)."""

    discord: Callable[[DiscordMessage], str] | None = None
    email: Callable[[EmailMessage], str] | None = None
    sheets: Callable[[str, list[list[Cell]]], str] | None = None  # (kind, rows)


def channels_of(settings: Settings, *, sheets_transport: httpx.BaseTransport | None = None) -> Channels:
    """``sheets_transport``: where the Sheets client's requests go (a test's recorded answers)."""
    out = Channels()
    if settings.discord_webhook_url:
        url = settings.discord_webhook_url

        def post(message: DiscordMessage) -> str:
            hook = DiscordWebhook(url)
            try:
                return hook.send(message) or ""
            finally:
                hook.close()

        out.discord = post
    if settings.smtp is not None:
        smtp = settings.smtp

        def mail(message: EmailMessage) -> str:
            send_email(smtp, message)
            return str(message["Message-ID"] or "")

        out.email = mail
    if settings.sheet is not None:
        sheet = settings.sheet

        def append(kind: str, rows: list[list[Cell]]) -> str:
            client = SheetsClient(load_key(sheet.key_file), transport=sheets_transport)
            try:
                return str(client.append(sheet.spreadsheet_id, sheet.range_of(kind), rows).get("updatedRange", ""))
            finally:
                client.close()

        out.sheets = append
    return out


def sheet_rows(report: build.Report) -> list[list[Cell]]:
    """One row per service: period, service, then every KPI's raw value in KPIS order ("no data" when none)."""
    out: list[list[Cell]] = []
    for service in report.services:
        values = {r.kpi.key: r.value for r in report.rows_of(service)}
        cells: list[Cell] = [report.period.key, service]
        cells += ["no data" if values.get(k.key) is None else values[k.key] for k in KPIS]
        out.append(cells)
    return out


def deploy_row(report: build.DeployReport) -> list[Cell]:
    """The deployment log's row: when, service, version, window minutes, regressions, then every
    compared KPI's before and after in KPIS order ("no data" when none)."""
    by_key = {c.kpi.key: c for c in report.comparisons}
    cells: list[Cell] = [
        report.at.isoformat(),
        report.service,
        report.version,
        int(report.window.total_seconds() // 60),
        len(report.regressions),
    ]
    for kpi in KPIS:
        comparison = by_key.get(kpi.key)
        for value in (comparison.before, comparison.after) if comparison else (None, None):
            cells.append("no data" if value is None else value)
    return cells


def providers_of(settings: Settings) -> list[Configured]:
    return [Configured(LlmClient(p.name, p.model, p.api_key, base_url=p.base_url), p.price) for p in settings.providers]


def deliver(
    history: History,
    kind: str,
    period: str,
    channels: Channels,
    *,
    discord_message: DiscordMessage,
    mail: EmailMessage | None,
    rows: list[list[Cell]] | None = None,
) -> list[str]:
    """Send to each channel that has not received this period yet; returns what happened per channel.

    A failing channel does not stop the others; it is not marked delivered (the next run retries
    it) and the failures are raised together once every channel was tried."""
    sends: list[tuple[str, Callable[[], str]]] = []
    if channels.discord is not None:
        post = channels.discord
        sends.append(("discord", lambda: post(discord_message)))
    if channels.email is not None and mail is not None:
        send, message = channels.email, mail
        sends.append(("email", lambda: send(message)))
    if channels.sheets is not None and rows:
        append, cells = channels.sheets, rows
        sends.append(("sheets", lambda: append(kind, cells)))
    done, failed = [], []
    for channel, call in sends:
        if history.delivered(kind, period, channel):
            done.append(f"{channel}: already delivered, skipped")
            continue
        try:
            ref = call()
        except ObsError as exc:
            failed.append(f"{channel}: {exc}")
            continue
        history.mark_delivered(kind, period, channel, ref)
        done.append(f"{channel}: sent")
    if failed:
        raise ObsError(
            f"the {kind} report {period} was not delivered to every channel ({'; '.join(done) or 'none sent'}): "
            + "; ".join(failed),
            fix="fix the channel named above and run the same command again: delivered channels are skipped",
        )
    return done


def alerts_fired(settings: Settings, period: kpis.Period) -> tuple[dict[str, int] | None, dict[str, float] | None, str]:
    """(fired per severity, its baseline mean, note). None with the reason when Grafana is not
    configured or fails."""
    if not settings.grafana_url:
        return None, None, "Grafana is not configured for the reports (GRAFANA_URL)"
    periods = [*period.previous(build.BASELINE_PERIODS[period.kind]), period]
    try:
        counts, complete = alerts.from_grafana(
            settings.grafana_url,
            settings.grafana_token,
            [(p.start.astimezone(UTC), p.end.astimezone(UTC)) for p in periods],
        )
    except ObsError as exc:
        return None, None, f"Grafana's alert state history could not be read: {exc.message}"
    note = "" if complete else f"at least: Grafana returned its maximum of {alerts.MAX_ANNOTATIONS} changes"
    return counts[-1], alerts.mean_counts(counts[:-1]), note


def incidents_of(store: IncidentStore, period: kpis.Period) -> tuple[dict[str, int], dict[str, float] | None]:
    """Incidents per severity in the period, and the mean over its baseline periods."""

    def count(p: kpis.Period) -> dict[str, int]:
        return store.count_by_severity(p.start.astimezone(UTC), p.end.astimezone(UTC))

    previous = [count(p) for p in period.previous(build.BASELINE_PERIODS[period.kind])]
    return count(period), alerts.mean_counts(previous)


def make_report(
    prom: kpis.RangeQuerier,
    history: History,
    period: kpis.Period,
    settings: Settings,
    providers: Sequence[Configured] = (),
) -> build.Report:
    incidents, incidents_baseline = None, None
    ledger_store = None
    if settings.incidents is not None and settings.incidents.exists():
        ledger_store = IncidentStore(settings.incidents)
        incidents, incidents_baseline = incidents_of(ledger_store, period)
    try:
        report = build.build(prom, history, period, thresholds(), incidents)
        report.incidents_baseline = incidents_baseline
        report.alerts, report.alerts_baseline, report.alerts_note = alerts_fired(settings, period)
        report.findings += build.count_findings("alerts", report.alerts, report.alerts_baseline)
        report.findings += build.count_findings("incidents", report.incidents, report.incidents_baseline)
        budget = Budget(LlmLedger(ledger_store), settings.caps) if ledger_store is not None else None
        if providers and budget is None:
            report.narrative_note = "AI narrative skipped: no incident log to keep the LLM budget in"
        else:
            result = narrative.narrate(render.text(report), providers, budget)
            report.narrative, report.narrative_note = result.text, result.note
    finally:
        if ledger_store is not None:
            ledger_store.close()
    return report


def run_periodic(
    settings: Settings,
    kind: kpis.Kind,
    day: date,
    *,
    dry_run: bool,
    prom: kpis.RangeQuerier | None = None,
    channels: Channels | None = None,
    providers: Sequence[Configured] | None = None,
) -> tuple[build.Report, list[str]]:
    period = kpis.day(day, settings.timezone) if kind == "daily" else kpis.week(day, settings.timezone)
    client = None
    if prom is None:
        client = PrometheusClient(settings.prometheus_url, timeout=30)
        prom = client
    try:
        with History(settings.history) as history:
            report = make_report(
                prom, history, period, settings, providers_of(settings) if providers is None else providers
            )
            if dry_run:
                return report, ["dry run: nothing sent"]
            chans = channels_of(settings) if channels is None else channels
            mail = None
            if settings.smtp is not None:
                mail = render.email(
                    report, settings.smtp.sender, settings.smtp.recipients, settings.dashboard_url, settings.history_url
                )
            return report, deliver(
                history,
                kind,
                period.key,
                chans,
                discord_message=render.discord(report, settings.dashboard_url),
                mail=mail,
                rows=sheet_rows(report),
            )
    finally:
        if client is not None:
            client.close()


def backfill(
    settings: Settings, kind: kpis.Kind, first: date, last: date, prom: kpis.RangeQuerier | None = None
) -> list[str]:
    """Compute and store every period from ``first`` to ``last`` (inclusive); sends nothing."""
    if last < first:
        raise ObsError(f"--backfill {first}..{last}: the end is before the start", fix="give FROM..TO with FROM <= TO")
    client = PrometheusClient(settings.prometheus_url, timeout=30) if prom is None else None
    querier = prom or client
    assert querier is not None
    done = []
    try:
        with History(settings.history) as history:
            d = first
            while d <= last:
                period = kpis.day(d, settings.timezone) if kind == "daily" else kpis.week(d, settings.timezone)
                history.store(period.kind, period.key, kpis.compute(querier, period))
                done.append(period.key)
                d += timedelta(days=1 if kind == "daily" else 7)
    finally:
        if client is not None:
            client.close()
    return done


def run_deploy(
    settings: Settings,
    service: str,
    version: str,
    at: datetime,
    window: timedelta,
    *,
    dry_run: bool,
    prom: kpis.RangeQuerier | None = None,
    channels: Channels | None = None,
    providers: Sequence[Configured] | None = None,
) -> tuple[build.DeployReport, list[str]]:
    client = PrometheusClient(settings.prometheus_url, timeout=30) if prom is None else None
    querier = prom or client
    assert querier is not None
    try:
        report = build.deploy_impact(querier, service, version, at, window)
    finally:
        if client is not None:
            client.close()
    chosen = providers_of(settings) if providers is None else providers
    ledger_store = (
        IncidentStore(settings.incidents) if settings.incidents is not None and settings.incidents.exists() else None
    )
    try:
        budget = Budget(LlmLedger(ledger_store), settings.caps) if ledger_store is not None else None
        result = narrative.narrate(render.deploy_text(report), chosen, budget)
        report.narrative, report.narrative_note = result.text, result.note
    finally:
        if ledger_store is not None:
            ledger_store.close()
    if dry_run:
        return report, ["dry run: nothing sent"]
    with History(settings.history) as history:
        history.record_deployment(service, version, at, len(report.regressions))
        key = f"{service}@{version}@{at.isoformat()}"
        mail = None
        if settings.smtp is not None:
            mail = render.deploy_email(report, settings.smtp.sender, settings.smtp.recipients, settings.dashboard_url)
        chans = channels_of(settings) if channels is None else channels
        return report, deliver(
            history,
            "deploy",
            key,
            chans,
            discord_message=render.deploy_discord(report),
            mail=mail,
            rows=[deploy_row(report)],
        )


def print_lines(lines: list[str], out: Path | None = None) -> None:
    text = "\n".join(lines)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text + "\n", encoding="utf-8")
