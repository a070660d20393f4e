"""The validators' rules, each shown failing on a config that breaks it and passing otherwise."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from obsctl.cli import main
from obsctl.validators import compose, kinds, loki

TODAY = dt.date(2026, 11, 22)


def _write(tmp_path: Path, data: dict[str, Any], name: str = "f.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _loki(periods: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "auth_enabled": False,
        "common": {"path_prefix": "/loki"},
        "schema_config": {"configs": periods},
        "storage_config": {
            "boltdb_shipper": {"active_index_directory": "/loki/a", "cache_location": "/loki/c"},
            "tsdb_shipper": {"active_index_directory": "/loki/t", "cache_location": "/loki/tc"},
        },
        "compactor": {"retention_enabled": True, "delete_request_store": "filesystem"},
        "limits_config": {"allow_structured_metadata": False},
    }
    config.update(overrides)
    return config


V11 = {
    "from": "2024-03-01",
    "store": "boltdb-shipper",
    "object_store": "filesystem",
    "schema": "v11",
    "index": {"prefix": "index_", "period": "24h"},
}
V13_FUTURE = {
    "from": "2026-12-01",
    "store": "tsdb",
    "object_store": "filesystem",
    "schema": "v13",
    "index": {"prefix": "index_", "period": "24h"},
}


def test_loki_migration_config_before_the_switch_is_valid(tmp_path: Path) -> None:
    assert loki.check(_write(tmp_path, _loki([V11, V13_FUTURE])), today=TODAY) == []


def test_loki_structured_metadata_must_stay_off_while_v11_is_in_force(tmp_path: Path) -> None:
    config = _loki([V11, V13_FUTURE], limits_config={"allow_structured_metadata": True})
    problems = loki.check(_write(tmp_path, config), today=TODAY)
    assert any("structured metadata is enabled" in p for p in problems)
    # Omitting the field means Loki 3's default (on): same failure.
    config["limits_config"] = {}
    assert any("structured metadata" in p for p in loki.check(_write(tmp_path, config), today=TODAY))


def test_loki_structured_metadata_back_on_once_v13_is_in_force(tmp_path: Path) -> None:
    after_switch = dt.date(2026, 12, 2)
    path = _write(tmp_path, _loki([V11, V13_FUTURE]))
    assert any("re-enable" in p for p in loki.check(path, today=after_switch))
    path = _write(tmp_path, _loki([V11, V13_FUTURE], limits_config={"allow_structured_metadata": True}))
    assert loki.check(path, today=after_switch) == []


def test_loki_newest_period_must_be_tsdb_v13(tmp_path: Path) -> None:
    problems = loki.check(_write(tmp_path, _loki([V11])), today=TODAY)
    assert any("newest schema period" in p for p in problems)


def test_loki_periods_must_be_sorted(tmp_path: Path) -> None:
    problems = loki.check(_write(tmp_path, _loki([V13_FUTURE, V11])), today=TODAY)
    assert any("sorted" in p for p in problems)


def test_loki_v11_period_needs_its_storage_block(tmp_path: Path) -> None:
    config = _loki([V11, V13_FUTURE])
    del config["storage_config"]["boltdb_shipper"]
    del config["common"]
    problems = loki.check(_write(tmp_path, config), today=TODAY)
    assert any("storage_config.boltdb_shipper" in p for p in problems)


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("compactor", "shared_store"), "filesystem"),
        (("limits_config", "enforce_metric_name"), False),
        (("storage_config", "boltdb_shipper", "shared_store"), "filesystem"),
        (("table_manager",), {"retention_deletes_enabled": True}),
    ],
)
def test_loki_fields_removed_in_3_are_reported(tmp_path: Path, where: tuple[str, ...], value: Any) -> None:
    config = _loki([V11, V13_FUTURE])
    node = config
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = value
    problems = loki.check(_write(tmp_path, config), today=TODAY)
    assert any(where[-1] in p for p in problems), problems


def test_loki_retention_needs_delete_request_store(tmp_path: Path) -> None:
    config = _loki([V13_FUTURE | {"from": "2024-01-01"}], compactor={"retention_enabled": True})
    config["limits_config"] = {"allow_structured_metadata": True}
    problems = loki.check(_write(tmp_path, config), today=TODAY)
    assert any("delete_request_store" in p for p in problems)


def test_loki_transition_keeps_periods_with_data_and_refuses_past_starts(tmp_path: Path) -> None:
    old = _write(tmp_path, _loki([V11]), "old.yml")
    good = _write(tmp_path, _loki([V11, V13_FUTURE]), "good.yml")
    assert loki.check_transition(old, good, today=TODAY) == []
    past = _write(tmp_path, _loki([V11, V13_FUTURE | {"from": "2026-11-01"}]), "past.yml")
    assert any("must start in the future" in p for p in loki.check_transition(old, past, today=TODAY))
    dropped = _write(tmp_path, _loki([V13_FUTURE]), "dropped.yml")
    assert any("holds data" in p for p in loki.check_transition(old, dropped, today=TODAY))
    # Re-running after the switch date: the v13 period is already deployed, so it is not "new".
    assert loki.check_transition(good, good, today=dt.date(2027, 1, 1)) == []


def _compose(**services: dict[str, Any]) -> dict[str, Any]:
    return {"x-obs-memory-budget": {"host_mib": 2048, "reserved_mib": {"os": 256}}, "services": services}


def _svc(**overrides: Any) -> dict[str, Any]:
    svc: dict[str, Any] = {
        "image": "prom/prometheus:v3.5.0",
        "ports": ["10.100.0.1:9090:9090"],
        "mem_limit": "512m",
        "restart": "unless-stopped",
        "healthcheck": {"test": ["CMD", "wget", "-q", "http://127.0.0.1:9090/-/ready"]},
    }
    svc.update(overrides)
    return svc


def test_compose_good_file_passes(tmp_path: Path) -> None:
    assert compose.check(_write(tmp_path, _compose(prometheus=_svc()))) == []


@pytest.mark.parametrize("port", ["9090:9090", "0.0.0.0:9090:9090", "9090", {"target": 9090, "published": 9090}])
def test_compose_port_on_every_interface_is_reported(tmp_path: Path, port: Any) -> None:
    problems = compose.check(_write(tmp_path, _compose(p=_svc(ports=[port]))))
    assert any("every interface" in p for p in problems), problems


def test_compose_missing_healthcheck_limit_and_unpinned_image(tmp_path: Path) -> None:
    svc = _svc(image="grafana/grafana:latest")
    del svc["healthcheck"]
    del svc["mem_limit"]
    problems = compose.check(_write(tmp_path, _compose(g=svc)))
    assert any("no health check" in p for p in problems)
    assert any("no mem_limit" in p for p in problems)
    assert any("not pinned" in p for p in problems)


def test_compose_job_needs_no_health_check_but_counts_in_the_budget(tmp_path: Path) -> None:
    job = {"image": "obs/obsctl:0.1.0-abc", "profiles": ["jobs"], "mem_limit": "1g"}
    problems = compose.check(_write(tmp_path, _compose(report=job, prometheus=_svc(mem_limit="900m"))))
    assert not any("health check" in p or "restart" in p for p in problems), problems
    assert any("exceed the host" in p for p in problems), "the job's limit is counted"
    restarting_job = job | {"restart": "always", "mem_limit": "64m"}
    restarting = compose.check(_write(tmp_path, _compose(report=restarting_job), "r.yml"))
    assert any("must not restart" in p for p in restarting), restarting
    # Another profile is no excuse: only one-off jobs go without a health check.
    other = compose.check(_write(tmp_path, _compose(bot=job | {"profiles": ["chatops"], "mem_limit": "64m"}), "o.yml"))
    assert any("no health check" in p for p in other), other


def test_compose_unscheduled_job_is_not_counted_but_a_service_always_is(tmp_path: Path) -> None:
    job = {"image": "obs/obsctl:0.1.0-abc", "profiles": ["jobs"], "mem_limit": "1g"}
    data = _compose(report=job, prometheus=_svc(mem_limit="900m"))
    data["x-obs-memory-budget"]["unscheduled_jobs"] = ["report"]
    assert compose.check(_write(tmp_path, data)) == [], "no timer starts the job: only the services count"
    # Naming a long-running service there does not take it out of the sum.
    data = _compose(report=_svc(mem_limit="1g"), prometheus=_svc(mem_limit="900m"))
    data["x-obs-memory-budget"]["unscheduled_jobs"] = ["report"]
    assert any("exceed the host" in p for p in compose.check(_write(tmp_path, data, "svc.yml")))


def test_compose_memory_sum_over_budget(tmp_path: Path) -> None:
    data = _compose(a=_svc(mem_limit="1g"), b=_svc(mem_limit="900m"))
    problems = compose.check(_write(tmp_path, data))
    assert any("exceed the host" in p for p in problems)
    assert compose.memory_mib("1g") == 1024
    assert compose.memory_mib(64 * 1024 * 1024) == 64


def test_compose_memory_overflow_names_the_instance_size_that_holds_it(tmp_path: Path) -> None:
    data = _compose(a=_svc(mem_limit="1g"), b=_svc(mem_limit="900m"))
    data["x-obs-memory-budget"]["instance_sizes_mib"] = {"t4g.large": 8192, "t4g.small": 2048, "t4g.medium": 4096}
    [problem] = [p for p in compose.check(_write(tmp_path, data)) if "exceed the host" in p]
    assert "t4g.medium (4096 MiB)" in problem
    data["x-obs-memory-budget"]["instance_sizes_mib"] = {"t4g.nano": 512}
    [problem] = [p for p in compose.check(_write(tmp_path, data, "none.yml")) if "exceed the host" in p]
    assert "no listed instance size holds it" in problem


def test_validate_cli_discovers_kinds_and_sets_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert {"loki", "compose", "prometheus"} <= set(kinds())
    good = _write(tmp_path, _compose(prometheus=_svc()))
    assert main(["validate", "compose", str(good)]) == 0
    bad = _write(tmp_path, _compose(prometheus=_svc(ports=["9090:9090"])), "bad.yml")
    assert main(["validate", "compose", str(bad)]) == 1
    assert "every interface" in capsys.readouterr().out
