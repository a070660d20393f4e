"""Webhook payloads in the documented Grafana and Alertmanager shapes, and the dedup key."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from obsctl.analyzer.payload import PayloadError, dedup_key, parse
from tests.unit.analyzer_support import fixture


def test_grafana_payload_with_values_dashboard_and_panel_urls() -> None:
    payload = parse(json.dumps(fixture("grafana_webhook.json")))
    alert = payload.alerts[0]
    assert payload.source() == "grafana"
    assert payload.org_id == 1
    assert payload.group_key == '{}:{alertname="HighErrorRate"}'
    assert alert.dashboard_url == "https://grafana.example.org/d/http-red"
    assert alert.panel_url.endswith("viewPanel=3")
    assert alert.values == {"B": 0.1223, "C": 1}
    assert alert.value_text() == "B=0.1223, C=1"
    assert alert.starts_at == datetime(2026, 12, 1, 7, 51, 3, 157076, tzinfo=UTC)
    assert alert.ended_at is None  # "0001-01-01T00:00:00Z" means still firing
    assert alert.identity() == "c6eadffa33fcdf37"


def test_older_grafana_payload_with_value_string() -> None:
    payload = parse(json.dumps(fixture("grafana_webhook_valuestring.json")))
    alert = payload.alerts[0]
    assert payload.source() == "grafana"
    assert alert.values is None
    assert alert.value_text() == "[ metric='' labels={} value=14151.331895396988 ]"


def test_alertmanager_v4_payload() -> None:
    payload = parse(json.dumps(fixture("alertmanager_webhook.json")))
    assert payload.source() == "alertmanager"
    assert payload.version == "4"
    assert payload.truncated_alerts == 0
    assert payload.common_annotations["summary"].startswith("BlackBox Probe Failure")
    assert payload.alerts[0].labels["severity"] == "P2"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["alerts"][0].pop("startsAt"), "alerts[0].startsAt"),
        (lambda d: d["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
        (lambda d: d["alerts"][0].update(startsAt="2026-12-01T10:00:00"), "alerts[0].startsAt"),
        (lambda d: d["alerts"][0]["labels"].pop("alertname"), "alerts[0].labels"),
        (lambda d: d.update(status="burning"), "status"),
        (lambda d: d.update(alerts=[]), "alerts"),
        (lambda d: d["alerts"][0]["labels"].update(severity=1), "alerts[0].labels.severity"),
    ],
)
def test_a_malformed_payload_names_the_field(mutate, field: str) -> None:
    data = fixture("alertmanager_webhook.json")
    mutate(data)
    with pytest.raises(PayloadError) as exc:
        parse(json.dumps(data))
    assert field in [f["field"] for f in exc.value.fields], exc.value.fields


@pytest.mark.parametrize(("raw", "expected"), [(b"{not json", "not JSON"), (b"[1, 2]", "expected a JSON object")])
def test_a_body_that_is_no_json_object_is_refused(raw: bytes, expected: str) -> None:
    with pytest.raises(PayloadError) as exc:
        parse(raw)
    assert exc.value.fields[0]["field"] == "(body)"
    assert expected in exc.value.fields[0]["error"]


def test_dedup_key_is_stable_for_repeats_and_resolved_and_differs_by_episode() -> None:
    firing = fixture("grafana_webhook.json")
    first = parse(json.dumps(firing))
    repeat = parse(json.dumps(firing))
    resolved_doc = json.loads(json.dumps(firing))
    resolved_doc["status"] = "resolved"
    resolved_doc["alerts"][0].update(status="resolved", endsAt="2026-12-01T08:20:00Z")
    resolved = parse(json.dumps(resolved_doc))
    key = dedup_key(first.group(), first.alerts[0])
    assert key == dedup_key(repeat.group(), repeat.alerts[0]) == dedup_key(resolved.group(), resolved.alerts[0])
    later_doc = json.loads(json.dumps(firing))
    later_doc["alerts"][0]["startsAt"] = "2026-12-01T11:00:00Z"  # a new firing episode
    later = parse(json.dumps(later_doc))
    other_fp = json.loads(json.dumps(firing))
    other_fp["alerts"][0]["fingerprint"] = "0000000000000001"
    other = parse(json.dumps(other_fp))
    assert dedup_key(later.group(), later.alerts[0]) != key
    assert dedup_key(other.group(), other.alerts[0]) != key
    assert dedup_key("another group", first.alerts[0]) != key
