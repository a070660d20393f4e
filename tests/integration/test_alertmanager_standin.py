"""The lab's alerting stand-in against a real Alertmanager (Debian's prometheus-alertmanager) on loopback.

The configuration is :func:`obsctl.alerting.alertmanager.config` (the generated policy's routes and
timers), the receivers are the lab's test doubles: the Discord capture server for the channels and
a second capture standing for the analyzer's webhook. A P1 alert pushed as Prometheus pushes it
must reach both after the P1 route's group_wait, the analyzer with the Bearer credential, in a
payload the analyzer's own parser accepts; the drill's matcher must find the Discord page.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import yaml

from obsctl.alerting import alertmanager
from obsctl.alerting import catalog as cat
from obsctl.analyzer.payload import parse
from obsctl.common import duration_seconds
from obsctl.lab import alert_drills
from obsctl.lab.doubles import DiscordCapture
from tests.support import local_alertmanager

CATALOG = cat.load()
TOKEN = "lab-analyzer-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def captures() -> Iterator[tuple[DiscordCapture, DiscordCapture]]:
    discord, analyzer = DiscordCapture("127.0.0.1"), DiscordCapture("127.0.0.1")
    discord.start()
    analyzer.start()
    yield discord, analyzer
    discord.stop()
    analyzer.stop()


@pytest.fixture(scope="module")
def am_url(tmp_path_factory: pytest.TempPathFactory, captures: tuple[DiscordCapture, DiscordCapture]) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("'prometheus-alertmanager' is not installed here (apt-get install prometheus-alertmanager)")
    discord, analyzer = captures
    work = tmp_path_factory.mktemp("am-standin")
    token = work / "analyzer-token"
    token.write_text(TOKEN, encoding="utf-8")
    doc = alertmanager.config(
        CATALOG,
        discord_urls={c: f"{discord.url}/api/webhooks/{c}/lab-capture" for c in CATALOG.channels},
        analyzer_url=f"{analyzer.url}/api/webhooks/analyzer-webhook/x",
        analyzer_credentials_file=str(token),
    )
    with local_alertmanager(binary, yaml.safe_dump(doc, sort_keys=False), work) as url:
        yield url


def test_a_p1_alert_reaches_discord_and_the_analyzer_after_group_wait(
    am_url: str, captures: tuple[DiscordCapture, DiscordCapture]
) -> None:
    discord, analyzer = captures
    labels = {"alertname": "service-down", "severity": "P1", "app": "api", "instance": "app-1", "job": "spring"}
    alert = {
        "labels": labels,
        "annotations": {"summary": "spring target app-1 cannot be scraped"},
        "startsAt": datetime.now(UTC).isoformat(),
        "generatorURL": "http://prometheus.invalid/graph",
    }
    pushed = time.time()
    httpx.post(f"{am_url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()
    group_wait = duration_seconds(CATALOG.severities["P1"].group_wait)
    deadline = pushed + group_wait + 20
    while time.time() < deadline and not (alert_drills.firing_pages(discord.seen(), pushed) and analyzer.seen()):
        time.sleep(0.2)
    pages = alert_drills.firing_pages(discord.seen(), pushed)
    assert pages, f"no Discord page: {[r.body for r in discord.seen()]}"
    page, rule = pages[0]
    assert rule == "service-down"
    assert page.path.startswith("/api/webhooks/urgent/")
    took = page.at - pushed
    print(f"\nP1 delivered {took:.1f}s after the push (group_wait {group_wait:.0f}s)")
    assert group_wait - 1 <= took <= group_wait + 10
    [hook] = analyzer.seen()
    assert hook.headers["authorization"] == f"Bearer {TOKEN}"
    payload = parse(json.dumps(hook.body).encode())  # the analyzer's own parser accepts it
    assert payload.alerts[0].labels["app"] == "api"
    assert payload.alerts[0].labels["severity"] == "P1"


def test_a_channel_without_a_capture_url_is_refused() -> None:
    """Guard: a channel without a capture URL is refused, naming it (no silent drop)."""
    with pytest.raises(ValueError, match="no Discord webhook URL"):
        alertmanager.config(CATALOG, discord_urls={})
