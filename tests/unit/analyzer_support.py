"""Test doubles and builders shared by tests/unit/test_analyzer_*.py.

``UpstreamTestDouble`` is an ``httpx.MockTransport`` handler standing in, openly, for every server
the analyzer talks to: Prometheus (``prometheus.test``), Loki (``loki.test``), Grafana
(``grafana.test``), the three LLM providers' HTTP APIs (``anthropic.test``, ``openai.test``,
``gemini.test``, answering in each vendor's documented response shape) and a Discord webhook
(``discord.test``). It records every request so tests assert on what was really sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from obsctl.analyzer.config import ProviderSettings, Settings
from obsctl.analyzer.llm import BudgetCaps, Price
from obsctl.analyzer.service import Analyzer
from obsctl.analyzer.wiring import build
from tests.support import REPO

FIXTURES = REPO / "tests" / "fixtures" / "analyzer"
TOKEN = "t0ken-for-tests-only"
DISCORD_URL = "https://discord.test/api/webhooks/123/secret-token"
OWNER_ROLE = "123456789012345678"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def valid_answer(cause_ids: list[str]) -> dict[str, Any]:
    return {
        "summary": "chat's error ratio jumped right after a deployment",
        "probable_cause": {"text": "the 1.4.2 deployment broke the database pool", "evidence": cause_ids},
        "impact": {"text": "12% of chat requests fail", "evidence": ["A1"]},
        "actions": [{"text": "roll back chat to 1.4.1", "evidence": cause_ids}],
        "confidence": "medium",
    }


def llm_body(provider: str, text: str, tokens_in: int = 1200, tokens_out: int = 300) -> dict[str, Any]:
    """An answer in the provider's documented response shape."""
    if provider == "anthropic":
        return {
            "content": [{"type": "text", "text": text}],
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
        }
    if provider == "openai":
        return {
            "choices": [{"message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out},
        }
    return {
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}}],
        "usageMetadata": {"promptTokenCount": tokens_in, "candidatesTokenCount": tokens_out},
    }


@dataclass
class UpstreamTestDouble:
    """Scripted answers per host; every request recorded in ``seen``."""

    llm_answers: dict[str, list[httpx.Response]] = field(default_factory=dict)
    discord_failures: int = 0
    error_lines: list[str] = field(default_factory=list)
    seen: list[httpx.Request] = field(default_factory=list)
    discord_bodies: list[dict[str, Any]] = field(default_factory=list)
    # Prometheus: value per query concept in the alert window, and a day earlier.
    now_value: float = 0.12
    baseline_value: float = 0.01
    alert_start: float = 0.0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def llm_requests(self, provider: str | None = None) -> list[httpx.Request]:
        hosts = {f"{p}.test" for p in ("anthropic", "openai", "gemini")} if provider is None else {f"{provider}.test"}
        return [r for r in self.seen if r.url.host in hosts]

    def handle(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911 - one answer per server
        self.seen.append(request)
        host = request.url.host
        if host == "prometheus.test":
            form = dict(httpx.QueryParams(request.content.decode()))
            start = float(form["start"])
            value = self.now_value if start >= self.alert_start - 3600 else self.baseline_value
            series = {"metric": {"app": "chat"}, "values": [[start, str(value)], [start + 30, str(value)]]}
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": [series]}})
        if host == "loki.test":
            values = [[str(1_700_000_000_000_000_000 + n), line] for n, line in enumerate(self.error_lines)]
            result = [{"stream": {"app": "chat", "level": "ERROR"}, "values": values}] if values else []
            return httpx.Response(200, json={"status": "success", "data": {"resultType": "streams", "result": result}})
        if host == "grafana.test":
            end = int(request.url.params["to"])
            deploy = {
                "id": 7,
                "time": end - 15 * 60 * 1000,
                "tags": ["deployment", "chat", "1.4.2"],
                "text": "chat 1.4.2",
            }
            return httpx.Response(200, json=[deploy])
        if host.endswith(".test") and host.split(".")[0] in ("anthropic", "openai", "gemini"):
            provider = host.split(".")[0]
            scripted = self.llm_answers.get(provider) or []
            if scripted:
                return scripted.pop(0)
            return httpx.Response(500, json={"error": "no scripted answer left"})
        if host == "discord.test":
            if self.discord_failures > 0:
                self.discord_failures -= 1
                return httpx.Response(500, json={"message": "test double: failing on purpose"})
            self.discord_bodies.append(json.loads(request.content))
            return httpx.Response(200, json={"id": f"msg-{len(self.discord_bodies)}"})
        return httpx.Response(404, json={"error": f"test double has no route for {request.url}"})


def settings(tmp_path: Path, providers: tuple[str, ...] = ("anthropic", "openai"), **overrides: Any) -> Settings:
    owners = tmp_path / "owners.yml"
    owners.write_text(f'services:\n  chat: "role:{OWNER_ROLE}"\n', encoding="utf-8")
    base: dict[str, Any] = {
        "token": TOKEN,
        "db": tmp_path / "incidents.db",
        "max_body": 64 * 1024,
        "queue_capacity": 50,
        "owners": owners,
        "prometheus_url": "http://prometheus.test:9090",
        "loki_url": "http://loki.test:3100",
        "grafana_url": "http://grafana.test:3000",
        "grafana_token": "glsa_test",
        "discord_webhook_url": DISCORD_URL,
        "providers": [
            ProviderSettings(p, f"{p}-model", f"key-{p}", f"https://{p}.test", Price(3.0, 15.0))  # type: ignore[arg-type]
            for p in providers
        ],
        "caps": BudgetCaps(),
    }
    base.update(overrides)
    return Settings(**base)


def analyzer(tmp_path: Path, double: UpstreamTestDouble, **overrides: Any) -> Analyzer:
    return build(settings(tmp_path, **overrides), transport=double.transport())


def body(name: str, mutate: Callable[[dict[str, Any]], None] | None = None) -> bytes:
    data = fixture(name)
    if mutate:
        mutate(data)
    return json.dumps(data).encode()


def start_of(name: str) -> float:
    return datetime.fromisoformat(fixture(name)["alerts"][0]["startsAt"]).timestamp()
