"""The alert catalog model: loading alerting/catalog.yml and refusing anything Grafana would reject."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import Field

from obsctl.common import duration_seconds
from obsctl.errors import ObsError
from obsctl.paths import repo_root
from obsctl.schema import Shape, shape_problems
from obsctl.signals import queries

Comparator = Literal["gt", "lt"]
NoData = Literal["ok", "alerting", "nodata"]

# Shared names (docs/conventions.md): the dashboards alerts may link to.
DASHBOARD_UIDS = ("overview", "jvm", "http-red", "logs", "nginx", "hosts", "self", "chatbot", "llm")
DATASOURCE_UIDS = {"promql": "prometheus", "logql": "loki"}
SEVERITIES = ("P1", "P2", "P3", "P4")
# Grafana uids: letters, digits, '-' and '_', at most 40 characters; we keep them kebab-case.
_UID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
# Grafana's scheduler ticks every 10 s: group intervals must be multiples of it.
_BASE_INTERVAL_S = 10
# Keeps the Discord embed title (256 characters) within bounds; see obsctl.alerting.messages.
MAX_TITLE = 100


@dataclass(frozen=True)
class Severity:
    key: str
    name: str
    emoji: str
    channel: str
    group: str
    group_wait: str
    group_interval: str
    repeat_interval: str
    mention: str = ""
    mute_timings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Integration:
    """An optional receiver (e-mail, incident analyzer webhook) added to contact points when enabled."""

    enabled: bool
    env: str
    severities: tuple[str, ...]
    # Environment variable holding the Authorization credential Grafana sends (analyzer only).
    credentials_env: str = ""


@dataclass(frozen=True)
class Alert:
    uid: str
    title: str
    severity: str
    team: str
    service: str
    query: queries.Query
    comparator: Comparator
    threshold: float
    for_: str
    summary: str
    description: str
    dashboard: str
    panel: int | None = None
    no_data: NoData = "ok"

    @property
    def language(self) -> str:
        return self.query.language

    @property
    def datasource_uid(self) -> str:
        return DATASOURCE_UIDS[self.query.language]

    @property
    def for_seconds(self) -> float:
        return duration_seconds(self.for_)

    @property
    def runbook_path(self) -> str:
        return f"docs/runbooks/{self.uid}.md"

    @property
    def needs_runbook(self) -> bool:
        return self.severity in ("P1", "P2")


@dataclass(frozen=True)
class Catalog:
    folder: str
    runbook_base_url: str
    default_team: str
    severities: dict[str, Severity]
    groups: dict[str, str]
    channels: dict[str, str]
    email: Integration
    analyzer: Integration
    mute_timings: dict[str, dict[str, Any]]
    alerts: tuple[Alert, ...]
    source: Path = field(default=Path("alerting/catalog.yml"))

    def by_uid(self, uid: str) -> Alert:
        for alert in self.alerts:
            if alert.uid == uid:
                return alert
        raise KeyError(uid)

    def group_interval_seconds(self, group: str) -> float:
        return duration_seconds(self.groups[group])

    def runbook_link(self, alert: Alert) -> str | None:
        """Absolute URL of the alert's runbook, or None when docs/runbooks has none for it (P3/P4 may
        have none; P1/P2 must, see the catalog tests): Grafana and Discord show the link as is."""
        if not (repo_root() / alert.runbook_path).is_file():
            return None
        return f"{self.runbook_base_url.rstrip('/')}/{alert.runbook_path}"


Scalar = str | int | float | bool  # YAML may read a value like 5m or 24 as either


class _SeverityShape(Shape):
    name: Scalar
    emoji: str
    channel: str
    group: str
    group_wait: str
    group_interval: str
    repeat_interval: str
    mention: str | None = None
    mute_timings: list[str] | None = None


class _GroupShape(Shape):
    interval: str


class _ChannelShape(Shape):
    webhook_env: str


class _IntegrationShape(Shape):
    enabled: bool | None = None
    addresses_env: str | None = None
    url_env: str | None = None
    credentials_env: str | None = None
    severities: list[str] | None = None


class _AlertShape(Shape):
    uid: str
    title: str
    severity: str
    service: str
    query: str
    comparator: str
    threshold: int | float
    for_: str = Field(alias="for")
    summary: str
    description: str
    dashboard: str
    team: str | None = None
    panel: int | None = None
    no_data: str | None = None


class CatalogFile(Shape):
    """The shape of alerting/catalog.yml: every field the loader reads, with its type."""

    folder: str | None = None
    runbook_base_url: str | None = None
    default_team: str | None = None
    severities: dict[str, _SeverityShape] | None = None
    groups: dict[str, _GroupShape] | None = None
    channels: dict[str, _ChannelShape] | None = None
    email: _IntegrationShape | None = None
    analyzer: _IntegrationShape | None = None
    mute_timings: dict[str, dict[str, Any]] | None = None
    alerts: list[_AlertShape] | None = None


def default_path() -> Path:
    return repo_root() / "alerting" / "catalog.yml"


def load(path: Path | None = None) -> Catalog:
    """Read and validate the catalog; every problem found is listed in one error."""
    path = path or default_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ObsError(f"cannot read the alert catalog {path}: {exc}", fix="run from the repository root") from None
    except yaml.YAMLError as exc:
        raise ObsError(f"{path} is not valid YAML: {exc}", fix="fix the YAML syntax at the line named") from None
    if not isinstance(data, dict):
        raise ObsError(f"{path} must be a YAML mapping", fix="see the comments at the top of alerting/catalog.yml")
    problems = shape_problems(CatalogFile, data)
    if problems:
        listing = "\n  - ".join(problems)
        raise ObsError(
            f"the alert catalog {path} has {len(problems)} field(s) of the wrong type:\n  - {listing}",
            fix=f"edit {path}: each field named above must have the type stated (see its header comments)",
        )
    catalog = _parse(data, problems, path)
    if catalog is not None:
        problems.extend(validate(catalog))
    if problems or catalog is None:
        listing = "\n  - ".join(problems)
        raise ObsError(f"the alert catalog {path} has {len(problems)} problem(s):\n  - {listing}", fix=f"edit {path}")
    return catalog


def _req(obj: dict[str, Any], key: str, where: str, problems: list[str]) -> object:
    if key not in obj:
        problems.append(f"{where}: missing '{key}'")
        return None
    return obj[key]


def _parse(data: dict[str, Any], problems: list[str], path: Path) -> Catalog | None:
    severities: dict[str, Severity] = {}
    for key, raw in (data.get("severities") or {}).items():
        where = f"severities.{key}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        values = {k: _req(raw, k, where, problems) for k in ("name", "emoji", "channel", "group")}
        timers = {k: _req(raw, k, where, problems) for k in ("group_wait", "group_interval", "repeat_interval")}
        if None in values.values() or None in timers.values():
            continue
        severities[str(key)] = Severity(
            key=str(key),
            name=str(values["name"]),
            emoji=str(values["emoji"]),
            channel=str(values["channel"]),
            group=str(values["group"]),
            group_wait=str(timers["group_wait"]),
            group_interval=str(timers["group_interval"]),
            repeat_interval=str(timers["repeat_interval"]),
            mention=str(raw.get("mention", "")),
            mute_timings=tuple(str(m) for m in raw.get("mute_timings", ())),
        )
    groups = {str(k): str((v or {}).get("interval", "")) for k, v in (data.get("groups") or {}).items()}
    channels = {str(k): str((v or {}).get("webhook_env", "")) for k, v in (data.get("channels") or {}).items()}
    default_team = str(data.get("default_team", "platform"))
    alerts = tuple(
        a for a in (_parse_alert(i, raw, default_team, problems) for i, raw in enumerate(data.get("alerts") or [])) if a
    )
    if problems:
        return None
    return Catalog(
        folder=str(data.get("folder", "")),
        runbook_base_url=str(data.get("runbook_base_url", "")),
        default_team=default_team,
        severities=severities,
        groups=groups,
        channels=channels,
        email=_integration(data.get("email") or {}, "addresses_env"),
        analyzer=_integration(data.get("analyzer") or {}, "url_env"),
        mute_timings={str(k): dict(v) for k, v in (data.get("mute_timings") or {}).items()},
        alerts=alerts,
        source=path,
    )


def _integration(raw: dict[str, Any], env_key: str) -> Integration:
    return Integration(
        enabled=bool(raw.get("enabled", False)),
        env=str(raw.get(env_key, "")),
        severities=tuple(str(s) for s in raw.get("severities", ())),
        credentials_env=str(raw.get("credentials_env", "")),
    )


def _parse_alert(index: int, raw: object, default_team: str, problems: list[str]) -> Alert | None:
    where = f"alerts[{index}]"
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a mapping")
        return None
    where = f"alerts[{index}] ({raw.get('uid', '?')})"
    required = ("uid", "title", "severity", "service", "query", "comparator", "threshold", "for")
    values = {k: _req(raw, k, where, problems) for k in (*required, "summary", "description", "dashboard")}
    if any(values[k] is None for k in values):
        return None
    try:
        query = queries.get(str(values["query"]))
    except KeyError as exc:
        problems.append(f"{where}: {exc.args[0]}")
        return None
    threshold = values["threshold"]
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        problems.append(f"{where}: threshold must be a number, got {threshold!r}")
        return None
    panel = raw.get("panel")
    if panel is not None and (isinstance(panel, bool) or not isinstance(panel, int)):
        problems.append(f"{where}: panel must be an integer panel id")
        return None
    return Alert(
        uid=str(values["uid"]),
        title=str(values["title"]),
        severity=str(values["severity"]),
        team=str(raw.get("team", default_team)),
        service=str(values["service"]),
        query=query,
        comparator=cast("Comparator", str(values["comparator"])),
        threshold=float(threshold),
        for_=str(values["for"]),
        summary=str(values["summary"]).strip(),
        description=str(values["description"]).strip(),
        dashboard=str(values["dashboard"]),
        panel=panel,
        no_data=cast("NoData", str(raw.get("no_data", "ok"))),
    )


def _duration_problem(text: str, where: str) -> str | None:
    try:
        duration_seconds(text)
    except ObsError:
        return f"{where}: '{text}' is not a duration like 30s, 5m or 1h"
    return None


def validate(catalog: Catalog) -> list[str]:
    """Every rule Grafana or this project imposes on the catalog; an empty list means valid."""
    problems = _settings_problems(catalog) + _severity_problems(catalog)
    seen_uids: set[str] = set()
    seen_titles: set[str] = set()
    for alert in catalog.alerts:
        problems.extend(_validate_alert(catalog, alert, seen_uids, seen_titles))
    return problems


_ABSOLUTE_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?(/\S*)?")


def _settings_problems(catalog: Catalog) -> list[str]:
    problems: list[str] = []
    if not catalog.runbook_base_url.isascii() or "$" in catalog.runbook_base_url:
        problems.append("runbook_base_url: must be a plain ASCII URL without '$'")
    elif not _ABSOLUTE_URL.fullmatch(catalog.runbook_base_url):
        problems.append(
            f"runbook_base_url: '{catalog.runbook_base_url}' is not an absolute http(s) URL; a relative link "
            "opens nowhere from Grafana or Discord. Set the web view of this repository's default branch, "
            "e.g. https://github.com/<org>/obs-platform/blob/main"
        )
    if not catalog.folder.strip():
        problems.append("folder: a Grafana folder name is required")
    if set(catalog.severities) != set(SEVERITIES):
        problems.append(
            f"severities: exactly {', '.join(SEVERITIES)} are required, got {', '.join(catalog.severities)}"
        )
    for name, interval in catalog.groups.items():
        msg = _duration_problem(interval, f"groups.{name}.interval")
        if msg:
            problems.append(msg)
        elif duration_seconds(interval) < _BASE_INTERVAL_S or duration_seconds(interval) % _BASE_INTERVAL_S:
            problems.append(f"groups.{name}.interval: {interval} is not a multiple of Grafana's 10s tick")
    for channel, env in catalog.channels.items():
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", env):
            problems.append(f"channels.{channel}.webhook_env: '{env}' is not an environment variable name")
    for name, integration in (("email", catalog.email), ("analyzer", catalog.analyzer)):
        if integration.enabled and not re.fullmatch(r"[A-Z][A-Z0-9_]*", integration.env):
            problems.append(f"{name}: enabled but its environment variable name '{integration.env}' is invalid")
        problems.extend(
            f"{name}.severities: unknown severity '{s}'" for s in integration.severities if s not in SEVERITIES
        )
    # The analyzer answers 401 to a request without its credential: an enabled webhook without one
    # would deliver nothing.
    if catalog.analyzer.enabled and not re.fullmatch(r"[A-Z][A-Z0-9_]*", catalog.analyzer.credentials_env):
        problems.append(
            f"analyzer: enabled but credentials_env '{catalog.analyzer.credentials_env}' is not an environment "
            "variable name (the Authorization credential Grafana sends, e.g. INCIDENT_ANALYZER_TOKEN)"
        )
    return problems


def _severity_problems(catalog: Catalog) -> list[str]:
    problems: list[str] = []
    for sev in catalog.severities.values():
        where = f"severities.{sev.key}"
        if sev.channel not in catalog.channels:
            problems.append(f"{where}.channel: unknown channel '{sev.channel}' (known: {', '.join(catalog.channels)})")
        if sev.group not in catalog.groups:
            problems.append(f"{where}.group: unknown rule group '{sev.group}'")
        for timer in (sev.group_wait, sev.group_interval, sev.repeat_interval):
            msg = _duration_problem(timer, where)
            if msg:
                problems.append(msg)
        problems.extend(
            f"{where}.mute_timings: unknown mute timing '{m}'"
            for m in sev.mute_timings
            if m not in catalog.mute_timings
        )
    return problems


def _validate_alert(catalog: Catalog, alert: Alert, seen_uids: set[str], seen_titles: set[str]) -> list[str]:
    where = f"alert {alert.uid}"
    problems = _identity_problems(alert, seen_uids, seen_titles)
    if alert.severity not in catalog.severities:
        problems.append(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    if alert.comparator not in ("gt", "lt"):
        problems.append(f"{where}: comparator must be gt or lt (Grafana threshold types)")
    if alert.no_data not in ("ok", "alerting", "nodata"):
        problems.append(f"{where}: no_data must be ok, alerting or nodata")
    msg = _duration_problem(alert.for_, f"{where}: for")
    if msg:
        problems.append(msg)
    elif alert.severity in catalog.severities and catalog.severities[alert.severity].group in catalog.groups:
        group = catalog.severities[alert.severity].group
        interval = catalog.groups[group]
        if _duration_problem(interval, group) is None and alert.for_seconds % duration_seconds(interval):
            problems.append(
                f"{where}: for {alert.for_} is not a multiple of its group's interval ({group}: {interval}); "
                "the rule would fire only at the next evaluation after it (obsctl alerts ttd assumes exact)"
            )
    if alert.dashboard not in DASHBOARD_UIDS:
        problems.append(f"{where}: dashboard '{alert.dashboard}' is not one of {', '.join(DASHBOARD_UIDS)}")
    for name, text in (("summary", alert.summary), ("description", alert.description), ("service", alert.service)):
        problems.extend(_text_problems(f"{where}: {name}", text))
    return problems


def _identity_problems(alert: Alert, seen_uids: set[str], seen_titles: set[str]) -> list[str]:
    where = f"alert {alert.uid}"
    problems: list[str] = []
    if not _UID.match(alert.uid):
        problems.append(f"{where}: uid must be kebab-case, 2-40 characters")
    if alert.uid in seen_uids:
        problems.append(f"{where}: duplicate uid")
    seen_uids.add(alert.uid)
    if alert.title in seen_titles:
        problems.append(f"{where}: duplicate title '{alert.title}' (Grafana requires unique titles per folder)")
    seen_titles.add(alert.title)
    if "$" in alert.title or any(ord(ch) > 0xFFFF for ch in alert.title):
        problems.append(f"{where}: title may not contain '$' (Grafana expands it) or emoji")
    if len(alert.title) > MAX_TITLE:
        problems.append(f"{where}: title longer than {MAX_TITLE} characters")
    return problems


def _text_problems(where: str, text: str) -> list[str]:
    problems = []
    # `${...}` is what Grafana's provisioning expands from the environment (and a proposed change extends
    # that to annotations): a literal one in alert text would silently become empty.
    if "${" in text:
        problems.append(f"{where} contains '${{', which Grafana provisioning treats as an env variable")
    if any(ord(ch) > 0xFFFF for ch in text):
        problems.append(f"{where} contains characters outside the BMP (emoji), which break the length bound")
    if "{%" in text or "{#" in text:
        problems.append(f"{where} contains Jinja syntax; the files are copied, never templated")
    return problems


def dashboard_panels(dashboards_dir: Path) -> dict[str, set[int]]:
    """Panel ids per dashboard uid from the generated dashboard JSON (empty when not built yet)."""
    panels: dict[str, set[int]] = {}
    if not dashboards_dir.is_dir():
        return panels
    for path in sorted(dashboards_dir.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        uid = doc.get("uid")
        if not isinstance(uid, str):
            continue
        ids: set[int] = set()
        stack = list(doc.get("panels", []))
        while stack:
            panel = stack.pop()
            if isinstance(panel, dict):
                if isinstance(panel.get("id"), int):
                    ids.add(panel["id"])
                stack.extend(panel.get("panels", []))
        panels[uid] = ids
    return panels


def panel_problems(catalog: Catalog, dashboards_dir: Path) -> list[str]:
    """Panel ids the catalog names that the generated dashboards do not have (skipped if not generated)."""
    panels = dashboard_panels(dashboards_dir)
    problems = []
    for alert in catalog.alerts:
        if alert.panel is None or alert.dashboard not in panels:
            continue
        if alert.panel not in panels[alert.dashboard]:
            problems.append(f"alert {alert.uid}: dashboard {alert.dashboard} has no panel id {alert.panel}")
    return problems
