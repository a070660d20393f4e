"""The Discord templates executed by Go's text/template on Grafana's notification data shape.

Grafana cannot run here, but its template engine is Go's standard text/template: the harness in
tests/fixtures/alerting/render_templates.go declares the fields of Grafana's ExtendedData/ExtendedAlert
that the templates read and executes the generated templates.yml. Worst-case inputs (long texts,
long URLs, many alerts) must stay within Discord's limits and within the bound obsctl computes.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl.alerting import catalog as cat
from obsctl.alerting import messages
from tests.support import REPO, tool

OUT = REPO / "roles" / "monitoring_stack" / "files" / "grafana" / "provisioning" / "alerting"
HARNESS = REPO / "tests" / "fixtures" / "alerting" / "render_templates.go"
CATALOG = cat.load(REPO / "alerting" / "catalog.yml")
LONG_TEXT = "디스크가 가득 찼습니다 disk full " * 400  # BMP characters, as the catalog allows
LONG_URL = "https://grafana.example.org/alerting/silence/new?" + "matcher=instance%3Dapp-1&" * 300


def _alert(i: int, status: str = "firing", long: bool = False) -> dict[str, Any]:
    text = LONG_TEXT if long else f"api target app-{i} cannot be scraped"
    url = LONG_URL if long else f"https://grafana.example.org/d/overview?from=1&to=2&viewPanel={i}"
    return {
        "status": status,
        "labels": {"alertname": "Scraped service down", "severity": "P1", "instance": f"app-{i}"},
        "annotations": {
            "summary": text,
            "description": text if long else "Prometheus failed to scrape the target for over a minute.",
            "value": text if long else "0",
            "runbook_url": url if long else "docs/runbooks/service-down.md",
        },
        "silenceURL": url if long else f"https://grafana.example.org/alerting/silence/new?matcher=instance%3Dapp-{i}",
        "dashboardURL": url,
        "panelURL": url,
        "values": {"B": 0.0, "C": 1.0},
    }


def _data(severity: str, status: str, alerts: list[dict[str, Any]], alertname: str) -> dict[str, Any]:
    common = {"alertname": alertname, "severity": severity, "grafana_folder": "Platform alerts"}
    return {
        "receiver": "discord-urgent",
        "status": status,
        "alerts": alerts,
        "groupLabels": common,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "https://grafana.example.org/",
    }


CASES = {
    "p1-two-alerts": _data("P1", "firing", [_alert(1), _alert(2)], "Scraped service down"),
    "p2-firing": _data("P2", "firing", [_alert(1)], "HTTP error rate above 10%"),
    "p1-resolved": _data("P1", "resolved", [_alert(1, "resolved")], "Scraped service down"),
    "five-alerts": _data("P3", "firing", [_alert(i) for i in range(5)], "Disk above 80%"),
    "worst-case": _data("P1", "firing", [_alert(i, long=True) for i in range(50)], "x" * cat.MAX_TITLE),
    "worst-case-unknown-severity": _data("P9" * 40, "firing", [_alert(i, long=True) for i in range(50)], "y" * 400),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    go = tool("go")
    work = tmp_path_factory.mktemp("gotmpl")
    template = work / "obs.tmpl"
    doc = yaml.safe_load((OUT / "templates.yml").read_text(encoding="utf-8"))
    template.write_text(doc["templates"][0]["template"], encoding="utf-8")
    cases = [
        {"name": f"{name}/{which}", "template": which, "data": data}
        for name, data in CASES.items()
        for which in (messages.TITLE, messages.MESSAGE)
    ]
    (work / "cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    # Go's build cache is content-addressed: under make it lives in OBS_CACHE, shared by this
    # machine's clones like the venv (compiling text/template from nothing took 5-14 min here).
    cache = Path(os.environ["OBS_CACHE"]) / "go" if os.environ.get("OBS_CACHE") else REPO / ".obs" / "go"
    env = {
        **os.environ,
        "GOCACHE": str(cache / "cache"),
        "GOPATH": str(cache / "path"),
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOFLAGS": "-mod=mod",
    }
    proc = subprocess.run(
        [go, "run", str(HARNESS), str(template), str(work / "cases.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    assert proc.returncode == 0, f"Go text/template failed:\n{proc.stderr}"
    return {r["name"]: r for r in json.loads(proc.stdout)}


def _get(rendered: dict[str, dict[str, Any]], case: str, which: str) -> dict[str, Any]:
    return rendered[f"{case}/{which}"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendered_messages_fit_discord_and_the_computed_bound(rendered: dict[str, dict[str, Any]], case: str) -> None:
    title = _get(rendered, case, messages.TITLE)
    message = _get(rendered, case, messages.MESSAGE)
    print(f"\n{case}: title {title['utf16']} UTF-16 units, content {message['utf16']}")
    assert title["utf16"] <= messages.DISCORD_TITLE_LIMIT
    assert message["utf16"] <= messages.DISCORD_CONTENT_LIMIT
    assert title["runes"] <= messages.title_bound(CATALOG), "the computed title bound is not an upper bound"
    assert message["runes"] <= messages.message_bound(CATALOG), "the computed message bound is not an upper bound"


def test_p1_message_mentions_here_and_carries_the_links(rendered: dict[str, dict[str, Any]]) -> None:
    text = _get(rendered, "p1-two-alerts", messages.MESSAGE)["text"]
    assert text.startswith("@here 🚨 [P1] FIRING: Scraped service down x2\n")
    assert "📊 Dashboard: https://grafana.example.org/d/overview?from=1&to=2&viewPanel=1" in text
    assert "📖 Runbook: docs/runbooks/service-down.md" in text
    assert "🔕 Silence: https://grafana.example.org/alerting/silence/new?matcher=instance%3Dapp-1" in text
    assert "• api target app-1 cannot be scraped — value 0" in text
    assert "• api target app-2 cannot be scraped — value 0" in text


def test_only_firing_p1_mentions_here(rendered: dict[str, dict[str, Any]]) -> None:
    assert "@here" not in _get(rendered, "p2-firing", messages.MESSAGE)["text"]
    resolved = _get(rendered, "p1-resolved", messages.MESSAGE)["text"]
    assert "@here" not in resolved
    assert resolved.startswith("🚨 [P1] RESOLVED: ")
    assert "✅ api target app-1" in resolved


def test_long_groups_are_capped(rendered: dict[str, dict[str, Any]]) -> None:
    text = _get(rendered, "five-alerts", messages.MESSAGE)["text"]
    assert text.count("\n• ") == messages.MAX_LISTED_ALERTS
    assert "… 5 alerts in this group" in text
    assert _get(rendered, "five-alerts", messages.TITLE)["text"].startswith("🟡 [P3] FIRING")


def test_harness_is_the_grafana_shape() -> None:
    """The harness declares Grafana's field names; a renamed field in our templates would fail to execute."""
    source = HARNESS.read_text(encoding="utf-8")
    for name in ("SilenceURL", "DashboardURL", "PanelURL", "CommonLabels", "Annotations"):
        assert name in source
    text = yaml.safe_load((OUT / "templates.yml").read_text())["templates"][0]["template"]
    used = {f for f in ("SilenceURL", "DashboardURL", "PanelURL") if f in text}
    assert used == {"SilenceURL", "DashboardURL", "PanelURL"}
