"""What the Loki migration left on both hosts: everything the old host held is in the new /loki.

The old host is a stand-in (files laid out as Loki 2.9 lays them out, a test double of its API);
Loki itself does not run here, so the query of the newest old line after Loki 3 starts is a
manual step (docs/loki-migration.md) and is not faked.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import testinfra
import yaml

from obsctl.validators import loki as loki_validator

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
LEGACY_HOST = "obs-lokimig-legacy"
NEW_HOST = "obs-lokimig-mon"
DATA = "/var/lib/monitoring/loki"
MARKER = ".migrated-from-legacy.json"
TARGETS = yaml.safe_load((Path(__file__).parents[3] / "vars" / "main.yml").read_text())[
    "_monitoring_stack_loki_legacy_targets"
]
PLAN = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "loki-legacy.yml"


def _host(name: str):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def _tree(host, root: str) -> dict[str, int]:
    out = host.check_output(f"find {root} -type f -printf '%P %s\\n'")
    files = dict(line.rsplit(" ", 1) for line in out.splitlines() if line)
    return {path: int(size) for path, size in files.items() if path != MARKER}


def _plan() -> dict:
    return yaml.safe_load(PLAN.read_text())


def test_new_loki_holds_every_legacy_file_with_its_size() -> None:
    legacy, new = _host(LEGACY_HOST), _host(NEW_HOST)
    expected: dict[str, int] = {}
    for kind, path in _plan()["monitoring_stack_loki_legacy_dirs"].items():
        if path:
            expected |= {f"{TARGETS[kind]}/{rel}": size for rel, size in _tree(legacy, path).items()}
    after = _tree(new, DATA)
    print(
        f"old host: {len(expected)} files, {sum(expected.values())} bytes; new {DATA}: {len(after)} files, "
        f"{sum(after.values())} bytes"
    )
    assert any(p.startswith("wal/") for p in expected), "the WAL (outside path_prefix) is part of the move"
    assert any("/index/index_" in p for p in expected) and any(p.startswith("boltdb-shipper-active/") for p in expected)
    assert after == expected
    marker = json.loads(new.file(f"{DATA}/{MARKER}").content_string)
    assert (marker["files"], marker["bytes"]) == (len(expected), sum(expected.values()))
    assert new.check_output(f"find {DATA} -printf '%u:%g\\n' | sort -u").split() == ["10001:10001"]


def test_drain_flushed_before_the_copy_and_stopped_the_old_services() -> None:
    legacy, new = _host(LEGACY_HOST), _host(NEW_HOST)
    chunks = _plan()["monitoring_stack_loki_legacy_dirs"]["chunks"]
    flushed = "fake/ZmFrZQ==:flushed-by-drain"
    assert legacy.file(f"{chunks}/{flushed}").is_file, "POST /flush reached the old Loki (its double)"
    assert new.file(f"{DATA}/chunks/{flushed}").is_file, "what the flush wrote was copied"
    for unit in ("loki", "promtail"):
        service = legacy.service(unit)
        assert not service.is_running and not service.is_enabled, f"{unit} still runs on the old host"


def test_legacy_data_is_kept_on_both_hosts() -> None:
    for name in (LEGACY_HOST, NEW_HOST):
        host = _host(name)
        for path in _plan()["monitoring_stack_loki_legacy_dirs"].values():
            if path:
                assert host.file(path).is_directory, f"{name}:{path} was removed"


def test_loki_config_keeps_the_old_configs_periods_exactly() -> None:
    new = _host(NEW_HOST)
    text = new.file("/opt/monitoring/loki/loki.yml").content_string
    config = yaml.safe_load(text)
    old = yaml.safe_load(_host(LEGACY_HOST).file("/etc/loki/config.yml").content_string)
    old_periods = [{**p, "from": str(p["from"])} for p in old["schema_config"]["configs"]]
    periods = config["schema_config"]["configs"]
    assert periods[:-1] == old_periods
    assert (periods[-1]["store"], periods[-1]["schema"]) == ("tsdb", "v13")
    assert config["ingester"]["wal"]["dir"] == f"/loki/{TARGETS['wal']}"
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "loki.yml"
        copy.write_text(text, encoding="utf-8")
        assert loki_validator.check(copy) == []


def test_failure_modes_failed_and_switched_nothing() -> None:
    cases = json.loads(_host(NEW_HOST).file("/root/lokimig-cases.json").content_string)
    print(json.dumps(cases, indent=2))
    assert cases["missing"]["failed"] and not cases["missing"]["switched"]
    assert cases["changing"]["failed"] and not cases["changing"]["switched"]
    assert cases["truncated"]["failed"]
    assert cases["resumed"]["switched"] in (True, "True")


def test_copy_over_ssh_left_no_partial_file_and_no_key_behind() -> None:
    legacy, new = _host(LEGACY_HOST), _host(NEW_HOST)
    for path in _plan()["monitoring_stack_loki_legacy_dirs"].values():
        if path:
            assert _tree(new, path) == _tree(legacy, path), f"the pulled {path} differs from the old host's"
            assert not new.check_output(f"find {path} -name .rsync-partial"), "an interrupted file was left"
    known = new.file("/root/.ssh/obs-loki-legacy-copy.known_hosts").content_string
    host_key = legacy.file("/etc/ssh/ssh_host_ed25519_key.pub").content_string.split()[1]
    assert host_key in known, "the copy trusts exactly the old host's own key"
    copy_key = new.file("/root/.ssh/obs-loki-legacy-copy.pub").content_string.split()[1]
    assert copy_key not in legacy.file("/home/admin/.ssh/authorized_keys").content_string


def test_copy_repaired_a_truncated_pull_and_refused_a_differing_copy() -> None:
    cases = json.loads(_host(NEW_HOST).file("/root/lokimig-copy-cases.json").content_string)
    print(json.dumps(cases, indent=2))
    assert int(cases["repaired"]["new_size"]) == int(cases["repaired"]["old_size"]) > 100
    assert int(cases["repaired"]["transferred"]) >= 1
    assert cases["extra"]["failed"] and "differs from" in cases["extra"]["msg"]
    assert cases["copy_key_left_on_old_host"] in (False, "False")
