"""Settings from the environment, the provider request shapes, and `obsctl incidents list|show`."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from obsctl import cli
from obsctl.analyzer.config import Settings
from obsctl.clients.http import ClientError
from obsctl.clients.llm import ANTHROPIC_VERSION, LlmClient
from obsctl.errors import ObsError
from obsctl.incidents.store import IncidentStore, NewAlert
from tests.unit.analyzer_support import llm_body

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_settings_need_the_webhook_credential_and_read_secrets_from_files(tmp_path: Path) -> None:
    with pytest.raises(ObsError, match="OBS_ANALYZER_TOKEN is not set"):
        Settings.from_env({})
    (tmp_path / "token").write_text("s3cret\n", encoding="utf-8")
    (tmp_path / "key").write_text("sk-test\n", encoding="utf-8")
    env = {
        "OBS_ANALYZER_TOKEN_FILE": str(tmp_path / "token"),
        "OBS_ANALYZER_PROVIDERS": "openai,anthropic",
        "OPENAI_API_KEY_FILE": str(tmp_path / "key"),
        "OPENAI_MODEL": "gpt-test",
        "OPENAI_PRICE_IN": "0.15",
        "ANTHROPIC_MODEL": "claude-test",  # no key: skipped
        "OBS_ANALYZER_MAX_CALLS_HOUR": "3",
    }
    settings = Settings.from_env(env)
    assert settings.token == "s3cret"
    assert [(p.name, p.model, p.api_key, p.price.input_per_mtok) for p in settings.providers] == [
        ("openai", "gpt-test", "sk-test", 0.15)
    ]
    assert settings.caps.calls_per_hour == 3


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OBS_ANALYZER_PROVIDERS": "mistral"}, "OBS_ANALYZER_PROVIDERS names 'mistral'"),
        ({"OBS_ANALYZER_MAX_USD_DAY": "lots"}, "OBS_ANALYZER_MAX_USD_DAY='lots' is not a number"),
        ({"OBS_ANALYZER_MAX_CALLS_DAY": "-1"}, "is negative"),
        ({"GRAFANA_TOKEN_FILE": "/nonexistent/token"}, "GRAFANA_TOKEN_FILE=/nonexistent/token cannot be read"),
    ],
)
def test_wrong_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ObsError, match=message.replace("(", r"\(")):
        Settings.from_env({"OBS_ANALYZER_TOKEN": "t", **env})


@pytest.mark.parametrize(
    ("provider", "path", "header", "value"),
    [
        ("anthropic", "/v1/messages", "x-api-key", "k"),
        ("openai", "/v1/chat/completions", "authorization", "Bearer k"),
        ("gemini", "/v1beta/models/m:generateContent", "x-goog-api-key", "k"),
    ],
)
def test_each_provider_sends_its_documented_request_and_reads_its_usage(
    provider: str, path: str, header: str, value: str
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=llm_body(provider, '{"x": 1}', 11, 7))

    client = LlmClient(provider, "m", "k", base_url="https://llm.test", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    completion = client.complete("system text", "user text")
    assert (completion.text, completion.input_tokens, completion.output_tokens) == ('{"x": 1}', 11, 7)
    assert seen[0].url.path == path
    assert seen[0].headers[header] == value
    sent = json.loads(seen[0].content)
    assert "system text" in json.dumps(sent) and "user text" in json.dumps(sent)
    if provider == "anthropic":
        assert seen[0].headers["anthropic-version"] == ANTHROPIC_VERSION
        assert sent["system"] == "system text" and sent["max_tokens"] == 1024
    if provider == "openai":
        assert sent["max_completion_tokens"] == 1024 and "max_tokens" not in sent
        assert sent["messages"][0] == {"role": "system", "content": "system text"}
    if provider == "gemini":
        assert sent["systemInstruction"] == {"parts": [{"text": "system text"}]}
        assert sent["generationConfig"]["responseMimeType"] == "application/json"


def test_an_answer_in_another_shape_is_a_client_error_naming_the_provider() -> None:
    transport = httpx.MockTransport(lambda _r: httpx.Response(200, json={"unexpected": True}))
    client = LlmClient("openai", "m", "k", base_url="https://llm.test", transport=transport)
    with pytest.raises(
        ClientError, match=re.escape("OpenAI API at https://llm.test/v1/chat/completions: answered in an unexpected")
    ):
        client.complete("s", "u")


def test_incidents_list_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "incidents.db"
    with IncidentStore(db) as store:
        incident, _ = store.open_or_update(NewAlert("key-1", "HighErrorRate", "P1", T0, service="chat"))
        store.record_analysis(
            incident.id,
            evidence={"items": []},
            analysis={"summary": "deploy broke it"},
            outcome="llm",
            provider="anthropic",
            model="m",
            cost_usd=0.0123,
            seconds=4.2,
        )
    assert cli.main(["incidents", "--db", str(db), "list"]) == 0
    listing = capsys.readouterr().out
    assert f"#{incident.id}" in listing and "HighErrorRate (chat)" in listing and "llm" in listing
    assert cli.main(["incidents", "--db", str(db), "show", f"#{incident.id}"]) == 0
    shown = capsys.readouterr().out
    assert "anthropic/m in 4.2 s, $0.0123" in shown and "deploy broke it" in shown
    assert cli.main(["incidents", "--db", str(db), "show", "999"]) == 2
    assert "no incident '999'" in capsys.readouterr().err
    assert cli.main(["incidents", "--db", str(tmp_path / "none.db"), "list"]) == 2
