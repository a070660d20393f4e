"""Property test: no YAML/JSON/CLI input, however wrong-typed or random, ends in a traceback.

Every validator, the alert catalog loader, the inventory writer and the parity time parser are fed
documents hypothesis generates — random scalars, lists and mappings, and documents built from the
keys each reader looks for with values of the wrong type. Each must return its findings or raise
``ObsError``; any other exception (the "internal error" path of the CLI) fails the test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from obsctl import cli, inventory, parity, validators
from obsctl.alerting import catalog
from obsctl.errors import ObsError

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates().map(str),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)

# The keys each reader looks for, so the generated documents reach past the top level.
KEYS = {
    "loki": ["schema_config", "configs", "from", "store", "schema", "index", "period", "storage_config",
             "tsdb_shipper", "common", "path_prefix", "compactor", "retention_enabled", "limits_config",
             "allow_structured_metadata", "active_index_directory"],
    "compose": ["services", "ports", "healthcheck", "test", "restart", "image", "mem_limit", "deploy",
                "resources", "limits", "memory", "x-obs-memory-budget", "host_mib", "reserved_mib", "published"],
    "prometheus": ["scrape_configs", "job_name", "static_configs", "labels", "targets", "instance"],
    "catalog": ["folder", "severities", "P1", "name", "channel", "group", "groups", "interval", "channels",
                "webhook_env", "alerts", "uid", "title", "threshold", "for", "query", "mute_timings",
                "email", "analyzer", "severities", "enabled"],
    "inventory": ["all", "children", "monitoring", "hosts", "mon-1", "ansible_host"],
}  # fmt: skip


def keyed_documents(kind: str) -> st.SearchStrategy[Any]:
    keys = st.sampled_from(KEYS[kind])
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=5)),
        max_leaves=16,
    )


def _dump(document: Any) -> str:
    # Dates and odd floats survive as YAML; anything yaml cannot dump is itself a valid random text.
    return yaml.safe_dump(document, allow_unicode=True)


def _clean(call: Any, *args: Any) -> None:
    """Run ``call``; a finding list or an ObsError is clean, anything else fails with the input."""
    try:
        result = call(*args)
    except ObsError as exc:
        assert exc.message
        return
    if isinstance(result, list):
        assert all(isinstance(p, str) and p for p in result)


@pytest.mark.parametrize("kind", ["loki", "compose"])
@SETTINGS
@given(data=st.data())
def test_validators_take_any_document(kind: str, data: st.DataObject, tmp_path: Path) -> None:
    document = data.draw(st.one_of(documents, keyed_documents(kind), keyed_documents(kind).map(lambda d: {"x": d})))
    path = tmp_path / "config.yml"
    path.write_text(_dump(document), encoding="utf-8")
    _clean(validators.checker(kind), path)


@SETTINGS
@given(document=keyed_documents("prometheus"))
def test_prometheus_conventions_take_any_document(document: Any, tmp_path: Path) -> None:
    """The convention rules (promtool itself is a real program, tested with real files elsewhere)."""
    from obsctl.validators import prometheus  # noqa: PLC0415

    path = tmp_path / "prometheus.yml"
    path.write_text(_dump(document), encoding="utf-8")
    try:
        config = validators.load_yaml_mapping(path)
    except ObsError:
        return
    problems = prometheus.shape_problems(prometheus.PrometheusFile, config)
    if not problems:
        assert all(isinstance(p, str) for p in prometheus._conventions(config))


@SETTINGS
@given(text=st.text(max_size=200))
def test_every_validator_takes_any_text(text: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(text, encoding="utf-8")
    for kind in ("loki", "compose", "alloy"):
        _clean(validators.checker(kind), path)


@pytest.mark.parametrize("kind", ["loki", "compose", "alloy", "prometheus"])
def test_validators_name_unreadable_input(kind: str, tmp_path: Path) -> None:
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00garbage")
    for path in (tmp_path, tmp_path / "binary", tmp_path / "missing.yml"):
        _clean(validators.checker(kind), path)


def _catalog_base() -> dict[str, Any]:
    loaded = yaml.safe_load(catalog.default_path().read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@SETTINGS
@given(document=st.one_of(documents, keyed_documents("catalog")))
def test_catalog_loader_takes_any_document(document: Any, tmp_path: Path) -> None:
    path = tmp_path / "catalog.yml"
    path.write_text(_dump(document), encoding="utf-8")
    _clean(catalog.load, path)


@SETTINGS
@given(field=st.sampled_from(["severities", "groups", "channels", "alerts", "email", "mute_timings"]), value=documents)
def test_catalog_loader_takes_any_value_in_any_section(field: str, value: Any, tmp_path: Path) -> None:
    document = _catalog_base()
    document[field] = value
    path = tmp_path / "catalog.yml"
    path.write_text(_dump(document), encoding="utf-8")
    _clean(catalog.load, path)


def test_a_wrong_typed_catalog_field_is_named_with_its_path(tmp_path: Path) -> None:
    document = _catalog_base()
    document["alerts"][1]["threshold"] = "high"
    document["severities"]["P2"]["mute_timings"] = "off-hours"
    path = tmp_path / "catalog.yml"
    path.write_text(_dump(document), encoding="utf-8")
    with pytest.raises(ObsError) as exc:
        catalog.load(path)
    assert str(path) in exc.value.message
    assert "alerts[1].threshold:" in exc.value.message
    assert "severities.P2.mute_timings:" in exc.value.message
    assert exc.value.fix


@SETTINGS
@given(document=st.one_of(documents, keyed_documents("inventory")), outputs=documents)
def test_inventory_writer_takes_any_inventory_and_outputs(document: Any, outputs: Any, tmp_path: Path) -> None:
    target = tmp_path / "hosts.yml"
    target.write_text(_dump(document), encoding="utf-8")
    raw = outputs if isinstance(outputs, dict) else {"monitoring_tunnel_address": outputs}
    _clean(inventory.update_from_terraform, raw, target)


@SETTINGS
@given(text=st.one_of(st.text(max_size=30), st.builds(lambda a, b: f"{a}..{b}", st.text(max_size=10), scalars)))
def test_parity_time_ranges_take_any_text(text: str) -> None:
    _clean(parity.parse_window, text, 1_700_000_000.0)
    _clean(parity.logs_window, text, 1_700_000_000.0)


@SETTINGS
@given(document=documents)
def test_the_cli_never_shows_a_traceback_for_an_input_file(
    document: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(_dump(document), encoding="utf-8")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(document, default=str), encoding="utf-8")
    runs = [
        ["validate", "loki", str(config)],
        ["validate", "compose", str(config)],
        ["alerts", "ttd", "--catalog", str(config)],
        ["inventory", "from-terraform", "--outputs", str(outputs), "-i", str(tmp_path / "hosts.yml")],
    ]
    for argv in runs:
        assert cli.main(argv) in (0, 1, 2), argv
        err = capsys.readouterr().err
        assert "internal error" not in err and "Traceback" not in err, (argv, err)
