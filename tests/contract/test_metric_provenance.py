"""Every metric an alert or a panel reads is produced by something the rendered configs deploy.

Readers are the deployed artifacts themselves: the generated Grafana alert rules
(roles/monitoring_stack/files/grafana/provisioning/alerting/alert-rules.yml) and dashboards
(roles/monitoring_stack/files/grafana/dashboards/*.json: panel targets and template variables),
Prometheus-datasource queries only. Their metric names are read with
:func:`obsctl.signals.provenance.metric_names` and must each belong to a metric of
:mod:`obsctl.signals.metrics`, whose ``source`` names its producer (:mod:`obsctl.signals.provenance`).

Producers are then checked against the configs the roles render for the production inventory
(inventories/prod): the monitoring_stack role's prometheus.yml and the alloy role's config.alloy of
every host. A producer is deployed when one of its jobs is scraped there and, where it names an
Alloy component, that component feeds the job in every Alloy config that scrapes it. Application-side
producers (Micrometer in the Spring Boot apps, the chat service, the hosts' nginx exporter) are not
deployed by a role, but the job that collects them must be.

This is also the proof that synthetic series (tests/fixtures/metrics/samples.py, the promtool rule
tests' synthesizers) exercise only metrics something deployed really produces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl.alloy_syntax import Block, Document, parse, references_in
from obsctl.signals import metrics, provenance
from tests.contract.test_alloy_config import render_alloy_configs
from tests.support import REPO

DASHBOARDS = REPO / "roles/monitoring_stack/files/grafana/dashboards"
ALERT_RULES = REPO / "roles/monitoring_stack/files/grafana/provisioning/alerting/alert-rules.yml"
INVENTORY = REPO / "inventories/prod"
FIX = (
    "either make a deployed component produce it (a scrape job in roles/monitoring_stack/templates/"
    "prometheus/prometheus.yml.j2 or an Alloy component in roles/alloy/templates/config.alloy.j2) and list "
    "it in obsctl/signals/metrics.py with that producer (obsctl/signals/provenance.py), list it there as "
    "application-side with its source, or drop the query from the alert/panel"
)


@dataclass(frozen=True)
class Reader:
    where: str
    expr: str
    variable: bool = False

    def names(self) -> set[str]:
        read = provenance.variable_metric_names if self.variable else provenance.metric_names
        return read(self.expr)


def _is_prometheus(datasource: object) -> bool:
    if isinstance(datasource, dict):
        return datasource.get("type") == "prometheus" or datasource.get("uid") == "prometheus"
    return datasource == "prometheus"


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_readers(path: Path) -> list[Reader]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    uid = doc.get("uid", path.stem)
    found = []
    for panel in _panels(doc.get("panels", [])):
        for target in panel.get("targets", []):
            datasource = target.get("datasource", panel.get("datasource"))
            if _is_prometheus(datasource) and target.get("expr"):
                where = f'panel {panel.get("id")} "{panel.get("title")}" of dashboard {uid} ({path.name})'
                found.append(Reader(where, target["expr"]))
    for var in doc.get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if var.get("type") == "query" and _is_prometheus(var.get("datasource")) and query:
            where = f"variable ${var.get('name')} of dashboard {uid} ({path.name})"
            found.append(Reader(where, str(query), variable=True))
    return found


def alert_readers(path: Path) -> list[Reader]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = []
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            for query in rule.get("data", []):
                model = query.get("model", {})
                if query.get("datasourceUid") == "prometheus" and model.get("expr"):
                    where = f'alert rule {rule["uid"]} "{rule["title"]}" ({path.relative_to(REPO)})'
                    found.append(Reader(where, model["expr"]))
    return found


def all_readers() -> list[Reader]:
    dashboards = sorted(DASHBOARDS.glob("*.json"))
    assert dashboards, f"no generated dashboards in {DASHBOARDS.relative_to(REPO)} (run `obsctl dashboards build`)"
    assert ALERT_RULES.is_file(), f"{ALERT_RULES.relative_to(REPO)} is missing (run `obsctl alerts build`)"
    return [r for p in dashboards for r in dashboard_readers(p)] + alert_readers(ALERT_RULES)


def unexplained(readers: list[Reader]) -> list[str]:
    """One message per metric read that no catalogued producer emits."""
    problems = []
    for reader in readers:
        for name in sorted(reader.names() - set(metrics.BY_SERIES)):
            problems.append(f"{name!r}, read by {reader.where}, has no producer: {FIX}")
    return problems


def test_alerts_and_panels_are_all_read() -> None:
    """The reader walk finds every dashboard's Prometheus panels and every PromQL alert rule."""
    readers = all_readers()
    for path in DASHBOARDS.glob("*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        prom_targets = [
            t
            for p in _panels(doc.get("panels", []))
            for t in p.get("targets", [])
            if _is_prometheus(t.get("datasource", p.get("datasource")))
        ]
        assert len([r for r in readers if f"({path.name})" in r.where and not r.variable]) == len(prom_targets)
    rules = yaml.safe_load(ALERT_RULES.read_text(encoding="utf-8"))["groups"]
    prom_rules = {
        r["uid"] for g in rules for r in g["rules"] if any(d["datasourceUid"] == "prometheus" for d in r["data"])
    }
    assert prom_rules, "alert-rules.yml has no PromQL rule"
    assert {r.where.split()[2] for r in readers if r.where.startswith("alert rule")} == prom_rules


