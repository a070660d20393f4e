"""The scale-out switches (docs/scale-out.md), each rendered by the role and checked by the tools the
rest of the stack is checked with: promtool for prometheus.yml with remote_write, the Loki rules for
the new S3 schema period, Tempo's documented field tree for its S3 storage, Grafana's documented
provisioning fields for the AMP and Mimir datasources. The AWS permissions the rendered configs need
are cross-checked against the one list the instance role is built from
(terraform/scale-out-permissions.yml, read by terraform/iam.tf); the applied role itself is checked
against the same list on the local AWS (tests/integration/test_terraform_moto.py).
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl.validators import loki as loki_validator
from tests.contract import test_datasource_provisioning as datasource_rules
from tests.contract import test_tempo_config as tempo_rules
from tests.contract.test_monitoring_stack_render import FUTURE, Rendered, _checked_by_tools, _fixture_inventory, render
from tests.support import REPO

MODULE = REPO / "terraform"
PERMISSIONS = MODULE / "scale-out-permissions.yml"
REGION = "ap-northeast-2"
# Shaped like the Terraform output amp_workspace_endpoint (the emulator's is checked in the moto test).
AMP_ENDPOINT = f"https://aps-workspaces.{REGION}.amazonaws.com/workspaces/ws-0123abcd-0123-4567-89ab-0123456789ab/"
BUCKET = "obs-monitoring-prod-loki-123456789012"
MIMIR = "https://mimir.example.internal"
# A stand-in for the Vault value (as SECRETS in test_monitoring_stack_render).
MIMIR_PASSWORD = "contract-test-mimir-password"

# Every switch on: AMP, Loki moving to the bucket on a future day, Tempo (on a host that holds it)
# storing blocks in the same bucket.
ALL_ON_AMP = {
    "monitoring_stack_remote_write": "amp",
    "monitoring_stack_remote_write_endpoint": AMP_ENDPOINT,
    "monitoring_stack_remote_write_region": REGION,
    "monitoring_stack_loki_s3_bucket": BUCKET,
    "monitoring_stack_loki_s3_region": REGION,
    "monitoring_stack_loki_s3_from": FUTURE,
    "monitoring_stack_tempo_enabled": True,
    "monitoring_stack_host_memory_mib": 4096,
}
MIMIR_ON = {
    "monitoring_stack_remote_write": "mimir",
    "monitoring_stack_remote_write_endpoint": MIMIR,
    "monitoring_stack_remote_write_tenant": "obs-prod",
    "monitoring_stack_remote_write_username": "obs-prod-writer",
    "monitoring_stack_remote_write_password": MIMIR_PASSWORD,
}


@pytest.fixture(scope="module")
def amp(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    tmp = tmp_path_factory.mktemp("scale-out-amp")
    return render(_fixture_inventory(tmp), tmp / "out", ALL_ON_AMP)


@pytest.fixture(scope="module")
def mimir(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    tmp = tmp_path_factory.mktemp("scale-out-mimir")
    return render(_fixture_inventory(tmp), tmp / "out", MIMIR_ON)


def _datasources(r: Rendered) -> dict[str, dict[str, Any]]:
    listed = r.yaml("grafana/provisioning/datasources/datasources.yml")["datasources"]
    return {d["uid"]: d for d in listed}


@pytest.mark.parametrize("which", ["amp", "mimir"])
def test_every_variant_passes_every_tool(which: str, request: pytest.FixtureRequest) -> None:
    """promtool check config (the pinned Prometheus release), the Loki rules, Compose's own check."""
    _checked_by_tools(request.getfixturevalue(which))


def test_amp_remote_write_is_sigv4_signed_by_the_instance_role(amp: Rendered) -> None:
    config = amp.yaml("prometheus/prometheus.yml")
    assert config["remote_write"] == [
        {"name": "amp", "url": f"{AMP_ENDPOINT}api/v1/remote_write", "sigv4": {"region": REGION}}
    ]
    # The local path is unchanged: alerting and recording rules still read the local TSDB.
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert "access_key" not in amp.text("prometheus/prometheus.yml")


