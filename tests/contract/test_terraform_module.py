"""The Terraform module checked by real tools, offline: fmt, init from the provider mirror with the
committed lock file, validate, `terraform test` (mock_provider) and checkov."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from obsctl.errors import ObsError
from obsctl.terraform import Terraform
from tests.support import REPO, terraform_cli_config

MODULE = REPO / "terraform"
CHECKOV_VERSION = re.search(
    r"^checkov==(\S+)", (REPO / "requirements-checkov.txt").read_text(encoding="utf-8"), re.MULTILINE
)[1]
# The Makefile exports CHECKOV_VENV; outside make, the same default it uses.
CHECKOV_VENV = Path(
    os.environ.get("CHECKOV_VENV")
    or Path(os.environ.get("OBS_CACHE") or Path.home() / ".cache" / "obs-platform") / "checkov-venv"
)


@pytest.fixture(scope="module")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Terraform]:
    scratch = tmp_path_factory.mktemp("tf-contract")
    cli_config = terraform_cli_config(scratch)
    tf = Terraform(MODULE, env={"TF_DATA_DIR": str(scratch / "tfdata")}, cli_config=cli_config)
    # readonly: the committed .terraform.lock.hcl must already cover the mirror's provider.
    tf.init(backend=False, readonly_lock=True)
    yield tf


def test_fmt_is_clean() -> None:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed (obsctl doctor)")
    proc = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", "-no-color", str(MODULE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"


def test_lock_file_pins_the_aws_provider() -> None:
    lock = (MODULE / ".terraform.lock.hcl").read_text(encoding="utf-8")
    match = re.search(r'provider "registry.terraform.io/hashicorp/aws" \{\s*version\s*=\s*"([^"]+)"', lock)
    assert match, "the lock file must pin hashicorp/aws"
    assert match.group(1).startswith("5.")
    assert re.search(r'"h1:[A-Za-z0-9+/=]+"', lock), "the lock file must carry at least one h1: hash"


def test_validate(terraform: Terraform) -> None:
    report = terraform.validate()
    assert report["valid"] is True
    assert report["error_count"] == 0


def test_terraform_test_passes(terraform: Terraform) -> None:
    start = time.monotonic()
    code, out = terraform.run(["test", "-no-color"], fix="read the failing run block above", ok_codes=(0, 1))
    elapsed = time.monotonic() - start
    print(f"[terraform test] {elapsed:.1f}s")
    summary = re.search(r"(Success|Failure)! (\d+) passed, (\d+) failed", out)
    assert summary, out[-3000:]
    assert code == 0 and summary.group(1) == "Success", out[-6000:]
    runs = len(
        re.findall(r'^\s*run "', "\n".join(p.read_text() for p in (MODULE / "tests").glob("*.tftest.hcl")), re.M)
    )
    assert int(summary.group(2)) == runs, f"every run block must pass ({runs} defined):\n{out[-3000:]}"


def test_every_tfvars_file_sets_a_valid_environment() -> None:
    for tfvars in sorted((MODULE / "envs").glob("*.tfvars")):
        text = tfvars.read_text(encoding="utf-8")
        match = re.search(r'^environment\s*=\s*"([a-z]+)"', text, re.M)
        assert match, f"{tfvars.name} must set environment"
        assert match.group(1) == tfvars.stem, f"{tfvars.name} sets environment={match.group(1)}"


def test_output_before_apply_is_a_clear_error(terraform: Terraform, tmp_path: Path) -> None:
    empty = Terraform(tmp_path, env={"TF_DATA_DIR": str(tmp_path / "tfdata")}, cli_config=terraform.cli_config)
    outputs = empty.output()
    assert outputs == {}, "a directory without state has no outputs"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "main.tf").write_text('resource "nope" {\n', encoding="utf-8")
    with pytest.raises(ObsError) as err:
        Terraform(broken, cli_config=terraform.cli_config).init(backend=False)
    assert "`terraform init` failed" in err.value.message
    assert err.value.fix


def _checkov() -> Path:
    """checkov from its own venv, installed by `make test`'s set-up from requirements-checkov.lock
    (hashes required); the test never installs anything itself."""
    binary = CHECKOV_VENV / "bin" / "checkov"
    if not binary.exists():
        pytest.skip(f"checkov is not installed at {CHECKOV_VENV}: `make checkov` (part of `make test`) installs it")
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False, timeout=300)
    assert version.stdout.strip() == CHECKOV_VERSION, (
        f"{binary} is checkov {version.stdout.strip()!r}, requirements-checkov.txt pins {CHECKOV_VERSION}: "
        "run `make checkov`"
    )
    return binary


def test_checkov_has_no_failing_checks_and_every_skip_has_a_reason() -> None:
    checkov = _checkov()
    proc = subprocess.run(
        [str(checkov), "-d", str(MODULE), "--framework", "terraform", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert proc.stdout.strip(), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    results = reports[0]["results"]
    failed = [(c["check_id"], c["resource"], c["check_name"]) for c in results["failed_checks"]]
    assert failed == [], f"checkov failures: {failed}"
    summary = reports[0]["summary"]
    print(f"[checkov] passed {summary['passed']}, failed {summary['failed']}, skipped {summary['skipped']}")
    assert summary["failed"] == 0
    assert summary["passed"] > 20, "checkov must actually have evaluated the module"
    for skipped in results["skipped_checks"]:
        reason = (skipped.get("check_result", {}).get("suppress_comment") or "").strip()
        assert len(reason) >= 20, f"skip of {skipped['check_id']} on {skipped['resource']} needs a written reason"
    # Every inline skip in the module is one checkov honoured (no stale or misspelled ids).
    inline = set()
    for tf_file in MODULE.glob("*.tf"):
        inline |= set(re.findall(r"#checkov:skip=([A-Z0-9_]+):", tf_file.read_text(encoding="utf-8")))
    assert inline == {s["check_id"] for s in results["skipped_checks"]}


@pytest.mark.parametrize("env", ["prod", "dev", "lab"])
def test_tunnel_settings_match_the_inventory(env: str) -> None:
    """The tunnel subnet and port Terraform bakes into cloud-init are the ones Ansible uses."""
    group_vars = REPO / "inventories" / env / "group_vars" / "all" / "main.yml"
    if not group_vars.is_file():
        pytest.fail(f"{group_vars.relative_to(REPO)} is missing: the inventory Terraform must agree with is gone")
    inventory = yaml.safe_load(group_vars.read_text(encoding="utf-8"))
    tfvars = (MODULE / "envs" / f"{env}.tfvars").read_text(encoding="utf-8")
    network = re.search(r'^wireguard_network\s*=\s*"([^"]+)"', tfvars, re.M)
    assert network, f"envs/{env}.tfvars must set wireguard_network"
    assert network.group(1) == inventory["wireguard_network"]
    port = re.search(r"^wireguard_port\s*=\s*(\d+)", tfvars, re.M)
    tf_port = int(port.group(1)) if port else 51820  # the module's default
    assert tf_port == int(inventory.get("wireguard_port", 51820))


@pytest.mark.parametrize("env", ["prod", "dev"])
def test_ansible_logs_in_as_the_user_cloud_init_authorizes(env: str) -> None:
    """cloud-init authorizes admin_ssh_public_keys for the AMI's default user (local.admin_user);
    the inventory must log in as that user on the monitoring server."""
    match = re.search(r'^\s*admin_user\s*=\s*"([^"]+)"', (MODULE / "locals.tf").read_text(encoding="utf-8"), re.M)
    assert match, "locals.tf must define admin_user"
    group_vars: dict[str, object] = {}
    for path in (
        REPO / "inventories" / env / "group_vars" / "all" / "main.yml",
        REPO / "inventories" / env / "group_vars" / "monitoring.yml",
    ):
        if path.is_file():
            group_vars |= yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    hosts = yaml.safe_load((REPO / "inventories" / env / "hosts.yml").read_text(encoding="utf-8"))
    for name, host_vars in hosts["all"]["children"]["monitoring"]["hosts"].items():
        user = (host_vars or {}).get("ansible_user", group_vars.get("ansible_user"))
        assert user == match.group(1), (
            f"inventories/{env}: {name} logs in as {user!r}, cloud-init authorizes {match.group(1)!r}"
        )
    assert "ssh_authorized_keys:" in (MODULE / "templates" / "cloud-init.yaml.tftpl").read_text(encoding="utf-8")
