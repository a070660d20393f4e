"""The role's config.alloy, rendered by Ansible from an inventory, checked by obsctl's Alloy reader.

The alloy binary cannot be had here, so `alloy validate` (which the role runs on real hosts)
is replaced by the structural checks of obsctl.validators.alloy: every reference resolves, no
duplicate labels, every endpoint on the monitoring server's tunnel address, OTLP on localhost.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl.alloy_syntax import Block, parse, references_in
from obsctl.signals import provenance
from obsctl.validators.alloy import check, check_endpoints_point_at
from tests.support import REPO, tool

MONITORING_ADDRESS = "10.100.0.1"

APPS = [
    {
        "name": "api",
        "port": 8080,
        "metrics_path": "/actuator/prometheus",
        "health_path": "/actuator/health",
        "hikari_pool": "DoktoriHikariPool",
        "log_paths": ["/var/log/doktori/api/*.log"],
        "team": "backend",
    },
    {
        "name": "chat",
        "port": 8081,
        "metrics_path": "/actuator/prometheus",
        "health_path": "/actuator/health",
        "hikari_pool": "ChatHikariPool",
        "log_paths": ["/var/log/doktori/chat/*.log"],
    },
]
NGINX = {
    "stub_status_url": "http://127.0.0.1:8088/nginx_status",
    "access_log": "/var/log/nginx/access.log",
    "error_log": "/var/log/nginx/error.log",
}


def inventory() -> dict[str, Any]:
    """A monitoring host, a migrated app host (full) and a bare app host (no apps, no nginx)."""
    return {
        "all": {
            "vars": {"obs_env": "prod", "obs_team": "platform", "ansible_connection": "local"},
            "children": {
                "monitoring": {"hosts": {"mon-1": {"wireguard_address": MONITORING_ADDRESS}}},
                "app": {
                    "hosts": {
                        "app-1": {
                            "wireguard_address": "10.100.0.11",
                            "obs_agent": "alloy",
                            "obs_apps": APPS,
                            "obs_nginx": NGINX,
                        },
                        "app-2": {"wireguard_address": "10.100.0.12", "obs_agent": "alloy"},
                        "app-3": {"wireguard_address": "10.100.0.13", "obs_agent": "legacy", "obs_apps": APPS},
                    }
                },
            },
        }
    }


def render_alloy_configs(
    tmp: Path,
    extra_vars: dict[str, Any] | None = None,
    hosts: dict[str, Any] | None = None,
    inventory_dir: Path | None = None,
) -> dict[str, Path]:
    """Render roles/alloy/templates/config.alloy.j2 for every host of an inventory with ansible-playbook.

    The inventory is ``hosts`` (default: :func:`inventory`) written to a file, or a project
    inventory directory (``inventory_dir``, group_vars included) as it is.
    """
    playbook = tool("ansible-playbook")
    inv = inventory_dir or tmp / "hosts.yml"
    if inventory_dir is None:
        inv.write_text(yaml.safe_dump(hosts or inventory()))
    out = tmp / "out"
    out.mkdir()
    play = [
        {
            "name": "Render config.alloy",
            "hosts": "all",
            "gather_facts": False,
            "vars_files": [
                str(REPO / "roles/obs_common/defaults/main.yml"),
                str(REPO / "roles/alloy/defaults/main.yml"),
            ],
            "tasks": [
                {
                    "name": "Render",
                    "ansible.builtin.template": {
                        "src": str(REPO / "roles/alloy/templates/config.alloy.j2"),
                        "dest": f"{out}/{{{{ inventory_hostname }}}}.alloy",
                        "mode": "0644",
                    },
                },
                {
                    "name": "Record the switch decisions the role derives from the inventory",
                    "ansible.builtin.copy": {
                        "dest": f"{out}/{{{{ inventory_hostname }}}}.decisions.json",
                        "content": "{{ {'start': alloy_start | bool,"
                        " 'retire': alloy_retire_legacy_agents | bool} | to_json }}",
                        "mode": "0644",
                    },
                },
            ],
        }
    ]
    (tmp / "render.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    venv_python = str(Path(playbook).parent / "python")
    cmd = [
        playbook, "-i", str(inv), str(tmp / "render.yml"),
        "-e", f"ansible_python_interpreter={venv_python}", "-e", "ansible_connection=local",
        "-e", "ansible_become=false",  # rendered locally as the test runner: Mitogen does not skip a same-user become
    ]  # fmt: skip
    if extra_vars:
        cmd += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {p.stem: p for p in out.glob("*.alloy")}


def decisions(rendered: dict[str, Path], host: str) -> dict[str, bool]:
    data: dict[str, bool] = json.loads((rendered[host].parent / f"{host}.decisions.json").read_text())
    return data


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return render_alloy_configs(tmp_path_factory.mktemp("alloy"))


def _component(path: Path, name: str, label: str) -> Block:
    for block in parse(path.read_text()).components():
        if (block.name, block.label) == (name, label):
            return block
    raise AssertionError(f'{name} "{label}" not rendered in {path.name}')


@pytest.mark.parametrize("host", ["mon-1", "app-1", "app-2"])
def test_rendered_config_passes_every_check(rendered: dict[str, Path], host: str) -> None:
    assert check(rendered[host]) == []


@pytest.mark.parametrize("host", ["mon-1", "app-1", "app-2"])
def test_every_endpoint_is_the_tunnel_address(rendered: dict[str, Path], host: str) -> None:
    assert check_endpoints_point_at(rendered[host], MONITORING_ADDRESS) == []


def test_host_metrics_relabelled_to_inventory_name_and_job_node(rendered: dict[str, Path]) -> None:
    relabel = _component(rendered["app-1"], "discovery.relabel", "host")
    rules = {r.attr("target_label"): r.attr("replacement") for r in relabel.children("rule")}
    assert rules == {"instance": "app-1", "host": "app-1", "job": "node"}
    assert _component(rendered["app-1"], "prometheus.scrape", "host").attr("job_name") == "node"


@pytest.mark.parametrize("host", ["mon-1", "app-1", "app-2"])
def test_alloy_ships_its_own_metrics_under_the_host_name(rendered: dict[str, Path], host: str) -> None:
    """alloy_build_info reaches Prometheus with the host label alloy-agent-absent groups by, on every host."""
    [job] = provenance.ALLOY.jobs
    scrape = _component(rendered[host], "prometheus.scrape", job)
    assert scrape.attr("job_name") == job
    assert [r.dotted() for r in references_in(scrape.attr("forward_to"))] == [
        "prometheus.remote_write.monitoring.receiver"
    ]
    [source] = [r.dotted() for r in references_in(scrape.attr("targets"))]
    relabel = _component(rendered[host], "discovery.relabel", source.split(".")[2])
    [exporter] = [r.path for r in references_in(relabel.attr("targets"))]
    assert (".".join(exporter[:3]), exporter[-1]) == (provenance.ALLOY.alloy_component, "targets")
    _component(rendered[host], provenance.ALLOY.alloy_component, exporter[3])
    rules = {r.attr("target_label"): r.attr("replacement") for r in relabel.children("rule")}
    assert rules == {"instance": host, "host": host, "job": job}


def test_spring_targets_carry_app_team_and_paths(rendered: dict[str, Path]) -> None:
    targets = _component(rendered["app-1"], "prometheus.scrape", "spring").attr("targets")
    assert isinstance(targets, list)
    got = {(t["app"], t["__address__"], t["__metrics_path__"], t["team"], t["instance"]) for t in targets}
    assert got == {
        ("api", "127.0.0.1:8080", "/actuator/prometheus", "backend", "app-1"),
        ("chat", "127.0.0.1:8081", "/actuator/prometheus", "platform", "app-1"),
    }


def test_log_files_take_over_promtail_positions(rendered: dict[str, Path]) -> None:
    for label in ("apps", "nginx"):
        source = _component(rendered["app-1"], "loki.source.file", label)
        assert source.attr("legacy_positions_file") == "/var/lib/alloy/promtail-positions.yaml"
    match = _component(rendered["app-1"], "local.file_match", "apps").attr("path_targets")
    assert isinstance(match, list)
    assert {(t["__path__"], t["job"], t["app"]) for t in match} == {
        ("/var/log/doktori/api/*.log", "app-logs", "api"),
        ("/var/log/doktori/chat/*.log", "app-logs", "chat"),
    }


def test_loki_streams_carry_host_and_env(rendered: dict[str, Path]) -> None:
    labels = _component(rendered["app-1"], "loki.write", "monitoring").attr("external_labels")
    assert labels == {"env": "prod", "host": "app-1"}


def test_sections_follow_the_inventory(rendered: dict[str, Path]) -> None:
    def names(host: str) -> set[str]:
        return {f"{b.name}.{b.label}" for b in parse(rendered[host].read_text()).components()}

    assert "loki.source.docker.stack" in names("mon-1")
    assert "loki.source.docker.stack" not in names("app-1")
    assert {"prometheus.scrape.spring", "prometheus.scrape.nginx", "loki.source.file.apps"} <= names("app-1")
    assert not {"prometheus.scrape.spring", "prometheus.scrape.nginx", "loki.source.file.apps"} & names("app-2")
    assert "loki.source.journal.system" in names("app-2")


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return render_alloy_configs(tmp_path_factory.mktemp("alloy-traces"), {"alloy_tracing_enabled": True})


def test_tracing_is_off_unless_switched_on(rendered: dict[str, Path]) -> None:
    for host in ("mon-1", "app-1", "app-2"):
        assert not any(b.name.startswith("otelcol.") for b in parse(rendered[host].read_text()).components())


@pytest.mark.parametrize("host", ["mon-1", "app-1", "app-2"])
def test_tracing_section_passes_every_check(traced: dict[str, Path], host: str) -> None:
    assert check(traced[host]) == []
    assert check_endpoints_point_at(traced[host], MONITORING_ADDRESS) == []


def test_traces_flow_receiver_resource_batch_tempo(traced: dict[str, Path]) -> None:
    path = traced["app-1"]

    def next_hop(block: Block) -> str:
        [output] = block.children("output")
        [ref] = references_in(output.attr("traces"))
        return ".".join(ref.path[:4])

    receiver = _component(path, "otelcol.receiver.otlp", "apps")
    assert {b.name: b.attr("endpoint") for b in receiver.blocks if b.name in ("grpc", "http")} == {
        "grpc": "127.0.0.1:4317",
        "http": "127.0.0.1:4318",
    }
    assert next_hop(receiver) == "otelcol.processor.transform.resource"
    transform = _component(path, "otelcol.processor.transform", "resource")
    [statements] = transform.children("trace_statements")
    assert statements.attr("context") == "resource"
    assert statements.attr("statements") == [
        'set(attributes["host.name"], "app-1")',
        'set(attributes["deployment.environment"], "prod")',
    ]
    assert next_hop(transform) == "otelcol.processor.batch.traces"
    assert next_hop(_component(path, "otelcol.processor.batch", "traces")) == "otelcol.exporter.otlp.tempo"
    exporter = _component(path, "otelcol.exporter.otlp", "tempo")
    assert exporter.children("client")[0].attr("endpoint") == f"{MONITORING_ADDRESS}:4317"
    [queue] = exporter.children("sending_queue")
    assert queue.attr("enabled") is True and isinstance(queue.attr("queue_size"), int)
    [retry] = exporter.children("retry_on_failure")
    assert retry.attr("enabled") is True and retry.attr("max_elapsed_time")


def test_host_name_matches_the_loki_host_label(traced: dict[str, Path]) -> None:
    """Grafana maps the span attribute host.name to the Loki label host: both must carry the same name."""
    labels = _component(traced["app-1"], "loki.write", "monitoring").attr("external_labels")
    transform = _component(traced["app-1"], "otelcol.processor.transform", "resource")
    statements = transform.children("trace_statements")[0].attr("statements")
    assert isinstance(labels, dict) and isinstance(statements, list)
    assert f'set(attributes["host.name"], "{labels["host"]}")' in statements


def test_checker_catches_an_argument_the_component_does_not_have(traced: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.alloy"
    broken.write_text(traced["app-1"].read_text().replace("queue_size ", "queue_length ", 1))
    problems = check(broken)
    assert any("otelcol.exporter.otlp.tempo > sending_queue: 'queue_length' is not an argument" in p for p in problems)


def test_legacy_hosts_are_staged_not_switched(rendered: dict[str, Path]) -> None:
    """obs_agent: legacy = Prometheus still scrapes node_exporter: Alloy installed, not started, nothing retired."""
    assert decisions(rendered, "app-3") == {"start": False, "retire": False}
    for host in ("mon-1", "app-1", "app-2"):
        assert decisions(rendered, host) == {"start": True, "retire": True}


def test_checker_catches_a_broken_reference_in_the_rendered_file(rendered: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.alloy"
    broken.write_text(
        rendered["app-1"]
        .read_text()
        .replace("prometheus.remote_write.monitoring.receiver", "prometheus.remote_write.mon.receiver", 1)
    )
    problems = check(broken)
    assert any(
        "prometheus.remote_write.mon.receiver" in p and "does not name a declared component" in p for p in problems
    )
