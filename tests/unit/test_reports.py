"""Report logic without servers: thresholds, "no data", findings, the number check of the AI narrative."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from obsctl.analyzer.llm import Budget, BudgetCaps, Configured, Price
from obsctl.clients.discord import LIMITS, fit_to_limits
from obsctl.clients.http import ClientError
from obsctl.incidents.store import IncidentStore, LlmLedger
from obsctl.reports import build, kpis, narrative, render
from obsctl.reports.config import DEFAULT_THRESHOLDS, KPI_BY_KEY, KPIS, status_of, thresholds
from obsctl.reports.history import History
from tests.fixtures.reports import PrometheusDouble, ProviderDouble

DAY = date(2026, 11, 30)
UTC_TZ = ZoneInfo("UTC")


def _double() -> PrometheusDouble:
    return PrometheusDouble(
        {
            ("chatbot_success_ratio", "chat"): (0.99, 0.89),
            ("chatbot_p95_seconds", "chat"): (1.0, 1.0),
            ("http_5xx_ratio", "api"): (0.01, 0.01),
        },
        datetime(2026, 11, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("key", "value", "want"),
    [
        ("chatbot_success", 0.951, "good"),
        ("chatbot_success", 0.95, "watch"),
        ("chatbot_success", 0.90, "bad"),
        ("chatbot_response_time", 1.99, "good"),
        ("chatbot_response_time", 2.5, "watch"),
        ("chatbot_response_time", 3.0, "bad"),
        ("chatbot_errors", 9, "good"),
        ("chatbot_errors", 49, "watch"),
        ("chatbot_errors", 50, "bad"),
        ("chatbot_errors", None, "no data"),
        ("request_volume", 5.0, "none"),
    ],
)
def test_status_follows_the_customers_thresholds(key: str, value: float | None, want: str) -> None:
    assert status_of(KPI_BY_KEY[key], value, DEFAULT_THRESHOLDS) == want


def test_customer_thresholds_win_and_the_alert_catalog_fills_the_rest() -> None:
    limits = thresholds()
    assert limits["chatbot_success"] == DEFAULT_THRESHOLDS["chatbot_success"]
    assert limits["error_ratio"].source == "alert catalog"
    assert limits["error_ratio"].good <= limits["error_ratio"].watch


def test_every_kpi_query_comes_from_the_catalog() -> None:
    for kpi in KPIS:
        assert kpi.catalog_query().key == kpi.query


def test_a_kpi_without_data_says_no_data_never_zero(tmp_path: Path) -> None:
    double = _double()
    with History(tmp_path / "h.db") as history:
        # chat's success ratio has a baseline but vanishes on the day: "no data", not 0.
        double.values[("chatbot_success_ratio", "chat")] = (0.99, float("nan"))
        report = build.build(double, history, kpis.day(DAY, UTC_TZ), DEFAULT_THRESHOLDS)
    row = next(r for r in report.rows if r.kpi.key == "chatbot_success")
    assert row.value is None and row.status == "no data"
    text = render.text(report)
    assert "Chatbot success: no data" in text
    assert "NO DATA: chat Chatbot success" in report.findings[-1]
    mail = render.email(report, "a@example.org", ("b@example.org",), "", "")
    html_part = next(p for p in mail.walk() if p.get_content_type() == "text/html")
    assert "<td>no data</td>" in html_part.get_content()


def test_history_keeps_the_baseline_and_recomputes_only_the_day(tmp_path: Path) -> None:
    double = _double()
    with History(tmp_path / "h.db") as history:
        first = build.build(double, history, kpis.day(DAY, UTC_TZ), DEFAULT_THRESHOLDS)
        calls = double.calls
        build.build(double, history, kpis.day(DAY, UTC_TZ), DEFAULT_THRESHOLDS)
    assert calls == len(KPIS) * 8  # the day and its 7 baseline days
    assert double.calls - calls == len(KPIS)  # again: the baseline days come from the history
    row = next(r for r in first.rows if r.kpi.key == "chatbot_success")
    assert row.baseline == pytest.approx(0.99)
    assert row.value == pytest.approx(0.89)
    assert row.status == "bad"
    assert first.findings[0] == "BAD: chat Chatbot success 89.00%"


def test_week_runs_monday_to_monday() -> None:
    period = kpis.week(date(2026, 12, 2), ZoneInfo("Asia/Seoul"))
    assert period.start.isoformat() == "2026-11-30T00:00:00+09:00"
    assert (period.end - period.start).days == 7
    assert [p.key for p in period.previous(4)] == ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]


def test_the_discord_message_fits_discords_limits(tmp_path: Path) -> None:
    values = {(q.query, f"service-{i}"): (0.5, 0.6) for q in KPIS for i in range(30)}
    double = PrometheusDouble(values, datetime(2026, 11, 30, tzinfo=UTC))
    with History(tmp_path / "h.db") as history:
        report = build.build(double, history, kpis.day(DAY, UTC_TZ), DEFAULT_THRESHOLDS)
    fitted = fit_to_limits(render.discord(report)).to_json()
    assert len(fitted["embeds"]) <= LIMITS.embeds
    assert (
        sum(
            len(e.get("description", ""))
            + sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
            + len(e.get("title", ""))
            for e in fitted["embeds"]
        )
        <= LIMITS.total
    )


# --- the number check ---


SOURCE = "Daily health report 2026-11-30\n- BAD: chat Chatbot success 89.00%\n  Chatbot errors: 21600 (baseline 5)"


def _budget(tmp_path: Path, caps: BudgetCaps | None = None) -> tuple[Budget, IncidentStore]:
    store = IncidentStore(tmp_path / "incidents.db")
    return Budget(LlmLedger(store), caps or BudgetCaps()), store


def test_a_narrative_with_an_invented_figure_is_rejected(tmp_path: Path) -> None:
    budget, store = _budget(tmp_path)
    inventing = ProviderDouble('{"narrative": "Chatbot success fell to 89.00%, about 12% below normal."}')
    result = narrative.narrate(SOURCE, [Configured(inventing, Price(0, 0))], budget)
    store.close()
    assert result.text == ""
    assert "numbers not in the report: 12" in result.note


def test_a_narrative_quoting_only_the_input_is_kept(tmp_path: Path) -> None:
    budget, store = _budget(tmp_path)
    honest = ProviderDouble(
        '{"narrative": "Chatbot success is 89.00% and errors reached 21600 against 5: check chat."}'
    )
    result = narrative.narrate(SOURCE, [Configured(honest, Price(0, 0))], budget)
    calls = LlmLedger(store).since(0).calls
    store.close()
    assert result.text.startswith("Chatbot success is 89.00%")
    assert calls == 1  # the call counts against the analyzer's shared budget


def test_a_failing_provider_leaves_the_report_without_narrative(tmp_path: Path) -> None:
    budget, store = _budget(tmp_path)
    failing = ProviderDouble(error=ClientError("Gemini API", "http://x", "HTTP 500"))
    not_json = ProviderDouble("Everything is fine.", provider="openai")
    result = narrative.narrate(SOURCE, [Configured(failing, Price(0, 0)), Configured(not_json, Price(0, 0))], budget)
    store.close()
    assert result.text == ""
    assert "gemini" in result.note and "openai: the answer is not JSON" in result.note


def test_over_budget_means_no_call(tmp_path: Path) -> None:
    budget, store = _budget(tmp_path, BudgetCaps(calls_per_hour=0))
    never = ProviderDouble(error=AssertionError("the provider must not be called over budget"))
    result = narrative.narrate(SOURCE, [Configured(never, Price(0, 0))], budget)
    store.close()
    assert result.text == "" and "over budget" in result.note


def test_numbers_are_compared_as_values() -> None:
    assert narrative.invented("errors 21600.0, success 88%", SOURCE) == {88.0}
    assert narrative.invented("errors 21600, success 89.00%", SOURCE) == set()


# --- the command ---


def test_report_command_refuses_a_backfill_without_a_range(capsys: pytest.CaptureFixture[str]) -> None:
    from obsctl import cli  # noqa: PLC0415

    with pytest.raises(SystemExit) as exc:
        cli.main(["report", "daily", "--backfill", "2026-11-01"])
    assert exc.value.code == 2
    assert "use FROM..TO" in capsys.readouterr().err


def test_report_command_names_the_missing_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from obsctl import cli  # noqa: PLC0415

    monkeypatch.delenv("PROMETHEUS_URL", raising=False)
    assert cli.main(["report", "daily", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "PROMETHEUS_URL is not set" in err and "fix:" in err


def test_settings_read_the_smtp_and_provider_environment(tmp_path: Path) -> None:
    from obsctl.reports.config import Settings  # noqa: PLC0415

    secret_file = tmp_path / "smtp-password"
    secret_file.write_text("app-password\n", encoding="utf-8")
    env = {
        "PROMETHEUS_URL": "http://127.0.0.1:9090",
        "OBS_REPORT_SMTP_HOST": "smtp.gmail.com",
        "OBS_REPORT_SMTP_USER": "ops@example.org",
        "OBS_REPORT_SMTP_PASSWORD_FILE": str(secret_file),
        "OBS_REPORT_MAIL_FROM": "ops@example.org",
        "OBS_REPORT_MAIL_TO": "a@example.org, b@example.org",
        "GEMINI_API_KEY": "k",
        "GEMINI_MODEL": "gemini-2.5-flash",
        "GEMINI_PRICE_OUT": "2.5",
    }
    settings = Settings.from_env(env)
    assert settings.smtp is not None
    assert (settings.smtp.port, settings.smtp.password) == (587, "app-password")
    assert settings.smtp.recipients == ("a@example.org", "b@example.org")
    assert [(p.name, p.price.output_per_mtok) for p in settings.providers] == [("gemini", 2.5)]
    assert str(settings.timezone) == "Asia/Seoul"
    from obsctl.errors import ObsError  # noqa: PLC0415

    with pytest.raises(ObsError, match="OBS_REPORT_MAIL_FROM or OBS_REPORT_MAIL_TO"):
        Settings.from_env({**env, "OBS_REPORT_MAIL_TO": ""})
