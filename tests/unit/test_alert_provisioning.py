"""The generated Grafana alerting files: in sync with the catalog, structurally sound, safely escaped."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import typing
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl.alerting import catalog as cat
from obsctl.alerting import grafana, messages
from obsctl.common import duration_seconds
from tests.support import REPO

OUT = REPO / "roles" / "monitoring_stack" / "files" / "grafana" / "provisioning" / "alerting"
DASHBOARDS = REPO / "roles" / "monitoring_stack" / "files" / "grafana" / "dashboards"


@pytest.fixture(scope="module")
def catalog() -> cat.Catalog:
    return cat.load(REPO / "alerting" / "catalog.yml")


@pytest.fixture(scope="module")
def files() -> dict[str, Any]:
    return {name: yaml.safe_load((OUT / name).read_text(encoding="utf-8")) for name in grafana.FILES}


def grafana_expand(value: str, env: dict[str, str]) -> str:
    """What Grafana's provisioning does to interpolated fields: `$$` is a literal `$`, `$X`/`${X}` expand."""

    def expand(part: str) -> str:
        return re.sub(r"\$(\{([^}]*)\}|([A-Za-z0-9_]+))", lambda m: env.get(m.group(2) or m.group(3), ""), part)

    return "$".join(expand(p) for p in value.split("$$"))


def test_committed_files_match_the_catalog(catalog: cat.Catalog) -> None:
    assert grafana.stale(catalog, OUT) == [], "run `obsctl alerts build` and commit the result"
    assert sorted(p.name for p in OUT.iterdir()) == sorted(grafana.FILES), "Grafana fails on any non-YAML file here"
    variant = sorted(p.name for p in grafana.email_dir(OUT).glob("*")) if grafana.email_dir(OUT).exists() else []
    assert variant == ([grafana.EMAIL_VARIANT] if catalog.email.enabled else [])


def test_the_email_variant_differs_only_by_the_email_receivers(catalog: cat.Catalog) -> None:
    """The role swaps contact-points.yml for the variant when SMTP is on: nothing else may change."""
    plain = yaml.safe_load((OUT / "contact-points.yml").read_text(encoding="utf-8"))["contactPoints"]
    variant_path = grafana.email_dir(OUT) / grafana.EMAIL_VARIANT
    variant = yaml.safe_load(variant_path.read_text(encoding="utf-8"))["contactPoints"]
    assert [cp["name"] for cp in variant] == [cp["name"] for cp in plain]
    for with_email, without in zip(variant, plain, strict=True):
        assert [r for r in with_email["receivers"] if r["type"] != "email"] == without["receivers"]
    emailed = [cp["name"] for cp in variant if any(r["type"] == "email" for r in cp["receivers"])]
    channels = {s.channel for s in catalog.severities.values() if s.key in catalog.email.severities}
    assert emailed == [grafana.contact_point_name(c) for c in catalog.channels if c in channels]


def test_build_check_reports_a_stale_or_leftover_email_variant(tmp_path: Path, catalog: cat.Catalog) -> None:
    out = tmp_path / "alerting"
    with_email = dataclasses.replace(catalog, email=dataclasses.replace(catalog.email, enabled=True))
    grafana.write(with_email, out)
    assert grafana.stale(with_email, out) == []
    (grafana.email_dir(out) / grafana.EMAIL_VARIANT).write_text("apiVersion: 1\n", encoding="utf-8")
    assert grafana.stale(with_email, out) == ["alerting-email/contact-points.yml"]
    without = dataclasses.replace(catalog, email=dataclasses.replace(catalog.email, enabled=False))
    assert grafana.stale(without, out) == ["alerting-email/contact-points.yml"], "no longer generated"
    grafana.write(without, out)
    assert not (grafana.email_dir(out) / grafana.EMAIL_VARIANT).exists()


def test_every_file_is_provisioning_api_version_1(files: dict[str, Any]) -> None:
    for name, doc in files.items():
        assert doc["apiVersion"] == 1, name


def _rules(files: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for g in files["alert-rules.yml"]["groups"] for r in g["rules"]]


