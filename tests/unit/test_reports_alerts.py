"""Alerts fired per severity from Grafana's alert state history (annotations of type ``alert``),
through a local test double of Grafana's ``GET /api/annotations`` answering the documented shape."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from obsctl.alerting import catalog
from obsctl.incidents.store import IncidentStore, NewAlert
from obsctl.reports import alerts, jobs, render
from obsctl.reports.config import Settings
from tests.fixtures.reports import PrometheusDouble
from tests.support import HttpTestDouble, double_url, serve_double

DAY = date(2026, 11, 30)
TITLES = {a.title: a.severity for a in catalog.load().alerts}
P1_TITLE = next(t for t, s in TITLES.items() if s == "P1")
P2_TITLE = next(t for t, s in TITLES.items() if s == "P2")


# 2026-11-30 12:00 in Asia/Seoul (03:00 UTC): inside the daily report's local day
NOON_KST = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def change(
    title: str, prev: str, new: str, labels: str = 'instance="app-1"', at: datetime = NOON_KST
) -> dict[str, Any]:
    """One state change as Grafana's annotation state historian records it."""
    return {
        "id": 1,
        "alertId": 7,
        "time": int(at.timestamp() * 1000),
        "newState": new,
        "prevState": prev,
        "text": f"{title} {{{labels}}} - B=1.000000, C=1.000000",
        "tags": [],
        "data": {"values": {"B": 1.0, "C": 1.0}},
    }


def test_only_changes_into_alerting_count_and_the_catalog_names_the_severity() -> None:
    items = [
        change(P1_TITLE, "Normal", "Alerting"),
        change(P1_TITLE, "Pending", "Alerting"),
        change(P1_TITLE, "Alerting", "Alerting (Error)"),  # still firing: not a new fire
        change(P1_TITLE, "Alerting", "Normal"),  # resolved
        change(P2_TITLE, "Normal", "Pending"),  # not firing yet
        change(P2_TITLE, "Normal (MissingSeries)", "Alerting"),
        change("A rule outside the catalog", "Normal", "Alerting", 'severity="P3", app="x"'),
        change("Another unknown rule", "Normal", "Alerting", "app=x"),
    ]
    counts = alerts.count_fired(items, TITLES, ["P1", "P2", "P3", "P4"])
    assert counts == {"P1": 2, "P2": 1, "P3": 1, "P4": 0, "unknown": 1}


class GrafanaAnnotationsTestDouble(HttpTestDouble):
    """A local stand-in for Grafana's ``GET /api/annotations``: answers ``items`` for type=alert,
    or ``status``; records the query and the Authorization header."""

    items: ClassVar[list[dict[str, Any]]] = []
    status: ClassVar[int] = 200
    received: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).received.append({"path": url.path, "query": query, "auth": self.headers.get("Authorization")})
        ok = type(self).status == 200 and url.path == "/api/annotations"
        body = type(self).items if ok and query.get("type") == "alert" else {"message": "boom"}
        self.reply(type(self).status if url.path == "/api/annotations" else 404, body)


@pytest.fixture
def grafana_url() -> Iterator[str]:
    GrafanaAnnotationsTestDouble.items = [
        change(P1_TITLE, "Normal", "Alerting"),
        change(P1_TITLE, "Normal", "Alerting", at=NOON_KST - timedelta(hours=1)),
        change(P1_TITLE, "Alerting", "Normal", at=NOON_KST + timedelta(hours=1)),
        change(P2_TITLE, "Normal", "Alerting"),
        # the baseline week: P2 fired once a day on 7 days, P1 once in the week
        *[change(P2_TITLE, "Normal", "Alerting", at=NOON_KST - timedelta(days=d)) for d in range(1, 8)],
        change(P1_TITLE, "Pending", "Alerting", at=NOON_KST - timedelta(days=3)),
        # outside the 8 local days (the day before the baseline, the day after the report)
        change(P1_TITLE, "Normal", "Alerting", at=NOON_KST - timedelta(days=8)),
        change(P1_TITLE, "Normal", "Alerting", at=NOON_KST + timedelta(days=1)),
    ]
    GrafanaAnnotationsTestDouble.status = 200
    GrafanaAnnotationsTestDouble.received = []
    with serve_double(GrafanaAnnotationsTestDouble) as server:
        yield double_url(server)


def _settings(tmp_path: Path, grafana_url: str = "") -> Settings:
    return Settings(
        prometheus_url="unused",
        history=tmp_path / "history.db",
        incidents=None,
        timezone=ZoneInfo("Asia/Seoul"),
        grafana_url=grafana_url,
        grafana_token="glsa_reports",
    )


