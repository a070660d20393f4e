"""The lab's pure parts: container command lines, hosts.yml rendering, PLAY RECAP parsing, secrets.

Inputs are constructed here (a PLAY RECAP as ansible-core 2.19 prints it, `docker stats` lines
as Docker 20.10 prints them); the real end-to-end run is tests/integration/test_lab.py.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess

import pytest
import yaml

from obsctl.lab import boot, docker, drills, inventory, orchestrate, recap, secrets, standins
from obsctl.lab.layout import DATA_DEVICE, GATEWAY, HOSTS, SUBNET, monitoring_host
from tests.support import REPO

RECAP_TEXT = """
PLAY [Docker engine] ***********************************************************

TASK [docker : Install docker.io] **********************************************
ok: [mon-1]

PLAY RECAP *********************************************************************
app-1                      : ok=3    changed=1    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
mon-1                      : ok=7    changed=2    unreachable=0    failed=0    skipped=1    rescued=0    ignored=0

PLAY RECAP *********************************************************************
app-1                      : ok=9    changed=0    unreachable=0    failed=0    skipped=2    rescued=0    ignored=0
mon-1                      : ok=41   changed=0    unreachable=0    failed=0    skipped=5    rescued=0    ignored=0

"""


def test_recap_uses_the_last_recap_and_sums_hosts():
    parsed = recap.parse(RECAP_TEXT)
    assert set(parsed.hosts) == {"app-1", "mon-1"}
    assert parsed.changed == 0
    assert parsed.total("ok") == 50
    assert parsed.ok
    assert "changed=0" in parsed.summary()


def test_recap_failed_or_unreachable_is_not_ok():
    text = RECAP_TEXT.replace("failed=0    skipped=5", "failed=1    skipped=5")
    assert not recap.parse(text).ok
    assert recap.parse("no recap at all").hosts == {}


def test_hosts_have_unique_addresses_inside_the_lab_subnet():
    net = ipaddress.ip_network(SUBNET)
    assert len({h.lab_ip for h in HOSTS}) == len(HOSTS)
    assert len({h.wireguard_address for h in HOSTS}) == len(HOSTS)
    assert all(ipaddress.ip_address(h.lab_ip) in net for h in HOSTS)
    assert [h.name for h in HOSTS if h.group == "monitoring"] == ["mon-1"]


def test_monitoring_container_gets_dind_capabilities_but_not_privileged():
    mon = docker.run_args(monitoring_host())
    assert "--privileged" not in mon
    assert mon[mon.index("--cap-drop") + 1] == "SYS_RESOURCE"
    assert "seccomp=unconfined" in mon
    assert "/dev/net/tun" in mon
    assert f"{monitoring_host().volume}:/var/lib/docker" in mon
    app = docker.run_args(next(h for h in HOSTS if h.group == "app"))
    assert "ALL" not in app
    assert app[app.index("--cap-add") + 1] == "NET_ADMIN"
    for argv in (mon, app):
        assert argv[-1] == "/sbin/init"
        assert argv[argv.index("--ip") + 1] in {h.lab_ip for h in HOSTS}
    # mon-1 is the instance that boots Terraform's user_data: the image with cloud-init.
    assert mon[-2] == "obs/debian12-cloud:latest"
    # app-1 stands for the customer's existing server: systemd base + sshd + an admin login.
    assert app[-2] == "obs/debian12-ssh:latest"
    # The hub forwards between tunnel peers (this machine reaches app-1 through mon-1); /proc/sys
    # is read-only inside, so forwarding is set at creation, for the hub only.
    assert mon[mon.index("--sysctl") + 1] == "net.ipv4.ip_forward=1"
    assert "--sysctl" not in app


def test_gateway_is_the_subnets_first_address_and_no_host_takes_it():
    net = ipaddress.ip_network(SUBNET)
    assert ipaddress.ip_address(GATEWAY) == net.network_address + 1
    assert GATEWAY not in {h.lab_ip for h in HOSTS}


def test_data_device_is_one_the_user_data_looks_for():
    # The lab maps its loop device to DATA_DEVICE; Terraform's data-volume script must look there,
    # or mon-1's first boot waits 10 minutes for a volume and fails.
    script = (REPO / "terraform/templates/data-volume.sh.tftpl").read_text(encoding="utf-8")
    block = re.search(r"^candidates=\($(.*?)^\)$", script, re.MULTILINE | re.DOTALL)
    assert block, "terraform/templates/data-volume.sh.tftpl has no candidates=( ... ) list"
    candidates = [line.strip().strip('"') for line in block.group(1).splitlines() if line.strip()]
    assert DATA_DEVICE in candidates


def test_mon_boot_options_mount_seed_and_device(tmp_path, monkeypatch):
    mon = monitoring_host()
    monkeypatch.setattr(
        boot,
        "files",
        lambda _h: boot.BootFiles(seed=tmp_path / "seed", aws_dir=tmp_path / "aws", data_image=tmp_path / "d.img"),
    )
    extra = boot.run_extra(mon, "/dev/loop7")
    assert f"{tmp_path / 'seed'}:/var/lib/cloud/seed/nocloud:ro" in extra
    assert f"{tmp_path / 'aws'}:/etc/obs-lab:ro" in extra
    assert f"/dev/loop7:{DATA_DEVICE}" in extra
    argv = docker.run_args(mon, extra)
    # The options go before the image, or Docker would pass them to /sbin/init.
    assert argv.index(f"/dev/loop7:{DATA_DEVICE}") < argv.index(mon.image)


def test_nocloud_meta_data_names_the_instance():
    data = yaml.safe_load(boot.meta_data("i-0123456789abcdef0", "mon-1"))
    assert data == {"instance-id": "i-0123456789abcdef0", "local-hostname": "mon-1"}


def test_aws_env_is_shell_sourceable(tmp_path):
    text = boot.aws_env(f"http://{GATEWAY}:4566", "eu-central-1")
    (tmp_path / "aws.env").write_text(text, encoding="utf-8")
    proc = subprocess.run(
        ["sh", "-c", f". {tmp_path / 'aws.env'} && echo $AWS_LAB_ENDPOINT_URL $AWS_DEFAULT_REGION"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.split() == [f"http://{GATEWAY}:4566", "eu-central-1"]


def test_docker_stats_parsing():
    text = "obs-lab-mon-1\t512.3MiB / 23.47GiB\nobs-lab-app-1\t48.1MiB / 23.47GiB\nbroken line\n"
    usage = docker.parse_stats(text)
    assert usage == {"obs-lab-mon-1": int(512.3 * 2**20), "obs-lab-app-1": int(48.1 * 2**20)}
    assert docker.parse_stats("x\t1.5GB / 2GB") == {"x": 1_500_000_000}


def test_inventory_renders_the_agreed_layout():
    outputs = {
        "monitoring_public_ip": "198.51.100.7",
        "monitoring_instance_id": "i-0abc",
        "data_volume_id": "vol-1",
        "monitoring_tunnel_address": "10.100.0.1",
    }
    text = inventory.render(outputs, {"monitoring_stack_missing_image_policy": "skip"})
    # The committed file must not change between lab runs: the emulator's ids differ every apply.
    other_apply = dict(outputs, monitoring_public_ip="198.51.100.8", monitoring_instance_id="i-0def")
    assert text == inventory.render(other_apply, {"monitoring_stack_missing_image_policy": "skip"})
    assert "198.51.100.7" not in text
    data = yaml.safe_load(text)
    mon = data["all"]["children"]["monitoring"]["hosts"]["mon-1"]
    app = data["all"]["children"]["app"]["hosts"]["app-1"]
    # As in prod: every host at its tunnel address over SSH, no docker connection plugin anywhere.
    assert mon["ansible_host"] == mon["wireguard_address"] == outputs["monitoring_tunnel_address"]
    assert app["ansible_host"] == app["wireguard_address"] == "10.100.0.11"
    assert "ansible_connection" not in text
    # app-1 comes in by first contact (its lab-network address) until the wireguard play joins it;
    # mon-1 is on the tunnel from its first boot (cloud-init), so it has no first-contact address.
    assert app["obs_first_contact_address"] == next(h.lab_ip for h in HOSTS if h.name == "app-1")
    assert "obs_first_contact_address" not in mon
    login = data["all"]["vars"]
    assert login["ansible_user"] == "admin"
    assert login["ansible_become"] is True
    assert login["ansible_ssh_private_key_file"].endswith("/.obs/lab/access/id_ed25519")
    assert "StrictHostKeyChecking=accept-new" in login["ansible_ssh_common_args"]
    # The wireguard role keeps this machine's operator peer in mon-1's wg0 (or site.yml would cut
    # the controller off the tunnel it runs through).
    [peer] = login["wireguard_operator_peers"]
    assert (peer["name"], peer["address"]) == ("lab-operator", "10.100.0.200")
    assert "operator.pub" in peer["public_key"]
    # The tunnel endpoint is mon-1's address on the lab network, not the emulator's Elastic IP.
    assert mon["wireguard_endpoint"] == monitoring_host().lab_ip
    assert mon["monitoring_stack_missing_image_policy"] == "skip"
    assert app["obs_agent"] == "legacy"
    assert data["all"]["vars"]["alloy_skip_install_when_unreachable"] is True
    assert {a["name"]: a["hikari_pool"] for a in app["obs_apps"]} == {
        "api": "DoktoriHikariPool",
        "chat": "ChatHikariPool",
    }


def test_inventory_write_only_when_changed(tmp_path):
    path = tmp_path / "hosts.yml"
    assert inventory.write(path, "a: 1\n")
    assert not inventory.write(path, "a: 1\n")
    assert inventory.write(path, "a: 2\n")


def test_secrets_cover_every_vault_key_of_the_conventions():
    conventions = (REPO / "docs" / "conventions.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(vault_[a-z_]+)`", conventions))
    values = secrets.generate_values()
    assert documented == set(values) == set(secrets.VAULT_KEYS)
    assert values != secrets.generate_values()  # random per generation
    assert all(len(v) >= 24 for v in values.values())
    # No real Discord: the reserved .invalid domain never resolves.
    assert values["vault_discord_urgent_webhook_url"].startswith("https://discord.invalid/")


def test_substitutes_only_where_the_upstream_image_cannot_be_had(monkeypatch):
    monkeypatch.setattr(
        orchestrate, "substitute_images", lambda: ["obs/prometheus-debian:latest", "obs/blackbox-debian:latest"]
    )
    monkeypatch.setattr(orchestrate.images, "image_id", lambda ref: None)
    upstream_prom = orchestrate.upstream_image("monitoring_stack_prometheus_image")
    # Registry reachable for Prometheus only: the real image is used there, the substitute elsewhere.
    monkeypatch.setattr(orchestrate.images, "try_pull", lambda ref: ref == upstream_prom)
    mon = orchestrate.monitoring_vars()
    assert "monitoring_stack_prometheus_image" not in mon
    assert mon["monitoring_stack_blackbox_image"] == "obs/blackbox-debian:latest"
    assert mon["monitoring_stack_missing_image_policy"] == "skip"
    assert upstream_prom.startswith("prom/prometheus:v")


def test_online_ci_requires_every_upstream_image(monkeypatch):
    monkeypatch.setattr(orchestrate, "substitute_images", lambda: ["obs/prometheus-debian:latest"])
    monkeypatch.setattr(orchestrate.images, "image_id", lambda ref: None)
    monkeypatch.setattr(orchestrate.images, "try_pull", lambda ref: False)
    monkeypatch.delenv(orchestrate.UPSTREAM_IMAGES_ENV, raising=False)
    offline = orchestrate.monitoring_vars()
    assert offline["monitoring_stack_missing_image_policy"] == "skip"
    assert offline["monitoring_stack_prometheus_image"] == "obs/prometheus-debian:latest"
    # Online CI: no substitute, and a missing upstream image fails the run instead of skipping.
    monkeypatch.setenv(orchestrate.UPSTREAM_IMAGES_ENV, "1")
    online = orchestrate.monitoring_vars()
    assert online["monitoring_stack_missing_image_policy"] == "fail"
    assert not any(str(v).startswith("obs/") for v in online.values()), online
    # The drills' settings (Alertmanager stand-in, test doubles) hold in both modes.
    assert {k: online[k] for k in standins.drill_vars()} == standins.drill_vars()


def test_tunnel_listeners_only_on_the_tunnel_address():
    # `ss -H -ltn` as iproute2 6.1 (bookworm) prints it.
    ss = (
        "LISTEN 0      4096      10.100.0.1:9090       0.0.0.0:*\n"
        "LISTEN 0      4096      10.100.0.1:9115       0.0.0.0:*\n"
        "LISTEN 0      4096       127.0.0.1:9090       0.0.0.0:*\n"
        "LISTEN 0      128          0.0.0.0:22         0.0.0.0:*\n"
        "LISTEN 0      4096     10.100.0.11:9100       0.0.0.0:*\n"
    )
    assert drills.tunnel_listeners(ss, "10.100.0.1") == {"10.100.0.1:9090", "10.100.0.1:9115"}


@pytest.mark.skipif(shutil.which("wg") is None or shutil.which("ssh-keygen") is None, reason="needs wg and ssh-keygen")
def test_access_keys_are_generated_once_private_halves_0600_and_only_public_halves_go_to_terraform(tmp_path):
    from obsctl.lab import access  # noqa: PLC0415

    keys = access.ensure_keys(tmp_path)
    assert access.ensure_keys(tmp_path) == keys, "a second `lab up` must reuse the lab's keys"
    for private in (keys.ssh_private, keys.wg_private):
        assert private.stat().st_mode & 0o777 == 0o600
    variables = access.terraform_variables(keys)
    text = json.dumps(variables)
    assert keys.wg_private.read_text(encoding="utf-8").strip() not in text
    assert keys.ssh_private.read_text(encoding="utf-8").splitlines()[1] not in text
    assert variables["admin_ssh_public_keys"] == [keys.ssh_public]
    assert keys.ssh_public.startswith("ssh-ed25519 AAAA")
    [peer] = variables["wireguard_operator_peers"]
    assert peer["public_key"] == keys.wg_public
    assert re.fullmatch(r"[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=", keys.wg_public)
    # hosts.yml reads the operator's public key from this file at run time.
    assert (tmp_path / access.WG_PUBLIC_KEY).read_text(encoding="utf-8").strip() == keys.wg_public


def test_lab_tfvars_operator_placeholder_is_the_lab_operator():
    # terraform/envs/lab.tfvars keeps a placeholder peer for `terraform plan`; `lab up` overrides
    # its key. Its name and address must be the ones the lab's interface and hosts.yml use.
    from obsctl.lab.layout import OPERATOR_ADDRESS, OPERATOR_NAME  # noqa: PLC0415

    text = (REPO / "terraform/envs/lab.tfvars").read_text(encoding="utf-8")
    peer = re.search(r'\{\s*name\s*=\s*"([^"]+)".*?address\s*=\s*"([^"]+)"\s*\}', text)
    assert peer, "lab.tfvars has no wireguard_operator_peers entry"
    assert peer.groups() == (OPERATOR_NAME, OPERATOR_ADDRESS)


def test_operator_tunnel_config_peers_with_the_hub_over_the_whole_tunnel():
    from obsctl.lab import access  # noqa: PLC0415

    text = access.tunnel_config("PRIVATE=", "10.100.0.200", 24, "HUBKEY=", "172.30.99.10:51820", "10.100.0.0/24")
    lines = dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line and not line.startswith("#"))
    assert lines == {
        "Address": "10.100.0.200/24",
        "PrivateKey": "PRIVATE=",
        "PublicKey": "HUBKEY=",
        "Endpoint": "172.30.99.10:51820",
        "AllowedIPs": "10.100.0.0/24",
        "PersistentKeepalive": str(access.KEEPALIVE),
    }
    assert text.index("[Interface]") < text.index("[Peer]")


def test_app_image_has_sshd_and_the_admin_login_the_lab_authorizes():
    from obsctl.lab.layout import ADMIN_USER, APP_RECIPE, AUTHORIZED_KEYS_DIR  # noqa: PLC0415

    recipe = REPO / "molecule/images" / APP_RECIPE
    dockerfile = (recipe / "Dockerfile").read_text(encoding="utf-8")
    assert "openssh-server" in dockerfile
    assert f"useradd --create-home --shell /bin/bash --groups sudo {ADMIN_USER}" in dockerfile
    assert "rm -f /etc/ssh/ssh_host_*" in dockerfile, "host keys must be per container, not baked in"
    sshd = (recipe / "sshd-lab.conf").read_text(encoding="utf-8")
    assert f"{AUTHORIZED_KEYS_DIR}/%u" in sshd
    assert "PasswordAuthentication no" in sshd
    # The cloud image's default user is the AMI's, the login Terraform's keys are authorized for.
    cloud = yaml.safe_load((REPO / "molecule/images/debian12-cloud/90-obs-lab.cfg").read_text(encoding="utf-8"))
    assert cloud["system_info"]["default_user"]["name"] == ADMIN_USER
