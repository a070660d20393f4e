"""Discord interactions as Discord documents them, dispatched to :class:`obsctl.bot.core.ChatOps`.

An interaction payload (``INTERACTION_CREATE``) is ``{id, token, type, guild_id, member: {user: {id,
username, global_name}, nick, roles: [role ids]}, data}``; ``type`` 2 is a slash command (``data:
{name, options: [{name, type, value}]}``), 3 a message component such as a button (``data:
{custom_id, component_type}``). Discord invalidates the token unless the first response comes
within 3 seconds, so :func:`serve` defers (response type 5, DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE)
*before* any command work, runs the command in a thread and sends the reply as a follow-up.
The :class:`Responder` protocol is what the transport (discord.py, :mod:`obsctl.bot.discord_app`) does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from obsctl.bot.core import ChatOps, Member, Reply, failure, fitted

log = logging.getLogger("obsctl.bot")

APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
CONFIRM_PREFIX = "obsbot:confirm:"
CANCEL_PREFIX = "obsbot:cancel:"
# Commands whose reply only the member sees (the confirmation steps): decided before deferring,
# because a deferred response keeps the ephemeral flag it was deferred with.
PRIVATE_COMMANDS = frozenset({"silence", "unsilence"})

# name -> (description, [(option, description, required)]): the one declaration of the commands,
# registered by the transport and checked against the payloads in the tests.
COMMANDS: dict[str, tuple[str, list[tuple[str, str, bool]]]] = {
    "status": ("Services up/down, alerts firing, open incidents, silences in force", []),
    "silence": (
        "Silence an alert rule for a while (operators only; asks for confirmation)",
        [
            ("rule", "alert rule uid or title from the alert catalog", True),
            ("duration", "how long: 30m, 2h, 1d", True),
            ("reason", "why (shown on the silence)", False),
        ],
    ),
    "unsilence": (
        "Remove a silence (operators only; asks for confirmation)",
        [("silence", "silence id (or its first 8+ characters) from /status", True)],
    ),
    "ack": (
        "Acknowledge an incident and silence its notifications briefly (operators only)",
        [("alert", "incident id (#42) or the alert name of an open incident", True)],
    ),
    "dashboard": (
        "A dashboard panel as an image, with the dashboard link",
        [("name", "dashboard uid or title", True), ("panel", "panel title or id (default: the first graph)", False)],
    ),
}


class Responder(Protocol):
    async def defer(self, *, ephemeral: bool) -> None: ...

    async def send(self, reply: Reply) -> None: ...


def member_from_payload(payload: Mapping[str, Any], role_names: Mapping[str, str] | None = None) -> Member:
    """The member who interacted; ``role_names`` (id -> name, from the guild) adds role names."""
    raw_member = payload.get("member") or {}
    user = raw_member.get("user") or payload.get("user") or {}
    if not user.get("id"):
        raise ValueError("interaction payload without member.user.id (not from a guild?)")
    name = raw_member.get("nick") or user.get("global_name") or user.get("username") or str(user["id"])
    role_ids = [str(r) for r in raw_member.get("roles", [])]
    names = [role_names[r] for r in role_ids if role_names and r in role_names]
    return Member(str(user["id"]), str(name), tuple(role_ids + names))


def options_from_payload(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(o["name"]): str(o.get("value", "")) for o in data.get("options", []) or [] if "name" in o}


def _command(chatops: ChatOps, name: str, member: Member, options: Mapping[str, str]) -> Callable[[], Reply]:
    calls: dict[str, Callable[[], Reply]] = {
        "status": lambda: chatops.status(member),
        "silence": lambda: chatops.request_silence(
            member, options.get("rule", ""), options.get("duration", ""), options.get("reason", "")
        ),
        "unsilence": lambda: chatops.request_unsilence(member, options.get("silence", "")),
        "ack": lambda: chatops.ack(member, options.get("alert", "")),
        "dashboard": lambda: chatops.dashboard(member, options.get("name", ""), options.get("panel", "")),
    }
    call = calls.get(name)
    if call is None:
        return lambda: failure(f"unknown command /{name}", "use one of: " + ", ".join(f"/{c}" for c in COMMANDS))
    return call


def _component(chatops: ChatOps, member: Member, custom_id: str) -> Callable[[], Reply]:
    if custom_id.startswith(CONFIRM_PREFIX):
        return lambda: chatops.confirm(member, custom_id.removeprefix(CONFIRM_PREFIX))
    if custom_id.startswith(CANCEL_PREFIX):
        return lambda: chatops.cancel(member, custom_id.removeprefix(CANCEL_PREFIX))
    return lambda: failure("this button is not the bot's", "run the command again")


async def serve(
    chatops: ChatOps,
    payload: Mapping[str, Any],
    responder: Responder,
    role_names: Mapping[str, str] | None = None,
) -> Reply:
    """Defer first, then run the command off the event loop, then follow up. Never raises:
    a failure is answered to the member."""
    data = payload.get("data") or {}
    kind = payload.get("type")
    name = str(data.get("name", ""))
    private = kind == MESSAGE_COMPONENT or name in PRIVATE_COMMANDS
    await responder.defer(ephemeral=private)
    try:
        member = member_from_payload(payload, role_names)
        if kind == APPLICATION_COMMAND:
            work = _command(chatops, name, member, options_from_payload(data))
        elif kind == MESSAGE_COMPONENT:
            work = _component(chatops, member, str(data.get("custom_id", "")))
        else:
            work = lambda: failure(f"interaction type {kind} is not handled", "use the slash commands")  # noqa: E731
        reply = await asyncio.to_thread(work)
    except Exception as exc:  # the member gets an answer whatever broke; the log keeps the traceback
        log.exception("interaction %s failed", name or kind)
        reply = failure(
            f"the bot failed: {type(exc).__name__}: {exc}", "try again; if it repeats, tell the platform team"
        )
    reply = fitted(reply)
    await responder.send(reply)
    return reply
