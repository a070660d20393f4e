"""Loki 3.x config: schema periods, removed 2.x fields, retention and structured metadata rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import Field

from obsctl.schema import Shape, shape_problems
from obsctl.validators import load_yaml_mapping


class _Index(Shape):
    period: str | None = None
    prefix: str | None = None


class _Period(Shape):
    from_: dt.date | str = Field(alias="from")
    store: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    object_store: str | None = None
    index: _Index | None = None


class _SchemaConfig(Shape):
    configs: list[_Period] | None = None


class _IndexStore(Shape):
    active_index_directory: str | None = None
    cache_location: str | None = None


class _StorageConfig(Shape):
    tsdb_shipper: _IndexStore | None = None
    boltdb_shipper: _IndexStore | None = None


class _Common(Shape):
    path_prefix: str | None = None


class _Compactor(Shape):
    retention_enabled: bool | None = None
    delete_request_store: str | None = None


class _Limits(Shape):
    allow_structured_metadata: bool | None = None


class LokiFile(Shape):
    """The part of a Loki config the rules read."""

    schema_config: _SchemaConfig | None = None
    storage_config: _StorageConfig | None = None
    common: _Common | None = None
    compactor: _Compactor | None = None
    limits_config: _Limits | None = None


# Fields Loki 3.0 removed: a config that still has one does not start ("field ... not found").
REMOVED_KEYS = {
    "shared_store": "removed in Loki 3.0 (the index is stored in the period's object_store)",
    "shared_store_key_prefix": "removed in Loki 3.0 (use path_prefix)",
    "enforce_metric_name": "removed from limits_config in Loki 3.0",
    "max_transfer_retries": "removed from ingester in Loki 3.0",
    "max_look_back_period": "removed from chunk_store_config in Loki 3.0",
    "use_boltdb_shipper_as_backup": "removed in Loki 3.0",
}
REMOVED_SECTIONS = {
    "table_manager": "table_manager retention is gone in Loki 3: use compactor retention",
}
_INDEXED_STORES = {"tsdb": "tsdb_shipper", "boltdb-shipper": "boltdb_shipper"}


def _walk(node: object, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}" if path else str(key)
            yield here, str(key)
            yield from _walk(value, here)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def _parse_from(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _periods(config: dict[str, Any], problems: list[str]) -> list[dict[str, Any]]:
    periods = (config.get("schema_config") or {}).get("configs")
    if not isinstance(periods, list) or not periods:
        problems.append("schema_config.configs is missing or empty")
        return []
    good: list[dict[str, Any]] = []
    for index, period in enumerate(periods):
        if not isinstance(period, dict) or _parse_from(period.get("from")) is None:
            problems.append(f"schema_config.configs[{index}]: `from` must be a date YYYY-MM-DD")
            continue
        # YAML reads an unquoted date as a date, a quoted one as a string: compare them alike.
        good.append({**period, "from": str(_parse_from(period.get("from")))})
    return good


def _check_periods(config: dict[str, Any], periods: list[dict[str, Any]], problems: list[str]) -> None:
    dates = [_parse_from(p["from"]) or dt.date.min for p in periods]  # _periods kept only valid dates
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        problems.append("schema_config.configs must be sorted by `from`, oldest first, with no date twice")
    newest = periods[-1]
    if (newest.get("store"), newest.get("schema")) != ("tsdb", "v13"):
        problems.append(
            f"the newest schema period ({newest['from']}) is {newest.get('store')}/{newest.get('schema')}; "
            "Loki 3 needs tsdb/v13 for new data (add a tsdb/v13 period with a future `from`)"
        )
    storage = config.get("storage_config") or {}
    common_prefix = ((config.get("common") or {}).get("path_prefix")) is not None
    for period in periods:
        block = _INDEXED_STORES.get(str(period.get("store")))
        if block is None:
            problems.append(f"period {period['from']}: store {period.get('store')!r} is not supported by Loki 3")
            continue
        settings = storage.get(block)
        if not isinstance(settings, dict) and not common_prefix:
            problems.append(
                f"period {period['from']} ({period.get('store')}) has no storage_config.{block} block: "
                "its index cannot be found and its logs become unreadable"
            )
            continue
        if isinstance(settings, dict):
            for field in ("active_index_directory", "cache_location"):
                if not settings.get(field) and not common_prefix:
                    problems.append(f"storage_config.{block}.{field} is required for period {period['from']}")
        index = period.get("index") or {}
        if index.get("period") not in ("24h", None):
            problems.append(f"period {period['from']}: index.period must be 24h for {period.get('store')}")


def _check_removed(config: dict[str, Any], problems: list[str]) -> None:
    for section, why in REMOVED_SECTIONS.items():
        if section in config:
            problems.append(f"{section}: {why}")
    for where, key in _walk(config):
        if key in REMOVED_KEYS:
            problems.append(f"{where}: {REMOVED_KEYS[key]}")


def _check_retention(config: dict[str, Any], problems: list[str]) -> None:
    compactor = config.get("compactor") or {}
    if compactor.get("retention_enabled") and not compactor.get("delete_request_store"):
        problems.append(
            "compactor.retention_enabled is true but compactor.delete_request_store is not set "
            "(Loki >= 3.1 refuses to start): set it to filesystem or the object store"
        )


def active_period(periods: list[dict[str, Any]], today: dt.date) -> dict[str, Any]:
    """The period in force on ``today`` (periods start at 00:00 UTC of their `from`)."""
    started = [p for p in periods if (_parse_from(p["from"]) or dt.date.max) <= today]
    return started[-1] if started else periods[0]


def _check_structured_metadata(config: dict[str, Any], periods: list[dict[str, Any]], today: dt.date) -> list[str]:
    active = active_period(periods, today)
    limits = config.get("limits_config") or {}
    allowed = limits.get("allow_structured_metadata", True)  # Loki 3 default: on
    on_v13 = (active.get("store"), active.get("schema")) == ("tsdb", "v13")
    if allowed and not on_v13:
        return [
            f"structured metadata is enabled but the period in force on {today} ({active['from']}) is "
            f"{active.get('store')}/{active.get('schema')}; Loki 3 does not start: set "
            "limits_config.allow_structured_metadata: false until the tsdb/v13 period begins"
        ]
    if not allowed and on_v13:
        return [
            f"the tsdb/v13 period is in force since {active['from']} but allow_structured_metadata is false: "
            "re-enable it (re-run the role)"
        ]
    return []


def check(path: Path, today: dt.date | None = None) -> list[str]:
    config = load_yaml_mapping(path)
    shape = shape_problems(LokiFile, config)
    if shape:
        return shape
    today = today or dt.datetime.now(dt.UTC).date()
    problems: list[str] = []
    periods = _periods(config, problems)
    if periods:
        _check_periods(config, periods, problems)
        problems.extend(_check_structured_metadata(config, periods, today))
    _check_removed(config, problems)
    _check_retention(config, problems)
    return problems


def check_transition(previous: Path, new: Path, today: dt.date | None = None) -> list[str]:
    """Rules for replacing a deployed config: periods that hold data stay; new ones start later."""
    today = today or dt.datetime.now(dt.UTC).date()
    found: list[str] = []
    configs = {}
    for path in (previous, new):
        configs[path] = load_yaml_mapping(path)
        found.extend(f"{path}: {line}" for line in shape_problems(LokiFile, configs[path]))
    if found:
        return found
    old_periods = _periods(configs[previous], [])
    new_periods = _periods(configs[new], [])
    problems: list[str] = []
    for period in old_periods:
        start = _parse_from(period["from"])
        if start is not None and start <= today and period not in new_periods:
            problems.append(f"period {period['from']} holds data and was removed or changed")
    for period in new_periods:
        start = _parse_from(period["from"])
        if period not in old_periods and start is not None and start <= today:
            problems.append(
                f"new period {period['from']} starts on or before today ({today}): it must start in the future"
            )
    return problems
