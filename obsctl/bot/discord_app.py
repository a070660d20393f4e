"""The discord.py transport: registers the guild slash commands and hands every interaction to
:func:`obsctl.bot.interactions.serve` (which defers within Discord's 3 s, then follows up).

Kept thin on purpose: the commands are declared once (``interactions.COMMANDS``) and registered per
guild with a bulk overwrite of the guild's commands (``PUT /applications/{app}/guilds/{guild}/commands``);
no ``CommandTree``, so no second declaration and no reply from discord.py itself.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import discord

from obsctl.bot import interactions
from obsctl.bot.core import ChatOps, Reply

log = logging.getLogger("obsctl.bot")
STRING_OPTION = 3
CHAT_INPUT = 1


def command_payloads() -> list[dict[str, Any]]:
    """The application commands in Discord's documented shape (``type`` 1 = CHAT_INPUT)."""
    return [
        {
            "name": name,
            "description": description[:100],
            "type": CHAT_INPUT,
            "options": [
                {"type": STRING_OPTION, "name": opt, "description": text[:100], "required": required}
                for opt, text, required in options
            ],
        }
        for name, (description, options) in interactions.COMMANDS.items()
    ]


class InteractionResponder:
    """:class:`obsctl.bot.interactions.Responder` over one discord.py interaction."""

    def __init__(self, interaction: discord.Interaction[discord.Client]) -> None:
        self.interaction = interaction

    async def defer(self, *, ephemeral: bool) -> None:
        await self.interaction.response.defer(ephemeral=ephemeral, thinking=True)

    async def send(self, reply: Reply) -> None:
        kwargs: dict[str, Any] = {"ephemeral": reply.ephemeral}
        if reply.embed is not None:
            kwargs["embed"] = discord.Embed.from_dict(reply.embed.to_json())
        if reply.image is not None:
            kwargs["file"] = discord.File(io.BytesIO(reply.image), filename=reply.image_name or "panel.png")
        if reply.confirm_token:
            view = discord.ui.View(timeout=None)
            view.add_item(
                discord.ui.Button(
                    style=discord.ButtonStyle.danger,
                    label="Confirm",
                    custom_id=interactions.CONFIRM_PREFIX + reply.confirm_token,
                )
            )
            view.add_item(
                discord.ui.Button(
                    style=discord.ButtonStyle.secondary,
                    label="Cancel",
                    custom_id=interactions.CANCEL_PREFIX + reply.confirm_token,
                )
            )
            kwargs["view"] = view
        if reply.text:
            kwargs["content"] = reply.text
        await self.interaction.followup.send(**kwargs)


def _payload(interaction: discord.Interaction[discord.Client]) -> tuple[dict[str, Any], dict[str, str]]:
    user = interaction.user
    roles = list(getattr(user, "roles", []))
    payload = {
        "type": interaction.type.value,
        "guild_id": str(interaction.guild_id or ""),
        "data": dict(interaction.data or {}),
        "member": {
            "user": {"id": str(user.id), "username": user.name, "global_name": user.global_name},
            "nick": getattr(user, "nick", None),
            "roles": [str(r.id) for r in roles],
        },
    }
    return payload, {str(r.id): r.name for r in roles}


class BotClient(discord.Client):
    def __init__(self, chatops: ChatOps, guilds: tuple[int, ...]) -> None:
        super().__init__(intents=discord.Intents.default())
        self.chatops = chatops
        self.guild_ids = guilds

    async def setup_hook(self) -> None:
        if self.application_id is None:
            raise RuntimeError("logged in without an application id")
        for guild in self.guild_ids:
            await self.http.bulk_upsert_guild_commands(self.application_id, guild, command_payloads())
            log.info("registered %d slash commands in guild %s", len(interactions.COMMANDS), guild)

    async def on_interaction(self, interaction: discord.Interaction[discord.Client]) -> None:
        if interaction.type not in {discord.InteractionType.application_command, discord.InteractionType.component}:
            return
        payload, role_names = _payload(interaction)
        await interactions.serve(self.chatops, payload, InteractionResponder(interaction), role_names)


def run(chatops: ChatOps, token: str, guilds: tuple[int, ...]) -> None:
    BotClient(chatops, guilds).run(token, log_handler=None)
