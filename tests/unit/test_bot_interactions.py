"""Discord's side, without the gateway: interaction payloads of the documented shapes
(tests/fixtures/discord, test doubles) through the dispatcher and the discord.py responder."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import discord
import pytest

from obsctl.bot import interactions
from obsctl.bot.core import ChatOps, Reply
from obsctl.bot.discord_app import InteractionResponder, command_payloads
from obsctl.clients.discord import Embed, EmbedField
from tests.unit.bot_support import ALICE, BOB, AlertmanagerTestDouble, make_chatops, payload

DISCORD_DEADLINE = 3.0  # seconds Discord waits for the first response to an interaction


class ResponderTestDouble:
    """Records what the transport was asked to do, and when."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, float]] = []

    async def defer(self, *, ephemeral: bool) -> None:
        self.calls.append(("defer", ephemeral, time.monotonic()))

    async def send(self, reply: Reply) -> None:
        self.calls.append(("send", reply, time.monotonic()))


def run(bot: ChatOps, body: dict[str, Any]) -> tuple[Reply, ResponderTestDouble]:
    responder = ResponderTestDouble()
    reply = asyncio.run(interactions.serve(bot, body, responder))
    return reply, responder


@pytest.fixture
def double() -> AlertmanagerTestDouble:
    return AlertmanagerTestDouble()


@pytest.fixture
def bot(tmp_path: Path, double: AlertmanagerTestDouble) -> ChatOps:
    return make_chatops(tmp_path, double)


def test_members_are_read_from_the_payload() -> None:
    assert interactions.member_from_payload(payload("slash_silence_operator.json")) == ALICE
    assert interactions.member_from_payload(payload("slash_status.json")) == BOB  # the nick wins
    named = interactions.member_from_payload(payload("slash_status.json"), {"1100000000000000009": "viewers"})
    assert named.roles == ("1100000000000000009", "viewers")


