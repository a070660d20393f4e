"""Discord webhooks: messages with embeds, fitted to Discord's documented limits before sending.

Discord rejects (HTTP 400) a message over any of these limits, so every message of the project
(analyzer, reports) goes through ``fit_to_limits``, which truncates with an ellipsis and never
raises. The limits live here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from obsctl.clients.http import ClientError, HttpClient
from obsctl.errors import ObsError

SERVER = "Discord"
ELLIPSIS = "…"


@dataclass(frozen=True)
class Limits:
    content: int = 2000
    embeds: int = 10
    title: int = 256
    description: int = 4096
    fields: int = 25
    field_name: int = 256
    field_value: int = 1024
    footer: int = 2048
    author: int = 256
    total: int = 6000  # characters across every embed of one message


LIMITS = Limits()


@dataclass(frozen=True)
class EmbedField:
    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True)
class Embed:
    title: str = ""
    description: str = ""
    url: str = ""
    color: int | None = None
    fields: list[EmbedField] = field(default_factory=list)
    footer: str = ""
    timestamp: str = ""  # ISO 8601

    def size(self) -> int:
        """Characters Discord counts toward the 6000 total."""
        return (
            len(self.title)
            + len(self.description)
            + len(self.footer)
            + sum(len(f.name) + len(f.value) for f in self.fields)
        )

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.title:
            body["title"] = self.title
        if self.description:
            body["description"] = self.description
        if self.url:
            body["url"] = self.url
        if self.color is not None:
            body["color"] = self.color
        if self.fields:
            body["fields"] = [{"name": f.name, "value": f.value, "inline": f.inline} for f in self.fields]
        if self.footer:
            body["footer"] = {"text": self.footer}
        if self.timestamp:
            body["timestamp"] = self.timestamp
        return body


@dataclass(frozen=True)
class DiscordMessage:
    content: str = ""
    embeds: list[Embed] = field(default_factory=list)
    # Mentions that may ping: user and role ids parsed from the content. Nothing else pings
    # (no @everyone by accident); ``ping_everyone`` allows @here/@everyone.
    allowed_users: list[str] = field(default_factory=list)
    allowed_roles: list[str] = field(default_factory=list)
    ping_everyone: bool = False
    username: str = ""

    def to_json(self) -> dict[str, Any]:
        parse = ["everyone"] if self.ping_everyone else []
        body: dict[str, Any] = {
            "content": self.content,
            "embeds": [e.to_json() for e in self.embeds],
            "allowed_mentions": {"parse": parse, "users": self.allowed_users[:100], "roles": self.allowed_roles[:100]},
        }
        if self.username:
            body["username"] = self.username[:80]
        return body


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS


def _fit_embed(embed: Embed, limits: Limits) -> Embed:
    fields = [
        EmbedField(truncate(f.name, limits.field_name) or "-", truncate(f.value, limits.field_value) or "-", f.inline)
        for f in embed.fields[: limits.fields]
    ]
    return replace(
        embed,
        title=truncate(embed.title, limits.title),
        description=truncate(embed.description, limits.description),
        footer=truncate(embed.footer, limits.footer),
        fields=fields,
    )


def fit_to_limits(message: DiscordMessage, limits: Limits = LIMITS) -> DiscordMessage:
    """The same message, truncated where it breaks a limit. Order of sacrifice when the 6000
    total is exceeded: the last embeds' descriptions shrink first, then their fields go."""
    embeds = [_fit_embed(e, limits) for e in message.embeds[: limits.embeds]]
    excess = sum(e.size() for e in embeds) - limits.total
    index = len(embeds) - 1
    while excess > 0 and index >= 0:
        embed = embeds[index]
        if embed.description:
            keep = max(0, len(embed.description) - excess)
            shrunk = truncate(embed.description, keep) if keep else ""
            excess -= len(embed.description) - len(shrunk)
            embed = replace(embed, description=shrunk)
        while excess > 0 and embed.fields:
            dropped = embed.fields[-1]
            excess -= len(dropped.name) + len(dropped.value)
            embed = replace(embed, fields=embed.fields[:-1])
        if excess > 0 and embed.footer:
            excess -= len(embed.footer)
            embed = replace(embed, footer="")
        if excess > 0 and embed.title:
            keep = max(1, len(embed.title) - excess)
            excess -= len(embed.title) - keep
            embed = replace(embed, title=truncate(embed.title, keep))
        embeds[index] = embed
        index -= 1
    return replace(message, content=truncate(message.content, limits.content), embeds=embeds)


