"""`obsctl annotate` against a local HTTP server that records what it receives."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from obsctl import annotate
from obsctl.cli import build_parser, main
from obsctl.clients import grafana as grafana_client
from obsctl.errors import ObsError
from tests.support import HttpTestDouble, double_url, serve_double


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeGrafanaState:
    """Answers to give, in order (the last one repeats), and what arrived."""

    answers: list[tuple[int, dict[str, Any]]] = field(default_factory=lambda: [(200, {"id": 42, "message": "ok"})])
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)


class RecordingServer:
    """Test double of Grafana's ``POST /api/annotations``: answers ``state.answers``, records what arrives."""

    def __init__(self) -> None:
        self.state = FakeGrafanaState()
        state = self.state

        class Handler(HttpTestDouble):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                state.received.append(
                    Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw))
                )
                time.sleep(state.delay)
                index = min(len(state.received), len(state.answers)) - 1
                status, answer = state.answers[index]
                # the client may have given up first (the timeout test)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.reply(status, answer)

        self.handler = Handler
        self.url = ""
        self._serving = contextlib.ExitStack()

    def __enter__(self) -> RecordingServer:
        self.url = double_url(self._serving.enter_context(serve_double(self.handler, poll_interval=0.05)))
        return self

    def __exit__(self, *_: object) -> None:
        self._serving.close()


@pytest.fixture
def grafana() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    value = "glsa_test_token_123"
    monkeypatch.setenv("GRAFANA_TOKEN", value)
    return value


def _cli(url: str, *extra: str) -> int:
    return main(["annotate", "--grafana-url", url, "--service", "chat", "--version", "1.4.2", *extra])


def test_posts_the_deployment_with_bearer_token_and_tags(grafana: RecordingServer, token: str) -> None:
    before = int(time.time() * 1000)
    code = _cli(grafana.url, "--commit", "0123456789abcdef0123", "--author", "jiwon", "--duration", "300")
    after = int(time.time() * 1000)
    assert code == 0
    [req] = grafana.state.received
    assert req.path == "/api/annotations"
    assert req.headers["authorization"] == f"Bearer {token}"
    assert req.headers["content-type"] == "application/json"
    assert req.body["tags"] == ["deployment", "chat", "1.4.2"]
    assert before <= req.body["timeEnd"] <= after
    assert req.body["timeEnd"] - req.body["time"] == 300_000
    assert "chat 1.4.2" in req.body["text"] and "0123456789ab" in req.body["text"] and "jiwon" in req.body["text"]
    assert "dashboardUID" not in req.body


def test_dashboard_uid_scopes_the_annotation(grafana: RecordingServer, token: str) -> None:
    assert _cli(grafana.url, "--dashboard-uid", "chatbot") == 0
    assert grafana.state.received[0].body["dashboardUID"] == "chatbot"
    assert grafana.state.received[0].body["time"] == grafana.state.received[0].body["timeEnd"]


def test_dry_run_sends_nothing_and_needs_no_token(
    grafana: RecordingServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert _cli(grafana.url, "--dry-run") == 0
    assert grafana.state.received == []
    out = capsys.readouterr().out
    assert f"{grafana.url}/api/annotations" in out
    assert '"deployment"' in out


def test_missing_token_is_a_clear_error(
    grafana: RecordingServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    assert _cli(grafana.url) == 2
    assert "GRAFANA_TOKEN is not set" in capsys.readouterr().err
    assert grafana.state.received == []


def test_the_token_cannot_be_given_as_an_argument() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["annotate", "--service", "a", "--version", "1", "--token", "secret"])


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, "401 Unauthorized"), (403, "403 Forbidden"), (404, "404 Not Found"), (400, "HTTP 400")],
)
def test_client_errors_are_explained_and_not_retried(
    grafana: RecordingServer, token: str, capsys: pytest.CaptureFixture[str], status: int, expected: str
) -> None:
    grafana.state.answers = [(status, {"message": "nope"})]
    assert _cli(grafana.url) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "fix:" in err or status == 400
    assert len(grafana.state.received) == 1


