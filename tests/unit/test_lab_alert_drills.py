"""The alert drills' pure parts and test doubles (obsctl/lab/alert_drills.py, doubles.py, standins.py).

The test doubles are exercised through the project's own clients (the analyzer's LLM client and
Discord webhook), so they speak what the analyzer really sends; the drill's checks are run on a
message the analyzer's own renderer builds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from obsctl.alerting import catalog as cat
from obsctl.alerting import grafana
from obsctl.analyzer.evidence import EvidenceItem, EvidencePack
from obsctl.analyzer.llm import SYSTEM_PROMPT, user_prompt, validate_answer
from obsctl.analyzer.owners import parse_owner
from obsctl.analyzer.payload import parse
from obsctl.analyzer.render import analysis_message, footer
from obsctl.clients.discord import DiscordMessage, DiscordWebhook
from obsctl.clients.http import ClientError
from obsctl.clients.llm import LlmClient
from obsctl.incidents.store import IncidentStore, NewAlert
from obsctl.lab import alert_drills, standins
from obsctl.lab.doubles import SUMMARY_MARK, DiscordCapture, LlmTestDouble, Recorded, canned_analysis, evidence_ids
from tests.unit.analyzer_support import fixture
from tests.unit.test_analyzer_render import T0


def _pack() -> EvidencePack:
    return EvidencePack(
        T0,
        T0,
        T0,
        [
            EvidenceItem("A1", "alert", "alert service-down firing", "-"),
            EvidenceItem("M1", "metric", "up of api", "0 now, 1 a day earlier"),
            EvidenceItem("M2", "metric", "HTTP rate of api", "0/s now, 4/s a day earlier"),
        ],
    )


@pytest.fixture
def llm() -> Iterator[LlmTestDouble]:
    double = LlmTestDouble("127.0.0.1", 0, api_key="k" * 8)
    double.start()
    yield double
    double.stop()


@pytest.fixture
def capture() -> Iterator[DiscordCapture]:
    double = DiscordCapture("127.0.0.1", 0)
    double.start()
    yield double
    double.stop()


def test_llm_test_double_answers_the_analyzer_schema_citing_only_the_pack(llm: LlmTestDouble) -> None:
    pack = _pack()
    prompt = user_prompt("P1 service-down on api", pack)
    client = LlmClient("anthropic", "llm-test-double", "k" * 8, base_url=llm.url)
    completion = client.complete(SYSTEM_PROMPT, prompt)
    analysis = validate_answer(completion.text, pack)  # the analyzer's own check: schema and known ids
    assert analysis.summary.startswith(f"{SUMMARY_MARK} P1 service-down on api")
    assert analysis.probable_cause.evidence == ["M1", "M2"]
    assert completion.input_tokens > 0 and completion.output_tokens > 0
    assert llm.prompts() == [prompt]
    assert llm.seen()[0].headers["anthropic-version"]


def test_llm_test_double_refuses_a_wrong_key(llm: LlmTestDouble) -> None:
    client = LlmClient("anthropic", "m", "wrong", base_url=llm.url)
    with pytest.raises(ClientError) as err:
        client.complete("s", "u")
    assert err.value.status == 401


def test_evidence_ids_are_read_from_the_prompt() -> None:
    prompt = user_prompt("t", _pack())
    assert evidence_ids(prompt) == [("A1", "alert"), ("M1", "metric"), ("M2", "metric")]
    assert canned_analysis("Alert: x\n")["probable_cause"]["evidence"] == ["A1"]


def test_discord_capture_records_and_answers_like_discord(capture: DiscordCapture) -> None:
    hook = DiscordWebhook(f"{capture.url}/api/webhooks/analyzer/lab-capture", retries=0)
    message_id = hook.send(DiscordMessage(content="<@&1> P1 incident #1: service-down on api"))
    assert message_id and message_id.isdigit()
    [seen] = capture.seen()
    assert seen.path.startswith("/api/webhooks/analyzer/lab-capture")
    assert seen.body["content"].endswith("on api")


def _analysis_body(tmp_path: Path, prompt: str, owner: str = f"role:{standins.API_OWNER_ROLE}") -> dict:
    alert = parse(json.dumps(fixture("alertmanager_webhook.json"))).alerts[0]
    with IncidentStore(tmp_path / "i.db") as store:
        incident, _ = store.open_or_update(NewAlert("k", "service-down", "P1", alert.starts_at, service="api"))
    message = analysis_message(
        incident,
        alert,
        canned_analysis(prompt),
        _pack(),
        owner=parse_owner(owner, "test"),
        footer_text=footer("anthropic", standins.LLM_DOUBLE_MODEL, 1.2, 0.001),
    )
    return message.to_json()


def test_check_analysis_accepts_what_the_analyzer_renders(tmp_path: Path) -> None:
    prompt = user_prompt("P1 service-down on api", _pack())
    body = _analysis_body(tmp_path, prompt)
    assert alert_drills.check_analysis(body, [prompt]) == []
    assert alert_drills.analyses([Recorded("/api/webhooks/analyzer/lab-capture", {}, body, 10.0)], 5.0)


def test_check_analysis_names_what_is_missing(tmp_path: Path) -> None:
    prompt = user_prompt("P1 service-down on api", _pack())
    wrong_owner = _analysis_body(tmp_path, prompt, owner="role:999999999999999999")
    problems = alert_drills.check_analysis(wrong_owner, [prompt])
    assert any("owner mention" in p for p in problems), problems
    (tmp_path / "b").mkdir()
    body = _analysis_body(tmp_path / "b", prompt)
    body["embeds"][0]["description"] = "a deterministic summary"
    assert any("LLM test double" in p for p in alert_drills.check_analysis(body, [prompt]))
    (tmp_path / "c").mkdir()
    body = _analysis_body(tmp_path / "c", prompt)
    for f in body["embeds"][0]["fields"]:
        if f["name"] == "Probable cause":
            f["value"] = "no ids"
    assert any("does not cite M1" in p for p in alert_drills.check_analysis(body, [prompt]))


def test_firing_pages_reads_alertmanagers_discord_title() -> None:
    def post(title: str, path: str = "/api/webhooks/urgent/lab-capture", at: float = 10.0) -> Recorded:
        return Recorded(path, {}, {"embeds": [{"title": title, "description": "..."}]}, at)

    hit = post("[FIRING:1] service-down P1 (app-1 api spring backend)")
    seen = [
        hit,
        post("[FIRING:1] service-down P1 (app-1 chat spring backend)"),
        post("[RESOLVED] service-down P1 (app-1 api spring backend)"),
        post("[FIRING:1] host-cpu-high P3 (app-1 api)"),
        post("[FIRING:1] probe-failed P1 (app-1 api)", at=1.0),
    ]
    assert alert_drills.firing_pages(seen, since=5.0) == [(hit, "service-down")]


def test_drill_vars_point_the_lab_at_the_stand_in_and_the_doubles() -> None:
    v = standins.drill_vars()
    assert v["monitoring_stack_prometheus_alertmanagers"] == [
        f"{standins.ALERTMANAGER_CONTAINER}:{standins.ALERTMANAGER_PORT}"
    ]
    assert v["monitoring_stack_llm_base_urls"] == {"anthropic": standins.llm_double_url()}
    assert v["monitoring_stack_prometheus_rule_files"][0].startswith("{{ inventory_dir }}/")
    assert v["monitoring_stack_prometheus_rule_files"][0].endswith("alerting/catalog-alerts.yml")
    assert v["monitoring_stack_analyzer_owners"] == {
        "services": {alert_drills.DEMO_APP: f"role:{standins.API_OWNER_ROLE}"}
    }


def test_alertmanager_config_routes_urgent_to_the_analyzer_and_every_channel_to_the_capture() -> None:
    doc = standins.alertmanager_config("/etc/alertmanager/analyzer-token")
    catalog = cat.load()
    by_name = {r["name"]: r for r in doc["receivers"]}
    for channel in catalog.channels:
        receiver = by_name[grafana.contact_point_name(channel)]
        assert receiver["discord_configs"][0]["webhook_url"] == standins.discord_capture_url(channel)
    urgent = by_name[grafana.contact_point_name(catalog.severities["P1"].channel)]
    assert urgent["webhook_configs"][0]["url"].startswith("http://analyzer:")


def test_build_context_is_what_the_role_copies(tmp_path: Path) -> None:
    standins.build_context({"ca_certificates": []}, tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {
        "Dockerfile",
        "pyproject.toml",
        "requirements-runtime.lock",
        "alerting",
        "obsctl",
        "ca-certificates",
    }
    assert (tmp_path / "obsctl" / "analyzer" / "app.py").is_file()
    assert not list(tmp_path.rglob("__pycache__"))
