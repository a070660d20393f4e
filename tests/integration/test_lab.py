"""`make lab` end to end: up (cold) -> mon-1 booted Terraform's user_data -> Ansible reached every
host over SSH at its tunnel address from this machine's operator peer, app-1 first by first contact
-> up again (site.yml must report changed=0) -> verify -> alert drills (blip, P1, analyzer end to end)
-> second-day drill -> reboot drill -> down.
ONE lab for all of it.

Runs the real thing: moto + `terraform apply`, systemd containers on a private Docker network,
ansible-playbook lab_demo.yml and site.yml, `obsctl verify`. It skips, with the reason, where this
machine cannot run it (no Docker, no base image, no Terraform or provider source).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from obsctl import common, localaws
from obsctl.doctor import terraform_mirror
from obsctl.lab.layout import monitoring_host
from tests.support import REPO, VENV_BIN, require_docker, require_image, tool

LOG_DIR = REPO / ".obs" / "logs"


def _obsctl(
    *args: str, log_name: str, timeout: float = 3600, env_extra: dict[str, str] | None = None
) -> tuple[int, str]:
    obsctl = tool("obsctl")
    env = dict(os.environ, PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}", **(env_extra or {}))
    proc = subprocess.run(
        [obsctl, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    (LOG_DIR / log_name).write_text(proc.stdout + proc.stderr, encoding="utf-8")
    return proc.returncode, proc.stdout + proc.stderr


def _require_prerequisites() -> None:
    require_docker()
    # `lab up` builds the images itself, but from scratch that takes minutes: CI builds them first.
    require_image("obs/debian12-systemd:latest", "build it with `make images`")
    tool("terraform")
    if terraform_mirror() is None and os.environ.get("OBS_LAB_ALLOW_REGISTRY") != "1":
        pytest.skip("no local mirror of hashicorp/aws (set OBS_LAB_ALLOW_REGISTRY=1 where the registry answers)")
    for needed in ("ansible/site.yml", "roles/docker/tasks/main.yml", "inventories/lab/group_vars"):
        assert (REPO / needed).exists(), f"{needed} is missing (the lab runs site.yml)"


def _containers() -> list[str]:
    proc = subprocess.run(
        ["docker", "ps", "-a", "--filter", "label=org.obsctl.lab", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.split()


def _mon(*argv: str) -> str:
    proc = subprocess.run(
        ["docker", "exec", "obs-lab-mon-1", *argv], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, f"{' '.join(argv)} on mon-1 failed: {proc.stderr}"
    return proc.stdout


def _assert_mon_booted_terraform_user_data() -> None:
    """mon-1 ran, with cloud-init, the user_data `terraform apply` launched the instance with."""
    aws = localaws.attach(REPO / ".obs" / "lab" / "localaws.json")
    assert aws is not None, "the lab's emulator is not running after `lab up`"
    outputs = json.loads((REPO / ".obs" / "lab" / "terraform-outputs.json").read_text(encoding="utf-8"))
    consumed = _mon("cat", "/var/lib/cloud/instance/user-data.txt")
    attr = aws.client("ec2").describe_instance_attribute(
        InstanceId=outputs["monitoring_instance_id"], Attribute="userData"
    )
    assert base64.b64decode(attr["UserData"]["Value"]).decode() == consumed
    # ...and it is what Terraform recorded in its state (the AWS provider stores user_data as SHA-1).
    state = aws.client("s3").get_object(Bucket="obs-lab-tfstate", Key="lab/terraform.tfstate")["Body"].read()
    instance = next(r for r in json.loads(state)["resources"] if r["type"] == "aws_instance")
    assert instance["instances"][0]["attributes"]["user_data"] in (
        hashlib.sha1(consumed.encode()).hexdigest(),
        consumed,
    )
    assert "status: done" in _mon("cloud-init", "status", "--long")
    # Packages: installed by the user_data's obs-packages from the Debian mirror, not baked in.
    for package in ("wireguard-tools", "awscli"):
        assert "Status: install ok installed" in _mon("dpkg", "-s", package)
        baked = subprocess.run(
            ["docker", "run", "--rm", "obs/debian12-cloud:latest", "dpkg", "-s", package],
            capture_output=True,
            check=False,
        )
        assert baked.returncode != 0, f"{package} is in the image: the user_data did not have to install it"
    # The data volume: the lab's loop device, formatted and mounted by the user_data's script.
    loops = subprocess.run(
        ["losetup", "--associated", str(REPO / ".obs" / "lab" / "mon-1" / "data-volume.img")],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert loops.startswith("/dev/loop"), "mon-1's data volume is not on a loop device of this machine"
    source, fstype = _mon("findmnt", "-n", "-o", "SOURCE,FSTYPE", outputs["data_mount_point"]).split()
    assert fstype == "ext4"
    assert source in {"/dev/xvdf", loops.split(":", 1)[0]}, f"{outputs['data_mount_point']} is on {source}"
    assert "UUID=" in _mon("grep", outputs["data_mount_point"], "/etc/fstab")
    # wg0 from the user_data's bootstrap, its public key published to SSM like in prod.
    assert f" {outputs['monitoring_tunnel_address']}/" in _mon("ip", "-4", "-o", "addr", "show", "dev", "wg0")
    published = aws.client("ssm").get_parameter(Name=outputs["wireguard_public_key_parameter"])["Parameter"]["Value"]
    assert published == _mon("wg", "show", "wg0", "public-key").strip()


def _ssh_connections() -> dict[str, str]:
    """SSH_CONNECTION of an Ansible login to every lab host (as admin, without sudo, which drops it)."""
    proc = subprocess.run(
        [
            tool("ansible"),
            "all",
            "-i",
            "inventories/lab",
            "--vault-password-file",
            str(REPO / ".obs" / "lab" / "vault-password"),
            "-e",
            "ansible_become=false",
            "-m",
            "ansible.builtin.command",
            "-a",
            "printenv SSH_CONNECTION",
            "-o",
        ],
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg")),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = {}
    for line in proc.stdout.splitlines():
        host, _, rest = line.partition(" | ")
        found[host.strip()] = rest.split("(stdout)", 1)[-1].strip()
    return found


def _assert_ansible_reaches_hosts_over_the_tunnel() -> None:
    """Ansible logs in over SSH at each host's tunnel address, from this machine's operator peer."""
    hosts_yml = (REPO / "inventories" / "lab" / "hosts.yml").read_text(encoding="utf-8")
    assert "community.docker" not in hosts_yml
    operator = "10.100.0.200"
    tunnel = {"mon-1": "10.100.0.1", "app-1": "10.100.0.11"}
    connections = _ssh_connections()
    for host, address in tunnel.items():
        client, _, server, port = connections[host].split()
        assert (client, server, port) == (operator, address, "22"), f"{host}: SSH_CONNECTION {connections[host]}"


def _assert_app_came_in_by_first_contact() -> None:
    """The cold run reached app-1 at its lab-network address until the wireguard play joined it;
    mon-1 was on the tunnel from its first boot."""
    site = (REPO / ".obs" / "lab" / "logs" / "site.log").read_text(encoding="utf-8")
    assert "first contact: app-1 reached at 172.30.99.11" in site, "site.yml did not use app-1's first-contact address"
    assert "joined: app-1 reached at its tunnel address 10.100.0.11" in site
    assert "first contact: mon-1" not in site
    journal = subprocess.run(
        ["docker", "exec", "obs-lab-app-1", "journalctl", "-u", "ssh", "--no-pager", "-o", "cat"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "Accepted publickey for admin from 172.30.99.1 " in journal, "no first-contact login on app-1"
    assert "Accepted publickey for admin from 10.100.0.200 " in journal, "no login on app-1 through the tunnel"


@pytest.mark.slow
def _lab_prometheus() -> str:
    """The lab's Prometheus as an operator reaches it: the tunnel address, from this machine."""
    return f"http://{monitoring_host().wireguard_address}:{common.port('prometheus')}"


