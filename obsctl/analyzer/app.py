"""The analyzer's HTTP face (FastAPI): ``POST /webhook``, ``GET /metrics``, ``GET /healthz``.

``POST /webhook`` answers at once and analyses later (background worker, persistent queue):

- 401 without the credential (Bearer token, or Basic auth with the token as password; compared
  in constant time) — checked before the body is read;
- 413 when the body is larger than ``max_body`` (announced by Content-Length or found while
  reading: never more than ``max_body`` + 1 bytes are held);
- 422 when the body is not one of the two documented payloads: ``detail`` names each field;
- 503 with ``Retry-After`` when the queue is full (Grafana and Alertmanager retry; nothing is
  dropped silently);
- 202 once the body is committed to the queue: from then on it survives a restart.

``/metrics`` and ``/healthz`` are read by Prometheus and the container's health check on the
monitoring network and carry no alert data; they need no credential.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from obsctl.analyzer.metrics import CONTENT_TYPE
from obsctl.analyzer.payload import PayloadError, parse
from obsctl.analyzer.service import Analyzer
from obsctl.incidents.store import QueueFull

RETRY_AFTER_SECONDS = 30


def authorized(header: str, token: str, user: str) -> bool:
    """Bearer <token>, or Basic base64(<user>:<token>); constant-time comparisons."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return hmac.compare_digest(value.encode(), token.encode())
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        name, _, password = decoded.partition(":")
        same_user = hmac.compare_digest(name.encode(), user.encode())
        same_password = hmac.compare_digest(password.encode(), token.encode())
        return same_user and same_password
    return False


def create_app(
    analyzer: Analyzer, *, token: str, user: str = "analyzer", max_body: int, worker: bool = True
) -> FastAPI:
    """``worker=False`` leaves the queue to the caller (tests call ``analyzer.process_pending``)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        thread = threading.Thread(target=analyzer.run, args=(stop,), name="analyzer-worker", daemon=True)
        if worker:
            thread.start()
        yield
        stop.set()
        analyzer.wake.set()
        if worker:
            await asyncio.to_thread(thread.join, 30)

    app = FastAPI(title="obsctl incident analyzer", lifespan=lifespan, docs_url=None, redoc_url=None)
    metrics = analyzer.metrics

    def answer(code: int, body: Mapping[str, object], headers: dict[str, str] | None = None) -> JSONResponse:
        metrics.webhooks.labels(code=str(code)).inc()
        return JSONResponse(dict(body), status_code=code, headers=headers)

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        if not authorized(request.headers.get("authorization", ""), token, user):
            return answer(
                401,
                {"detail": "missing or wrong credential: send Authorization: Bearer <token> or Basic auth"},
                {"WWW-Authenticate": 'Bearer realm="analyzer", Basic realm="analyzer"'},
            )
        too_large = {"detail": f"body larger than {max_body} bytes (OBS_ANALYZER_MAX_BODY)"}
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            return answer(413, too_large)
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > max_body:
                return answer(413, too_large)
        try:
            payload = parse(bytes(body))
        except PayloadError as exc:
            return answer(422, {"detail": exc.fields})
        try:
            queue_id = await asyncio.to_thread(analyzer.intake.put, payload.source(), body.decode())
        except QueueFull as exc:
            return answer(503, {"detail": exc.message}, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        analyzer.wake.set()
        return answer(202, {"status": "accepted", "queue_id": queue_id, "alerts": len(payload.alerts)})

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/healthz")
    def healthz() -> dict[str, object]:
        return {"status": "ok", "queue_depth": analyzer.intake.depth()}

    return app