def test_5xx_is_retried_with_exponential_backoff(grafana: RecordingServer, token: str) -> None:
    grafana.state.answers = [(503, {}), (502, {}), (200, {"id": 7})]
    sleeps: list[float] = []
    body = annotate.Deployment("api", "2.0.0").payload(1_700_000_000_000)
    answer = annotate.post(grafana.url, token, body, backoff=0.5, sleep=sleeps.append)
    assert answer["id"] == 7
    assert sleeps == [0.5, 1.0]
    assert len(grafana.state.received) == 3
    assert all(r.body == body for r in grafana.state.received)


def test_503_gives_up_after_the_retries(grafana: RecordingServer, token: str) -> None:
    grafana.state.answers = [(503, {"message": "database is locked"})]
    sleeps: list[float] = []
    body = annotate.Deployment("api", "2.0.0").payload(1)
    with pytest.raises(ObsError, match=r"HTTP 503.*database is locked"):
        annotate.post(grafana.url, token, body, retries=2, backoff=0.1, sleep=sleeps.append)
    assert len(grafana.state.received) == 3
    assert sleeps == [0.1, 0.2]


def test_500_is_not_sent_twice(grafana: RecordingServer, token: str) -> None:
    """A 500 means Grafana failed while handling the write: sending it again could draw it twice."""
    grafana.state.answers = [(500, {"message": "internal"}), (200, {"id": 1})]
    with pytest.raises(ObsError, match=r"HTTP 500"):
        annotate.post(grafana.url, token, annotate.Deployment("api", "2.0.0").payload(1), sleep=lambda _s: None)
    assert len(grafana.state.received) == 1


def test_timeout_is_reported_after_the_retries(grafana: RecordingServer, token: str) -> None:
    grafana.state.delay = 2.0
    sleeps: list[float] = []
    with pytest.raises(ObsError, match=r"no answer within 0\.2s") as err:
        annotate.post(
            grafana.url,
            token,
            annotate.Deployment("api", "2.0.0").payload(1),
            timeout=0.2,
            retries=1,
            sleep=sleeps.append,
        )
    assert err.value.fix and "--timeout" in err.value.fix
    assert sleeps == [1.0]
    deadline = time.monotonic() + 2
    while len(grafana.state.received) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(grafana.state.received) == 2


def test_timeout_through_the_cli_exits_2(
    grafana: RecordingServer, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    grafana.state.delay = 2.0
    assert _cli(grafana.url, "--timeout", "0.2", "--retries", "0") == 2
    assert "no answer within 0.2s" in capsys.readouterr().err


def test_unreachable_grafana_is_reported(token: str, capsys: pytest.CaptureFixture[str]) -> None:
    with RecordingServer() as server:
        url = server.url
    assert _cli(url, "--retries", "0") == 2
    err = capsys.readouterr().err
    assert f"Grafana at {url}/api/annotations: cannot connect" in err
    assert "WireGuard" in err


def test_annotate_goes_through_the_clients_layer(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    """annotate has no HTTP code of its own: the Grafana client's POST is what reaches the server."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def recording_create(url: str, _token: str, body: dict[str, Any], **_kw: Any) -> dict[str, Any]:
        calls.append((url, body))
        return {"id": 3}

    monkeypatch.setattr(grafana_client, "create_annotation", recording_create)
    assert _cli("http://grafana.invalid:3000") == 0
    assert calls and calls[0][0] == "http://grafana.invalid:3000"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"service": "", "version": "1"}, "--service must not be empty"),
        ({"service": "a,b", "version": "1"}, "contains a comma"),
        ({"service": "a", "version": "1", "duration_seconds": -5}, "negative"),
    ],
)
def test_bad_input_is_rejected(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ObsError, match=message):
        annotate.Deployment(**kwargs)


def test_url_must_be_http() -> None:
    with pytest.raises(ObsError, match="not an http"):
        annotate.endpoint("grafana.local:3000")