def test_amp_datasource_queries_the_workspace_with_the_default_credentials_chain(amp: Rendered) -> None:
    datasources = _datasources(amp)
    assert datasource_rules.check(list(datasources.values())) == []
    ds = datasources["metrics-amp"]
    assert ds["type"] == "grafana-amazonprometheus-datasource"
    assert ds["url"] == AMP_ENDPOINT
    assert ds["jsonData"]["sigV4Auth"] is True
    assert ds["jsonData"]["sigV4AuthType"] == "default"
    assert ds["jsonData"]["sigV4Region"] == REGION
    assert "secureJsonData" not in ds, "no keys: the instance role signs"
    assert datasources["prometheus"]["isDefault"] is True, "the local Prometheus stays the default"
    env = (amp.out / ".env").read_text(encoding="utf-8")
    defaults = yaml.safe_load((REPO / "roles/monitoring_stack/defaults/main.yml").read_text(encoding="utf-8"))
    assert f"GF_PLUGINS_PREINSTALL_SYNC='{defaults['monitoring_stack_grafana_amp_plugin']}'" in env
    assert re.fullmatch(r"[a-z0-9-]+@\d+\.\d+\.\d+", defaults["monitoring_stack_grafana_amp_plugin"]), "pin a release"


def test_loki_moves_to_s3_in_a_new_period_and_keeps_the_old_one(amp: Rendered) -> None:
    config = amp.yaml("loki/loki.yml")
    periods = config["schema_config"]["configs"]
    assert [(p["object_store"], p["schema"], p["store"]) for p in periods] == [
        ("filesystem", "v13", "tsdb"),
        ("s3", "v13", "tsdb"),
    ]
    assert str(periods[-1]["from"]) == FUTURE
    # The period already holding data is exactly the one an install without the switch renders.
    defaults = yaml.safe_load((REPO / "roles/monitoring_stack/defaults/main.yml").read_text(encoding="utf-8"))
    assert "monitoring_stack_loki_s3_from" in defaults
    assert config["storage_config"]["filesystem"] == {"directory": "/loki/chunks"}, "old logs stay readable"
    assert config["storage_config"]["aws"] == {"region": REGION, "bucketnames": BUCKET, "s3forcepathstyle": False}
    assert config["compactor"]["retention_enabled"] is True
    assert config["compactor"]["delete_request_store"] == "s3"
    assert loki_validator.check(amp.out / "loki" / "loki.yml") == []


def test_without_the_switch_date_the_period_stays_as_deployed(amp: Rendered, tmp_path: Path) -> None:
    """Switching is additive: the first period rendered with the switch equals the only period
    rendered without any bucket (what a running install has deployed)."""
    plain = render(_fixture_inventory(tmp_path), tmp_path / "out")
    before = plain.yaml("loki/loki.yml")["schema_config"]["configs"]
    after = amp.yaml("loki/loki.yml")["schema_config"]["configs"]
    assert after[: len(before)] == before


def test_s3_switch_date_without_bucket_is_refused(tmp_path: Path) -> None:
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", {"monitoring_stack_loki_s3_from": FUTURE}, False)
    assert r.proc.returncode != 0
    assert "monitoring_stack_loki_s3_bucket" in r.proc.stdout
    assert not (tmp_path / "out" / "loki" / "loki.yml").exists()


def test_tempo_stores_blocks_in_the_bucket_under_the_terraform_prefix(amp: Rendered) -> None:
    config = amp.yaml("tempo/tempo.yml")
    assert tempo_rules.check(config) == []
    storage = config["storage"]["trace"]
    assert storage["backend"] == "s3"
    assert storage["s3"]["bucket"] == BUCKET
    default = re.search(
        r'variable "tempo_bucket_prefix" \{.*?default\s*=\s*"([^"]+)"',
        (MODULE / "variables.tf").read_text(encoding="utf-8"),
        re.S,
    )
    assert default, "terraform/variables.tf must define tempo_bucket_prefix"
    assert storage["s3"]["prefix"] == default.group(1), "the role's prefix must be the one the role may tag under"


def test_mimir_remote_write_with_tenant_and_a_password_only_prometheus_reads(mimir: Rendered) -> None:
    config = mimir.yaml("prometheus/prometheus.yml")
    assert config["remote_write"] == [
        {
            "name": "mimir",
            "url": f"{MIMIR}/api/v1/push",
            "headers": {"X-Scope-OrgID": "obs-prod"},
            "basic_auth": {"username": "obs-prod-writer", "password_file": "/etc/prometheus/remote_write_password"},
        }
    ]
    assert MIMIR_PASSWORD not in mimir.text("prometheus/prometheus.yml")
    secret = mimir.out / "prometheus" / "remote_write_password"
    assert secret.read_text(encoding="utf-8") == MIMIR_PASSWORD
    assert stat.S_IMODE(secret.stat().st_mode) == 0o400
    assert secret.stat().st_uid == 65534, "Prometheus' user (nobody) must own it"


