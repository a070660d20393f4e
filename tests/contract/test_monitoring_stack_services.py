"""The obsctl services of the monitoring_stack role (issues 15, 17, 18), rendered by Ansible.

The role renders (``monitoring_stack_render_only``) for the fixture inventory of
test_monitoring_stack_render.py: the analyzer, bot and report job in compose.yml, their 0600 env
files, Grafana's .env for the analyzer's contact point, and the report timers, whose calendar
expressions systemd itself evaluates (``systemd-analyze calendar``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl import common
from tests.contract.test_monitoring_stack_render import (
    SECRETS,
    Rendered,
    _checked_by_tools,
    _fixture_inventory,
    render,
)
from tests.support import REPO

DEFAULTS = yaml.safe_load((REPO / "roles/monitoring_stack/defaults/main.yml").read_text(encoding="utf-8"))
ROLE_VARS = yaml.safe_load((REPO / "roles/monitoring_stack/vars/main.yml").read_text(encoding="utf-8"))
TOKEN = SECRETS["monitoring_stack_analyzer_token"]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
SERVICES_ON = {
    "monitoring_stack_bot_token": "contract-test-bot-token",
    "monitoring_stack_bot_guilds": ["123456789012345678"],
    "monitoring_stack_bot_operator_roles": ["oncall"],
    "monitoring_stack_llm_api_keys": {"anthropic": "contract-test-anthropic-key"},
    "monitoring_stack_llm_models": {"anthropic": "contract-test-model"},
    "monitoring_stack_llm_base_urls": {"anthropic": "http://llm-gateway.invalid:8080"},
    "monitoring_stack_prometheus_alertmanagers": ["alertmanager.invalid:9093"],
    "monitoring_stack_analyzer_owners": {"default": "role:123456789012345678"},
    "monitoring_stack_reports_discord_webhook_url": "https://discord.invalid/api/webhooks/3/reports",
    "monitoring_stack_reports_timezone": "Europe/Berlin",
    "monitoring_stack_reports_at": "07:30",
}


def _env(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {k: v.strip("'") for k, v in pairs}


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    tmp = tmp_path_factory.mktemp("services-default")
    return render(_fixture_inventory(tmp), tmp / "out")


@pytest.fixture(scope="module")
def services_on(tmp_path_factory: pytest.TempPathFactory) -> tuple[Rendered, Path]:
    """Every service switched on, from a copy of the package with one source file changed."""
    tmp = tmp_path_factory.mktemp("services-on")
    source = tmp / "source"
    for rel in ("pyproject.toml", "requirements-runtime.lock", "alerting/catalog.yml"):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, source / rel)
    shutil.copytree(REPO / "obsctl", source / "obsctl", ignore=shutil.ignore_patterns("__pycache__"))
    with (source / "obsctl" / "__init__.py").open("a", encoding="utf-8") as fh:
        fh.write("# a changed source\n")
    extra = SERVICES_ON | {"monitoring_stack_obsctl_source_dir": str(source)}
    return render(_fixture_inventory(tmp), tmp / "out", extra), source


def test_default_render_passes_every_tool_with_the_analyzer(default: Rendered) -> None:
    _checked_by_tools(default)
    services = default.yaml("compose.yml")["services"]
    assert "analyzer" in services, "the analyzer is on without any LLM key"
    assert "bot" not in services, "the bot stays off until its token and guilds are given"
    assert "alerting" not in default.yaml("prometheus/prometheus.yml"), "alerting is Grafana's in production"
    assert "_BASE_URL" not in default.text("obsctl/analyzer.env")
    assert services["report"]["profiles"] == ["jobs"], "`up` never starts the report job"


def test_analyzer_service(default: Rendered) -> None:
    analyzer = default.yaml("compose.yml")["services"]["analyzer"]
    assert re.fullmatch(rf"obs/obsctl:{re.escape(VERSION)}-[0-9a-f]{{12}}", analyzer["image"]), analyzer["image"]
    assert analyzer["pull_policy"] == "never", "built on the host, never pulled"
    uid = ROLE_VARS["_monitoring_stack_uids"]["obsctl"]
    assert analyzer["user"] == f"{uid}:{uid}"
    port = common.port("analyzer")
    inner = ROLE_VARS["_monitoring_stack_container_ports"]["analyzer"]
    assert sorted(analyzer["ports"]) == sorted([f"10.100.0.1:{port}:{inner}", f"127.0.0.1:{port}:{inner}"])
    assert analyzer["command"][-2:] == ["--port", str(inner)]
    assert analyzer["mem_limit"] == f"{DEFAULTS['monitoring_stack_mem_limits_mib']['analyzer']}m"
    assert "/healthz" in " ".join(analyzer["healthcheck"]["test"])
    assert analyzer["restart"] == "unless-stopped"
    assert analyzer["env_file"] == ["obsctl/analyzer.env"]
    assert "/var/lib/monitoring/obsctl:/var/lib/obsctl" in analyzer["volumes"], "the incident log is on the data volume"
    assert analyzer["read_only"] is True


def test_grafana_env_carries_the_analyzer_url_and_credential(default: Rendered) -> None:
    """Issue 15: the contact point's URL variable was never written to .env."""
    env = _env(default.text(".env"))
    inner = ROLE_VARS["_monitoring_stack_container_ports"]["analyzer"]
    assert env["INCIDENT_ANALYZER_WEBHOOK_URL"] == f"http://analyzer:{inner}/webhook"
    assert env["INCIDENT_ANALYZER_TOKEN"] == TOKEN
    contact_points = (default.out / "grafana/provisioning/alerting/contact-points.yml").read_text(encoding="utf-8")
    assert "$INCIDENT_ANALYZER_WEBHOOK_URL" in contact_points and "$INCIDENT_ANALYZER_TOKEN" in contact_points


