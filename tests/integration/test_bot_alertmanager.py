"""The bot's silences and acks against a real Alertmanager (Debian's prometheus-alertmanager).

Grafana serves the same Alertmanager v2 silences API under /api/alertmanager/grafana (the bot
then adds the rule-uid matcher); Grafana itself is not installable here. The Alertmanager runs on
a free loopback port with a temp config and storage; alerts are pushed to it as Prometheus does,
so the tests also see that the bot's matchers really mute the rule's alerts.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from obsctl.bot import interactions
from obsctl.bot.core import ChatOps, Reply, Rule
from obsctl.clients.alertmanager import AlertmanagerClient
from obsctl.incidents.store import IncidentStore, NewAlert
from tests.support import local_alertmanager
from tests.unit.bot_support import ALICE, OPERATOR_ROLE, payload

CONFIG = """route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


@pytest.fixture(scope="module")
def alertmanager_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("'prometheus-alertmanager' is not installed here (apt-get install prometheus-alertmanager)")
    work = tmp_path_factory.mktemp("alertmanager")
    with local_alertmanager(binary, CONFIG, work) as url:
        yield url


@pytest.fixture
def client(alertmanager_url: str) -> Iterator[AlertmanagerClient]:
    am = AlertmanagerClient(alertmanager_url)
    yield am
    for silence in am.silences():  # each test starts without silences in force
        if silence.state != "expired":
            am.expire_silence(silence.id)
    am.close()


@pytest.fixture
def bot(tmp_path: Path, client: AlertmanagerClient) -> ChatOps:
    return ChatOps(
        store=IncidentStore(tmp_path / "incidents.db"),
        alertmanager=client,
        prometheus=None,
        rules=[Rule("service-down", "Scraped service down")],
        operator_roles=frozenset({OPERATOR_ROLE}),
        rule_uid_matcher=False,  # what obsctl.bot.wiring does for a standalone Alertmanager
    )


class ResponderTestDouble:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def defer(self, *, ephemeral: bool) -> None:
        self.calls.append(f"defer ephemeral={ephemeral}")

    async def send(self, reply: Reply) -> None:
        self.calls.append("send")


def serve(bot: ChatOps, body: dict[str, Any]) -> Reply:
    responder = ResponderTestDouble()
    reply = asyncio.run(interactions.serve(bot, body, responder))
    assert responder.calls[0].startswith("defer") and responder.calls[-1] == "send"
    return reply


def press(bot: ChatOps, fixture: str, token: str) -> Reply:
    button = payload(fixture)
    button["data"]["custom_id"] = interactions.CONFIRM_PREFIX + token
    return serve(bot, button)


def push_alert(client: AlertmanagerClient, labels: dict[str, str]) -> None:
    now = datetime.now(UTC)
    client.post_alerts(
        [
            {
                "labels": labels,
                "annotations": {"summary": "test alert"},
                "startsAt": (now - timedelta(minutes=1)).isoformat(),
                "endsAt": (now + timedelta(hours=1)).isoformat(),
            }
        ]
    )


def state_of(client: AlertmanagerClient, alertname: str) -> tuple[str, tuple[str, ...]]:
    deadline = time.monotonic() + 10
    while True:
        found = [a for a in client.alerts() if a.labels.get("alertname") == alertname]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(found) == 1, found
    return found[0].state, found[0].silenced_by


def test_silence_list_and_expire_with_confirmation_and_roles(bot: ChatOps, client: AlertmanagerClient) -> None:
    push_alert(client, {"alertname": "Scraped service down", "severity": "P1", "job": "api"})
    assert state_of(client, "Scraped service down")[0] == "active"

    refused = serve(bot, payload("slash_silence_viewer.json"))
    assert not refused.ok and "you may read but not" in refused.text
    assert client.silences() == []

    asked = serve(bot, payload("slash_silence_operator.json"))
    assert asked.confirm_token and client.silences() == []  # nothing before the button
    assert not press(bot, "button_confirm_viewer.json", asked.confirm_token).ok
    assert client.silences() == []
    done = press(bot, "button_confirm_operator.json", asked.confirm_token)
    assert done.ok, done.text

    (silence,) = client.silences(state="active")
    assert silence.matcher_text() == 'alertname="Scraped service down"'
    assert silence.created_by == "Alice" and "planned restart" in silence.comment
    # Alertmanager moves a start that lies in the past (by the request's transit time) to its own now
    assert abs(silence.ends_at - silence.starts_at - timedelta(minutes=30)) < timedelta(seconds=2)
    assert state_of(client, "Scraped service down") == ("suppressed", (silence.id,))

    status = bot.status(ALICE)
    assert status.embed is not None
    fields = {f.name: f.value for f in status.embed.fields}
    assert silence.id[:8] in fields["Silences in force"]
    assert fields["Alerts firing"] == "none"  # the only alert is silenced

    asked = bot.request_unsilence(ALICE, silence.id[:8])
    assert asked.confirm_token and client.silences(state="active") == [silence]
    done = press(bot, "button_confirm_operator.json", asked.confirm_token)
    assert done.ok, done.text
    assert [s.state for s in client.silences() if s.id == silence.id] == ["expired"]
    assert state_of(client, "Scraped service down")[0] == "active"
    assert [e.action for e in bot.store.audit_entries()] == ["unsilence", "silence"]


def test_ack_silences_the_incidents_alert_and_a_second_ack_names_the_first(
    bot: ChatOps, client: AlertmanagerClient
) -> None:
    labels = {"alertname": "api-down-ack", "severity": "P1", "instance": "app-1:8080", "job": "api"}
    push_alert(client, labels)
    incident, _ = bot.store.open_or_update(
        NewAlert("ack|fp|t0", "api-down-ack", "P1", datetime.now(UTC), service="api", labels=labels)
    )
    first = bot.ack(ALICE, "api-down-ack")
    assert first.ok, first.text
    (silence,) = client.silences(state="active")
    assert silence.comment.startswith("ACK by Alice")
    assert {str(m) for m in silence.matchers} >= {'alertname="api-down-ack"', 'instance="app-1:8080"'}
    assert state_of(client, "api-down-ack") == ("suppressed", (silence.id,))
    second = bot.ack(ALICE.__class__("480000000000000003", "Carol", (OPERATOR_ROLE,)), f"#{incident.id}")
    assert "already acknowledged by **Alice**" in second.text
    assert len(client.silences(state="active")) == 1