def test_mimir_datasource_takes_the_password_from_env(mimir: Rendered) -> None:
    datasources = _datasources(mimir)
    assert datasource_rules.check(list(datasources.values())) == []
    ds = datasources["metrics-mimir"]
    assert ds["type"] == "prometheus"
    assert ds["url"] == f"{MIMIR}/prometheus"
    assert ds["basicAuth"] is True and ds["basicAuthUser"] == "obs-prod-writer"
    assert ds["jsonData"]["prometheusType"] == "Mimir"
    assert ds["jsonData"]["httpHeaderName1"] == "X-Scope-OrgID"
    assert ds["secureJsonData"] == {"basicAuthPassword": "$REMOTE_WRITE_PASSWORD", "httpHeaderValue1": "obs-prod"}
    datasources_text = mimir.text("grafana/provisioning/datasources/datasources.yml")
    assert MIMIR_PASSWORD not in datasources_text
    env = (mimir.out / ".env").read_text(encoding="utf-8")
    assert f"REMOTE_WRITE_PASSWORD='{MIMIR_PASSWORD}'" in env
    assert "GF_PLUGINS_PREINSTALL_SYNC" not in env, "the AMP plugin only with AMP"


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (
            {"monitoring_stack_remote_write": "amp", "monitoring_stack_remote_write_region": REGION},
            "amp_workspace_endpoint",
        ),
        (
            {
                "monitoring_stack_remote_write": "amp",
                "monitoring_stack_remote_write_endpoint": AMP_ENDPOINT,
                "monitoring_stack_remote_write_region": "eu-west-1",
            },
            "monitoring_stack_remote_write_region",
        ),
        (MIMIR_ON | {"monitoring_stack_remote_write_password": ""}, "vault_remote_write_password"),
    ],
)
def test_incomplete_remote_write_is_refused_naming_the_fix(extra: dict[str, Any], named: str, tmp_path: Path) -> None:
    r = render(_fixture_inventory(tmp_path), tmp_path / "out", extra, expect_ok=False)
    assert r.proc.returncode != 0
    assert named in r.proc.stdout
    assert not (tmp_path / "out" / "prometheus" / "prometheus.yml").exists()


def _needed(r: Rendered) -> set[str]:
    """The groups of terraform/scale-out-permissions.yml the rendered configs use, derived from what
    each client is configured to do (not from the role's variables)."""
    needed: set[str] = set()
    prometheus = r.yaml("prometheus/prometheus.yml")
    if any("sigv4" in rw for rw in prometheus.get("remote_write", [])):
        needed.add("prometheus_remote_write")
    for ds in _datasources(r).values():
        if ds.get("jsonData", {}).get("sigV4Auth"):
            needed.add("grafana_amp_query")
    loki = r.yaml("loki/loki.yml")
    if any(p["object_store"] == "s3" for p in loki["schema_config"]["configs"]):
        needed |= {"loki_bucket", "loki_objects"}
    tempo_file = r.out / "tempo" / "tempo.yml"
    if (
        tempo_file.exists()
        and yaml.safe_load(tempo_file.read_text(encoding="utf-8"))["storage"]["trace"]["backend"] == "s3"
    ):
        needed |= {"tempo_bucket", "tempo_objects"}
    return needed


def test_role_grants_are_exactly_what_the_rendered_configs_need(amp: Rendered, mimir: Rendered) -> None:
    """One list: every group of scale-out-permissions.yml is used by iam.tf and needed by a rendered
    config with every switch on; Mimir (not AWS) needs none of them."""
    permissions = yaml.safe_load(PERMISSIONS.read_text(encoding="utf-8"))
    iam = (MODULE / "iam.tf").read_text(encoding="utf-8")
    used_by_role = set(re.findall(r"local\.scale_out_actions\.([a-z_]+)", iam))
    assert used_by_role == set(permissions), "iam.tf must grant each group of the list, and only those"
    assert _needed(amp) == set(permissions)
    assert _needed(mimir) == set()
    for group, actions in permissions.items():
        assert actions and all(re.fullmatch(r"(aps|s3):[A-Za-z]+", a) for a in actions), group
