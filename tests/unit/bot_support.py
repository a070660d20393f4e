"""Test doubles for the bot's unit tests (the real Alertmanager and Prometheus are used in
tests/integration/test_bot_alertmanager.py and test_bot_prometheus.py)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from obsctl.bot.core import ChatOps, Member, Rule
from obsctl.clients.alertmanager import AlertmanagerClient
from obsctl.incidents.store import IncidentStore

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "discord"
OPERATOR_ROLE = "1100000000000000001"
ALICE = Member("480000000000000001", "Alice", (OPERATOR_ROLE,))
BOB = Member("480000000000000002", "bob-dev", ("1100000000000000009",))
RULES = [Rule("service-down", "Scraped service down"), Rule("disk-full-critical", "Disk above 95%")]


def payload(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class AlertmanagerTestDouble:
    """An in-memory Alertmanager v2 (silences and alerts) behind httpx.MockTransport; records requests.
    ``down`` makes every call fail as a refused connection does."""

    def __init__(self) -> None:
        self.silences: dict[str, dict[str, Any]] = {}
        self.alerts: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path.removeprefix("/api/alertmanager/grafana")
        if request.method == "GET" and path == "/api/v2/silences":
            return httpx.Response(200, json=list(self.silences.values()))
        if request.method == "POST" and path == "/api/v2/silences":
            body = json.loads(request.content)
            silence_id = str(uuid.uuid4())
            self.silences[silence_id] = {**body, "id": silence_id, "status": {"state": "active"}}
            return httpx.Response(200, json={"silenceID": silence_id})
        if request.method == "DELETE" and path.startswith("/api/v2/silence/"):
            silence_id = path.rsplit("/", 1)[1]
            if silence_id not in self.silences:
                return httpx.Response(404, text="silence not found")
            self.silences[silence_id]["status"] = {"state": "expired"}
            return httpx.Response(200)
        if request.method == "GET" and path == "/api/v2/alerts":
            return httpx.Response(200, json=self.alerts)
        return httpx.Response(404, text=f"no route {request.method} {path}")

    def client(self) -> AlertmanagerClient:
        return AlertmanagerClient("http://alertmanager.test", retries=0, transport=httpx.MockTransport(self.handler))

    def changes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] in {"POST", "DELETE"}]


def make_chatops(tmp_path: Path, double: AlertmanagerTestDouble, **kwargs: Any) -> ChatOps:
    return ChatOps(
        store=IncidentStore(tmp_path / "incidents.db"),
        alertmanager=double.client(),
        prometheus=kwargs.pop("prometheus", None),
        rules=RULES,
        operator_roles=frozenset({OPERATOR_ROLE}),
        clock=kwargs.pop("clock", lambda: datetime(2026, 12, 2, 6, 0, tzinfo=UTC)),
        **kwargs,
    )
