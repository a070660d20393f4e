"""What the reports measure and when a value is good, watch or bad: the one configuration.

Every KPI names a concept of the query catalog (obsctl/signals/queries.py) and how the report turns
its series over a period into one value per service:

- ``mean``: the average of the range query's points (ratios, latencies, scores);
- ``max``: the highest point (CPU, memory, disk peaks);
- ``total``: the average per-second rate times the period's seconds (request volume, error count).

Thresholds: the customer's values (seed 000) where they gave one; the alert catalog's
(alerting/catalog.yml: the lowest severity's threshold = "watch", the highest's = "bad") where an
alert watches the same concept; otherwise none (the KPI is shown without a status). Settings that
differ per installation come from the environment (:meth:`Settings.from_env`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from obsctl.analyzer.config import ProviderSettings, _float, providers_from_env, secret
from obsctl.analyzer.llm import BudgetCaps
from obsctl.errors import ObsError
from obsctl.incidents.store import DEFAULT_DB
from obsctl.signals import queries

Aggregation = Literal["mean", "max", "total"]
Better = Literal["higher", "lower", "none"]
Status = Literal["good", "watch", "bad", "none", "no data"]

DEFAULT_HISTORY = "/var/lib/obs-reports/history.db"
DEFAULT_TZ = "Asia/Seoul"


@dataclass(frozen=True)
class Threshold:
    """``good``/``watch`` bounds in the KPI's own unit; a value past ``watch`` is bad.
    For ``better="higher"``: good when value > good, watch when value > watch, else bad.
    For ``better="lower"``: good when value < good, watch when value < watch, else bad."""

    good: float
    watch: float
    source: str


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    query: str  # a key of obsctl.signals.queries.QUERIES
    service_label: str  # the series label naming the service ("app" or "instance")
    aggregation: Aggregation
    unit: Literal["ratio", "s", "count", "score"]
    better: Better

    def catalog_query(self) -> queries.Query:
        return queries.get(self.query)


KPIS: tuple[Kpi, ...] = (
    Kpi("availability", "Availability", "service_up", "app", "mean", "ratio", "higher"),
    Kpi("request_volume", "Requests", "http_request_rate", "app", "total", "count", "none"),
    Kpi("error_ratio", "5xx ratio", "http_5xx_ratio", "app", "mean", "ratio", "lower"),
    Kpi("latency_p95", "Latency p95", "http_latency_p95", "app", "mean", "s", "lower"),
    Kpi("latency_p99", "Latency p99", "http_latency_p99", "app", "mean", "s", "lower"),
    Kpi("chatbot_success", "Chatbot success", "chatbot_success_ratio", "app", "mean", "ratio", "higher"),
    Kpi("chatbot_response_time", "Chatbot response p95", "chatbot_p95_seconds", "app", "mean", "s", "lower"),
    Kpi("chatbot_errors", "Chatbot errors", "chatbot_error_rate", "app", "total", "count", "lower"),
    Kpi("chatbot_satisfaction", "Chatbot satisfaction", "chatbot_satisfaction", "app", "mean", "score", "higher"),
    Kpi("cpu_peak", "CPU peak", "host_cpu_used_ratio", "instance", "max", "ratio", "lower"),
    Kpi("memory_peak", "Memory peak", "host_memory_used_ratio", "instance", "max", "ratio", "lower"),
    Kpi("disk_peak", "Disk peak", "host_disk_used_ratio", "instance", "max", "ratio", "lower"),
)
KPI_BY_KEY = {k.key: k for k in KPIS}

# The customer's thresholds (seed 000). Availability has none there and no alert: 99.9 % / 99 %
# are this project's defaults, named as such in the report.
CUSTOMER = "customer (seed 000)"
DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "chatbot_success": Threshold(0.95, 0.90, CUSTOMER),
    "chatbot_response_time": Threshold(2.0, 3.0, CUSTOMER),
    "chatbot_errors": Threshold(10, 50, CUSTOMER),
    "availability": Threshold(0.999, 0.99, "project default"),
}


def catalog_thresholds() -> dict[str, Threshold]:
    """Thresholds of the alert catalog for the KPIs whose concept an alert watches."""
    from obsctl.alerting import catalog as alert_catalog  # noqa: PLC0415 - reads alerting/catalog.yml

    try:
        loaded = alert_catalog.load()
    except (ObsError, OSError):
        return {}
    out: dict[str, Threshold] = {}
    for kpi in KPIS:
        bounds = sorted(a.threshold for a in loaded.alerts if a.query.key == kpi.query)
        if not bounds or kpi.better == "none":
            continue
        if kpi.better == "lower":
            out[kpi.key] = Threshold(bounds[0], bounds[-1], "alert catalog")
        else:
            out[kpi.key] = Threshold(bounds[-1], bounds[0], "alert catalog")
    return out


def thresholds() -> dict[str, Threshold]:
    """The customer's values first, the alert catalog's where the customer gave none."""
    return {**catalog_thresholds(), **DEFAULT_THRESHOLDS}


def status_of(kpi: Kpi, value: float | None, limits: Mapping[str, Threshold]) -> Status:
    if value is None:
        return "no data"
    limit = limits.get(kpi.key)
    if limit is None or kpi.better == "none":
        return "none"
    if kpi.better == "higher":
        return "good" if value > limit.good else "watch" if value > limit.watch else "bad"
    return "good" if value < limit.good else "watch" if value < limit.watch else "bad"


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    user: str
    password: str
    sender: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Sheet:
    """The optional Google Sheet history: service-account JSON key, spreadsheet id, A1 range per kind."""

    key_file: Path
    spreadsheet_id: str
    daily_range: str = "DailyMetrics!A:Z"
    weekly_range: str = "WeeklyMetrics!A:Z"
    deploy_range: str = "Deployments!A:Z"

    def range_of(self, kind: str) -> str:
        return {"weekly": self.weekly_range, "deploy": self.deploy_range}.get(kind, self.daily_range)


@dataclass(frozen=True)
class Settings:
    prometheus_url: str
    history: Path = Path(DEFAULT_HISTORY)
    incidents: Path | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TZ))
    dashboard_url: str = ""
    history_url: str = ""
    discord_webhook_url: str = ""
    smtp: Smtp | None = None
    sheet: Sheet | None = None
    providers: tuple[ProviderSettings, ...] = ()
    caps: BudgetCaps = field(default_factory=BudgetCaps)
    grafana_url: str = ""  # alerts fired per severity, from Grafana's alert state history
    grafana_token: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        prometheus = env.get("PROMETHEUS_URL", "").strip()
        if not prometheus:
            raise ObsError("PROMETHEUS_URL is not set", fix="set PROMETHEUS_URL (e.g. http://127.0.0.1:9090)")
        tz_name = env.get("OBS_REPORT_TZ", DEFAULT_TZ)
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ObsError(f"OBS_REPORT_TZ={tz_name!r} is not a known time zone", fix="use an IANA name") from None
        smtp = None
        host = env.get("OBS_REPORT_SMTP_HOST", "").strip()
        if host:
            port_text = env.get("OBS_REPORT_SMTP_PORT", "587")
            if not port_text.isdigit():
                raise ObsError(f"OBS_REPORT_SMTP_PORT={port_text!r} is not a port", fix="use 587 (STARTTLS)")
            recipients = tuple(r.strip() for r in env.get("OBS_REPORT_MAIL_TO", "").split(",") if r.strip())
            sender = env.get("OBS_REPORT_MAIL_FROM", "").strip()
            if not recipients or not sender:
                raise ObsError(
                    "OBS_REPORT_SMTP_HOST is set but OBS_REPORT_MAIL_FROM or OBS_REPORT_MAIL_TO is empty",
                    fix="set both (MAIL_TO: comma-separated addresses)",
                )
            smtp = Smtp(
                host,
                int(port_text),
                env.get("OBS_REPORT_SMTP_USER", ""),
                secret(env, "OBS_REPORT_SMTP_PASSWORD"),
                sender,
                recipients,
            )
        providers = providers_from_env(env, "OBS_REPORT_PROVIDERS", "gemini")
        sheet = None
        key_file, sheet_id = (
            env.get("OBS_REPORT_SHEETS_KEY_FILE", "").strip(),
            env.get("OBS_REPORT_SHEETS_ID", "").strip(),
        )
        if bool(key_file) != bool(sheet_id):
            raise ObsError(
                "only one of OBS_REPORT_SHEETS_KEY_FILE and OBS_REPORT_SHEETS_ID is set",
                fix="set both (the service account's JSON key file and the spreadsheet id) or neither",
            )
        if key_file:
            sheet = Sheet(Path(key_file), sheet_id)
        incidents = env.get("OBS_ANALYZER_DB", DEFAULT_DB)
        return cls(
            prometheus_url=prometheus,
            history=Path(env.get("OBS_REPORT_HISTORY_DB", DEFAULT_HISTORY)),
            incidents=Path(incidents) if incidents else None,
            timezone=tz,
            dashboard_url=env.get("OBS_REPORT_DASHBOARD_URL", ""),
            history_url=env.get("OBS_REPORT_HISTORY_URL", ""),
            discord_webhook_url=secret(env, "OBS_REPORT_DISCORD_WEBHOOK_URL"),
            grafana_url=env.get("GRAFANA_URL", "").strip().rstrip("/"),
            grafana_token=secret(env, "GRAFANA_TOKEN"),
            smtp=smtp,
            sheet=sheet,
            providers=tuple(providers),
            # The analyzer's caps and ledger: one LLM budget for the whole monitoring host.
            caps=BudgetCaps(
                calls_per_hour=int(_float(env, "OBS_ANALYZER_MAX_CALLS_HOUR", 20)),
                calls_per_day=int(_float(env, "OBS_ANALYZER_MAX_CALLS_DAY", 100)),
                usd_per_hour=_float(env, "OBS_ANALYZER_MAX_USD_HOUR", 1.0),
                usd_per_day=_float(env, "OBS_ANALYZER_MAX_USD_DAY", 5.0),
            ),
        )