def test_rule_uids_are_unique_and_those_of_the_catalog(files: dict[str, Any], catalog: cat.Catalog) -> None:
    uids = [r["uid"] for r in _rules(files)]
    assert len(uids) == len(set(uids))
    assert sorted(uids) == sorted(a.uid for a in catalog.alerts)
    titles = [r["title"] for r in _rules(files)]
    assert len(titles) == len(set(titles))


def test_queries_use_existing_datasources_and_the_condition_exists(files: dict[str, Any]) -> None:
    known = {"prometheus", "loki", "__expr__"}
    for rule in _rules(files):
        refs = {step["refId"]: step for step in rule["data"]}
        assert rule["condition"] in refs, rule["uid"]
        for step in rule["data"]:
            assert step["datasourceUid"] in known, rule["uid"]
            assert step["model"]["datasource"]["uid"] == step["datasourceUid"], rule["uid"]
            if step["datasourceUid"] == "__expr__":
                assert step["model"]["expression"] in refs, f"{rule['uid']}: {step['refId']} reads a missing step"
            else:
                assert step["model"]["expr"].strip(), rule["uid"]


def test_datasources_are_the_ones_the_role_provisions(files: dict[str, Any]) -> None:
    source = REPO / "roles" / "monitoring_stack" / "templates" / "grafana" / "datasources" / "datasources.yml.j2"
    if not source.exists():
        pytest.fail(f"{source.relative_to(REPO)} is missing: the alert rules' datasource uids have no source")
    # (type, uid) of every datasource the template can provision (the scale-out ones share a type
    # with the local ones, under other uids).
    provisioned = set(re.findall(r"^\s+type: (\S+)\n\s+uid: ([\w-]+)", source.read_text(encoding="utf-8"), flags=re.M))
    assert ("prometheus", "prometheus") in provisioned, provisioned
    for rule in _rules(files):
        for step in rule["data"]:
            ds = step["model"]["datasource"]
            if ds["uid"] != "__expr__":
                assert (ds["type"], ds["uid"]) in provisioned, f"{rule['uid']}: no datasource {ds}"


def test_group_intervals_are_grafana_ticks(files: dict[str, Any]) -> None:
    for group in files["alert-rules.yml"]["groups"]:
        seconds = duration_seconds(group["interval"])
        assert seconds >= 10 and seconds % 10 == 0, group["name"]


def _route(policy: dict[str, Any], labels: dict[str, str]) -> str:
    """Grafana's routing for our tree: first child route whose matchers all hold, else the root."""
    for child in policy.get("routes", []):
        if all(labels.get(name) == value for name, op, value in child["object_matchers"] if op == "="):
            return str(child["receiver"])
    return str(policy["receiver"])


def test_every_rule_is_routed_to_its_severity_channel(files: dict[str, Any], catalog: cat.Catalog) -> None:
    policy = files["notification-policies.yml"]["policies"][0]
    contact_points = {cp["name"] for cp in files["contact-points.yml"]["contactPoints"]}
    for rule in _rules(files):
        labels = {k: grafana_expand(v, {}) for k, v in rule["labels"].items()}
        receiver = _route(policy, labels)
        assert receiver in contact_points, f"{rule['uid']} routes to undefined contact point {receiver}"
        wanted = grafana.contact_point_name(catalog.severities[labels["severity"]].channel)
        assert receiver == wanted, f"{rule['uid']} ({labels['severity']}) goes to {receiver}, not {wanted}"
    assert policy["receiver"] in contact_points
    for child in policy["routes"]:
        assert child["receiver"] in contact_points


def test_urgent_levels_are_faster_than_batched_ones(files: dict[str, Any]) -> None:
    routes = {
        child["object_matchers"][0][2]: child for child in files["notification-policies.yml"]["policies"][0]["routes"]
    }
    for timer in ("group_wait", "group_interval", "repeat_interval"):
        values = [duration_seconds(routes[s][timer]) for s in ("P1", "P2", "P3", "P4")]
        assert values == sorted(values), f"{timer} must not shrink from P1 to P4: {values}"
    assert duration_seconds(routes["P1"]["group_wait"]) < duration_seconds(routes["P4"]["group_wait"])


