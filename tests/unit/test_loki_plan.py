"""`obsctl loki plan-migration`: the old Loki 2.9 config decides the role's legacy settings."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl import cli
from obsctl.errors import EXIT_FINDINGS, EXIT_USAGE
from obsctl.loki import plan

PACKAGE_CONFIG = Path(__file__).resolve().parents[1] / "fixtures" / "loki" / "loki-2.9-package-config.yml"


def _sample() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(PACKAGE_CONFIG.read_text(encoding="utf-8"))
    return loaded


def _write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["loki", "plan-migration", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _periods_of(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The input's periods as the inventory must carry them (dates as YYYY-MM-DD strings)."""
    return [{**p, "from": str(p["from"])} for p in config["schema_config"]["configs"]]


def test_package_config_gives_its_period_exactly_and_the_prefix_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "legacy.yml"
    code, out, err = _run(capsys, "--legacy-config", str(PACKAGE_CONFIG), "--output", str(out_file))
    assert code == 0, err
    assert str(out_file) in out
    settings = yaml.safe_load(out_file.read_text(encoding="utf-8"))
    sample = _sample()
    prefix = sample["common"]["path_prefix"]
    assert settings["monitoring_stack_loki_legacy"] == "migrate"
    assert settings["monitoring_stack_loki_legacy_periods"] == _periods_of(sample)
    # Loki 2.9's path_prefix defaults (config_wrapper.go) and the common chunks directory.
    assert settings["monitoring_stack_loki_legacy_dirs"] == {
        "chunks": sample["common"]["storage"]["filesystem"]["chunks_directory"],
        "boltdb_shipper_active": f"{prefix}/boltdb-shipper-active",
        "boltdb_shipper_cache": f"{prefix}/boltdb-shipper-cache",
        "wal": f"{prefix}/wal",
    }
    text = out_file.read_text(encoding="utf-8")
    assert "flush_on_shutdown is off" in text, "the operator is told stopping does not flush"
    assert str(PACKAGE_CONFIG) in text


def test_stdout_without_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--legacy-config", str(PACKAGE_CONFIG))
    assert code == 0
    assert yaml.safe_load(out) == plan.plan(PACKAGE_CONFIG).inventory()


def test_other_prefix_and_data_dir_are_carried_exactly(tmp_path: Path) -> None:
    config = _sample()
    config["common"]["path_prefix"] = "/var/lib/loki"
    config["common"]["storage"]["filesystem"]["chunks_directory"] = "/var/lib/loki/chunks"
    config["schema_config"]["configs"][0]["index"]["prefix"] = "loki_index_"
    result = plan.plan(_write(tmp_path, config)).inventory()
    assert result["monitoring_stack_loki_legacy_periods"] == _periods_of(config)
    assert result["monitoring_stack_loki_legacy_periods"][0]["index"]["prefix"] == "loki_index_"
    assert result["monitoring_stack_loki_legacy_dirs"]["boltdb_shipper_active"] == "/var/lib/loki/boltdb-shipper-active"


def test_other_periods_v11_then_tsdb_each_kept_with_their_directories(tmp_path: Path) -> None:
    config = _sample()
    first = config["schema_config"]["configs"][0]
    first["from"] = "2021-05-03"
    second = copy.deepcopy(first) | {"from": "2023-07-01", "store": "tsdb", "schema": "v12"}
    second["index"] = {"prefix": "tsdb_index_", "period": "24h"}
    config["schema_config"]["configs"].append(second)
    config["storage_config"] = {"tsdb_shipper": {"active_index_directory": "/data/tsdb-active"}}
    result = plan.plan(_write(tmp_path, config)).inventory()
    assert result["monitoring_stack_loki_legacy_periods"] == _periods_of(config)
    dirs = result["monitoring_stack_loki_legacy_dirs"]
    assert dirs["tsdb_shipper_active"] == "/data/tsdb-active", "an explicit directory wins over the prefix"
    assert dirs["tsdb_shipper_cache"] == "/tmp/loki/tsdb-shipper-cache"
    assert dirs["boltdb_shipper_active"] == "/tmp/loki/boltdb-shipper-active"


def test_wal_elsewhere_is_the_wal_to_copy(tmp_path: Path) -> None:
    config = _sample() | {"ingester": {"wal": {"dir": "/srv/loki-wal", "flush_on_shutdown": True}}}
    result = plan.plan(_write(tmp_path, config))
    assert result.dirs["wal"] == "/srv/loki-wal"
    assert result.flush_on_shutdown
    assert not any("flush_on_shutdown" in note for note in result.notes)


def test_wal_disabled_is_recorded_as_no_wal(tmp_path: Path) -> None:
    config = _sample() | {"ingester": {"wal": {"enabled": False}}}
    result = plan.plan(_write(tmp_path, config))
    assert result.dirs["wal"] == ""
    assert any("/flush" in note for note in result.notes)


def test_relative_wal_is_refused_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _sample()
    del config["common"]["path_prefix"]
    config["storage_config"] = {
        "boltdb_shipper": {"active_index_directory": "/l/active", "cache_location": "/l/cache"},
    }
    code, _, err = _run(capsys, "--legacy-config", str(_write(tmp_path, config)))
    assert code == EXIT_FINDINGS
    assert "ingester.wal.dir" in err
    assert "'wal'" in err
    assert "Traceback" not in err


