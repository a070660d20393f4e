"""TEST DOUBLES for the lab drills, named as such everywhere they appear: nothing here is a provider.

The end-to-end drill needs two outside services the lab cannot reach: an LLM provider and Discord.
Both are stood in for by small HTTP servers on this machine (the lab's operator peer), which mon-1
reaches through the tunnel, as it would reach the real ones through its internet gateway:

* :class:`LlmTestDouble` speaks Anthropic's Messages API as documented (``POST /v1/messages`` with
  ``x-api-key`` and ``anthropic-version``; answer ``{content: [{type: text, text}], usage}``), the
  shape :class:`obsctl.clients.llm.LlmClient` sends and parses. It does not reason: it reads the
  evidence ids the analyzer put in the prompt (``[M1] (metric) ...``) and answers the analyzer's JSON
  schema citing them, with a summary that names itself (:data:`SUMMARY_MARK`), so a drill can tell
  its answer reached Discord and which evidence it cited.
* :class:`DiscordCapture` records every webhook POST (path, JSON body, arrival time) and answers like
  Discord's ``?wait=true`` (the created message with an id). It stands for Discord for the analyzer
  and for the Alertmanager that stands in for Grafana's alerting.

Every request is kept (``requests``) with its arrival time on this machine's clock: the P1 drill
measures from the moment it stopped the service to the moment the notification arrived here.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from obsctl.clients.llm import ANTHROPIC_VERSION

# Written into every answer of the LLM test double: the drill finds it in the Discord message.
SUMMARY_MARK = "[LLM TEST DOUBLE]"
_EVIDENCE_ID = re.compile(r"^\[([A-Z][0-9]+)\] \((\w+)\)", re.MULTILINE)
_MAX_BODY = 4 * 1024 * 1024


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any  # decoded JSON (None when the body was not JSON)
    at: float  # time.time() on arrival


@dataclass
class _Server:
    """One threaded HTTP server on ``host:port`` (0: a free port) answering with ``answer``."""

    name: str
    host: str
    port: int
    answer: Callable[[str, dict[str, str], Any], tuple[int, Any]]
    requests: list[Recorded] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > _MAX_BODY:
                    self._reply(413, {"error": f"{server.name}: body over {_MAX_BODY} bytes"})
                    return
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Recorded(self.path, headers, body, time.time()))
                status, answer = server.answer(self.path, headers, body)
                self._reply(status, answer)

            def _reply(self, status: int, answer: Any) -> None:  # noqa: ANN401 - JSON value
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: ANN401 - stdlib signature
                return

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = int(self._httpd.server_address[1])
        threading.Thread(target=self._httpd.serve_forever, name=self.name, daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def seen(self) -> list[Recorded]:
        with self._lock:
            return list(self.requests)


def evidence_ids(prompt: str) -> list[tuple[str, str]]:
    """(id, kind) of every evidence line of the analyzer's prompt, in order (pure: unit-tested)."""
    return _EVIDENCE_ID.findall(prompt)


def canned_analysis(prompt: str) -> dict[str, Any]:
    """The test double's answer to one prompt: schema-valid, citing only ids the prompt holds."""
    found = evidence_ids(prompt)
    ids = [i for i, _ in found]
    metrics = [i for i, kind in found if kind == "metric"] or ids[:1]
    alert_line = next((line for line in prompt.splitlines() if line.startswith("Alert: ")), "Alert: ?")
    cause = metrics[:3] or ["A1"]
    return {
        "summary": f"{SUMMARY_MARK} {alert_line[len('Alert: ') :]}: {len(ids)} evidence items received",
        "probable_cause": {"text": "the test double cites the first metric evidence it was given", "evidence": cause},
        "impact": {"text": "the test double cites the first evidence item", "evidence": ids[:1] or cause},
        "actions": [{"text": "none: this answer comes from the lab's LLM test double", "evidence": cause[:1]}],
        "confidence": "low",
    }


class LlmTestDouble(_Server):
    """Anthropic Messages API test double (see the module docstring)."""

    def __init__(self, host: str, port: int = 0, api_key: str = "") -> None:
        super().__init__("llm-test-double", host, port, self._answer)
        self.api_key = api_key

    def _answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:  # noqa: ANN401
        if path.split("?", 1)[0] != "/v1/messages":
            return 404, {"type": "error", "error": {"type": "not_found_error", "message": f"no route {path}"}}
        if self.api_key and headers.get("x-api-key") != self.api_key:
            return 401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
        if headers.get("anthropic-version") != ANTHROPIC_VERSION or not isinstance(body, dict):
            return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": "bad request"}}
        prompt = "".join(
            str(m.get("content", ""))
            for m in body.get("messages", [])
            if isinstance(m, dict) and m.get("role") == "user"
        )
        text = json.dumps(canned_analysis(prompt))
        return 200, {
            "id": f"msg_test_double_{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": str(body.get("model", "")),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": len(prompt) // 4, "output_tokens": len(text) // 4},
        }

    def prompts(self) -> list[str]:
        return [
            "".join(str(m.get("content", "")) for m in r.body.get("messages", []) if isinstance(m, dict))
            for r in self.seen()
            if isinstance(r.body, dict)
        ]


class DiscordCapture(_Server):
    """Discord webhook capture server (see the module docstring): every POST is kept."""

    def __init__(self, host: str, port: int = 0) -> None:
        super().__init__("discord-capture", host, port, self._answer)
        self._next_id = 1_100_000_000_000_000_000

    def _answer(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:  # noqa: ANN401
        if not path.startswith("/api/webhooks/"):
            return 404, {"message": f"discord capture: no route {path}", "code": 0}
        self._next_id += 1
        return 200, {"id": str(self._next_id), "type": 0, "content": (body or {}).get("content", "")}