def test_mute_timings_used_by_routes_exist(files: dict[str, Any]) -> None:
    names = {m["name"] for m in files["mute-timings.yml"]["muteTimes"]}
    for child in files["notification-policies.yml"]["policies"][0]["routes"]:
        for name in child.get("mute_time_intervals", []):
            assert name in names


def test_contact_points_use_defined_templates(files: dict[str, Any]) -> None:
    text = files["templates.yml"]["templates"][0]["template"]
    defined = set(re.findall(r'\{\{ define "([^"]+)" \}\}', text))
    used_in_templates = set(re.findall(r'\{\{ template "([^"]+)"', text))
    assert used_in_templates <= defined
    for cp in files["contact-points.yml"]["contactPoints"]:
        for receiver in cp["receivers"]:
            for value in receiver["settings"].values():
                if isinstance(value, str):
                    assert set(re.findall(r'template "([^"]+)"', value)) <= defined


def test_only_the_documented_secrets_are_read_from_the_environment(files: dict[str, Any], catalog: cat.Catalog) -> None:
    text = (OUT / "contact-points.yml").read_text(encoding="utf-8").replace("$$", "")
    referenced = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))
    integrations = {catalog.analyzer.env, catalog.analyzer.credentials_env} if catalog.analyzer.enabled else set()
    # The plain contact points carry no e-mail receiver; the variant the role deploys with SMTP on does.
    assert referenced == set(catalog.channels.values()) | integrations
    email_text = (OUT.parent / "alerting-email" / "contact-points.yml").read_text(encoding="utf-8").replace("$$", "")
    email_referenced = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", email_text))
    email = {catalog.email.env} if catalog.email.enabled else set()
    assert email_referenced == set(catalog.channels.values()) | integrations | email
    referenced |= email_referenced
    env_template = REPO / "roles" / "monitoring_stack" / "templates" / "env.j2"
    if not env_template.exists():
        pytest.fail("roles/monitoring_stack/templates/env.j2 is missing: nothing supplies the channel variables")
    env_text = env_template.read_text(encoding="utf-8")
    for name in referenced | {catalog.email.env}:
        assert re.search(rf"^{name}=", env_text, flags=re.M), f"the role's .env does not define {name}"


def test_rule_labels_survive_grafana_env_expansion(files: dict[str, Any], catalog: cat.Catalog) -> None:
    for rule in _rules(files):
        alert = catalog.by_uid(rule["uid"])
        expanded = grafana_expand(rule["labels"]["service"], {"labels": "OOPS"})
        assert expanded == alert.service, f"{alert.uid}: Grafana would turn the service label into {expanded!r}"
    # Without the escaping the label template would be destroyed: the check above is not vacuous.
    assert grafana_expand("{{ $labels.job }}", {}) == "{{ .job }}"


def test_annotations_keep_go_templates_raw(files: dict[str, Any], catalog: cat.Catalog) -> None:
    for rule in _rules(files):
        alert = catalog.by_uid(rule["uid"])
        assert rule["annotations"]["summary"] == alert.summary
        assert "$$" not in json.dumps(rule["annotations"]), "annotations are not expanded: $$ would stay doubled"
        assert "$values.B.Value" in rule["annotations"]["value"]
        assert rule["annotations"].get("runbook_url", alert.runbook_path).endswith(alert.runbook_path)


def test_no_jinja_syntax_and_no_dollar_in_message_templates(files: dict[str, Any]) -> None:
    for name in grafana.FILES:
        text = (OUT / name).read_text(encoding="utf-8")
        assert "{%" not in text and "{#" not in text, f"{name} would clash with Jinja if templated"
    assert "$" not in files["templates.yml"]["templates"][0]["template"]