def _assert_exemplars_carry_trace_ids() -> None:
    """Issue 16: the demo workload's histograms reach the lab's Prometheus 3.5 with trace-id exemplars."""
    end = time.time()
    query = urllib.parse.urlencode(
        {"query": "http_server_requests_seconds_bucket", "start": f"{end - 900:.0f}", "end": f"{end:.0f}"}
    )
    with urllib.request.urlopen(f"{_lab_prometheus()}/api/v1/query_exemplars?{query}", timeout=30) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    trace_ids = [e["labels"].get("trace_id", "") for s in body["data"] for e in s["exemplars"]]
    assert trace_ids, "the lab's Prometheus stored no exemplar of the demo workload's histogram"
    assert all(re.fullmatch(r"[0-9a-f]{32}", t) for t in trace_ids), trace_ids[:5]


def _assert_daily_report_against_the_lab(tmp: Path) -> None:
    """Issue 18: `obsctl report daily --dry-run` against the lab's Prometheus prints a full report."""
    env = {
        "PROMETHEUS_URL": _lab_prometheus(),
        "OBS_REPORT_HISTORY_DB": str(tmp / "history.db"),
        "OBS_ANALYZER_DB": str(tmp / "incidents.db"),
        # The day of the lab's data in UTC: in the default zone (Asia/Seoul) "today" can end before now.
        "OBS_REPORT_TZ": "UTC",
    }
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    code, out = _obsctl("report", "daily", "--dry-run", "--date", today, log_name="lab-report-daily.log", env_extra=env)
    assert code == 0, out
    assert f"Daily health report {today}" in out
    for app in ("[api]", "[chat]", "[app-1]"):
        assert app in out, f"no {app} section in the report:\n{out}"
    # The demo workload ran today: its KPIs have values, not "no data".
    api = out.split("[api]", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"Availability: \d+\.\d+%", api), api
    assert "dry run: nothing sent" in out