class DiscordWebhook:
    """One webhook URL (``https://discord.com/api/webhooks/<id>/<token>``); the URL is the secret."""

    def __init__(
        self, url: str, *, timeout: float = 10.0, retries: int = 2, transport: httpx.BaseTransport | None = None
    ) -> None:
        if not url.strip():
            raise ObsError(
                "the Discord webhook URL is empty", fix="set it in the vault (Server Settings > Integrations)"
            )
        # The token is part of the path: keep it out of error messages by splitting base and path.
        parsed = httpx.URL(url.strip())
        self._path = parsed.raw_path.decode()
        base = str(parsed.copy_with(raw_path=b"/", query=None, fragment=None)).rstrip("/")
        self.http = HttpClient(SERVER, base, timeout=timeout, retries=retries, transport=transport)

    def close(self) -> None:
        self.http.close()

    def send(self, message: DiscordMessage, *, wait: bool = True) -> str | None:
        """Post the message (fitted to the limits); return its id when ``wait`` (Discord answers
        the created message only with ``?wait=true``). 429 is retried after ``Retry-After``."""
        body = fit_to_limits(message).to_json()
        if not body["content"] and not body["embeds"]:
            raise ObsError("refusing to send an empty Discord message", fix="give content or at least one embed")
        path = self._path.split("?", 1)[0]
        try:
            # Retrying is safe on 429 (nothing was created) and preferable on a lost answer: a
            # duplicated notification is better than a lost one.
            response = self.http.request("POST", path, json=body, params={"wait": "true"} if wait else None, retry=True)
        except ClientError as exc:
            hidden = f"{self.http.base_url}/api/webhooks/…"  # the path carries the webhook's token
            raise ClientError(SERVER, hidden, exc.detail, status=exc.status, fix=exc.fix) from None
        if wait and response.content:
            answer = response.json()
            return str(answer.get("id")) if isinstance(answer, dict) and answer.get("id") else None
        return None

    def _message_path(self, message_id: str) -> str:
        if not message_id.isdigit():
            raise ObsError(
                f"'{message_id}' is not a Discord message id",
                fix="only messages posted with ?wait=true have their id recorded; this one cannot be edited",
            )
        return f"{self._path.split('?', 1)[0].rstrip('/')}/messages/{message_id}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, json=body)
        except ClientError as exc:
            hidden = f"{self.http.base_url}/api/webhooks/…"  # the path carries the webhook's token
            raise ClientError(SERVER, hidden, exc.detail, status=exc.status, fix=exc.fix) from None
        answer = response.json() if response.content else {}
        return answer if isinstance(answer, dict) else {}

    def get_message(self, message_id: str) -> dict[str, Any]:
        """``GET /webhooks/{id}/{token}/messages/{message_id}``: a message this webhook posted."""
        return self._call("GET", self._message_path(message_id))

    def edit_content(self, message_id: str, content: str) -> dict[str, Any]:
        """``PATCH /webhooks/{id}/{token}/messages/{message_id}`` with new content only (the embeds
        stay as they are; a field absent from the body is not changed). The edit pings no one."""
        body = {"content": truncate(content, LIMITS.content), "allowed_mentions": {"parse": []}}
        return self._call("PATCH", self._message_path(message_id), body)