def test_every_metric_read_by_an_alert_or_panel_has_a_producer() -> None:
    problems = unexplained(all_readers())
    assert not problems, "\n".join(problems)


def test_an_invented_metric_is_reported_with_its_reader_and_the_fix() -> None:
    reader = Reader('panel 99 "Tunnel" of dashboard self', "time() - max by (peer) (wg_peer_last_handshake{} > 0)")
    [problem] = unexplained([reader])
    assert "'wg_peer_last_handshake'" in problem
    assert 'panel 99 "Tunnel" of dashboard self' in problem
    assert "obsctl/signals/metrics.py" in problem
    assert "drop the query" in problem


# ---------------------------------------------------------------- producers in the rendered configs


@dataclass(frozen=True)
class Deployment:
    prometheus_jobs: frozenset[str]
    alloy: dict[str, Document]  # inventory host -> its rendered config.alloy
    prometheus: dict[str, Any] = field(default_factory=dict)  # the rendered prometheus.yml

    def alloy_scrapes(self, job: str) -> Iterator[tuple[str, Document, Block]]:
        for host, doc in sorted(self.alloy.items()):
            for block in doc.components():
                if block.name == "prometheus.scrape" and block.attr("job_name") == job:
                    yield host, doc, block

    def jobs(self) -> frozenset[str]:
        alloy_jobs = {
            str(b.attr("job_name"))
            for doc in self.alloy.values()
            for b in doc.components()
            if b.name == "prometheus.scrape" and b.attr("job_name")
        }
        return self.prometheus_jobs | alloy_jobs


def _stack_render() -> Any:
    from tests.contract import test_monitoring_stack_render as stack  # noqa: PLC0415 - the sibling's render helpers

    for name in ("render", "FUTURE", "LEGACY"):
        assert hasattr(stack, name), f"tests/contract/test_monitoring_stack_render.py has no {name} (interface changed)"
    return stack


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """prometheus.yml and every host's config.alloy, rendered once by the roles for inventories/prod."""
    stack = _stack_render()
    tmp = tmp_path_factory.mktemp("provenance")
    # The inventory's own Loki switch date may have passed, and its legacy Loki settings are left
    # for the operator to write with `obsctl loki plan-migration` (the preflight refuses them empty):
    # the plan of the Loki 2.9 package's own config stands in. Both rules are tested elsewhere.
    rendered = stack.render(INVENTORY, tmp / "stack", {**stack.LEGACY, "monitoring_stack_loki_v13_from": stack.FUTURE})
    prometheus = rendered.yaml("prometheus/prometheus.yml")
    alloy = render_alloy_configs(tmp_path_factory.mktemp("provenance-alloy"), inventory_dir=INVENTORY)
    assert alloy, "no config.alloy rendered for inventories/prod"
    return Deployment(
        frozenset(job["job_name"] for job in prometheus.get("scrape_configs", [])),
        {host: parse(path.read_text(encoding="utf-8")) for host, path in alloy.items()},
        prometheus,
    )


def _feeds(doc: Document, block: Block, component: str, seen: frozenset[str] = frozenset()) -> bool:
    """Whether ``block``'s targets come (directly or through discovery.relabel) from a ``component``."""
    declared = {f"{b.name}.{b.label}": b for b in doc.components()}
    for ref in references_in(block.attr("targets")):
        for cut in range(len(ref.path) - 1, 0, -1):
            source = declared.get(".".join(ref.path[:cut]))
            if source is None:
                continue
            ident = f"{source.name}.{source.label}"
            if source.name == component or (ident not in seen and _feeds(doc, source, component, seen | {ident})):
                return True
            break
    return False


def producer_problems(producer: provenance.Producer, deployed: Deployment) -> list[str]:
    jobs = deployed.jobs()
    where = f"producer {producer.key!r} ({producer.what})"
    if not producer.jobs:
        return [] if jobs else [f"{where}: the rendered configs scrape nothing at all"]
    if not set(producer.jobs) & jobs:
        return [
            f"{where}: no rendered config scrapes job {' or '.join(producer.jobs)} (jobs rendered: "
            f"{', '.join(sorted(jobs))}); add the scrape to prometheus.yml.j2 or config.alloy.j2, "
            "or drop the metrics, alerts and panels that need it"
        ]
    problems = []
    if producer.alloy_component:
        for job in producer.jobs:
            for host, doc, block in deployed.alloy_scrapes(job):
                if not _feeds(doc, block, producer.alloy_component):
                    problems.append(
                        f"{where}: config.alloy of {host} scrapes job {job} (prometheus.scrape {block.label!r}) "
                        f"but not from a {producer.alloy_component} component; feed its targets from one"
                    )
    return problems