def _assert_alert_drills() -> None:
    """Issues 15 and 19: the blip drill must not page; the P1 drill pages within 90 s of the demo
    api's stop (real Prometheus rule -> real Alertmanager -> the capture server), and the analyzer's
    message (real Prometheus evidence, the LLM test double's answer) carries severity, summary,
    owner mention and the cited evidence. Figures: benchmarks/drills.md."""
    code, out = _obsctl("lab", "drill", "all", log_name="lab-drills.log", timeout=900)
    assert code == 0, f"alert drills failed (log .obs/logs/lab-drills.log):\n{out[-3000:]}"
    blip = re.search(r"^blip drill: ok, down for (\d+\.\d)s$", out, re.MULTILINE)
    p1 = re.search(r"^p1 drill: ok, delivered after (\d+\.\d)s$", out, re.MULTILINE)
    e2e = re.search(r"^e2e drill: ok, analysis posted after (\d+\.\d)s$", out, re.MULTILINE)
    assert blip and p1 and e2e, out[-3000:]
    assert float(blip.group(1)) < 30
    assert float(p1.group(1)) <= 90
    print(f"\nblip {blip.group(1)}s: no page; P1 page {p1.group(1)}s after the stop; analysis {e2e.group(1)}s")


def test_lab_end_to_end(tmp_path: Path) -> None:
    _require_prerequisites()
    try:
        code, out = _obsctl("lab", "up", "--quiet", log_name="lab-up-first.log")
        assert code == 0, f"first `obsctl lab up` failed (log .obs/logs/lab-up-first.log):\n{out[-4000:]}"
        for phase in ("terraform apply", "lab hosts", "site.yml", "verify"):
            assert f"    {phase}: " in out, f"phase {phase!r} did not run:\n{out[-2000:]}"
        assert sorted(_containers()) == ["obs-lab-app-1", "obs-lab-mon-1"]
        assert "    cloud-init: " in out
        _assert_mon_booted_terraform_user_data()
        _assert_app_came_in_by_first_contact()
        _assert_ansible_reaches_hosts_over_the_tunnel()

        code, out = _obsctl("lab", "up", "--quiet", "--expect-no-changes", log_name="lab-up-warm.log")
        assert code == 0, f"second `obsctl lab up` was not idempotent or failed:\n{out[-4000:]}"
        assert "site.yml: ok=" in out
        assert "changed=0" in out.split("site.yml: ok=", 1)[1].splitlines()[0]
        # A warm run finds every host on the tunnel: no first contact any more.
        assert "first contact:" not in (REPO / ".obs" / "lab" / "logs" / "site.log").read_text(encoding="utf-8")

        code, out = _obsctl("verify", "-i", "inventories/lab", log_name="lab-verify.log")
        assert code == 0, f"`obsctl verify -i inventories/lab` found failures:\n{out}"
        assert "prometheus  targets" in out
        assert "handshakes" in out
        _assert_exemplars_carry_trace_ids()
        _assert_daily_report_against_the_lab(tmp_path)

        _assert_alert_drills()

        code, out = _obsctl("lab", "second-day", "--quiet", log_name="lab-second-day.log", timeout=1800)
        assert code == 0, f"site.yml a day later was not changed=0 or failed:\n{out[-3000:]}"
        assert "second-day drill: ok, changed=0" in out

        code, out = _obsctl("lab", "reboot", log_name="lab-reboot.log", timeout=900)
        assert code == 0, f"reboot drill failed:\n{out[-3000:]}"
        assert "reboot drill: ok, recovered in " in out
    finally:
        code, out = _obsctl("lab", "down", log_name="lab-down.log", timeout=600)
    assert code == 0, out
    assert _containers() == []
    net = subprocess.run(["docker", "network", "inspect", "obs-lab"], capture_output=True, check=False)
    assert net.returncode != 0, "the lab network is still there after `lab down`"
    assert not (REPO / "inventories" / "lab" / "group_vars" / "all" / "vault.yml").exists()
    assert not Path(REPO / ".obs" / "lab" / "localaws.json").exists()
    link = subprocess.run(["ip", "link", "show", "dev", "obslab0"], capture_output=True, check=False)
    assert link.returncode != 0, "this machine's operator interface is still there after `lab down`"