def test_a_slow_command_is_deferred_before_it_runs_and_followed_up(
    bot: ChatOps, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[float] = []

    def slow_status(member: object) -> Reply:
        started.append(time.monotonic())
        time.sleep(DISCORD_DEADLINE + 0.5)  # longer than Discord waits for a first response
        return Reply(text="all good")

    monkeypatch.setattr(bot, "status", slow_status)
    t0 = time.monotonic()
    reply, responder = run(bot, payload("slash_status.json"))
    (defer, send) = responder.calls
    assert defer[0] == "defer" and defer[1] is False  # /status is visible to the channel
    assert defer[2] - t0 < DISCORD_DEADLINE
    assert defer[2] <= started[0]  # acknowledged before any work
    assert send[0] == "send" and send[1].text == "all good" and reply.text == "all good"


def test_silence_through_payloads_needs_the_confirm_button_of_the_same_operator(
    bot: ChatOps, double: AlertmanagerTestDouble
) -> None:
    asked, responder = run(bot, payload("slash_silence_operator.json"))
    assert responder.calls[0][:2] == ("defer", True)  # the confirmation is only for the member
    assert asked.confirm_token and "planned restart" in asked.text
    assert double.changes() == []
    button = payload("button_confirm_viewer.json")
    button["data"]["custom_id"] = interactions.CONFIRM_PREFIX + asked.confirm_token
    refused, _ = run(bot, button)
    assert not refused.ok and double.changes() == []
    button = payload("button_confirm_operator.json")
    button["data"]["custom_id"] = interactions.CONFIRM_PREFIX + asked.confirm_token
    done, responder = run(bot, button)
    assert responder.calls[0][:2] == ("defer", True)
    assert done.ok and "Silenced" in done.text
    assert [m for m, _ in double.changes()] == ["POST"]


def test_a_reader_is_told_why_and_what_to_do(bot: ChatOps, double: AlertmanagerTestDouble) -> None:
    reply, responder = run(bot, payload("slash_silence_viewer.json"))
    assert [c[0] for c in responder.calls] == ["defer", "send"]
    assert not reply.ok and reply.ephemeral and "you may read but not silence alerts" in reply.text
    assert "ask a server admin for the role" in reply.text
    assert double.requests == []


def test_ack_through_a_payload(bot: ChatOps, double: AlertmanagerTestDouble) -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from obsctl.incidents.store import NewAlert  # noqa: PLC0415

    bot.store.open_or_update(NewAlert("k", "service-down", "P1", datetime(2026, 12, 2, 5, tzinfo=UTC)))
    reply, _ = run(bot, payload("slash_ack_operator.json"))
    assert reply.ok and "acknowledged by **Alice**" in reply.text
    assert len(double.silences) == 1


def test_a_crash_inside_a_command_still_answers(bot: ChatOps, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(member: object) -> Reply:
        raise RuntimeError("boom")

    monkeypatch.setattr(bot, "status", broken)
    reply, responder = run(bot, payload("slash_status.json"))
    assert [c[0] for c in responder.calls] == ["defer", "send"]
    assert not reply.ok and "RuntimeError: boom" in reply.text and "tell the platform team" in reply.text


def test_registered_commands_follow_discords_rules_and_match_the_dispatcher(bot: ChatOps) -> None:
    commands = command_payloads()
    assert (
        {c["name"] for c in commands}
        == set(interactions.COMMANDS)
        == {"status", "silence", "unsilence", "ack", "dashboard"}
    )
    for command in commands:
        assert re.fullmatch(r"[a-z0-9_-]{1,32}", command["name"])
        assert 1 <= len(command["description"]) <= 100 and command["type"] == 1
        required = [o["required"] for o in command["options"]]
        assert required == sorted(required, reverse=True), "Discord wants required options first"
        for option in command["options"]:
            assert re.fullmatch(r"[a-z0-9_-]{1,32}", option["name"]) and option["type"] == 3
    # every payload fixture names a registered command with registered options
    for name in ("slash_status.json", "slash_silence_operator.json", "slash_ack_operator.json", "slash_dashboard.json"):
        data = payload(name)["data"]
        declared = {o["name"] for o in next(c for c in commands if c["name"] == data["name"])["options"]}
        assert {o["name"] for o in data.get("options", [])} <= declared


class InteractionTestDouble:
    """The two parts of discord.Interaction the responder uses: ``response.defer`` and ``followup.send``."""

    def __init__(self) -> None:
        self.deferred: dict[str, Any] = {}
        self.sent: list[dict[str, Any]] = []
        outer = self

        class Response:
            async def defer(self, **kwargs: Any) -> None:
                outer.deferred = kwargs

        class Followup:
            async def send(self, **kwargs: Any) -> None:
                outer.sent.append(kwargs)

        self.response = Response()
        self.followup = Followup()


def test_the_discord_responder_builds_embeds_files_and_confirm_buttons() -> None:
    fake = InteractionTestDouble()
    responder = InteractionResponder(fake)  # type: ignore[arg-type]
    embed = Embed(title="Platform status", color=0x2ECC71, fields=[EmbedField("Services", "🟢 node 1/1 up")])
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 10
    asyncio.run(responder.defer(ephemeral=True))
    asyncio.run(responder.send(Reply(text="hi", embed=embed, image=png, image_name="cpu.png", confirm_token="ab12")))
    assert fake.deferred == {"ephemeral": True, "thinking": True}
    (sent,) = fake.sent
    assert sent["content"] == "hi"
    assert isinstance(sent["embed"], discord.Embed) and sent["embed"].to_dict()["fields"][0]["name"] == "Services"
    assert isinstance(sent["file"], discord.File) and sent["file"].filename == "cpu.png"
    assert sent["file"].fp.read() == png
    ids = [item.custom_id for item in sent["view"].children]  # type: ignore[attr-defined]
    assert ids == [interactions.CONFIRM_PREFIX + "ab12", interactions.CANCEL_PREFIX + "ab12"]
    assert all(len(i) <= 100 for i in ids)  # Discord's custom_id limit
