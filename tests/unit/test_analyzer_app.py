"""The webhook through FastAPI's TestClient: 401/413/422/202/503, the persistent queue, /metrics."""

from __future__ import annotations

import base64
import time
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    # Starlette 1.x announces, on import, a move of its TestClient to `httpx2`; it still drives the app.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

from obsctl.analyzer.app import authorized, create_app
from obsctl.analyzer.service import Analyzer
from obsctl.incidents.store import IncidentStore
from tests.unit.analyzer_support import TOKEN, UpstreamTestDouble, analyzer, body, start_of

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def client_for(service: Analyzer, max_body: int = 64 * 1024) -> TestClient:
    return TestClient(create_app(service, token=TOKEN, user="grafana", max_body=max_body, worker=False))


@pytest.fixture
def service(tmp_path: Path) -> Analyzer:
    return analyzer(tmp_path, UpstreamTestDouble())


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Basic " + base64.b64encode(f"grafana:{TOKEN}x".encode()).decode()},
        {"Authorization": "Basic " + base64.b64encode(f"someone:{TOKEN}".encode()).decode()},
        {"Authorization": "Basic !!notbase64"},
        {"Authorization": TOKEN},
    ],
)
def test_a_request_without_the_credential_is_401_and_queues_nothing(service: Analyzer, headers: dict[str, str]) -> None:
    with client_for(service) as client:
        response = client.post("/webhook", content=body("grafana_webhook.json"), headers=headers)
    assert response.status_code == 401
    assert "Bearer" in response.headers["www-authenticate"]
    assert service.queue.depth() == 0


def test_bearer_and_basic_auth_are_accepted_with_202(service: Analyzer) -> None:
    basic = {"Authorization": "Basic " + base64.b64encode(f"grafana:{TOKEN}".encode()).decode()}
    with client_for(service) as client:
        first = client.post("/webhook", content=body("grafana_webhook.json"), headers=BEARER)
        second = client.post("/webhook", content=body("alertmanager_webhook.json"), headers=basic)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["status"] == "accepted"
    assert service.queue.depth() == 2
    assert authorized(f"bearer {TOKEN}", TOKEN, "grafana")  # the scheme is case-insensitive


def test_a_malformed_payload_is_422_naming_the_field(service: Analyzer) -> None:
    def drop_start(data: dict) -> None:  # type: ignore[type-arg]
        del data["alerts"][0]["startsAt"]

    with client_for(service) as client:
        response = client.post("/webhook", content=body("alertmanager_webhook.json", drop_start), headers=BEARER)
    assert response.status_code == 422
    assert {"field": "alerts[0].startsAt", "error": "required field is missing"} in response.json()["detail"]
    assert service.queue.depth() == 0


def test_an_oversized_body_is_413_whether_announced_or_streamed(service: Analyzer) -> None:
    big = body("grafana_webhook.json", lambda d: d.update(message="x" * 5000))
    with client_for(service, max_body=4096) as client:
        announced = client.post("/webhook", content=big, headers=BEARER)

        def chunks():
            yield big[:3000]
            yield big[3000:]

        streamed = client.post("/webhook", content=chunks(), headers=BEARER)
        small = client.post("/webhook", content=body("grafana_webhook.json"), headers=BEARER)
    assert announced.status_code == 413
    assert streamed.status_code == 413
    assert small.status_code == 202
    assert service.queue.depth() == 1


def test_a_full_queue_answers_503_with_retry_after_and_drops_nothing(tmp_path: Path) -> None:
    service = analyzer(tmp_path, UpstreamTestDouble(), queue_capacity=2)
    with client_for(service) as client:
        codes = [client.post("/webhook", content=body("grafana_webhook.json"), headers=BEARER) for _ in range(3)]
    assert [r.status_code for r in codes] == [202, 202, 503]
    assert int(codes[2].headers["retry-after"]) > 0
    assert service.queue.depth() == 2


def test_an_accepted_alert_survives_a_restart_and_is_processed_by_the_next_process(tmp_path: Path) -> None:
    double = UpstreamTestDouble(alert_start=start_of("alertmanager_webhook.json"))
    first = analyzer(tmp_path, double, providers=())
    with client_for(first) as client:
        assert client.post("/webhook", content=body("alertmanager_webhook.json"), headers=BEARER).status_code == 202
    claimed = first.queue.claim()  # the first process took it and died before finishing
    assert claimed is not None
    first.close()

    second = analyzer(tmp_path, double, providers=())  # a new process on the same file
    assert second.queue.depth() == 1
    with client_for(second):
        assert second.process_pending() == 1
    assert second.queue.depth() == 0
    with IncidentStore(tmp_path / "incidents.db") as store:
        incidents = store.list()
    assert [(i.alertname, i.outcome) for i in incidents] == [("ProbeFailure", "deterministic")]
    assert len(double.discord_bodies) == 1


def test_metrics_expose_queue_depth_webhook_codes_and_analyses(service: Analyzer) -> None:
    with client_for(service) as client:
        client.post("/webhook", content=body("grafana_webhook.json"), headers=BEARER)
        client.post("/webhook", content=b"{}", headers=BEARER)
        text = client.get("/metrics").text
        health = client.get("/healthz").json()
    assert "obs_analyzer_queue_depth 1.0" in text
    assert 'obs_analyzer_webhook_requests_total{code="202"} 1.0' in text
    assert 'obs_analyzer_webhook_requests_total{code="422"} 1.0' in text
    assert 'obs_analyzer_analyses_total{outcome="llm"} 0.0' in text
    assert health == {"status": "ok", "queue_depth": 1}


def test_the_background_worker_processes_what_the_webhook_accepted(tmp_path: Path) -> None:
    double = UpstreamTestDouble(alert_start=start_of("alertmanager_webhook.json"))
    service = analyzer(tmp_path, double, providers=())
    app = create_app(service, token=TOKEN, user="grafana", max_body=64 * 1024, worker=True)
    with TestClient(app) as client:  # the lifespan starts the worker thread and stops it on exit
        assert client.post("/webhook", content=body("alertmanager_webhook.json"), headers=BEARER).status_code == 202
        deadline = time.monotonic() + 5
        while service.queue.depth() and time.monotonic() < deadline:
            time.sleep(0.02)
    assert service.queue.depth() == 0
    assert [i.outcome for i in service.store.list()] == ["deterministic"]
    assert len(double.discord_bodies) == 1
