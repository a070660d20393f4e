"""Discord limits, redaction, the evidence pack's bounds, the owner map and the answer schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from obsctl.analyzer.evidence import MAX_PATTERNS, EvidenceCollector, EvidenceItem, EvidencePack, pattern_of
from obsctl.analyzer.llm import AnswerRejected, validate_answer
from obsctl.analyzer.owners import load_owners
from obsctl.analyzer.payload import parse
from obsctl.analyzer.redact import redact, redact_tree
from obsctl.analyzer.render import analysis_message
from obsctl.clients.discord import LIMITS
from obsctl.clients.loki import LokiClient
from obsctl.clients.prometheus import PrometheusClient
from obsctl.errors import ObsError
from obsctl.incidents.store import IncidentStore, NewAlert
from tests.unit.analyzer_support import OWNER_ROLE, UpstreamTestDouble, fixture, start_of, valid_answer

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def pack_of(*items: EvidenceItem) -> EvidencePack:
    return EvidencePack(T0, T0, T0, list(items))


def test_the_analysis_message_fits_every_discord_limit(tmp_path: Path) -> None:
    alert = parse(json.dumps(fixture("grafana_webhook.json"))).alerts[0]
    with IncidentStore(tmp_path / "i.db") as store:
        incident, _ = store.open_or_update(
            NewAlert("k", "HighErrorRate" * 40, "P1", alert.starts_at, service="chat" * 30)
        )
    huge = "word " * 3000
    analysis = {
        "summary": huge,
        "probable_cause": {"text": huge, "evidence": ["A1"]},
        "impact": {"text": huge, "evidence": ["A1"]},
        "actions": [{"text": huge, "evidence": ["A1"]}] * 10,
        "confidence": "low",
    }
    items = [EvidenceItem(f"M{n}", "metric", "signal " * 20, huge[:900]) for n in range(1, 40)]
    owners = load_owners(None)
    message = analysis_message(
        incident, alert, analysis, pack_of(*items), owner=owners.owner_of("chat"), footer_text="f" * 3000
    )
    body = message.to_json()
    embed = body["embeds"][0]
    assert len(body["content"]) <= LIMITS.content
    assert len(embed["title"]) <= LIMITS.title
    assert len(embed["description"]) <= LIMITS.description
    assert len(embed["fields"]) <= LIMITS.fields
    assert all(len(f["value"]) <= LIMITS.field_value and len(f["name"]) <= LIMITS.field_name for f in embed["fields"])
    total = len(embed["title"]) + len(embed["description"]) + len(embed.get("footer", {}).get("text", ""))
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert total <= LIMITS.total
    assert embed["title"].endswith("…")  # truncated visibly, not cut silently
    # What matters most survives a long answer: the summary, the cause, the owner mention.
    assert embed["description"].startswith("word word") and embed["description"].endswith("…")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Probable cause"].startswith("word word")
    assert fields["Links"].startswith("[dashboard](https://grafana.example.org/d/http-red)")


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        ("Authorization: Bearer abcdef123456789xyz", "abcdef123456789xyz", "token"),
        ("url=https://admin:hunter2@db.internal:5432/app", "hunter2", "credentials"),
        ("password=Sup3rS3cret! retry", "Sup3rS3cret!", "secret"),
        ('{"api_key": "k-9f8e7d6c5b4a"}', "k-9f8e7d6c5b4a", "secret"),
        ("login failed for jane.doe@example.com", "jane.doe@example.com", "email"),
        ("card 4111 1111 1111 1111 declined", "4111 1111 1111 1111", "card"),
        ("call +49 170 1234567 now", "+49 170 1234567", "phone"),
        ("using AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "aws-key"),
        ("key sk-ant-api03-abcdefghijklmnopqrstuvwx", "sk-ant-api03-abcdefghijklmnopqrstuvwx", "api-key"),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "eyJzdWIi",
            "jwt",
        ),
        ("post to https://discord.com/api/webhooks/123/AbC-dEf_ghi", "AbC-dEf_ghi", "discord-webhook"),
        ("IBAN DE89 3704 0044 0532 0130 00 refused", "DE89 3704 0044 0532 0130 00", "iban"),
    ],
)
def test_secrets_and_personal_data_are_redacted(text: str, secret: str, kind: str) -> None:
    out = redact(text)
    assert secret not in out
    assert f"[REDACTED:{kind}]" in out


def test_redaction_keeps_what_is_not_secret() -> None:
    text = f"<@&{OWNER_ROLE}> chat 5xx ratio 0.12 at 2026-12-01T08:00:00Z, order 4111111111111112 (not Luhn)"
    assert redact(text) == text
    nested = redact_tree({"lines": ["token=abc123def"], "n": 3})
    assert nested == {"lines": ["token=[REDACTED:secret]"], "n": 3}


def test_the_evidence_pack_redacts_log_lines_and_bounds_the_patterns() -> None:
    lines = [f"ERROR user{n}@example.com: failure kind {chr(65 + n % 26)}{'x' * n} id={n}" for n in range(60)]
    lines += ["ERROR db password=hunter2 rejected, attempt 3"] * 5
    double = UpstreamTestDouble(alert_start=start_of("grafana_webhook.json"), error_lines=lines)
    alert = parse(json.dumps(fixture("grafana_webhook.json"))).alerts[0]
    collector = EvidenceCollector(
        PrometheusClient("http://prometheus.test", transport=double.transport()),
        LokiClient("http://loki.test", transport=double.transport()),
        None,
    )
    pack = collector.collect(alert)
    logs = pack.of_kind("logs")
    assert len(logs) == MAX_PATTERNS
    assert logs[0].data["count"] == 5  # the repeated line, grouped, first
    assert logs[0].detail == "ERROR db password=[REDACTED:secret] rejected, attempt 3"
    text = json.dumps(pack.to_json())
    assert "hunter2" not in text and "@example.com" not in text
    assert pack.errors == ["Grafana annotations: not configured"]
    assert len({item.id for item in pack.items}) == len(pack.items)  # ids are unique
    loki = next(r for r in double.seen if r.url.host == "loki.test")
    assert loki.url.params["query"] == '{level=~"ERROR|error",app="chat"}'


def test_log_patterns_replace_variable_parts() -> None:
    a = pattern_of("2026-12-01T08:00:01Z request 5f0c7a2e-1b2c-4d5e-8f90-123456789abc failed after 300 ms")
    b = pattern_of("2026-12-01T08:07:44Z request 0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0 failed after 12 ms")
    assert a == b == "<time> request <uuid> failed after <n> ms"


def test_an_answer_citing_unknown_evidence_or_breaking_the_schema_is_rejected() -> None:
    pack = pack_of(EvidenceItem("A1", "alert", "a", "b"), EvidenceItem("D1", "deploy", "d", "e"))
    assert validate_answer(json.dumps(valid_answer(["D1"])), pack).probable_cause.evidence == ["D1"]
    assert validate_answer("```json\n" + json.dumps(valid_answer(["D1"])) + "\n```", pack).confidence == "medium"
    with pytest.raises(AnswerRejected, match="does not hold: M7"):
        validate_answer(json.dumps(valid_answer(["M7"])), pack)
    no_refs = valid_answer(["D1"])
    no_refs["impact"]["evidence"] = []
    with pytest.raises(AnswerRejected, match=r"impact\.evidence"):
        validate_answer(json.dumps(no_refs), pack)
    with pytest.raises(AnswerRejected, match="confidence"):
        validate_answer(json.dumps({**valid_answer(["D1"]), "confidence": "certain"}), pack)
    with pytest.raises(AnswerRejected, match="schema"):
        validate_answer("The cause is probably the deploy.", pack)


def test_the_owner_map_is_validated_when_loaded(tmp_path: Path) -> None:
    good = tmp_path / "owners.yml"
    good.write_text(f'default: "user:{OWNER_ROLE}"\nservices:\n  chat: "role:{OWNER_ROLE}"\n', encoding="utf-8")
    owners = load_owners(good)
    assert owners.owner_of("chat").mention == f"<@&{OWNER_ROLE}>"  # type: ignore[union-attr]
    assert owners.owner_of("other").mention == f"<@{OWNER_ROLE}>"  # type: ignore[union-attr]
    bad = tmp_path / "bad.yml"
    bad.write_text('services:\n  chat: "@chat-team"\n', encoding="utf-8")
    with pytest.raises(ObsError) as exc:
        load_owners(bad)
    assert "services.chat" in str(exc.value) and "role:" in str(exc.value)
