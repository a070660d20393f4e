"""/ack marks the analyzer's alert message through the analyzer's webhook (GET, then PATCH
``/api/webhooks/<id>/<token>/messages/<message_id>``), against a local Discord webhook test double."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from obsctl.bot import wiring
from obsctl.bot.alert_message import AlertMessages
from obsctl.bot.config import BotSettings
from obsctl.bot.core import ChatOps, Member
from obsctl.clients.discord import LIMITS, DiscordWebhook
from obsctl.errors import ObsError
from tests.support import HttpTestDouble, double_url, serve_double
from tests.unit.bot_support import ALICE, OPERATOR_ROLE, AlertmanagerTestDouble, make_chatops
from tests.unit.test_bot_core import _incident

WEBHOOK_PATH = "/api/webhooks/42/SECRET-TOKEN"
MESSAGE_ID = "1300000000000000077"


class DiscordWebhookMessagesTestDouble(HttpTestDouble):
    """Stands in for Discord's webhook message endpoints: GET and PATCH of the messages this webhook
    posted (``messages`` by id); PATCH replaces only the fields its body carries, as Discord does."""

    messages: ClassVar[dict[str, dict[str, Any]]] = {}
    received: ClassVar[list[tuple[str, str, dict[str, Any]]]] = []

    def _message_id(self) -> str | None:
        prefix = f"{WEBHOOK_PATH}/messages/"
        return self.path.removeprefix(prefix) if self.path.startswith(prefix) else None

    def do_GET(self) -> None:
        type(self).received.append(("GET", self.path, {}))
        found = type(self).messages.get(self._message_id() or "")
        self.reply(200 if found else 404, found or {"message": "Unknown Message", "code": 10008})

    def do_PATCH(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(("PATCH", self.path, body))
        found = type(self).messages.get(self._message_id() or "")
        if found is None:
            self.reply(404, {"message": "Unknown Message", "code": 10008})
            return
        found.update({k: v for k, v in body.items() if k != "allowed_mentions"})
        self.reply(200, found)


@pytest.fixture
def webhook_url() -> Iterator[str]:
    DiscordWebhookMessagesTestDouble.received = []
    DiscordWebhookMessagesTestDouble.messages = {
        MESSAGE_ID: {
            "id": MESSAGE_ID,
            "content": "<@&1100000000000000001> P1 Scraped service down on api",
            "embeds": [{"title": "Scraped service down", "description": "analysis"}],
        }
    }
    with serve_double(DiscordWebhookMessagesTestDouble) as server:
        yield double_url(server, WEBHOOK_PATH)


def _bot(tmp_path: Path, webhook_url: str) -> ChatOps:
    marker = AlertMessages(DiscordWebhook(webhook_url, retries=0))
    return make_chatops(tmp_path, AlertmanagerTestDouble(), mark_alert_message=marker.mark)


def test_ack_marks_the_original_alert_message_and_keeps_its_embeds(tmp_path: Path, webhook_url: str) -> None:
    bot = _bot(tmp_path, webhook_url)
    incident_id = _incident(bot)
    bot.store.set_message_id(incident_id, MESSAGE_ID)
    reply = bot.ack(ALICE, f"#{incident_id}")
    assert reply.ok and "original alert message is marked" in reply.text
    message = DiscordWebhookMessagesTestDouble.messages[MESSAGE_ID]
    original, mark = message["content"].rsplit("\n", 1)
    assert original == "<@&1100000000000000001> P1 Scraped service down on api"
    assert mark.startswith("✅ ACK by Alice at ") and f"#{incident_id}" in mark
    assert message["embeds"] == [{"title": "Scraped service down", "description": "analysis"}]
    patch = next(r for r in DiscordWebhookMessagesTestDouble.received if r[0] == "PATCH")
    assert patch[1] == f"{WEBHOOK_PATH}/messages/{MESSAGE_ID}"
    assert patch[2]["allowed_mentions"] == {"parse": []}  # the edit pings no one
    assert "ack-message" in {e.action for e in bot.store.audit_entries(incident_id)}
    # a second ack names the first member and does not touch the message again
    second = bot.ack(Member("480000000000000003", "Carol", (OPERATOR_ROLE,)), f"#{incident_id}")
    assert "already acknowledged by **Alice**" in second.text
    assert [r[0] for r in DiscordWebhookMessagesTestDouble.received].count("PATCH") == 1


def test_an_alert_message_that_cannot_be_edited_leaves_the_ack_answer_in_the_channel(
    tmp_path: Path, webhook_url: str
) -> None:
    bot = _bot(tmp_path, webhook_url)
    incident_id = _incident(bot)
    bot.store.set_message_id(incident_id, "1300000000000000099")  # deleted from the channel
    reply = bot.ack(ALICE, f"#{incident_id}")
    assert reply.ok and not reply.ephemeral  # the answer is public: it records the ACK in the channel
    assert "could not be edited" in reply.text and "HTTP 404" in reply.text
    assert "SECRET-TOKEN" not in reply.text
    assert bot.store.get(incident_id).acked_by == "Alice"  # type: ignore[union-attr]


def test_an_incident_without_a_posted_message_is_acked_without_an_edit(tmp_path: Path, webhook_url: str) -> None:
    bot = _bot(tmp_path, webhook_url)
    incident_id = _incident(bot)
    bot.store.set_message_id(incident_id, "sent")  # posted without ?wait=true: no id known
    reply = bot.ack(ALICE, f"#{incident_id}")
    assert reply.ok and "no alert message to edit" in reply.text
    assert DiscordWebhookMessagesTestDouble.received == []


def test_a_long_alert_message_stays_within_discords_content_limit(webhook_url: str) -> None:
    DiscordWebhookMessagesTestDouble.messages[MESSAGE_ID]["content"] = "x" * LIMITS.content
    marker = AlertMessages(DiscordWebhook(webhook_url, retries=0))
    marker.mark(MESSAGE_ID, "✅ ACK by Alice")
    content = DiscordWebhookMessagesTestDouble.messages[MESSAGE_ID]["content"]
    assert len(content) <= LIMITS.content and content.endswith("\n✅ ACK by Alice")
    marker.mark(MESSAGE_ID, "✅ ACK by Alice")  # the same mark again changes nothing
    assert [r[0] for r in DiscordWebhookMessagesTestDouble.received].count("PATCH") == 1
    with pytest.raises(ObsError, match="not a Discord message id"):
        marker.mark("sent", "✅ ACK by Alice")


def test_wiring_gives_the_bot_the_analyzers_webhook_and_the_chosen_renderer(tmp_path: Path) -> None:
    settings = BotSettings.from_env(
        {
            "OBS_BOT_ALERTMANAGER_URL": "http://am:9093",
            "OBS_ANALYZER_DB": str(tmp_path / "i.db"),
            "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/abc",
            "OBS_BOT_RENDERER": "grafana",
            "GRAFANA_URL": "http://grafana:3000",
            "GRAFANA_TOKEN": "glsa_x",
        }
    )
    bot = wiring.build(settings)
    assert bot.mark_alert_message is not None
    assert type(bot.render_dashboard).__name__ == "GrafanaRenderer"
    assert wiring.build(BotSettings(alertmanager_url="http://am:9093", db=tmp_path / "j.db")).mark_alert_message is None
    with pytest.raises(ObsError, match="OBS_BOT_RENDERER"):
        BotSettings.from_env({"OBS_BOT_RENDERER": "chrome"})
    no_token = BotSettings(
        token="t",
        guilds=(1,),
        operator_roles=frozenset({"ops"}),
        prometheus_url="http://p:9090",
        alertmanager_url="http://am:9093",
        renderer="grafana",
    )
    with pytest.raises(ObsError, match="OBS_BOT_RENDERER=grafana needs GRAFANA_URL and GRAFANA_TOKEN"):
        no_token.require_runnable()