def _used_producers() -> list[provenance.Producer]:
    used = {m.source.key: m.source for m in metrics.METRICS}
    return [p for p in provenance.PRODUCERS if p.key in used]


def test_every_catalogued_metric_names_a_registered_producer() -> None:
    registered = {p.key: p for p in provenance.PRODUCERS}
    for metric in metrics.METRICS:
        assert registered.get(metric.source.key) == metric.source, (
            f"{metric.name}: its producer {metric.source.key!r} is not in obsctl/signals/provenance.PRODUCERS"
        )


@pytest.mark.parametrize("producer", _used_producers(), ids=lambda p: p.key)
def test_every_producer_is_deployed_by_the_rendered_configs(
    producer: provenance.Producer, deployment: Deployment
) -> None:
    problems = producer_problems(producer, deployment)
    assert not problems, "\n".join(problems)


def test_a_producer_whose_job_is_not_rendered_is_reported(deployment: Deployment) -> None:
    ghost = provenance.Producer("wg-exporter", "a WireGuard exporter no role installs", ("wireguard",))
    [problem] = producer_problems(ghost, deployment)
    assert "'wg-exporter'" in problem and "job wireguard" in problem and "drop the metrics" in problem


def test_a_job_fed_by_another_component_is_reported(deployment: Deployment) -> None:
    host, _, block = next(deployment.alloy_scrapes("node"))
    impostor = provenance.Producer(
        "impostor", "node metrics from the wrong exporter", ("node",), "prometheus.exporter.self"
    )
    problems = producer_problems(impostor, deployment)
    assert any(host in p and "prometheus.exporter.self" in p and repr(block.label) in p for p in problems)


def job_problems(readers: list[Reader], deployed: Deployment) -> list[str]:
    """A `job` value an alert or panel selects must be a job the rendered configs scrape."""
    jobs = deployed.jobs()
    problems = []
    for reader in readers:
        if reader.variable:
            continue
        for job in sorted(provenance.matched_label_values(reader.expr, "job") - jobs):
            problems.append(
                f'job "{job}", selected by {reader.where}, is not scraped by any rendered config '
                f"(jobs: {', '.join(sorted(jobs))}); fix the matcher or deploy the job"
            )
    return problems


def test_every_job_an_alert_or_panel_selects_is_scraped(deployment: Deployment) -> None:
    problems = job_problems(all_readers(), deployment)
    assert not problems, "\n".join(problems)


def test_a_selected_job_nothing_scrapes_is_reported(deployment: Deployment) -> None:
    reader = Reader('panel 3 "Stack targets down" of dashboard self', 'count(up{job=~"loki|wireguard"} == 0)')
    [problem] = job_problems([reader], deployment)
    assert 'job "wireguard"' in problem and "Stack targets down" in problem


# Metrics a scraped job yields only for some of its targets: the job alone does not prove them.
# blackbox's http prober sets probe_ssl_earliest_cert_expiry only when the probed URL is https.
CONDITIONAL = {"probe_ssl_earliest_cert_expiry": "an https:// target of the blackbox job with module http_2xx"}


def _https_probes(prometheus: dict[str, Any]) -> list[str]:
    return [
        target
        for job in prometheus.get("scrape_configs", [])
        if job.get("job_name") == "blackbox"
        for static in job.get("static_configs", [])
        if static.get("labels", {}).get("module") == "http_2xx"
        for target in static.get("targets", [])
        if str(target).startswith("https://")
    ]


def conditional_problems(readers: list[Reader], deployed: Deployment) -> list[str]:
    problems = []
    https = _https_probes(deployed.prometheus)
    for reader in readers:
        for name in sorted(reader.names() & set(CONDITIONAL)):
            if not https:
                problems.append(
                    f"{name!r}, read by {reader.where}, needs {CONDITIONAL[name]} and the rendered prometheus.yml "
                    "(inventories/prod) has none: add the public https URL to obs_probe_urls"
                )
    return problems


def test_metrics_of_some_targets_only_have_such_a_target(deployment: Deployment) -> None:
    """The TLS-expiry alert reads a metric that exists only for https probes: prod must probe one."""
    readers = all_readers()
    assert any(CONDITIONAL.keys() & r.names() for r in readers), "no alert or panel reads the TLS expiry any more"
    problems = conditional_problems(readers, deployment)
    assert not problems, "\n".join(problems)


def test_an_inventory_without_an_https_probe_is_reported(deployment: Deployment) -> None:
    reader = Reader('alert rule tls-cert-expiring "TLS certificate expires"', "probe_ssl_earliest_cert_expiry - time()")
    http_only = Deployment(deployment.prometheus_jobs, deployment.alloy, {"scrape_configs": []})
    [problem] = conditional_problems([reader], http_only)
    assert "tls-cert-expiring" in problem and "obs_probe_urls" in problem
