"""/ack marks the analyzer's alert message: "ACK by <member>" appended to the message's content.

The analyzer posts each analysed incident through its Discord webhook with ``?wait=true`` and
records the message id in the incident log (``incidents.message_id``). A webhook message can only
be edited through the same webhook (``PATCH /webhooks/{id}/{token}/messages/{message_id}``), so the
bot is given the analyzer's webhook URL (``DISCORD_WEBHOOK_URL``, the same vault secret). The
embeds are left as they are; only the content changes, and the edit pings no one.
"""

from __future__ import annotations

from obsctl.clients.discord import LIMITS, DiscordWebhook, truncate


class AlertMessages:
    """``mark(message_id, line)`` for :class:`obsctl.bot.core.ChatOps`; raises ObsError on failure."""

    def __init__(self, webhook: DiscordWebhook) -> None:
        self.webhook = webhook

    def mark(self, message_id: str, line: str) -> None:
        current = str(self.webhook.get_message(message_id).get("content") or "")
        if line in current:  # already marked (a retried /ack): nothing to change
            return
        room = LIMITS.content - len(line) - 1
        text = f"{truncate(current, room)}\n{line}" if current else line
        self.webhook.edit_content(message_id, text)
