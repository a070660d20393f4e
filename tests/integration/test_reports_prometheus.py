"""The daily report and the deployment impact report against a real Prometheus over 9 backfilled days.

tests/fixtures/metrics/regression.py holds the series (chat regresses on the last day); the
Prometheus is the pinned release started by tests/fixtures/metrics/prometheus.py. Expected KPI
values are computed here from the series' own functions, not read from Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from obsctl.clients.prometheus import PrometheusClient
from obsctl.incidents.store import IncidentStore, NewAlert
from obsctl.reports import build, jobs, render
from obsctl.reports.config import Settings
from obsctl.signals import metrics
from tests.fixtures.metrics import regression as r
from tests.fixtures.metrics.prometheus import backfilled
from tests.fixtures.metrics.samples import write_openmetrics


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrometheusClient, int]]:
    work = tmp_path_factory.mktemp("prom-reports")
    end = int(time.time()) // r.DAY * r.DAY  # today's UTC midnight: the regression day is yesterday
    openmetrics = work / "regression.om"
    write_openmetrics(str(openmetrics), end, r.series(), span=r.SPAN, step=r.STEP)
    with backfilled(work, openmetrics) as url:
        client = PrometheusClient(url, timeout=60)
        try:
            yield client, end
        finally:
            client.close()


@pytest.fixture
def settings(tmp_path: Path, prom: tuple[PrometheusClient, int]) -> Settings:
    _, end = prom
    incidents = tmp_path / "incidents.db"
    with IncidentStore(incidents) as store:
        day = datetime.fromtimestamp(end - r.DAY, UTC)
        for i, severity in enumerate(("P2", "P2", "P3")):
            store.open_or_update(NewAlert(f"k{i}", "ChatbotErrors", severity, day + timedelta(hours=i + 1)))
        store.open_or_update(NewAlert("old", "Old", "P1", day - timedelta(hours=2)))  # the day before: not counted
    return Settings(
        prometheus_url="unused", history=tmp_path / "history.db", incidents=incidents, timezone=ZoneInfo("UTC")
    )


def test_the_series_are_catalogued_metrics() -> None:
    assert {s.name for s in r.series()} <= metrics.known_series_names()


def _rows(report: build.Report) -> dict[tuple[str, str], build.Row]:
    return {(row.service, row.kpi.key): row for row in report.rows}


def test_daily_kpis_match_the_backfilled_samples(prom: tuple[PrometheusClient, int], settings: Settings) -> None:
    client, end = prom
    day = datetime.fromtimestamp(end - r.DAY, UTC).date()
    report, outcome = jobs.run_periodic(settings, "daily", day, dry_run=True, prom=client, providers=[])
    rows = _rows(report)
    after_err, before_err = r.CHAT_5XX[1], r.CHAT_5XX[0]
    expected = {
        ("chat", "availability"): 1.0,
        ("chat", "request_volume"): (r.OK_RATE + after_err) * r.DAY,
        ("chat", "error_ratio"): after_err / (r.OK_RATE + after_err),
        ("api", "error_ratio"): r.API_5XX[1] / (r.OK_RATE + r.API_5XX[1]),
        ("chat", "latency_p95"): r.quantile(0.95, r.HTTP_SCALE),
        ("chat", "latency_p99"): r.quantile(0.99, r.HTTP_SCALE),
        ("chat", "chatbot_success"): r.CHATBOT_SUCCESS[1] / (r.CHATBOT_SUCCESS[1] + r.CHATBOT_ERRORS[1]),
        ("chat", "chatbot_response_time"): r.quantile(0.95, r.CHATBOT_SCALE[1]),
        ("chat", "chatbot_errors"): r.CHATBOT_ERRORS[1] * r.DAY,
        ("chat", "chatbot_satisfaction"): r.SATISFACTION[1],
        ("app-1", "cpu_peak"): 1 - r.CPU_IDLE,
        ("app-1", "memory_peak"): 1 - r.MEM_AVAILABLE / r.MEM_TOTAL,
        ("app-1", "disk_peak"): 1 - (r.DISK_AVAIL0 - r.DISK_FILL * r.SPAN) / r.DISK_SIZE,
    }
    for key, want in expected.items():
        assert rows[key].value == pytest.approx(want, rel=1e-6), key
    baselines = {
        ("chat", "error_ratio"): before_err / (r.OK_RATE + before_err),
        ("chat", "chatbot_errors"): r.CHATBOT_ERRORS[0] * r.DAY,
        ("chat", "chatbot_response_time"): r.quantile(0.95, r.CHATBOT_SCALE[0]),
        ("api", "request_volume"): (r.OK_RATE + r.API_5XX[0]) * r.DAY,
    }
    for key, want in baselines.items():
        assert rows[key].baseline == pytest.approx(want, rel=1e-6), key
        assert len(rows[key].trend) == 8  # 7 baseline days and the day itself, for the chart
    # api has no chatbot series in any period: no chatbot rows for it at all, rather than zeros.
    assert ("api", "chatbot_success") not in rows
    assert report.incidents == {"P1": 0, "P2": 2, "P3": 1, "P4": 0}
    assert outcome == ["dry run: nothing sent"]


def test_the_regression_is_found(prom: tuple[PrometheusClient, int], settings: Settings) -> None:
    client, end = prom
    day = datetime.fromtimestamp(end - r.DAY, UTC).date()
    report, _ = jobs.run_periodic(settings, "daily", day, dry_run=True, prom=client, providers=[])
    rows = _rows(report)
    assert rows[("chat", "chatbot_success")].status == "bad"  # 88.9 % < 90 %
    assert rows[("chat", "chatbot_response_time")].status == "bad"  # > 3 s
    assert rows[("chat", "chatbot_errors")].status == "bad"
    assert rows[("api", "availability")].status == "good"
    breached = [f for f in report.findings if f.startswith("BAD:")]
    assert any("chat Chatbot success" in f for f in breached)
    assert not any(" api " in f"{f} " for f in breached)
    moved = [f for f in report.findings if f.startswith("MOVED:")]
    assert moved and moved[0].startswith("MOVED: chat Chatbot errors")  # the largest relative move first
    text = render.text(report)
    assert "Chatbot errors: 21600" in text


def test_yesterday_without_regression_has_no_bad_finding(
    prom: tuple[PrometheusClient, int], settings: Settings
) -> None:
    client, end = prom
    day = datetime.fromtimestamp(end - 2 * r.DAY, UTC).date()
    report, _ = jobs.run_periodic(settings, "daily", day, dry_run=True, prom=client, providers=[])
    assert not [f for f in report.findings if " chat " in f], report.findings
    assert any(f.startswith("MOVED: app-1 Disk peak") for f in report.findings)  # the disk fills steadily


def test_deploy_impact_flags_the_regression(prom: tuple[PrometheusClient, int], settings: Settings) -> None:
    client, end = prom
    at = datetime.fromtimestamp(end - r.DAY, UTC)
    chat, _ = jobs.run_deploy(
        settings, "chat", "1.2.0", at, timedelta(hours=1), dry_run=True, prom=client, providers=[]
    )
    flagged = {c.kpi.key for c in chat.regressions}
    assert {"error_ratio", "chatbot_success", "chatbot_response_time", "chatbot_errors"} <= flagged
    assert "latency_p95" not in flagged  # the HTTP latency distribution did not change
    api, _ = jobs.run_deploy(settings, "api", "3.1.0", at, timedelta(hours=1), dry_run=True, prom=client, providers=[])
    assert api.comparisons and not api.regressions


def test_the_command_prints_a_full_dry_run_report(
    prom: tuple[PrometheusClient, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from obsctl import cli  # noqa: PLC0415

    client, end = prom
    day = datetime.fromtimestamp(end - r.DAY, UTC).date()
    monkeypatch.setenv("PROMETHEUS_URL", client.http.base_url)
    monkeypatch.setenv("OBS_REPORT_TZ", "UTC")
    monkeypatch.setenv("OBS_REPORT_HISTORY_DB", str(tmp_path / "history.db"))
    monkeypatch.setenv("OBS_ANALYZER_DB", str(tmp_path / "absent.db"))
    monkeypatch.setenv("OBS_REPORT_PROVIDERS", "")
    first = (day - timedelta(days=2)).isoformat()
    assert cli.main(["report", "daily", "--backfill", f"{first}..{day.isoformat()}"]) == 0
    assert "history filled for 3 daily period(s)" in capsys.readouterr().out
    assert cli.main(["report", "daily", "--date", day.isoformat(), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"Daily health report {day.isoformat()}" in out
    assert "BAD: chat Chatbot success 88.89%" in out
    for service in ("[api]", "[chat]", "[app-1]"):
        assert service in out
    assert "Incidents: no data (incident log not readable)" in out
    assert "dry run: nothing sent" in out
