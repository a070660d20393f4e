"""The Terraform module against a local AWS emulator (moto): apply, a clean second plan, what was
created (checked with boto3), instance replacement keeps the data, destroy leaves nothing.

One apply/plan/destroy cycle, with the Loki bucket switched on so it is covered once.
Phase timings are printed (run with -s to see them).
"""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl import localaws
from obsctl.lab.layout import monitoring_host
from obsctl.terraform import Terraform
from tests.support import REPO, require_image, terraform_cli_config, tool

# The lab's monitoring image: Debian 12 with bookworm's cloud-init, as on the Debian 12 AMIs.
CLOUD_IMAGE = monitoring_host().image

MODULE = REPO / "terraform"
LAB_VARS = MODULE / "envs" / "lab.tfvars"
LAB_BACKEND = MODULE / "envs" / "lab.s3.tfbackend"
STATE_BUCKET = "obs-lab-tfstate"
# Branches the lab leaves off, turned on here to cover them: the Loki bucket, the AMP workspace
# (the scale-out path, docs/scale-out.md; moto serves `amp`), and the break-glass SSM agent
# (lab.tfvars: null). The agent values are a TEST FIXTURE (the sha256 of an empty file):
# no instance boots in the emulator, nothing is downloaded; they only make the module attach the
# SSM policy and render the agent's install step into user_data.
EXTRA = {
    "loki_bucket_enabled": True,
    "amp_workspace_enabled": True,
    "ssm_agent": {"version": "3.3.0.0", "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
}


class Cycle:
    def __init__(self, aws: localaws.LocalAws, tf: Terraform) -> None:
        self.aws = aws
        self.tf = tf
        self.timings: dict[str, float] = {}
        self.destroyed = False

    def timed(self, phase: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        result = fn(*args, **kwargs)
        self.timings[phase] = time.monotonic() - start
        print(f"[terraform/moto] {phase}: {self.timings[phase]:.1f}s")
        return result


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cycle]:
    scratch = tmp_path_factory.mktemp("tf-moto")
    cli_config = terraform_cli_config(scratch)
    aws = localaws.start()
    run: Cycle | None = None
    try:
        aws.ensure_bucket(STATE_BUCKET)
        # TF_DATA_DIR outside the module: the lab may use terraform/ at the same time.
        tf = Terraform(MODULE, env={**aws.env(), "TF_DATA_DIR": str(scratch / "tfdata")}, cli_config=cli_config)
        run = Cycle(aws, tf)
        run.timed("init", tf.init, backend_config=LAB_BACKEND, readonly_lock=True)
        run.timed("apply", tf.apply, [LAB_VARS], EXTRA)
        yield run
    finally:
        try:
            if run is not None and not run.destroyed:
                run.tf.destroy([LAB_VARS], EXTRA)
        finally:
            aws.stop()


def test_second_plan_shows_no_changes(cycle: Cycle) -> None:
    pending = cycle.timed("second plan", cycle.tf.plan, [LAB_VARS], EXTRA)
    assert pending is False, "a plan right after apply must report no changes"


def test_outputs(cycle: Cycle) -> None:
    out = cycle.tf.output()
    ec2 = cycle.aws.client("ec2")
    address = ec2.describe_addresses(PublicIps=[out["monitoring_public_ip"]])["Addresses"][0]
    assert address["InstanceId"] == out["monitoring_instance_id"]
    assert out["monitoring_tunnel_address"] == "10.100.0.1"
    assert out["wireguard_port"] == 51820
    assert out["loki_bucket_name"].startswith("obs-monitoring-lab-loki-")
    ssm = cycle.aws.client("ssm")
    param = ssm.get_parameter(Name=out["wireguard_public_key_parameter"])["Parameter"]
    assert param["Type"] == "String"
    assert f"--name {out['wireguard_public_key_parameter']}" in out["wireguard_public_key_command"]


def _instance(cycle: Cycle) -> dict[str, Any]:
    ec2 = cycle.aws.client("ec2")
    instance_id = cycle.tf.output()["monitoring_instance_id"]
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    instance: dict[str, Any] = reservations[0]["Instances"][0]
    return instance


def test_security_group_admits_only_wireguard(cycle: Cycle) -> None:
    ec2 = cycle.aws.client("ec2")
    groups = _instance(cycle)["SecurityGroups"]
    assert len(groups) == 1
    sg = ec2.describe_security_groups(GroupIds=[groups[0]["GroupId"]])["SecurityGroups"][0]
    ingress = sg["IpPermissions"]
    assert len(ingress) == 1, f"exactly one ingress rule expected, got {ingress}"
    rule = ingress[0]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("udp", 51820, 51820)
    assert [r["CidrIp"] for r in rule["IpRanges"]] == ["0.0.0.0/0"]
    assert not rule.get("UserIdGroupPairs")
    egress = {(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in sg["IpPermissionsEgress"]}
    assert egress == {("tcp", 80, 80), ("tcp", 443, 443)}


def test_instance_is_arm64_with_imdsv2_and_no_ssh_key(cycle: Cycle) -> None:
    ec2 = cycle.aws.client("ec2")
    instance = _instance(cycle)
    assert instance["InstanceType"] == "t4g.small"
    image = ec2.describe_images(ImageIds=[instance["ImageId"]])["Images"][0]
    assert image["Architecture"] == "arm64"
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert instance["MetadataOptions"]["HttpPutResponseHopLimit"] == 2
    assert "KeyName" not in instance or not instance["KeyName"]
    assert instance["IamInstanceProfile"]["Arn"].endswith("/obs-monitoring-lab-instance")


def test_volumes_are_encrypted_gp3_and_data_is_attached(cycle: Cycle) -> None:
    ec2 = cycle.aws.client("ec2")
    instance = _instance(cycle)
    out = cycle.tf.output()
    mappings = {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in instance["BlockDeviceMappings"]}
    root = ec2.describe_volumes(VolumeIds=[mappings[instance["RootDeviceName"]]])["Volumes"][0]
    data = ec2.describe_volumes(VolumeIds=[out["data_volume_id"]])["Volumes"][0]
    for volume in (root, data):
        assert volume["Encrypted"] is True
        assert volume["VolumeType"] == "gp3"
    assert data["Size"] == 10
    assert [(a["InstanceId"], a["State"]) for a in data["Attachments"]] == [(instance["InstanceId"], "attached")]


def test_iam_role_allows_session_manager(cycle: Cycle) -> None:
    iam = cycle.aws.client("iam")
    attached = iam.list_attached_role_policies(RoleName="obs-monitoring-lab-instance")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AmazonSSMManagedInstanceCore"]
    inline = iam.get_role_policy(RoleName="obs-monitoring-lab-instance", PolicyName="obs-monitoring-lab-instance")
    document = inline["PolicyDocument"]
    statements = document if isinstance(document, dict) else json.loads(document)
    sids = {s["Sid"] for s in statements["Statement"]}
    assert sids == {
        "PublishWireGuardPublicKey",
        "LokiBucketList",
        "LokiBucketObjects",
        "TempoBucketObjects",
        "AmpRemoteWrite",
        "AmpQuery",
    }


def _inline_statements(cycle: Cycle) -> dict[str, dict[str, Any]]:
    iam = cycle.aws.client("iam")
    inline = iam.get_role_policy(RoleName="obs-monitoring-lab-instance", PolicyName="obs-monitoring-lab-instance")
    document = inline["PolicyDocument"]
    statements = document if isinstance(document, dict) else json.loads(document)
    return {s["Sid"]: s for s in statements["Statement"]}


def _as_set(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def test_amp_workspace_is_the_one_the_role_may_write_to_and_query(cycle: Cycle) -> None:
    """The workspace exists in the emulator under the outputs' endpoint, and the role's AMP grants
    (actions from scale-out-permissions.yml) name exactly that workspace."""
    out = cycle.tf.output()
    workspaces = cycle.aws.client("amp").list_workspaces(alias="obs-monitoring-lab")["workspaces"]
    assert len(workspaces) == 1, workspaces
    workspace = cycle.aws.client("amp").describe_workspace(workspaceId=workspaces[0]["workspaceId"])["workspace"]
    assert out["amp_workspace_endpoint"] == workspace["prometheusEndpoint"]
    assert out["amp_remote_write_url"] == workspace["prometheusEndpoint"] + "api/v1/remote_write"
    permissions = yaml.safe_load((MODULE / "scale-out-permissions.yml").read_text(encoding="utf-8"))
    statements = _inline_statements(cycle)
    assert _as_set(statements["AmpRemoteWrite"]["Action"]) == set(permissions["prometheus_remote_write"])
    assert _as_set(statements["AmpQuery"]["Action"]) == set(permissions["grafana_amp_query"])
    for sid in ("AmpRemoteWrite", "AmpQuery"):
        assert _as_set(statements[sid]["Resource"]) == {workspace["arn"]}


def test_bucket_grants_cover_loki_and_tempo_under_its_prefix(cycle: Cycle) -> None:
    out = cycle.tf.output()
    bucket_arn = f"arn:aws:s3:::{out['loki_bucket_name']}"
    permissions = yaml.safe_load((MODULE / "scale-out-permissions.yml").read_text(encoding="utf-8"))
    statements = _inline_statements(cycle)
    assert _as_set(statements["LokiBucketList"]["Action"]) == set(
        permissions["loki_bucket"] + permissions["tempo_bucket"]
    )
    assert _as_set(statements["LokiBucketList"]["Resource"]) == {bucket_arn}
    assert _as_set(statements["LokiBucketObjects"]["Action"]) == set(permissions["loki_objects"])
    assert _as_set(statements["LokiBucketObjects"]["Resource"]) == {f"{bucket_arn}/*"}
    assert _as_set(statements["TempoBucketObjects"]["Action"]) == set(permissions["tempo_objects"])
    assert _as_set(statements["TempoBucketObjects"]["Resource"]) == {f"{bucket_arn}/{out['tempo_bucket_prefix']}/*"}


def test_loki_bucket_is_private_encrypted_versioned_and_expiring(cycle: Cycle) -> None:
    s3 = cycle.aws.client("s3")
    bucket = cycle.tf.output()["loki_bucket_name"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    sse = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny
    assert deny[0]["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["Status"] == "Enabled"
    assert rules[0]["Expiration"]["Days"] == 400


def _launched_user_data(cycle: Cycle) -> str:
    """The user_data as EC2 holds it for the instance Terraform launched (not a re-render)."""
    ec2 = cycle.aws.client("ec2")
    attr = ec2.describe_instance_attribute(InstanceId=cycle.tf.output()["monitoring_instance_id"], Attribute="userData")
    return base64.b64decode(attr["UserData"]["Value"]).decode()


def test_user_data_is_a_working_cloud_config(cycle: Cycle, tmp_path) -> None:
    """The user_data the instance got: valid cloud-config, shell scripts that parse, a wg0.conf
    wg-quick accepts (cloud-init's own schema check is the next test)."""
    text = _launched_user_data(cycle)
    assert text.startswith("#cloud-config\n")
    config = yaml.safe_load(text)
    files = {f["path"]: f for f in config["write_files"]}
    assert config["ssh_authorized_keys"], "day-one access: the admin keys must be in the cloud-config"
    assert config["ssh_pwauth"] is False
    assert "amazon-ssm-agent" in files["/usr/local/sbin/obs-packages"]["content"], "EXTRA turns the agent on"
    assert [cmd[0] for cmd in config["runcmd"]] == [
        "/usr/local/sbin/obs-packages",
        "/usr/local/sbin/obs-data-volume",
        "/usr/local/sbin/obs-wireguard-bootstrap",
    ]
    for script in config["runcmd"]:
        body = files[script[0]]["content"]
        assert body.startswith("#!/bin/bash\n")
        check = subprocess.run(["bash", "-n"], input=body, text=True, capture_output=True, check=False)
        assert check.returncode == 0, f"{script[0]}: {check.stderr}"
    wg_conf = files["/etc/wireguard/wg0.conf"]
    assert wg_conf["permissions"] == "0600"
    assert "PrivateKey" not in wg_conf["content"]
    # wireguard-tools is part of `make test`'s set-up: without it this test skips, saying so.
    conf = tmp_path / "wg0.conf"
    conf.write_text(wg_conf["content"])
    stripped = subprocess.run([tool("wg-quick"), "strip", str(conf)], capture_output=True, text=True, check=False)
    assert stripped.returncode == 0, stripped.stderr
    assert "PublicKey = dq9E0mKfdNV6nPy5M9r+vBEd7iy845xJTsetODi/8DY=" in stripped.stdout
    assert "Address" not in stripped.stdout  # wg-quick-only keys were recognised as such


def test_rendered_user_data_passes_cloud_inits_own_schema_check(cycle: Cycle, tmp_path: Path) -> None:
    """Debian's cloud-init (the lab's monitoring image, as on Debian 12 AMIs) validates the user_data
    the instance was launched with; cloud-init is never installed on this machine itself."""
    require_image(CLOUD_IMAGE, "`make test` builds it (obsctl images build)")
    text = _launched_user_data(cycle)
    user_data = tmp_path / "user-data"
    user_data.write_text(text)
    schema = subprocess.run(
        ["docker", "run", "--rm", "-v", f"{user_data}:/tmp/user-data:ro", "--entrypoint", "cloud-init",
         CLOUD_IMAGE, "schema", "--config-file", "/tmp/user-data"],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    assert "Valid cloud-config" in schema.stdout


def _actions(plan: dict[str, Any]) -> dict[str, list[str]]:
    return {rc["address"]: rc["change"]["actions"] for rc in plan.get("resource_changes", [])}


def test_replacing_the_instance_keeps_data_volume_and_address(cycle: Cycle) -> None:
    plan = cycle.timed("replacement plan", cycle.tf.plan_json, [LAB_VARS], EXTRA, replace=["aws_instance.monitoring"])
    actions = _actions(plan)
    assert actions["aws_instance.monitoring"] == ["delete", "create"]
    assert actions["aws_volume_attachment.data"] == ["delete", "create"]
    assert actions["aws_ebs_volume.data"] == ["no-op"]
    assert actions["aws_eip.monitoring"] == ["no-op"]
    assert actions["aws_ssm_parameter.wireguard_public_key"] == ["no-op"]


def test_changed_user_data_neither_replaces_nor_stays_silent(cycle: Cycle) -> None:
    keys = ["dq9E0mKfdNV6nPy5M9r+vBEd7iy845xJTsetODi/8DY=", "c9QqfYYO95iJDSQ78n9Y5KDsvxw8m4/meUEnI6r7OlQ="]
    peers = [
        {"name": "lab-operator", "public_key": keys[0], "address": "10.100.0.200"},
        {"name": "second", "public_key": keys[1], "address": "10.100.0.201"},
    ]
    changed = {**EXTRA, "wireguard_operator_peers": peers}
    plan = cycle.timed("changed-peers plan", cycle.tf.plan_json, [LAB_VARS], changed)
    changing = {addr: a for addr, a in _actions(plan).items() if a != ["no-op"]}
    assert changing == {}, f"a user_data change must not touch the instance: {changing}"
    checks = {c["address"]["to_display"]: c["status"] for c in plan.get("checks", [])}
    assert checks.get("check.user_data_is_current") == "fail", checks


def test_destroy_leaves_nothing(cycle: Cycle) -> None:
    # Runs last in this module (pytest keeps file order): destroy, then look for leftovers.
    data_volume = cycle.tf.output()["data_volume_id"]
    cycle.timed("destroy", cycle.tf.destroy, [LAB_VARS], EXTRA)
    cycle.destroyed = True
    assert cycle.tf.state_list() == []
    ec2 = cycle.aws.client("ec2")
    live = [
        i["InstanceId"]
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] != "terminated"
    ]
    assert live == []
    assert ec2.describe_volumes()["Volumes"] == []
    assert ec2.describe_addresses()["Addresses"] == []
    # lab.tfvars turns the final snapshot off; moto's own AMI snapshots are not ours.
    assert ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [data_volume]}])["Snapshots"] == []
    assert [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    groups = ec2.describe_security_groups()["SecurityGroups"]
    assert [g["GroupName"] for g in groups if g["GroupName"] != "default"] == []
    buckets = [b["Name"] for b in cycle.aws.client("s3").list_buckets()["Buckets"]]
    assert buckets == [STATE_BUCKET]
    assert cycle.aws.client("ssm").describe_parameters()["Parameters"] == []
    assert cycle.aws.client("amp").list_workspaces()["workspaces"] == []
    assert cycle.aws.client("iam").list_roles()["Roles"] == []
    assert cycle.aws.client("iam").list_instance_profiles()["InstanceProfiles"] == []
    total = sum(cycle.timings.get(p, 0.0) for p in ("apply", "second plan", "destroy"))
    print(f"[terraform/moto] apply + second plan + destroy: {total:.1f}s")