def test_service_env_files_are_private_and_hold_only_their_secrets(default: Rendered) -> None:
    for name in ("analyzer", "bot", "report"):
        path = default.out / "obsctl" / f"{name}.env"
        assert path.stat().st_mode & 0o077 == 0, f"{path} must be readable by its owner only"
    analyzer = _env(default.text("obsctl/analyzer.env"))
    assert analyzer["OBS_ANALYZER_TOKEN"] == TOKEN
    assert analyzer["DISCORD_WEBHOOK_URL"] == SECRETS["monitoring_stack_discord_urgent_webhook_url"]
    assert analyzer["OBS_ANALYZER_DB"] == "/var/lib/obsctl/incidents.db"
    assert analyzer["PROMETHEUS_URL"] == "http://prometheus:9090"
    assert not any(k.endswith("_API_KEY") for k in analyzer), "no LLM key given: the deterministic analysis only"
    bot = _env(default.text("obsctl/bot.env"))
    assert "OBS_ANALYZER_TOKEN" not in bot and not any(k.endswith("_API_KEY") for k in bot)
    assert bot["OBS_ANALYZER_DB"] == analyzer["OBS_ANALYZER_DB"], "the bot reads the analyzer's incident log"


def _calendar_next_utc(expression: str) -> str:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here (package systemd)")
    env = {"TZ": "UTC", "PATH": "/usr/bin:/bin"}  # the next elapse printed in UTC
    proc = subprocess.run([analyze, "calendar", expression], capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"Next elapse: \w+ \S+ (\d\d:\d\d:\d\d) UTC", proc.stdout)
    assert match, proc.stdout
    return match.group(1)


def _unit(r: Rendered, name: str) -> dict[str, str]:
    lines = r.text(f"systemd/{name}").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_report_timers_daily_and_monday_at_nine_in_seoul(default: Rendered) -> None:
    daily, weekly = _unit(default, "obs-report-daily.timer"), _unit(default, "obs-report-weekly.timer")
    assert daily["OnCalendar"] == "*-*-* 09:00:00 Asia/Seoul"
    assert weekly["OnCalendar"].startswith("Mon ") and weekly["OnCalendar"].endswith(" 09:00:00 Asia/Seoul")
    # 09:00 KST (UTC+9, no daylight saving) is midnight UTC: systemd itself says so.
    assert _calendar_next_utc(daily["OnCalendar"]) == "00:00:00"
    assert _calendar_next_utc(weekly["OnCalendar"]) == "00:00:00"
    for kind in ("daily", "weekly"):
        service = _unit(default, f"obs-report-{kind}.service")
        assert service["Type"] == "oneshot"
        assert re.search(rf"compose .*run --rm .*\breport report {kind}$", service["ExecStart"]), service["ExecStart"]
        assert _unit(default, f"obs-report-{kind}.timer")["Unit"] == f"obs-report-{kind}.service"