def test_messages_fit_discord_limits(catalog: cat.Catalog) -> None:
    title, message = messages.title_bound(catalog), messages.message_bound(catalog)
    assert title <= messages.TITLE_BUDGET < messages.DISCORD_TITLE_LIMIT
    assert message <= messages.CONTENT_BUDGET < messages.DISCORD_CONTENT_LIMIT
    # The bound accounts for every truncated field printed in the message (not a made-up number).
    text = messages.template_text(catalog)
    precisions = [int(n) for n in re.findall(r'printf "%\.(\d+)s"', text)]
    assert len(precisions) >= 8
    assert message >= sum(precisions), "every printf-truncated field appears at least once in a message"
    print(
        f"\nDiscord worst case: title {title}/{messages.DISCORD_TITLE_LIMIT},"
        f" content {message}/{messages.DISCORD_CONTENT_LIMIT}"
    )


def test_only_p1_mentions_here(catalog: cat.Catalog) -> None:
    text = messages.template_text(catalog)
    assert 'eq .CommonLabels.severity "P1" }}@here' in text
    assert text.count("@here") == 1


def test_optional_integrations_are_added_only_when_enabled(catalog: cat.Catalog) -> None:
    disabled = dataclasses.replace(
        catalog,
        email=dataclasses.replace(catalog.email, enabled=False),
        analyzer=dataclasses.replace(catalog.analyzer, enabled=False),
    )
    assert all(
        r["type"] == "discord" for cp in grafana.contact_points(disabled)["contactPoints"] for r in cp["receivers"]
    )
    enabled = dataclasses.replace(
        catalog,
        email=dataclasses.replace(catalog.email, enabled=True),
        analyzer=dataclasses.replace(catalog.analyzer, enabled=True),
    )
    points = {cp["name"]: cp["receivers"] for cp in grafana.contact_points(enabled, email=True)["contactPoints"]}
    urgent = {r["type"]: r for r in points["discord-urgent"]}
    assert urgent["email"]["settings"]["addresses"] == f"${catalog.email.env}"
    assert urgent["webhook"]["settings"]["url"] == f"${catalog.analyzer.env}"
    assert [r["type"] for r in points["discord-normal"]] == ["discord"], "e-mail and analyzer cover P1/P2 only"


def test_p1_p2_reach_the_analyzer_with_the_credential(files: dict[str, Any], catalog: cat.Catalog) -> None:
    """The committed provisioning (issue 15 item 9): P1/P2 go to Discord AND the analyzer, which
    answers 401 without the Authorization header Grafana builds from these two settings."""
    assert catalog.analyzer.enabled
    points = {cp["name"]: cp["receivers"] for cp in files["contact-points.yml"]["contactPoints"]}
    urgent_severities = {s.key for s in catalog.severities.values() if s.channel == "urgent"}
    assert urgent_severities == {"P1", "P2"}
    webhook = next(r for r in points["discord-urgent"] if r["type"] == "webhook")
    assert webhook["settings"] == {
        "url": f"${catalog.analyzer.env}",
        "httpMethod": "POST",
        "authorization_scheme": "Bearer",
        "authorization_credentials": f"${catalog.analyzer.credentials_env}",
    }
    assert not webhook["disableResolveMessage"], "the resolved notification closes the incident"
    assert points["discord-urgent"][0]["type"] == "discord", "Discord is still paged"


def test_analyzer_without_a_credential_is_refused(catalog: cat.Catalog) -> None:
    broken = dataclasses.replace(catalog, analyzer=dataclasses.replace(catalog.analyzer, credentials_env=""))
    problems = cat.validate(broken)
    assert any("credentials_env" in p for p in problems), problems


def test_rules_link_dashboards_that_exist(files: dict[str, Any], catalog: cat.Catalog) -> None:
    for rule in _rules(files):
        assert rule["dashboardUid"] in cat.DASHBOARD_UIDS
    panels = cat.dashboard_panels(DASHBOARDS)
    if not panels:
        pytest.skip("no generated dashboards in roles/monitoring_stack/files/grafana/dashboards yet")
    for rule in _rules(files):
        assert rule["dashboardUid"] in panels, f"{rule['uid']}: dashboard {rule['dashboardUid']} is not generated"
    assert cat.panel_problems(catalog, DASHBOARDS) == []


