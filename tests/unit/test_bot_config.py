"""The bot's settings from the environment, what `obsctl bot run` refuses to start without, and wiring."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from obsctl import cli
from obsctl.bot import wiring
from obsctl.bot.config import BotSettings
from obsctl.clients.alertmanager import GRAFANA_PREFIX
from obsctl.errors import ObsError


def test_settings_are_read_with_secrets_from_files(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("bot-token\n", encoding="utf-8")
    settings = BotSettings.from_env(
        {
            "DISCORD_BOT_TOKEN_FILE": str(token),
            "OBS_BOT_GUILDS": "1000000000000000000, 1000000000000000001",
            "OBS_BOT_OPERATOR_ROLES": "1100000000000000001,oncall",
            "PROMETHEUS_URL": "http://10.100.0.1:9090",
            "GRAFANA_URL": "http://10.100.0.1:3000/",
            "OBS_BOT_MAX_SILENCE": "12h",
        }
    )
    assert settings.token == "bot-token"
    assert settings.guilds == (1000000000000000000, 1000000000000000001)
    assert settings.operator_roles == frozenset({"1100000000000000001", "oncall"})
    assert settings.grafana_url == "http://10.100.0.1:3000"
    settings.require_runnable()


def test_a_bad_guild_id_is_named() -> None:
    with pytest.raises(ObsError, match="OBS_BOT_GUILDS: 'ops' is not a guild id"):
        BotSettings.from_env({"OBS_BOT_GUILDS": "ops"})


def test_run_refuses_to_start_unconfigured_and_names_every_gap(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in (
        "DISCORD_BOT_TOKEN",
        "DISCORD_BOT_TOKEN_FILE",
        "OBS_BOT_GUILDS",
        "OBS_BOT_OPERATOR_ROLES",
        "PROMETHEUS_URL",
        "GRAFANA_URL",
        "GRAFANA_TOKEN",
        "GRAFANA_TOKEN_FILE",
        "OBS_BOT_ALERTMANAGER_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(["bot", "run"]) == 2
    err = capsys.readouterr().err
    for gap in ("DISCORD_BOT_TOKEN", "OBS_BOT_GUILDS", "OBS_BOT_OPERATOR_ROLES", "PROMETHEUS_URL", "GRAFANA_URL"):
        assert gap in err


def test_wiring_picks_grafanas_alertmanager_with_rule_uid_matchers(tmp_path: Path) -> None:
    bot = wiring.build(
        BotSettings(grafana_url="http://g:3000", grafana_token="t", db=tmp_path / "i.db", ack_silence="30m")
    )
    assert bot.alertmanager.prefix == GRAFANA_PREFIX and bot.rule_uid_matcher
    assert bot.annotate is not None and bot.render_dashboard is None  # no Prometheus: no /dashboard
    assert bot.ack_silence == timedelta(minutes=30)
    rule = bot.find_rule("service-down")  # the real alert catalog
    assert [m.name for m in bot.rule_matchers(rule)] == ["alertname", "__alert_rule_uid__"]


def test_wiring_uses_a_standalone_alertmanager_without_rule_uids(tmp_path: Path) -> None:
    bot = wiring.build(
        BotSettings(alertmanager_url="http://am:9093", prometheus_url="http://p:9090", db=tmp_path / "i.db")
    )
    assert bot.alertmanager.prefix == "" and not bot.rule_uid_matcher
    assert bot.annotate is None and bot.render_dashboard is not None


def test_an_ack_silence_longer_than_the_maximum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ObsError, match="longer than the allowed maximum"):
        wiring.build(BotSettings(alertmanager_url="http://am:9093", db=tmp_path / "i.db", ack_silence="2d"))
