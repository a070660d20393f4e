"""The worker end to end against test doubles (httpx MockTransport, see analyzer_support): evidence
from the catalog's queries, the LLM chain with fallback and schema rejection, budget, dedupe, the
resolved follow-up and the Discord message."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from obsctl.analyzer.llm import BudgetCaps
from obsctl.analyzer.service import Analyzer
from obsctl.incidents.store import Incident
from obsctl.signals import queries
from tests.unit.analyzer_support import (
    DISCORD_URL,
    OWNER_ROLE,
    UpstreamTestDouble,
    analyzer,
    body,
    llm_body,
    start_of,
    valid_answer,
)

GRAFANA = "grafana_webhook.json"


def double_for(**kwargs: Any) -> UpstreamTestDouble:
    return UpstreamTestDouble(alert_start=start_of(GRAFANA), **kwargs)


def receive(service: Analyzer, raw: bytes, source: str = "grafana") -> None:
    service.queue.put(source, raw.decode())
    service.process_pending()


def only_incident(service: Analyzer) -> Incident:
    incidents = service.store.list()
    assert len(incidents) == 1, incidents
    return incidents[0]


def resolved(data: dict[str, Any]) -> None:
    data["status"] = "resolved"
    data["alerts"][0].update(status="resolved", endsAt="2026-12-01T08:21:03Z")


def ok(provider: str, answer: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=llm_body(provider, json.dumps(answer)))


def test_a_p1_alert_is_analysed_once_posted_with_owner_and_evidence_and_closed_by_resolved(tmp_path: Path) -> None:
    double = double_for(
        llm_answers={"anthropic": [ok("anthropic", valid_answer(["D1", "M1"]))]},
        error_lines=["HikariPool-1 - Connection is not available, request timed out after 30000ms"] * 3,
    )
    service = analyzer(tmp_path, double)
    receive(service, body(GRAFANA))
    receive(service, body(GRAFANA))  # Grafana repeats the notification

    incident = only_incident(service)
    assert (incident.outcome, incident.provider, incident.notifications) == ("llm", "anthropic", 2)
    assert len(double.llm_requests()) == 1, "a repeat must not call the LLM again"
    # The evidence came from the catalog's expressions, now and a day earlier.
    prom = [dict(httpx.QueryParams(r.content.decode())) for r in double.seen if r.url.host == "prometheus.test"]
    assert queries.get("http_5xx_ratio").render('app="chat"') in {p["query"] for p in prom}
    starts = sorted({float(p["start"]) for p in prom})
    assert starts[1] - starts[0] == 86400.0
    assert incident.evidence is not None
    kinds = {item["id"][0] for item in incident.evidence["items"]}
    assert kinds == {"A", "M", "L", "D"}
    # What the LLM was told: the evidence ids, and no secret.
    prompt = json.loads(double.llm_requests("anthropic")[0].content)["messages"][0]["content"]
    assert "[D1] (deploy)" in prompt and "[L1] (logs)" in prompt

    message = double.discord_bodies[0]
    embed = message["embeds"][0]
    assert message["content"].startswith(f"<@&{OWNER_ROLE}>")
    assert message["allowed_mentions"] == {"parse": [], "users": [], "roles": [OWNER_ROLE]}
    assert embed["title"] == "[P1] HighErrorRate — chat"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Probable cause"] == "the 1.4.2 deployment broke the database pool [D1, M1]"
    assert "https://grafana.example.org/d/http-red" in fields["Links"]
    assert "runbooks.example.org" in fields["Links"]
    assert embed["footer"]["text"].startswith("anthropic/anthropic-model · ")
    assert embed["footer"]["text"].endswith(f"${incident.cost_usd:.4f}")
    assert incident.cost_usd == (1200 * 3.0 + 300 * 15.0) / 1_000_000
    assert incident.message_id == "msg-1"

    receive(service, body(GRAFANA, resolved))
    closed = only_incident(service)
    assert closed.status == "resolved"
    assert closed.resolved_at == datetime(2026, 12, 1, 8, 21, 3, tzinfo=UTC)
    assert len(double.llm_requests()) == 1, "the resolved follow-up must not call the LLM"
    follow_up = double.discord_bodies[1]["embeds"][0]
    assert follow_up["title"] == "[resolved] HighErrorRate — chat"
    assert "Resolved after 30.0 min" in follow_up["description"]
    assert "the 1.4.2 deployment broke the database pool" in follow_up["description"]
    receive(service, body(GRAFANA, resolved))  # Grafana repeats the resolved notice too
    assert len(double.discord_bodies) == 2
    metrics = service.metrics.render().decode()
    assert 'obs_analyzer_analyses_total{outcome="llm"} 1.0' in metrics
    assert 'obs_analyzer_analyses_total{outcome="duplicate"} 2.0' in metrics
    assert (
        'obs_analyzer_llm_tokens_used_total{model="anthropic-model",provider="anthropic",type="input"} 1200.0'
        in metrics
    )


def test_p3_and_p4_are_recorded_not_analysed_nor_posted(tmp_path: Path) -> None:
    double = double_for()
    service = analyzer(tmp_path, double)
    receive(service, body("grafana_webhook_valuestring.json"))
    incident = only_incident(service)
    assert (incident.severity, incident.outcome) == ("P3", "recorded")
    assert double.llm_requests() == []
    assert [r for r in double.seen if r.url.host != "discord.test"] == []  # not even evidence
    assert double.discord_bodies == []


def test_a_failing_provider_is_retried_once_then_the_next_one_answers(tmp_path: Path) -> None:
    double = double_for(
        llm_answers={
            "anthropic": [httpx.Response(529, json={"type": "error"}), httpx.Response(500, json={"type": "error"})],
            "openai": [ok("openai", valid_answer(["D1"]))],
        }
    )
    service = analyzer(tmp_path, double)
    receive(service, body(GRAFANA))
    incident = only_incident(service)
    assert (incident.outcome, incident.provider, incident.model) == ("llm", "openai", "openai-model")
    assert len(double.llm_requests("anthropic")) == 2
    assert len(double.llm_requests("openai")) == 1
    sent = json.loads(double.llm_requests("openai")[0].content)
    assert sent["response_format"] == {"type": "json_object"}
    assert double.llm_requests("openai")[0].headers["authorization"] == "Bearer key-openai"
    metrics = service.metrics.render().decode()
    assert (
        'obs_analyzer_llm_requests_total{model="anthropic-model",outcome="error",provider="anthropic"} 2.0' in metrics
    )


def test_an_answer_citing_unknown_evidence_is_rejected_and_ends_in_the_deterministic_summary(tmp_path: Path) -> None:
    invented = valid_answer(["D1", "M99"])  # M99 is not in the pack
    broken = {"summary": "no schema"}
    double = double_for(
        llm_answers={
            "gemini": [ok("gemini", invented), httpx.Response(200, json=llm_body("gemini", json.dumps(broken)))]
        }
    )
    service = analyzer(tmp_path, double, providers=("gemini",))
    receive(service, body(GRAFANA))
    incident = only_incident(service)
    assert incident.outcome == "deterministic"
    assert incident.analysis is not None
    assert "M99" in incident.analysis["note"] and "probable_cause" in incident.analysis["note"]
    assert incident.analysis["probable_cause"]["evidence"] == ["D1"]  # the deterministic cause: the deploy
    assert len(double.llm_requests("gemini")) == 2
    assert double.llm_requests("gemini")[0].url.path == "/v1beta/models/gemini-model:generateContent"
    footer = double.discord_bodies[0]["embeds"][0]["footer"]["text"]
    assert footer.startswith("no LLM (every provider failed")
    assert 'obs_analyzer_fallbacks_total{reason="provider_errors"} 1.0' in service.metrics.render().decode()


def test_over_budget_no_call_is_made_and_the_summary_says_why(tmp_path: Path) -> None:
    double = double_for(llm_answers={"anthropic": [ok("anthropic", valid_answer(["D1"]))]})
    caps = BudgetCaps(calls_per_hour=1, calls_per_day=10, usd_per_hour=1.0, usd_per_day=5.0)
    service = analyzer(tmp_path, double, caps=caps)
    service.chain.budget.ledger.record("anthropic", "anthropic-model", ok=True, cost_usd=0.01)  # earlier call
    receive(service, body(GRAFANA))
    incident = only_incident(service)
    assert incident.outcome == "deterministic"
    assert incident.analysis is not None
    assert incident.analysis["note"] == "over budget: hourly cap of 1 LLM calls reached"
    assert double.llm_requests() == []
    assert (
        "no LLM (over budget: hourly cap of 1 LLM calls reached)"
        in double.discord_bodies[0]["embeds"][0]["footer"]["text"]
    )


def test_the_cost_cap_counts_the_estimate_of_the_next_call(tmp_path: Path) -> None:
    double = double_for(llm_answers={"anthropic": [ok("anthropic", valid_answer(["D1"]))]})
    service = analyzer(tmp_path, double, caps=BudgetCaps(usd_per_hour=0.01, usd_per_day=5.0))
    service.chain.budget.ledger.record("anthropic", "anthropic-model", ok=True, cost_usd=0.0095)
    receive(service, body(GRAFANA))
    assert double.llm_requests() == []
    assert only_incident(service).analysis["note"].startswith("over budget: hourly cost cap of $0.01")  # type: ignore[index]


def test_without_any_provider_the_deterministic_analysis_is_still_useful(tmp_path: Path) -> None:
    double = double_for(error_lines=["ERROR order 4711 failed: timeout after 30000 ms"] * 2)
    service = analyzer(tmp_path, double, providers=())
    receive(service, body(GRAFANA))
    embed = double.discord_bodies[0]["embeds"][0]
    assert "top changed signals: [M1]" in embed["description"]
    assert "top error patterns: [L1] x2" in embed["description"]
    # the double places the deploy 15 min before the end of the window asked for (alert + 5 min)
    assert "recent deploys: [D1] deployment 10 min before the alert: chat 1.4.2" in embed["description"]
    assert embed["footer"]["text"].startswith("no LLM (no LLM provider configured)")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Probable cause"] == "a deployment shortly before the alert (chat 1.4.2) [D1]"
    assert fields["Impact"].endswith("vs 0.01 a day earlier [M1]")


def test_discord_down_keeps_the_item_and_the_retry_posts_without_a_second_analysis(tmp_path: Path) -> None:
    double = double_for(llm_answers={"anthropic": [ok("anthropic", valid_answer(["D1"]))]}, discord_failures=1)
    service = analyzer(tmp_path, double)
    receive(service, body(GRAFANA))
    assert service.queue.depth() == 1  # not lost: back in the queue
    assert only_incident(service).message_id is None
    with service.store._tx() as db:  # let the retry be due now
        db.execute("UPDATE queue SET not_before = 0")
    service.process_pending()
    assert service.queue.depth() == 0
    assert len(double.discord_bodies) == 1
    assert only_incident(service).message_id == "msg-1"
    assert len(double.llm_requests()) == 1
    assert DISCORD_URL.rsplit("/", 1)[-1] not in str(service.store.list())  # the webhook token stays out of the log