def _prom() -> PrometheusDouble:
    return PrometheusDouble({("service_up", "chat"): (1.0, 1.0)}, datetime(2026, 11, 30, tzinfo=UTC))


def test_the_daily_report_counts_the_alerts_fired_in_its_local_day(tmp_path: Path, grafana_url: str) -> None:
    report, _ = jobs.run_periodic(
        _settings(tmp_path, grafana_url), "daily", DAY, dry_run=True, prom=_prom(), providers=[]
    )
    assert report.alerts is not None and report.alerts_baseline is not None
    assert report.alerts["P1"] == 2 and report.alerts["P2"] == 1
    assert set(report.alerts) >= set(TITLES.values())  # every catalog severity listed, 0 = measured none
    assert report.alerts_baseline["P1"] == pytest.approx(1 / 7) and report.alerts_baseline["P2"] == 1.0
    (asked,) = GrafanaAnnotationsTestDouble.received  # one request for the day and its 7-day baseline
    assert asked["auth"] == "Bearer glsa_reports" and asked["query"]["type"] == "alert"
    # local days in Asia/Seoul: from 2026-11-22T15:00Z (7 days before) to 2026-11-30T15:00Z (excluded)
    assert int(asked["query"]["from"]) == int(datetime(2026, 11, 22, 15, tzinfo=UTC).timestamp() * 1000)
    assert int(asked["query"]["to"]) == int(datetime(2026, 11, 30, 15, tzinfo=UTC).timestamp() * 1000) - 1
    line = "Alerts fired: P1 2 (baseline 0.1), P2 1 (baseline 1.0)"
    assert line in render.text(report)
    assert "MORE ALERTS: P1 2 (baseline 0.1)" in report.findings
    assert not any(f.startswith("MORE ALERTS: P2") for f in report.findings)  # as usual
    assert line in (render.discord(report).embeds[0].description or "")
    mail = render.email(report, "a@example.org", ("b@example.org",), "", "")
    html = next(p for p in mail.walk() if p.get_content_type() == "text/html").get_content()
    assert line in html


@pytest.mark.parametrize("status", [401, 500])
def test_an_unreadable_history_is_no_data_never_zero(tmp_path: Path, grafana_url: str, status: int) -> None:
    GrafanaAnnotationsTestDouble.status = status
    report, _ = jobs.run_periodic(
        _settings(tmp_path, grafana_url), "daily", DAY, dry_run=True, prom=_prom(), providers=[]
    )
    assert report.alerts is None
    line = render.alerts_line(report)
    assert line.startswith("Alerts fired: no data (Grafana's alert state history could not be read")
    assert f"HTTP {status}" in line and " 0" not in line


def test_without_grafana_the_report_says_no_data(tmp_path: Path) -> None:
    report, _ = jobs.run_periodic(_settings(tmp_path), "daily", DAY, dry_run=True, prom=_prom(), providers=[])
    assert report.alerts is None
    assert (
        render.alerts_line(report) == "Alerts fired: no data (Grafana is not configured for the reports (GRAFANA_URL))"
    )


def test_settings_read_grafana_for_the_alert_history(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("glsa_file\n")
    settings = Settings.from_env(
        {"PROMETHEUS_URL": "http://p:9090", "GRAFANA_URL": "http://g:3000/", "GRAFANA_TOKEN_FILE": str(token)}
    )
    assert (settings.grafana_url, settings.grafana_token) == ("http://g:3000", "glsa_file")


def test_incidents_are_compared_with_their_baseline(tmp_path: Path) -> None:
    db = tmp_path / "incidents.db"
    with IncidentStore(db) as store:
        for i, days_before in enumerate([0, 0, 0, 2, 5]):
            started = NOON_KST - timedelta(days=days_before)
            store.open_or_update(NewAlert(dedup_key=f"k{i}", alertname="x", severity="P1", started_at=started))
    settings = Settings(
        prometheus_url="unused", history=tmp_path / "h.db", incidents=db, timezone=ZoneInfo("Asia/Seoul")
    )
    report, _ = jobs.run_periodic(settings, "daily", DAY, dry_run=True, prom=_prom(), providers=[])
    assert report.incidents is not None and report.incidents["P1"] == 3
    assert report.incidents_baseline is not None and report.incidents_baseline["P1"] == pytest.approx(2 / 7)
    assert "Incidents: P1 3 (baseline 0.3), P2 0 (baseline 0.0)" in render.text(report)
    assert "MORE INCIDENTS: P1 3 (baseline 0.3)" in report.findings
