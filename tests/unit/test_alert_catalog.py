"""The alert catalog: it loads, it carries the customer's rules, and it refuses what Grafana would reject."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl.alerting import catalog as cat
from obsctl.errors import ObsError
from obsctl.signals import queries
from tests.support import REPO

CATALOG = REPO / "alerting" / "catalog.yml"


@pytest.fixture(scope="module")
def catalog() -> cat.Catalog:
    return cat.load(CATALOG)


def _rule(c: cat.Catalog, severity: str, query: str, comparator: str, threshold: float) -> cat.Alert | None:
    for a in c.alerts:
        if (a.severity, a.query.key, a.comparator, a.threshold) == (severity, query, comparator, threshold):
            return a
    return None


# The customer's alert table (seed 001 Phase 3, seed 000 chatbot KPIs, seed 004 rules): the concept,
# comparison and threshold each row asks for. This is the specification, not generated output.
REQUIRED = [
    ("P1", "service_up", "lt", 1),  # up == 0
    ("P1", "probe_success", "lt", 1),  # probe_success == 0
    ("P1", "http_5xx_ratio", "gt", 0.5),
    ("P1", "host_disk_used_ratio", "gt", 0.95),
    ("P1", "chatbot_success_ratio", "lt", 0.8),
    ("P2", "http_latency_p99", "gt", 5),
    ("P2", "http_5xx_ratio", "gt", 0.1),
    ("P2", "host_memory_used_ratio", "gt", 0.9),
    ("P2", "hikari_pending", "gt", 0),
    ("P3", "host_cpu_used_ratio", "gt", 0.8),
    ("P3", "host_disk_used_ratio", "gt", 0.8),
    ("P3", "jvm_gc_pause_max", "gt", 0.5),
    ("P3", "chatbot_p95_seconds", "gt", 3),
    ("P3", "host_disk_avail_predicted_24h", "lt", 0),
    ("P4", "service_restarts", "gt", 0),
    ("P4", "cert_expiry_days", "lt", 30),
    # the platform watching itself
    ("P2", "alloy_missing_hosts", "gt", 0),
    ("P2", "loki_ingest_lines_rate", "lt", 0.01),
    ("P3", "scrape_failure_ratio", "gt", 0.25),
    ("P3", "grafana_scheduler_behind_seconds", "gt", 30),
    # the incident analyzer (issue 15): down or absent, and repeated fallbacks
    ("P2", "analyzer_up", "lt", 1),
    ("P3", "analyzer_fallbacks_30m", "gt", 3),
]


@pytest.mark.parametrize(("severity", "query", "comparator", "threshold"), REQUIRED)
def test_customer_rule_is_in_the_catalog(
    catalog: cat.Catalog, severity: str, query: str, comparator: str, threshold: float
) -> None:
    assert _rule(catalog, severity, query, comparator, threshold), (
        f"missing {severity} {query} {comparator} {threshold}"
    )


def test_cpu_alert_waits_five_minutes(catalog: cat.Catalog) -> None:
    cpu = _rule(catalog, "P3", "host_cpu_used_ratio", "gt", 0.8)
    assert cpu is not None
    assert cpu.for_seconds >= 300, "seed 001: CPU > 80% for 5 minutes"


def test_every_alert_query_is_a_shared_concept(catalog: cat.Catalog) -> None:
    for alert in catalog.alerts:
        assert queries.QUERIES[alert.query.key] is alert.query
        assert alert.datasource_uid == ("loki" if alert.query.language == "logql" else "prometheus")


@pytest.mark.parametrize("uid", [a.uid for a in cat.load(CATALOG).alerts if a.needs_runbook])
def test_every_p1_p2_alert_has_a_complete_runbook(catalog: cat.Catalog, uid: str) -> None:
    alert = catalog.by_uid(uid)
    path = REPO / alert.runbook_path
    assert path.is_file(), f"{alert.severity} alert {uid} has no runbook at {alert.runbook_path}"
    text = path.read_text(encoding="utf-8")
    for heading in ("## What it means", "## First checks", "## Mitigate or roll back", "## Escalate"):
        assert heading in text, f"{path.name} lacks the section '{heading}'"
    checks = text.split("## First checks", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```(?:bash|sh)\n(.+?)```", checks, flags=re.S)
    assert len(commands) >= 3, f"{path.name}: the first checks need three exact commands, found {len(commands)}"
    assert uid in text.splitlines()[0], f"{path.name} must name its alert uid in the title line"


def test_runbook_links_point_at_the_runbooks(catalog: cat.Catalog) -> None:
    for alert in catalog.alerts:
        link = catalog.runbook_link(alert)
        if alert.needs_runbook:
            assert link and link.endswith(f"docs/runbooks/{alert.uid}.md")
        exists = (REPO / alert.runbook_path).is_file()
        assert (link is not None) == exists, f"{alert.uid}: a link exactly when docs/runbooks has the file"


@pytest.mark.parametrize("base", ["", "docs/runbooks", "/ops/obs-platform/blob/main", "git.example.org/ops/x"])
def test_a_relative_runbook_base_url_is_refused(tmp_path: Path, base: str) -> None:
    data = _raw()
    data["runbook_base_url"] = base
    with pytest.raises(ObsError) as err:
        cat.load(_write(tmp_path, data))
    assert "runbook_base_url" in str(err.value) and "absolute" in str(err.value)


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "catalog.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _raw() -> dict[str, Any]:
    data = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["alerts"].append(dict(d["alerts"][0])), "duplicate uid"),
        (lambda d: d["alerts"][0].update(severity="P5"), "severity must be one of"),
        (lambda d: d["alerts"][0].update(query="no_such_concept"), "unknown query concept"),
        (lambda d: d["alerts"][0].update(summary="cost ${PRICE}"), "treats as an env variable"),
        (lambda d: d["alerts"][0].update(summary="{% raw %}"), "Jinja"),
        (lambda d: d["alerts"][0].update(title="x" * 101), "title longer than"),
        (lambda d: d["alerts"][0].update(comparator="eq"), "comparator must be gt or lt"),
        (lambda d: d["alerts"][0].update(dashboard="nope"), "dashboard 'nope'"),
        (lambda d: d["alerts"][0].update({"for": "soon"}), "not a duration"),
        (lambda d: d["groups"]["p1-critical"].update(interval="15s"), "multiple of Grafana's 10s tick"),
        (lambda d: d["alerts"][0].update({"for": "45s"}), "not a multiple of its group's interval"),
        (lambda d: d["severities"]["P4"].update(mute_timings=["never"]), "unknown mute timing"),
        (lambda d: d["severities"]["P2"].update(channel="pager"), "unknown channel"),
        (lambda d: d["alerts"][0].pop("summary"), "missing 'summary'"),
    ],
)
def test_bad_catalogs_are_refused_with_the_reason(tmp_path: Path, mutate: Any, message: str) -> None:
    data = _raw()
    mutate(data)
    with pytest.raises(ObsError) as exc:
        cat.load(_write(tmp_path, data))
    assert message in str(exc.value)
    assert "fix: edit" in str(exc.value)


def test_panel_ids_are_checked_against_generated_dashboards(tmp_path: Path, catalog: cat.Catalog) -> None:
    (tmp_path / "hosts.json").write_text('{"uid": "hosts", "panels": [{"id": 3, "panels": [{"id": 7}]}]}')
    alert = next(a for a in catalog.alerts if a.dashboard == "hosts")
    good = cat.Catalog(**{**catalog.__dict__, "alerts": (cat.Alert(**{**alert.__dict__, "panel": 7}),)})
    bad = cat.Catalog(**{**catalog.__dict__, "alerts": (cat.Alert(**{**alert.__dict__, "panel": 99}),)})
    assert cat.panel_problems(good, tmp_path) == []
    assert "has no panel id 99" in cat.panel_problems(bad, tmp_path)[0]


def test_the_p1_service_down_alert_leaves_the_analyzer_to_its_own_p2() -> None:
    """The analyzer down is P2 (Discord still gets every alert): the generic P1 must not page for it."""
    assert 'job!="analyzer"' in queries.get("service_up").render()
    assert 'job="analyzer"' in queries.get("analyzer_up").render()
    fallbacks = queries.get("analyzer_fallbacks_30m").render()
    assert 'reason!="no_provider"' in fallbacks and "[30m]" in fallbacks