def test_build_check_fails_on_a_stale_file(tmp_path: Path, catalog: cat.Catalog) -> None:
    grafana.write(catalog, tmp_path)
    assert grafana.stale(catalog, tmp_path) == []
    (tmp_path / "alert-rules.yml").write_text("apiVersion: 1\n", encoding="utf-8")
    assert grafana.stale(catalog, tmp_path) == ["alert-rules.yml"]


def _schema_keys(model: Any) -> set[str]:
    """The JSON keys a foundation-sdk model reads (its from_json is generated from Grafana's schema)."""
    return set(re.findall(r'if "(\w+)" in data', inspect.getsource(model.from_json)))


def test_field_names_and_states_match_grafanas_schema(files: dict[str, Any]) -> None:
    """Cross-check with the Grafana 11.6 alerting schema (grafana-foundation-sdk, generated by Grafana)."""
    alerting = pytest.importorskip("grafana_foundation_sdk.models.alerting")
    hints = typing.get_type_hints(alerting.Rule)
    for rule in _rules(files):
        assert rule["noDataState"] in typing.get_args(hints["no_data_state"])
        assert rule["execErrState"] in typing.get_args(hints["exec_err_state"])
    policy_keys = _schema_keys(alerting.NotificationPolicy)
    assert {"receiver", "object_matchers", "group_wait", "mute_time_intervals"} <= policy_keys
    root = files["notification-policies.yml"]["policies"][0]
    for node in (root, *root["routes"]):
        unknown = set(node) - policy_keys - {"orgId"}
        assert not unknown, f"policy fields Grafana does not know: {unknown}"
    interval_keys = _schema_keys(alerting.TimeInterval)
    for mute in files["mute-timings.yml"]["muteTimes"]:
        for interval in mute["time_intervals"]:
            assert set(interval) <= interval_keys, (
                f"time interval fields Grafana does not know: {set(interval) - interval_keys}"
            )


def _runbook_target(url: str, base: str) -> Path:
    """The repository file an absolute runbook URL opens; fails for a relative or foreign URL."""
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.netloc, f"{url!r} is not absolute: it opens nowhere"
    assert url.startswith(base.rstrip("/") + "/"), f"{url!r} is not under runbook_base_url {base!r}"
    relative = url[len(base.rstrip("/")) + 1 :]
    assert re.fullmatch(r"docs/runbooks/[a-z0-9-]+\.md", relative), url
    return REPO / relative


def test_every_runbook_link_grafana_and_discord_show_is_absolute_and_exists(
    files: dict[str, Any], catalog: cat.Catalog
) -> None:
    """The rule annotation (shown by Grafana, printed into the Discord message) and the dashboards' links."""
    linked = []
    for rule in _rules(files):
        alert = catalog.by_uid(rule["uid"])
        url = rule["annotations"].get("runbook_url")
        if alert.needs_runbook:
            assert url, f"{alert.uid} ({alert.severity}) has no runbook_url"
        if url is not None:
            target = _runbook_target(url, catalog.runbook_base_url)
            assert target.is_file(), f"{alert.uid}: {url} points at {target.relative_to(REPO)}, which does not exist"
            assert target.stem == alert.uid
            linked.append(alert.uid)
    assert len(linked) >= sum(a.needs_runbook for a in catalog.alerts)
    for path in sorted(DASHBOARDS.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        for url in re.findall(r"\((https?://[^)\s]+)\)|\"url\": \"([^\"]*runbooks[^\"]*)\"", text):
            found = next(u for u in url if u)
            assert _runbook_target(found, catalog.runbook_base_url).is_file(), f"{path.name}: {found}"
        assert "`docs/runbooks/" not in text, f"{path.name} shows a runbook as a bare repository path"


def test_the_message_prints_the_runbook_line_only_when_there_is_one(catalog: cat.Catalog) -> None:
    text = messages.template_text(catalog)
    assert (
        '{{ if .Annotations.runbook_url }}\n📖 Runbook: {{ printf "%.160s" .Annotations.runbook_url }}{{ end }}' in text
    )
