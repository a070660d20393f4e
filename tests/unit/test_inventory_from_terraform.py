"""`obsctl inventory from-terraform`: parsing Terraform outputs and preserving the inventory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from obsctl import cli, inventory
from obsctl.errors import ObsError

# The shape `terraform output -json` prints (values wrapped with type metadata).
RAW_OUTPUTS = {
    "monitoring_public_ip": {"sensitive": False, "type": "string", "value": "198.51.100.23"},
    "monitoring_tunnel_address": {"sensitive": False, "type": "string", "value": "10.100.0.1"},
    "monitoring_instance_id": {"sensitive": False, "type": "string", "value": "i-0123456789abcdef0"},
    "wireguard_port": {"sensitive": False, "type": "number", "value": 51820},
}

EXISTING = """\
# Production inventory: the operator's own comments must survive.
---
all:
  children:
    monitoring:
      hosts:
        mon-1:
          ansible_host: 10.100.0.1   # through the tunnel
          wireguard_address: 10.100.0.1
          wireguard_endpoint: 203.0.113.10
          monitoring_stack_retention: 30d
    app:
      hosts:
        app-1:
          ansible_host: 10.100.0.11
          wireguard_address: 10.100.0.11
          obs_apps:
            - name: api
              port: 8080
              log_paths: ["/var/log/doktori/api/*.log"]
          obs_nginx:
            stub_status_url: http://127.0.0.1:8088/nginx_status
