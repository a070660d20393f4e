"""The bot's command logic without Discord: durations, roles, confirmation, ack, /status, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from obsctl.bot.core import ChatOps, Member, Rule, format_duration, parse_duration
from obsctl.clients.discord import LIMITS
from obsctl.clients.prometheus import PrometheusClient
from obsctl.errors import ObsError
from obsctl.incidents.store import NewAlert
from tests.unit.bot_support import ALICE, BOB, OPERATOR_ROLE, AlertmanagerTestDouble, make_chatops

T0 = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


@pytest.fixture
def double() -> AlertmanagerTestDouble:
    return AlertmanagerTestDouble()


@pytest.fixture
def bot(tmp_path: Path, double: AlertmanagerTestDouble) -> ChatOps:
    return make_chatops(tmp_path, double, max_silence=timedelta(hours=24))


def _incident(bot: ChatOps, name: str = "Scraped service down", key: str = "g|fp|t0") -> int:
    incident, _ = bot.store.open_or_update(
        NewAlert(
            dedup_key=key,
            alertname=name,
            severity="P1",
            started_at=T0,
            service="api",
            labels={"alertname": name, "instance": "app-1:8080", "job": "api", "severity": "P1"},
        )
    )
    return incident.id


@pytest.mark.parametrize(("text", "minutes"), [("30m", 30), ("2h", 120), ("1d", 1440), ("1h30m", 90), (" 45M ", 45)])
def test_durations_parse_strictly(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)
    assert parse_duration(format_duration(timedelta(minutes=minutes))) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "30", "2 h", "1.5h", "30s", "-1h", "h", "0m", "1w", "30m2h", "tomorrow"])
def test_bad_durations_are_refused_with_the_accepted_form(text: str) -> None:
    with pytest.raises(ObsError) as caught:
        parse_duration(text)
    assert caught.value.fix and ("30m" in caught.value.fix or "1m" in caught.value.fix)


def test_a_duration_over_the_maximum_names_the_maximum() -> None:
    with pytest.raises(ObsError, match="maximum 1d") as caught:
        parse_duration("25h", timedelta(hours=24))
    assert "at most 1d" in str(caught.value.fix)


def test_silence_changes_nothing_until_the_same_operator_confirms(bot: ChatOps, double: AlertmanagerTestDouble) -> None:
    asked = bot.request_silence(ALICE, "service-down", "30m", "planned restart")
    assert asked.ok and asked.confirm_token and asked.ephemeral
    assert "Scraped service down" in asked.text and 'alertname="Scraped service down"' in asked.text
    assert double.changes() == []  # nothing before the button
    stolen = bot.confirm(Member("999", "Mallory", (OPERATOR_ROLE,)), asked.confirm_token)
    assert not stolen.ok and "only the member who asked" in stolen.text
    assert double.changes() == []
    done = bot.confirm(ALICE, asked.confirm_token)
    assert done.ok, done.text
    (silence,) = double.silences.values()
    assert {(m["name"], m["value"]) for m in silence["matchers"]} == {
        ("alertname", "Scraped service down"),
        ("__alert_rule_uid__", "service-down"),
    }
    length = datetime.fromisoformat(silence["endsAt"]) - datetime.fromisoformat(silence["startsAt"])
    assert length == timedelta(minutes=30)
    assert silence["createdBy"] == "Alice" and "planned restart" in silence["comment"]
    assert silence["id"] in done.text
    # used once: a second press does nothing
    again = bot.confirm(ALICE, asked.confirm_token)
    assert not again.ok and "expired or was already used" in again.text
    assert len(double.silences) == 1
    (entry,) = bot.store.audit_entries()
    assert entry.action == "silence" and silence["id"] in entry.detail and "Alice" in entry.actor


def test_a_member_without_the_role_cannot_change_anything(bot: ChatOps, double: AlertmanagerTestDouble) -> None:
    incident_id = _incident(bot)
    for reply in (
        bot.request_silence(BOB, "service-down", "30m"),
        bot.request_unsilence(BOB, "0123456789abcdef"),
        bot.ack(BOB, str(incident_id)),
    ):
        assert not reply.ok and not reply.confirm_token
        assert "you may read but not" in reply.text and OPERATOR_ROLE in reply.text
        assert "➡️" in reply.text  # says what to do
    assert double.requests == []
    assert bot.store.get(incident_id).acked_by is None  # type: ignore[union-attr]
    assert bot.store.audit_entries() == []


def test_a_role_removed_before_the_confirmation_stops_the_change(bot: ChatOps, double: AlertmanagerTestDouble) -> None:
    asked = bot.request_silence(ALICE, "service-down", "2h")
    demoted = Member(ALICE.id, ALICE.name, ())
    refused = bot.confirm(demoted, asked.confirm_token)
    assert not refused.ok and "you may read but not" in refused.text
    assert double.changes() == []


def test_a_confirmation_expires(tmp_path: Path, double: AlertmanagerTestDouble) -> None:
    now = [1000.0]
    bot = make_chatops(tmp_path, double, monotonic=lambda: now[0])
    asked = bot.request_silence(ALICE, "service-down", "30m")
    now[0] += 301
    late = bot.confirm(ALICE, asked.confirm_token)
    assert not late.ok and "expired" in late.text and "run the command again" in late.text
    assert double.changes() == []


def test_cancel_changes_nothing(bot: ChatOps, double: AlertmanagerTestDouble) -> None:
    asked = bot.request_silence(ALICE, "service-down", "30m")
    cancelled = bot.cancel(ALICE, asked.confirm_token)
    assert cancelled.ok and "nothing was changed" in cancelled.text
    assert not bot.confirm(ALICE, asked.confirm_token).ok
    assert double.changes() == []


@pytest.mark.parametrize(
    ("rule", "duration", "expect"),
    [("no-such-rule", "30m", "no alert rule 'no-such-rule'"), ("service-down", "forever", "not understood")],
)
def test_bad_silence_input_answers_with_the_fix(bot: ChatOps, rule: str, duration: str, expect: str) -> None:
    reply = bot.request_silence(ALICE, rule, duration)
    assert not reply.ok and expect in reply.text and "➡️" in reply.text and not reply.confirm_token


def test_a_rule_is_found_by_uid_or_title_in_any_case(bot: ChatOps) -> None:
    assert bot.find_rule("SERVICE-DOWN") == Rule("service-down", "Scraped service down")
    assert bot.find_rule("scraped service down").uid == "service-down"


def test_unsilence_expires_the_chosen_silence_after_confirmation(bot: ChatOps, double: AlertmanagerTestDouble) -> None:
    bot.confirm(ALICE, bot.request_silence(ALICE, "service-down", "1h").confirm_token)
    (silence_id,) = double.silences
    asked = bot.request_unsilence(ALICE, silence_id[:8])
    assert asked.confirm_token and silence_id in asked.text
    assert double.silences[silence_id]["status"]["state"] == "active"
    done = bot.confirm(ALICE, asked.confirm_token)
    assert done.ok, done.text
    assert double.silences[silence_id]["status"]["state"] == "expired"
    assert [e.action for e in bot.store.audit_entries()] == ["unsilence", "silence"]
    missing = bot.request_unsilence(ALICE, silence_id)  # expired now: not in force
    assert not missing.ok and "no single silence in force" in missing.text


def test_ack_marks_the_incident_silences_it_and_a_second_ack_names_the_first(
    bot: ChatOps, double: AlertmanagerTestDouble
) -> None:
    incident_id = _incident(bot)
    first = bot.ack(ALICE, "Scraped service down")
    assert first.ok and f"#{incident_id}" in first.text
    incident = bot.store.get(incident_id)
    assert incident is not None and incident.acked_by == "Alice"
    (silence,) = double.silences.values()
    assert silence["comment"].startswith("ACK by Alice")
    assert {"name": "instance", "value": "app-1:8080", "isRegex": False, "isEqual": True} in silence["matchers"]
    second = bot.ack(Member("480000000000000003", "Carol", (OPERATOR_ROLE,)), f"#{incident_id}")
    assert "already acknowledged by **Alice**" in second.text
    assert len(double.silences) == 1  # no second silence
    assert bot.store.get(incident_id).acked_by == "Alice"  # type: ignore[union-attr]
    actions = sorted(e.action for e in bot.store.audit_entries(incident_id))
    assert actions == ["ack", "ack-silence"]


def test_ack_of_an_unknown_alert_lists_the_open_ones(bot: ChatOps) -> None:
    incident_id = _incident(bot)
    reply = bot.ack(ALICE, "nope")
    assert not reply.ok and "no incident 'nope'" in reply.text and f"#{incident_id}" in reply.text


def test_every_change_is_annotated_and_a_failing_annotation_does_not_fail_it(
    tmp_path: Path, double: AlertmanagerTestDouble
) -> None:
    notes: list[str] = []

    def annotate(note: object) -> None:
        notes.append(note.text)  # type: ignore[attr-defined]
        raise ObsError("Grafana down")

    bot = make_chatops(tmp_path, double, annotate=annotate)
    done = bot.confirm(ALICE, bot.request_silence(ALICE, "disk-full-critical", "15m").confirm_token)
    assert done.ok
    assert len(notes) == 1 and notes[0].startswith("silence by Alice")


def test_an_unreachable_alertmanager_answers_with_what_to_do(bot: ChatOps, double: AlertmanagerTestDouble) -> None:
    asked = bot.request_silence(ALICE, "service-down", "30m")
    double.down = True
    reply = bot.confirm(ALICE, asked.confirm_token)
    assert not reply.ok and "cannot connect" in reply.text and "check that Alertmanager is up" in reply.text
    status = bot.status(BOB)  # reading still answers, part by part
    assert status.embed is not None
    values = {f.name: f.value for f in status.embed.fields}
    assert values["Alerts firing"].startswith("unknown: ") and values["Silences in force"].startswith("unknown: ")
    assert values["Open incidents"] == "none"


class PrometheusUpTestDouble:
    """Answers the instant query ``up`` with the given targets."""

    def __init__(self, targets: list[tuple[str, str, int]]) -> None:
        self.targets = targets

    def handler(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/query"
        result = [
            {"metric": {"__name__": "up", "job": j, "instance": i}, "value": [1.0, str(v)]} for j, i, v in self.targets
        ]
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "vector", "result": result}})


def test_status_shows_down_services_first_and_fits_discords_limits(
    tmp_path: Path, double: AlertmanagerTestDouble
) -> None:
    prom = PrometheusUpTestDouble([("node", "app-1:9100", 1), ("api", "app-1:8080", 0), ("api", "app-2:8080", 1)])
    prometheus = PrometheusClient("http://prometheus.test", retries=0, transport=httpx.MockTransport(prom.handler))
    bot = make_chatops(tmp_path, double, prometheus=prometheus)
    for n in range(60):  # more open incidents than one field holds
        _incident(bot, name=f"Alert number {n} with a long name to fill the field", key=f"k{n}")
    double.alerts = [
        {"labels": {"alertname": "Scraped service down", "severity": "P1"}, "status": {"state": "active"}},
        {"labels": {"alertname": "Disk above 95%", "severity": "P2"}, "status": {"state": "active"}},
        {"labels": {"alertname": "Disk above 95%", "severity": "P2"}, "status": {"state": "active"}},
    ]
    bot.confirm(ALICE, bot.request_silence(ALICE, "service-down", "1h").confirm_token)
    reply = bot.status(BOB)
    assert reply.embed is not None
    values = {f.name: f.value for f in reply.embed.fields}
    assert values["Services"].splitlines()[0].startswith("🔴 **api** 1/2 up — down: app-1:8080")
    assert "🟢 node 1/1 up" in values["Services"]
    assert "**P1**: 1" in values["Alerts firing"] and "**P2**: 2" in values["Alerts firing"]
    assert values["Open incidents"].startswith("#60 **P1** Alert number 59")  # newest first, cut at the limit
    assert values["Open incidents"].endswith("…")
    assert "Scraped service down" in values["Silences in force"]
    assert reply.embed.color == 0xE74C3C
    assert all(len(f.value) <= LIMITS.field_value for f in reply.embed.fields)  # fitted by the bot itself
    assert reply.embed.size() <= LIMITS.total