def test_s3_store_is_refused_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _sample()
    config["schema_config"]["configs"][0]["object_store"] = "s3"
    code, _, err = _run(capsys, "--legacy-config", str(_write(tmp_path, config)))
    assert code == EXIT_FINDINGS
    assert "schema_config.configs[0].object_store" in err
    assert "monitoring_stack_loki_s3_bucket" in err, "the fix says what to do with the bucket"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"store": "boltdb"}, "schema_config.configs[0].store"),
        ({"store": "aws"}, "schema_config.configs[0].store"),
        ({"schema": "v9"}, "schema_config.configs[0].schema"),
        ({"index": {"prefix": "index_", "period": "168h"}}, "schema_config.configs[0].index.period"),
        ({"object_store": "gcs"}, "schema_config.configs[0].object_store"),
    ],
)
def test_unsupported_periods_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], field: str
) -> None:
    config = _sample()
    config["schema_config"]["configs"][0].update(change)
    code, _, err = _run(capsys, "--legacy-config", str(_write(tmp_path, config)))
    assert code == EXIT_FINDINGS
    assert field in err
    assert "fix:" in err


def test_index_shipped_to_s3_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _sample() | {"storage_config": {"boltdb_shipper": {"shared_store": "s3"}}}
    code, _, err = _run(capsys, "--legacy-config", str(_write(tmp_path, config)))
    assert code == EXIT_FINDINGS
    assert "storage_config.boltdb_shipper.shared_store" in err


def test_directory_inside_another_is_refused(tmp_path: Path) -> None:
    config = _sample() | {"ingester": {"wal": {"dir": "/tmp/loki/chunks/wal"}}}
    with pytest.raises(plan.Refused, match="inside"):
        plan.plan(_write(tmp_path, config))


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"schema_config": {"configs": [{"from": "yesterday"}]}}, "schema_config.configs[0].from"),
        ({"schema_config": {"configs": "v11"}}, "schema_config.configs"),
        ({"schema_config": {"configs": []}}, "schema_config.configs"),
        ({"ingester": {"wal": {"enabled": "yes"}}, **_sample()}, "ingester.wal.enabled"),
    ],
)
def test_malformed_config_names_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: dict[str, Any], expected: str
) -> None:
    path = _write(tmp_path, config)
    code, _, err = _run(capsys, "--legacy-config", str(path))
    assert code == EXIT_USAGE
    assert str(path) in err
    assert expected in err
    assert "Traceback" not in err


def test_missing_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--legacy-config", str(tmp_path / "nope.yml"))
    assert code == EXIT_USAGE
    assert "nope.yml" in err


FIXTURES = PACKAGE_CONFIG.parent
UPSTREAM_COMMIT = "1d397605766d388594fbcdbfbffda4ff86937748"


def _fixture(name: str) -> tuple[Path, dict[str, Any]]:
    path = FIXTURES / name
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return path, loaded


def test_every_upstream_fixture_names_its_source_commit() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert UPSTREAM_COMMIT in readme
    fixtures = sorted(FIXTURES.glob("*.yml"))
    assert len(fixtures) >= 4
    for fixture in fixtures:
        assert fixture.name in readme, f"{fixture.name} is not described in tests/fixtures/loki/README.md"
        assert UPSTREAM_COMMIT in fixture.read_text(encoding="utf-8"), f"{fixture.name} does not cite the commit"


def test_package_config_data_under_tmp_is_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    result = plan.plan(PACKAGE_CONFIG)
    assert any("/tmp" in note and "reboot" in note for note in result.notes)
    relocated = plan.plan(FIXTURES / "loki-2.9-docker-image-config.yml")
    assert not any("reboot" in note for note in relocated.notes), "only data under /tmp is flagged"


def test_upstream_docker_image_config_resolves_under_its_prefix() -> None:
    path, config = _fixture("loki-2.9-docker-image-config.yml")
    prefix = config["common"]["path_prefix"]
    result = plan.plan(path).inventory()
    assert result["monitoring_stack_loki_legacy_periods"] == _periods_of(config)
    assert result["monitoring_stack_loki_legacy_dirs"] == {
        "chunks": config["common"]["storage"]["filesystem"]["chunks_directory"],
        "boltdb_shipper_active": f"{prefix}/boltdb-shipper-active",
        "boltdb_shipper_cache": f"{prefix}/boltdb-shipper-cache",
        "wal": f"{prefix}/wal",
    }


def test_upstream_docs_example_without_chunks_directory_is_refused_with_where_to_look(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, config = _fixture("loki-2.9-docs-local-example.yml")
    assert "storage" not in config["common"] and "storage_config" not in config, "the fixture changed"
    code, _, err = _run(capsys, "--legacy-config", str(path))
    assert code == EXIT_FINDINGS
    assert "working directory" in err
    assert "storage_config.filesystem.directory" in err
    assert "WorkingDirectory=" in err, "the fix says where the chunks are"
    assert "Traceback" not in err


def test_upstream_compose_s3_config_is_refused_and_told_to_drain_first(capsys: pytest.CaptureFixture[str]) -> None:
    path, config = _fixture("loki-2.9-compose-s3-config.yml")
    assert config["ingester"]["wal"]["dir"].startswith("/"), "the fixture keeps a local WAL"
    code, _, err = _run(capsys, "--legacy-config", str(path))
    assert code == EXIT_FINDINGS
    assert "schema_config.configs[0].object_store" in err
    assert "WAL" in err, "S3 chunks do not make the local WAL irrelevant"
    assert "/flush" in err
    assert "monitoring_stack_loki_s3_bucket" in err