def test_report_job_env_has_no_delivery_by_default(default: Rendered) -> None:
    report = _env(default.text("obsctl/report.env"))
    assert report["OBS_REPORT_TZ"] == "Asia/Seoul"
    assert report["OBS_REPORT_DISCORD_WEBHOOK_URL"] == ""
    assert "OBS_REPORT_SMTP_HOST" not in report


def test_every_service_switched_on(services_on: tuple[Rendered, Path]) -> None:
    r, _ = services_on
    _checked_by_tools(r)
    bot = r.yaml("compose.yml")["services"]["bot"]
    assert "ports" not in bot, "the bot only connects out"
    assert bot["command"] == ["bot", "run"]
    assert bot["mem_limit"] == f"{DEFAULTS['monitoring_stack_mem_limits_mib']['bot']}m"
    env = _env(r.text("obsctl/bot.env"))
    assert env["DISCORD_BOT_TOKEN"] == SERVICES_ON["monitoring_stack_bot_token"]
    assert env["OBS_BOT_GUILDS"] == "123456789012345678"
    assert env["OBS_BOT_OPERATOR_ROLES"] == "oncall"
    analyzer = _env(r.text("obsctl/analyzer.env"))
    assert analyzer["ANTHROPIC_API_KEY"] == "contract-test-anthropic-key"
    assert analyzer["ANTHROPIC_MODEL"] == "contract-test-model"
    assert analyzer["ANTHROPIC_BASE_URL"] == "http://llm-gateway.invalid:8080"
    alerting = r.yaml("prometheus/prometheus.yml")["alerting"]
    assert alerting == {"alertmanagers": [{"static_configs": [{"targets": ["alertmanager.invalid:9093"]}]}]}
    assert analyzer["OBS_ANALYZER_OWNERS"] == "/etc/obsctl/owners.yml"
    owners: Any = yaml.safe_load(r.text("obsctl/config/owners.yml"))
    assert owners == SERVICES_ON["monitoring_stack_analyzer_owners"]
    report = _env(r.text("obsctl/report.env"))
    assert report["OBS_REPORT_DISCORD_WEBHOOK_URL"] == SERVICES_ON["monitoring_stack_reports_discord_webhook_url"]
    assert report["ANTHROPIC_API_KEY"] == "contract-test-anthropic-key", "the narrative may use the same providers"
    assert report["OBS_REPORT_PROVIDERS"].split(",")[0] == "gemini"
    assert _unit(r, "obs-report-daily.timer")["OnCalendar"] == "*-*-* 07:30:00 Europe/Berlin"


def test_a_changed_source_is_a_new_image_tag(default: Rendered, services_on: tuple[Rendered, Path]) -> None:
    before = default.yaml("compose.yml")["services"]["analyzer"]["image"]
    after = services_on[0].yaml("compose.yml")["services"]["analyzer"]["image"]
    assert before.rsplit("-", 1)[0] == after.rsplit("-", 1)[0], "same package version"
    assert before != after, "one changed line in obsctl/ must rebuild the image"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"monitoring_stack_analyzer_token": "short"}, "monitoring_stack_analyzer_token is shorter than 24"),
        ({"monitoring_stack_analyzer_enabled": False}, "analyzer: enabled: false"),
        ({"monitoring_stack_bot_token": "t", "monitoring_stack_bot_guilds": ["123456789012345678"]}, "operator roles"),
    ],
    ids=["short-token", "analyzer-off-but-routed", "bot-without-operators"],
)
def test_inconsistent_service_settings_are_refused(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", extra, expect_ok=False)
    assert r.proc.returncode != 0
    assert message in " ".join(r.proc.stdout.split()), r.proc.stdout[-3000:]
