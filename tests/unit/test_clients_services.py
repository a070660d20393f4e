"""Loki, Alertmanager and Grafana clients against httpx test-double transports.

The answers below follow the documented shapes (Loki's HTTP API reference for
``/loki/api/v1/series`` and ``query_range``; Alertmanager's ``api/v2/openapi.yaml``; Grafana's
annotations API). What is checked is the request each client sends and how it reads the answer,
not a real server (Loki and Grafana cannot run on this machine; tests/integration covers
Prometheus and Alertmanager for real where their binaries exist).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from obsctl.clients import grafana
from obsctl.clients.alertmanager import GRAFANA_PREFIX, AlertmanagerClient, Matcher, parse_time
from obsctl.clients.http import ClientError
from obsctl.clients.loki import LokiClient
from obsctl.errors import ObsError


def recording(answers: list[httpx.Response], seen: list[httpx.Request]) -> httpx.MockTransport:
    """Test double: answers the queued responses in order and records every request."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return httpx.MockTransport(handler)


# -- Loki -----------------------------------------------------------------------------------------


def test_loki_series_sends_selector_and_nanoseconds() -> None:
    seen: list[httpx.Request] = []
    body = {"status": "success", "data": [{"host": "web-1", "job": "journal"}]}
    client = LokiClient("http://loki.test:3100", retries=0, transport=recording([httpx.Response(200, json=body)], seen))
    streams = client.series('{host="web-1"}', 100.5, 200)
    assert streams == [{"host": "web-1", "job": "journal"}]
    assert seen[0].url.path == "/loki/api/v1/series"
    assert seen[0].url.params["match[]"] == '{host="web-1"}'
    assert seen[0].url.params["start"] == str(100_500_000_000)
    assert seen[0].url.params["end"] == str(200_000_000_000)


def test_loki_series_refuses_an_answer_that_is_not_loki() -> None:
    client = LokiClient(
        "http://loki.test:3100", retries=0, transport=recording([httpx.Response(200, json={"status": "error"})], [])
    )
    with pytest.raises(ClientError, match="no list of streams") as err:
        client.series("{}", 0, 1)
    assert err.value.fix and "Loki's root" in err.value.fix


def test_loki_query_range_refuses_a_metric_query() -> None:
    body = {"status": "success", "data": {"resultType": "matrix", "result": []}}
    client = LokiClient("http://loki.test:3100", retries=0, transport=recording([httpx.Response(200, json=body)], []))
    with pytest.raises(ClientError, match="streams"):
        client.query_range('rate({app="x"}[1m])', 0, 1)


# -- Alertmanager (standalone and Grafana's built-in) --------------------------------------------


def test_create_silence_posts_v2_body_once_and_returns_the_id() -> None:
    seen: list[httpx.Request] = []
    transport = recording([httpx.Response(200, json={"silenceID": "abc-123"})], seen)
    client = AlertmanagerClient("http://am.test:9093", transport=transport)
    start = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    silence_id = client.create_silence([Matcher("alertname", "HostDown")], start, start + timedelta(hours=1), "me", "x")
    assert silence_id == "abc-123"
    assert seen[0].method == "POST" and seen[0].url.path == "/api/v2/silences"
    sent = json.loads(seen[0].content)
    assert sent["matchers"] == [{"name": "alertname", "value": "HostDown", "isRegex": False, "isEqual": True}]
    assert sent["startsAt"] == "2026-11-29T09:00:00.000000Z"


def test_create_silence_is_not_retried_on_503() -> None:
    seen: list[httpx.Request] = []
    transport = recording([httpx.Response(503), httpx.Response(200, json={"silenceID": "x"})], seen)
    client = AlertmanagerClient("http://am.test:9093", transport=transport)
    start = datetime(2026, 11, 29, tzinfo=UTC)
    with pytest.raises(ClientError):
        client.create_silence([Matcher("a", "b")], start, start + timedelta(minutes=5), "me", "")
    assert len(seen) == 1


def test_silence_without_matchers_is_refused_before_any_request() -> None:
    seen: list[httpx.Request] = []
    client = AlertmanagerClient("http://am.test:9093", transport=recording([], seen))
    start = datetime(2026, 11, 29, tzinfo=UTC)
    with pytest.raises(ObsError, match="without matchers"):
        client.create_silence([], start, start + timedelta(minutes=5), "me", "")
    assert seen == []


def test_grafana_alertmanager_uses_the_prefix_and_bearer_token() -> None:
    seen: list[httpx.Request] = []
    silence = {
        "id": "s1",
        "matchers": [{"name": "__alert_rule_uid__", "value": "r1", "isRegex": False, "isEqual": True}],
        "startsAt": "2026-11-29T09:00:00.123456789Z",
        "endsAt": "2026-11-29T10:00:00Z",
        "createdBy": "bot",
        "comment": "",
        "status": {"state": "active"},
    }
    transport = recording([httpx.Response(200, json=[silence])], seen)
    client = grafana.alertmanager("http://grafana.test:3000", "tok", transport=transport)
    [got] = client.silences(state="active")
    assert seen[0].url.path == f"{GRAFANA_PREFIX}/api/v2/silences"
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert got.matchers[0].matches({"__alert_rule_uid__": "r1"})
    assert got.starts_at == parse_time("2026-11-29T09:00:00.123456Z")


def test_expire_silence_refuses_an_id_that_is_not_one() -> None:
    client = AlertmanagerClient("http://am.test:9093", transport=recording([], []))
    with pytest.raises(ObsError, match="not a silence id"):
        client.expire_silence("../../admin")


# -- Grafana annotations -------------------------------------------------------------------------


def test_create_annotation_posts_with_bearer_and_returns_the_answer() -> None:
    seen: list[httpx.Request] = []
    transport = recording([httpx.Response(200, json={"id": 9, "message": "Annotation added"})], seen)
    body = {"time": 1, "timeEnd": 2, "tags": ["deployment"], "text": "t"}
    answer = grafana.create_annotation("http://grafana.test:3000/", "tok", body, transport=transport)
    assert answer["id"] == 9
    assert seen[0].method == "POST" and str(seen[0].url) == "http://grafana.test:3000/api/annotations"
    assert seen[0].headers["Authorization"] == "Bearer tok"
    assert json.loads(seen[0].content) == body


def test_create_annotation_retries_503_but_not_401() -> None:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []
    transport = recording([httpx.Response(503), httpx.Response(200, json={"id": 1})], seen)
    grafana.create_annotation("http://g.test", "t", {}, transport=transport, sleep=sleeps.append, backoff=0.25)
    assert len(seen) == 2 and sleeps == [0.25]

    seen.clear()
    transport = recording([httpx.Response(401, json={"message": "invalid API key"})], seen)
    with pytest.raises(ClientError, match="HTTP 401") as err:
        grafana.create_annotation("http://g.test", "t", {}, transport=transport, sleep=sleeps.append)
    assert len(seen) == 1 and err.value.status == 401
