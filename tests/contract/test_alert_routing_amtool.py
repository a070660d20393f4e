"""The generated notification policy, mute timings and message templates, checked by Alertmanager's amtool.

Grafana's alerting runs Prometheus Alertmanager's routing, time intervals and Go templates inside
Grafana. The policy tree and mute timings are translated 1:1 into an Alertmanager config (same
receivers, matchers, timers, time intervals) and checked with `amtool check-config`; the routing of
every severity is asked of `amtool config routes test`; the templates are parsed by amtool's Go
template engine and the title is executed with Alertmanager's sample data (the whole message, which
reads Grafana-only fields, is executed in test_alert_messages_go.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl.alerting import alertmanager, grafana, messages
from obsctl.alerting import catalog as cat
from tests.support import REPO, tool

OUT = REPO / "roles" / "monitoring_stack" / "files" / "grafana" / "provisioning" / "alerting"
CATALOG = cat.load(REPO / "alerting" / "catalog.yml")


def _load(name: str) -> Any:
    return yaml.safe_load((OUT / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def am_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    policy = _load("notification-policies.yml")["policies"][0]
    points = _load("contact-points.yml")["contactPoints"]
    mutes = _load("mute-timings.yml")["muteTimes"]
    config = {
        "route": alertmanager.route(policy),
        # Delivery is Grafana's business; a local webhook stands in for each contact point.
        "receivers": [{"name": cp["name"], "webhook_configs": [{"url": "http://127.0.0.1:9/"}]} for cp in points],
        "time_intervals": [{"name": m["name"], "time_intervals": m["time_intervals"]} for m in mutes],
    }
    path = tmp_path_factory.mktemp("am") / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def test_policy_and_mute_timings_are_valid_alertmanager_config(am_config: Path) -> None:
    proc = subprocess.run([tool("amtool"), "check-config", str(am_config)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(CATALOG.channels)} receivers" in proc.stdout


@pytest.mark.parametrize("severity", sorted(CATALOG.severities))
def test_each_severity_reaches_its_channel(am_config: Path, severity: str) -> None:
    proc = subprocess.run(
        [
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={am_config}",
            f"severity={severity}",
            "alertname=x",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = grafana.contact_point_name(CATALOG.severities[severity].channel)
    assert proc.stdout.strip() == expected


def test_unknown_severity_falls_back_to_the_urgent_channel(am_config: Path) -> None:
    proc = subprocess.run(
        [tool("amtool"), "config", "routes", "test", f"--config.file={am_config}", "severity=unknown"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.strip() == grafana.contact_point_name(grafana.fallback_channel(CATALOG))


@pytest.fixture(scope="module")
def template_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "obs.tmpl"
    path.write_text(_load("templates.yml")["templates"][0]["template"], encoding="utf-8")
    return path


def _render(template_file: Path, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("amtool"), "template", "render", f"--template.glob={template_file}", f"--template.text={text}"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_templates_parse_in_the_go_template_engine(template_file: Path) -> None:
    proc = _render(template_file, "parsed")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "parsed"


def test_title_renders_within_discord_limit(template_file: Path) -> None:
    proc = _render(template_file, f'{{{{ template "{messages.TITLE}" . }}}}')
    assert proc.returncode == 0, proc.stderr
    assert 0 < len(proc.stdout.strip()) <= messages.DISCORD_TITLE_LIMIT
    assert "RESOLVED" in proc.stdout or "FIRING" in proc.stdout


def test_lab_alertmanager_config_is_valid_and_routes_like_the_policy(tmp_path: Path) -> None:
    """The configuration the lab's Alertmanager runs (obsctl.alerting.alertmanager.config): amtool
    accepts it, every severity reaches the receiver of its channel, and only the analyzer's
    severities' channels carry the analyzer webhook with a Bearer credential file."""
    token = tmp_path / "token"
    token.write_text("x" * 32, encoding="utf-8")
    doc = alertmanager.config(
        CATALOG,
        discord_urls={c: f"http://127.0.0.1:9/discord/{c}" for c in CATALOG.channels},
        analyzer_url="http://analyzer:8095/webhook",
        analyzer_credentials_file=str(token),
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    proc = subprocess.run([tool("amtool"), "check-config", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    policy = _load("notification-policies.yml")["policies"][0]
    for child, severity in zip(doc["route"]["routes"], sorted(CATALOG.severities), strict=True):
        generated = next(r for r in policy["routes"] if r["object_matchers"][0][2] == severity)
        assert child["group_wait"] == generated["group_wait"] == CATALOG.severities[severity].group_wait
        routed = subprocess.run(
            [tool("amtool"), "config", "routes", "test", f"--config.file={path}", f"severity={severity}"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert routed.stdout.strip() == grafana.contact_point_name(CATALOG.severities[severity].channel)
    analyzed = {grafana.contact_point_name(CATALOG.severities[s].channel) for s in CATALOG.analyzer.severities}
    for receiver in doc["receivers"]:
        hooks = receiver.get("webhook_configs", [])
        assert bool(hooks) == (receiver["name"] in analyzed), receiver["name"]
        for hook in hooks:
            assert hook["http_config"]["authorization"] == {"type": "Bearer", "credentials_file": str(token)}
