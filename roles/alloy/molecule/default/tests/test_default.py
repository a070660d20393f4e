"""The app host after converge (refusal: Alloy not installable here) and after side_effect (retirement).

The first verify runs before side_effect, the second after; /root/molecule-retirement-ran tells
which. Each test belongs to one phase and skips, with the phase named, in the other.
"""

from __future__ import annotations

import fnmatch
import os

import pytest
import testinfra
import yaml
from testinfra.host import Host

from obsctl.alloy_syntax import parse
from obsctl.validators.alloy import check_document, endpoints

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
HOST = "alloy-app"
MONITORING_ADDRESS = "10.100.0.1"
CONFIG = "/etc/alloy/config.alloy"
HANDOVER = "/var/lib/alloy/promtail-positions.yaml"
BACKUP_DIR = "/var/backups/alloy-migration"


@pytest.fixture(scope="module")
def host() -> Host:
    return testinfra.get_host(f"ansible://{HOST}?ansible_inventory={INVENTORY}")


@pytest.fixture(scope="module")
def retired(host: Host) -> bool:
    return bool(host.file("/root/molecule-retirement-ran").exists)


@pytest.fixture(scope="module")
def alloy_installed(host: Host) -> bool:
    return bool(host.exists("alloy"))


def _journal(host: Host, unit: str) -> str:
    return host.run(f"journalctl -u {unit} --no-pager -n 30").stdout


# --- both phases ---------------------------------------------------------------------------------


def test_config_is_rendered_readable_only_by_root_and_alloy(host: Host) -> None:
    config = host.file(CONFIG)
    assert config.is_file
    assert (config.user, config.group, config.mode) == ("root", "alloy", 0o640)
    directory = host.file("/etc/alloy")
    assert (directory.user, directory.group, directory.mode) == ("root", "alloy", 0o750)


def test_rendered_config_passes_the_reference_and_endpoint_checks(host: Host) -> None:
    doc = parse(host.file(CONFIG).content_string)
    assert check_document(doc) == []
    addresses = [address for _, _, address in endpoints(doc)]
    assert addresses, "no remote_write / loki.write endpoint rendered"
    assert all(a.startswith(f"http://{MONITORING_ADDRESS}:") for a in addresses), addresses


def test_rendered_config_labels_this_host(host: Host) -> None:
    text = host.file(CONFIG).content_string
    assert 'replacement  = "alloy-app"' in text
    assert '"app"              = "api"' in text
    assert '"app"              = "chat"' in text


def test_alloy_user_can_read_logs_and_journal(host: Host) -> None:
    groups = set(host.user("alloy").groups)
    assert {"adm", "systemd-journal"} <= groups, groups


def test_alloy_service_when_the_package_was_installable(host: Host, alloy_installed: bool) -> None:
    if not alloy_installed:
        pytest.skip("Alloy's package is unreachable from this machine: install skipped (converge printed why)")
    assert host.service("alloy").is_running, _journal(host, "alloy")
    assert host.run("curl -fsS http://127.0.0.1:12345/-/ready").rc == 0


# --- after converge: Alloy is not ready, so nothing legacy may be touched -------------------------


@pytest.mark.parametrize("unit", ["node_exporter", "promtail"])
def test_refusal_keeps_legacy_units_running(host: Host, retired: bool, alloy_installed: bool, unit: str) -> None:
    if retired:
        pytest.skip("phase 2 (after side_effect): the refusal was checked in phase 1")
    if alloy_installed:
        pytest.skip("Alloy is installed here: the refusal path does not apply")
    assert host.service(unit).is_running, _journal(host, unit)
    assert host.service(unit).is_enabled
    assert host.file(f"/usr/local/bin/{unit}").exists
    assert not host.file(BACKUP_DIR).exists


def test_refusal_keeps_node_exporter_serving(host: Host, retired: bool, alloy_installed: bool) -> None:
    if retired or alloy_installed:
        pytest.skip("only meaningful while the legacy agents must be untouched (phase 1, no Alloy)")
    out = host.check_output("curl -fsS http://127.0.0.1:9100/metrics")
    assert "node_cpu_seconds_total" in out


# --- after side_effect: the retirement tasks ran ---------------------------------------------------


@pytest.mark.parametrize("unit", ["node_exporter", "promtail"])
def test_retirement_removed_units_and_binaries(host: Host, retired: bool, unit: str) -> None:
    if not retired:
        pytest.skip("phase 1 (before side_effect): retirement has not run")
    assert not host.file(f"/etc/systemd/system/{unit}.service").exists
    assert not host.file(f"/usr/local/bin/{unit}").exists
    listed = host.run(f"systemctl list-unit-files {unit}.service --no-legend").stdout
    assert unit not in listed
    assert host.run(f"systemctl is-active {unit}").stdout.strip() in ("inactive", "unknown")


def test_retirement_freed_the_node_exporter_port(host: Host, retired: bool) -> None:
    if not retired:
        pytest.skip("phase 1 (before side_effect): retirement has not run")
    assert not host.socket("tcp://0.0.0.0:9100").is_listening
    assert not host.socket("tcp://:::9100").is_listening


@pytest.mark.parametrize("name", ["node_exporter.service", "promtail.service", "config.yml", "positions.yaml"])
def test_retirement_kept_backups(host: Host, retired: bool, name: str) -> None:
    if not retired:
        pytest.skip("phase 1 (before side_effect): retirement has not run")
    backup = host.file(f"{BACKUP_DIR}/{name}")
    assert backup.is_file, f"{name} missing from {BACKUP_DIR}"
    assert (backup.user, backup.mode) == ("root", 0o640)
    assert backup.size > 0


def test_positions_handed_over_exactly(host: Host, retired: bool) -> None:
    if not retired:
        pytest.skip("phase 1 (before side_effect): retirement has not run")
    handover = host.file(HANDOVER)
    assert (handover.user, handover.group, handover.mode) == ("alloy", "alloy", 0o640)
    prepared = yaml.safe_load(host.file("/root/promtail-positions.prepared.yaml").content_string)
    handed = yaml.safe_load(handover.content_string)
    # Alloy's converter reads this file with a strict YAML decoder: only the "positions" key.
    assert set(handed) == {"positions"}
    assert handed == prepared
    assert all(str(int(offset)) == offset for offset in handed["positions"].values())


def test_config_converts_the_handed_over_positions_for_every_file(host: Host, retired: bool) -> None:
    if not retired:
        pytest.skip("phase 1 (before side_effect): retirement has not run")
    doc = parse(host.file(CONFIG).content_string)
    sources = [b for b in doc.components() if b.name == "loki.source.file"]
    assert sources and all(b.attr("legacy_positions_file") == HANDOVER for b in sources)
    globs = [
        target["__path__"]
        for b in doc.components()
        if b.name == "local.file_match"
        for target in b.attr("path_targets")  # type: ignore[union-attr]
    ]
    handed = yaml.safe_load(host.file(HANDOVER).content_string)["positions"]
    for path in handed:
        assert any(fnmatch.fnmatch(path, g) for g in globs), f"{path} is not tailed by Alloy: lines would be lost"