"""


def test_parse_accepts_raw_and_plain_outputs():
    raw = inventory.parse_outputs(RAW_OUTPUTS)
    plain = inventory.parse_outputs({k: v["value"] for k, v in RAW_OUTPUTS.items()})
    assert raw == plain
    assert raw.tunnel_address == "10.100.0.1"
    assert raw.endpoint == "198.51.100.23"


@pytest.mark.parametrize("missing", ["monitoring_public_ip", "monitoring_tunnel_address"])
def test_parse_names_a_missing_output(missing):
    outputs = {k: v for k, v in RAW_OUTPUTS.items() if k != missing}
    with pytest.raises(ObsError) as err:
        inventory.parse_outputs(outputs)
    assert missing in err.value.message
    assert "terraform apply" in (err.value.fix or "")


def test_parse_rejects_a_non_address():
    outputs = {**RAW_OUTPUTS, "monitoring_public_ip": {"type": "string", "value": "eipalloc-123"}}
    with pytest.raises(ObsError, match="not an IPv4 address"):
        inventory.parse_outputs(outputs)


def test_update_changes_only_the_three_keys_and_keeps_comments(tmp_path: Path):
    target = tmp_path / "hosts.yml"
    target.write_text(EXISTING, encoding="utf-8")
    assert inventory.update_from_terraform(RAW_OUTPUTS, target) is True
    after = target.read_text(encoding="utf-8")
    # Exactly one line differs: the endpoint (the tunnel address was already right).
    changed = [(b, a) for b, a in zip(EXISTING.splitlines(), after.splitlines(), strict=True) if b != a]
    assert changed == [
        ("          wireguard_endpoint: 203.0.113.10", "          wireguard_endpoint: 198.51.100.23"),
    ]
    assert "# Production inventory: the operator's own comments must survive." in after
    assert "# through the tunnel" in after


def test_update_is_idempotent(tmp_path: Path):
    target = tmp_path / "hosts.yml"
    target.write_text(EXISTING, encoding="utf-8")
    inventory.update_from_terraform(RAW_OUTPUTS, target)
    first = target.read_text(encoding="utf-8")
    mtime = target.stat().st_mtime_ns
    assert inventory.update_from_terraform(RAW_OUTPUTS, target) is False
    assert target.read_text(encoding="utf-8") == first
    assert target.stat().st_mtime_ns == mtime


def test_other_hosts_and_variables_are_preserved(tmp_path: Path):
    target = tmp_path / "hosts.yml"
    target.write_text(EXISTING, encoding="utf-8")
    before = yaml.safe_load(EXISTING)
    inventory.update_from_terraform(RAW_OUTPUTS, target)
    after = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert after["all"]["children"]["app"] == before["all"]["children"]["app"]
    mon = after["all"]["children"]["monitoring"]["hosts"]["mon-1"]
    assert mon == {
        "ansible_host": "10.100.0.1",
        "wireguard_address": "10.100.0.1",
        "wireguard_endpoint": "198.51.100.23",
        "monitoring_stack_retention": "30d",
    }


def test_missing_file_is_created_with_the_group(tmp_path: Path):
    target = tmp_path / "new" / "hosts.yml"
    assert inventory.update_from_terraform(RAW_OUTPUTS, target) is True
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert data == {
        "all": {
            "children": {
                "monitoring": {
                    "hosts": {
                        "mon-1": {
                            "ansible_host": "10.100.0.1",
                            "wireguard_address": "10.100.0.1",
                            "wireguard_endpoint": "198.51.100.23",
                        }
                    }
                }
            }
        }
    }


def test_group_with_another_host_name_is_updated_in_place(tmp_path: Path):
    target = tmp_path / "hosts.yml"
    target.write_text("all:\n  children:\n    monitoring:\n      hosts:\n        grafana-box:\n", encoding="utf-8")
    inventory.update_from_terraform(RAW_OUTPUTS, target)
    hosts = yaml.safe_load(target.read_text(encoding="utf-8"))["all"]["children"]["monitoring"]["hosts"]
    assert list(hosts) == ["grafana-box"]
    assert hosts["grafana-box"]["wireguard_endpoint"] == "198.51.100.23"


def test_two_monitoring_hosts_need_an_explicit_host(tmp_path: Path):
    target = tmp_path / "hosts.yml"
    text = "all:\n  children:\n    monitoring:\n      hosts:\n        a: {}\n        b: {}\n"
    target.write_text(text, encoding="utf-8")
    with pytest.raises(ObsError, match="--host"):
        inventory.update_from_terraform(RAW_OUTPUTS, target)
    assert target.read_text(encoding="utf-8") == text
    assert inventory.update_from_terraform(RAW_OUTPUTS, target, host="b") is True
    hosts = yaml.safe_load(target.read_text(encoding="utf-8"))["all"]["children"]["monitoring"]["hosts"]
    assert hosts["a"] == {}
    assert hosts["b"]["ansible_host"] == "10.100.0.1"


def test_non_mapping_group_is_a_clear_error(tmp_path: Path):
    target = tmp_path / "hosts.yml"
    target.write_text("all:\n  children:\n    monitoring: [mon-1]\n", encoding="utf-8")
    with pytest.raises(ObsError, match=r"all\.children\.monitoring"):
        inventory.update_from_terraform(RAW_OUTPUTS, target)


def test_cli_reads_saved_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(RAW_OUTPUTS), encoding="utf-8")
    target = tmp_path / "hosts.yml"
    target.write_text(EXISTING, encoding="utf-8")
    argv = ["inventory", "from-terraform", "--outputs", str(outputs), "--inventory", str(target)]
    assert cli.main(argv) == 0
    assert "updated" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert "already up to date" in capsys.readouterr().out


def test_cli_reports_bad_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    outputs = tmp_path / "outputs.json"
    outputs.write_text("not json", encoding="utf-8")
    argv = ["inventory", "from-terraform", "--outputs", str(outputs), "--inventory", str(tmp_path / "h.yml")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot read Terraform outputs" in err
    assert "fix:" in err
    assert not (tmp_path / "h.yml").exists()


def test_an_inventory_directory_means_its_hosts_yml(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """Regression: `-i inventories/prod` (a directory, as Ansible takes it) ended in a traceback."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(RAW_OUTPUTS), encoding="utf-8")
    env = tmp_path / "prod"
    env.mkdir()
    (env / "hosts.yml").write_text(EXISTING, encoding="utf-8")
    assert cli.main(["inventory", "from-terraform", "--outputs", str(outputs), "-i", str(env)]) == 0
    assert f"{env / 'hosts.yml'}: monitoring host updated" in capsys.readouterr().out
    written = yaml.safe_load((env / "hosts.yml").read_text(encoding="utf-8"))
    assert written["all"]["children"]["monitoring"]["hosts"]["mon-1"]["wireguard_endpoint"] == "198.51.100.23"


def test_a_directory_without_hosts_yml_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(RAW_OUTPUTS), encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["inventory", "from-terraform", "--outputs", str(outputs), "-i", str(empty)]) == 2
    err = capsys.readouterr().err
    assert f"{empty} is a directory without a hosts.yml" in err
    assert "fix:" in err and "internal error" not in err
    assert list(empty.iterdir()) == []
