"""The clients layer's base and the Discord webhook client, against httpx test-double transports
and a loopback capture server standing in for Discord (named as test doubles)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest

from obsctl.clients.discord import LIMITS, DiscordMessage, DiscordWebhook, Embed, EmbedField, fit_to_limits
from obsctl.clients.http import ClientError, HttpClient
from obsctl.errors import ObsError
from tests.support import HttpTestDouble, double_url, serve_double


def scripted_transport(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    """Test double: answers the queued responses in order and records every request."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.MockTransport(handler)


def client(answers: list[httpx.Response], seen: list[httpx.Request], retries: int = 2) -> HttpClient:
    return HttpClient(
        "Prometheus",
        "http://127.0.0.1:9",
        transport=scripted_transport(answers, seen),
        retries=retries,
        sleep=lambda _s: None,
    )


def test_get_is_retried_on_503_then_succeeds() -> None:
    seen: list[httpx.Request] = []
    c = client([httpx.Response(503), httpx.Response(200, json={"ok": 1})], seen)
    assert c.get_json("/api") == {"ok": 1}
    assert len(seen) == 2


def test_post_that_creates_is_not_retried() -> None:
    seen: list[httpx.Request] = []
    c = client([httpx.Response(503), httpx.Response(200, json={})], seen)
    with pytest.raises(ClientError) as err:
        c.post_json("/api/silences", {"x": 1})
    assert len(seen) == 1
    assert err.value.status == 503


def test_retries_stop_after_the_configured_count() -> None:
    seen: list[httpx.Request] = []
    c = client([httpx.Response(502)] * 3, seen, retries=2)
    with pytest.raises(ClientError):
        c.get_json("/x")
    assert len(seen) == 3


@pytest.mark.parametrize(
    ("status", "words"),
    [(401, "credential"), (403, "permission"), (404, "URL"), (400, "field"), (500, "logs")],
)
def test_http_errors_name_the_server_and_the_fix(status: int, words: str) -> None:
    seen: list[httpx.Request] = []
    c = client([httpx.Response(status, text="nope")], seen)
    with pytest.raises(ClientError) as err:
        c.get_json("/api/v1/query") if status != 400 else c.post_json("/api/v1/query", {})
    text = str(err.value)
    assert "Prometheus at http://127.0.0.1:9/api/v1/query" in text
    assert f"HTTP {status}" in text
    assert err.value.fix and words in err.value.fix


def test_connection_refused_is_a_clean_error() -> None:
    c = HttpClient("Loki", "http://127.0.0.1:1", retries=0, timeout=2)
    with pytest.raises(ClientError) as err:
        c.get_json("/ready")
    assert "cannot connect" in str(err.value)
    assert err.value.status is None


def test_non_json_answer_is_named() -> None:
    seen: list[httpx.Request] = []
    c = client([httpx.Response(200, text="<html>login</html>")], seen)
    with pytest.raises(ClientError, match="not JSON"):
        c.get_json("/")


@pytest.mark.parametrize("url", ["", "ftp://x", "10.100.0.1:9090", "file:///etc/passwd"])
def test_bad_base_url_is_refused(url: str) -> None:
    with pytest.raises(ObsError, match="not an http"):
        HttpClient("Grafana", url)


def test_retry_after_is_honoured_and_capped() -> None:
    slept: list[float] = []
    seen: list[httpx.Request] = []
    c = HttpClient(
        "Discord",
        "http://127.0.0.1:9",
        transport=scripted_transport(
            [
                httpx.Response(429, headers={"Retry-After": "1.5"}),
                httpx.Response(429, headers={"Retry-After": "999"}),
                httpx.Response(200, json={}),
            ],
            seen,
        ),
        sleep=slept.append,
    )
    c.get_json("/")
    assert slept == [1.5, 30.0]


# -- Discord limits ---------------------------------------------------------------------------------
def _huge_message() -> DiscordMessage:
    fields = [EmbedField("n" * 300, "v" * 2000) for _ in range(40)]
    embeds = [Embed(title="t" * 400, description="d" * 5000, fields=fields, footer="f" * 3000) for _ in range(12)]
    return DiscordMessage(content="c" * 2500, embeds=embeds)


def test_fit_to_limits_respects_every_documented_limit() -> None:
    fitted = fit_to_limits(_huge_message())
    assert len(fitted.content) <= LIMITS.content
    assert len(fitted.embeds) <= LIMITS.embeds
    assert sum(e.size() for e in fitted.embeds) <= LIMITS.total
    for embed in fitted.embeds:
        assert len(embed.title) <= LIMITS.title
        assert len(embed.description) <= LIMITS.description
        assert len(embed.footer) <= LIMITS.footer
        assert len(embed.fields) <= LIMITS.fields
        assert all(len(f.name) <= LIMITS.field_name and len(f.value) <= LIMITS.field_value for f in embed.fields)
    assert fitted.content.endswith("…")


def test_fit_to_limits_leaves_a_small_message_alone() -> None:
    message = DiscordMessage(content="hi", embeds=[Embed(title="t", description="d", fields=[EmbedField("a", "b")])])
    assert fit_to_limits(message) == message


def test_mentions_are_explicit() -> None:
    body = DiscordMessage(content="<@123> down", allowed_users=["123"]).to_json()
    assert body["allowed_mentions"] == {"parse": [], "users": ["123"], "roles": []}
    assert DiscordMessage(content="@here", ping_everyone=True).to_json()["allowed_mentions"]["parse"] == ["everyone"]


class DiscordCaptureDouble(HttpTestDouble):
    """Test double for Discord's webhook endpoint: records bodies, answers like Discord with ?wait=true."""

    received: ClassVar[list[dict[str, Any]]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append({"path": self.path, "body": body})
        self.reply(self.status, {"id": "1111"} if self.status == 200 else {"message": "Invalid Form Body"})


@pytest.fixture
def discord_double() -> Iterator[str]:
    DiscordCaptureDouble.received = []
    DiscordCaptureDouble.status = 200
    with serve_double(DiscordCaptureDouble) as server:
        yield double_url(server, "/api/webhooks/42/SECRET-TOKEN")


def test_webhook_posts_the_fitted_message_and_returns_its_id(discord_double: str) -> None:
    hook = DiscordWebhook(discord_double)
    message_id = hook.send(_huge_message())
    assert message_id == "1111"
    sent = DiscordCaptureDouble.received[0]
    assert sent["path"] == "/api/webhooks/42/SECRET-TOKEN?wait=true"
    assert len(sent["body"]["content"]) == LIMITS.content


def test_webhook_error_never_shows_the_token(discord_double: str) -> None:
    DiscordCaptureDouble.status = 400
    with pytest.raises(ClientError) as err:
        DiscordWebhook(discord_double).send(DiscordMessage(content="x"))
    assert "SECRET-TOKEN" not in str(err.value)
    assert err.value.status == 400


def test_webhook_refuses_an_empty_message(discord_double: str) -> None:
    with pytest.raises(ObsError, match="empty"):
        DiscordWebhook(discord_double).send(DiscordMessage())


def test_a_timeout_is_retried_then_named() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    c = HttpClient(
        "Loki", "http://127.0.0.1:9", transport=httpx.MockTransport(handler), timeout=3, sleep=lambda _s: None
    )
    with pytest.raises(ClientError, match="no answer within 3s"):
        c.get_json("/ready")
    assert len(calls) == 3
