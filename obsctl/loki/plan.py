"""Read a Loki 2.9 config and derive the monitoring_stack inventory settings that migrate its data.

The old config is the source of truth: every schema period is copied exactly (a `from`, store,
object store, schema, index prefix or index period that differs from the old install makes the
logs written under it unreadable), and the directories are resolved the way Loki 2.9 resolves them:

- ``common.path_prefix`` gives ``<prefix>/wal``, ``<prefix>/boltdb-shipper-active``,
  ``<prefix>/boltdb-shipper-cache``, ``<prefix>/tsdb-shipper-active`` and ``<prefix>/tsdb-shipper-cache``
  when the specific field is unset (pkg/loki/config_wrapper.go: ``applyPathPrefixDefaults``,
  ``betterBoltdbShipperDefaults``, ``betterTSDBShipperDefaults``);
- the WAL is on by default, its flag default is the relative ``wal`` and ``flush_on_shutdown`` is
  off (pkg/ingester/wal.go ``WALConfig.RegisterFlags``);
- chunks are in ``storage_config.filesystem.directory`` or ``common.storage.filesystem.chunks_directory``
  (``applyStorageConfig``); with neither, ``-local.chunk-directory`` defaults to ``""``, which
  ``NewFSObjectClient`` cleans to ``.``: the process's working directory, which the config does not
  tell (the package's unit sets no ``WorkingDirectory=``, so ``/``);
  the shipped index of a filesystem object store is under ``<chunks>/index/<prefix><day number>``.

Checked against the 2.9-era upstream configs in tests/fixtures/loki/ (README.md there).

Layouts this procedure cannot copy (an index store Loki 3 cannot read, an object store that is not
the local filesystem, a relative directory) are refused with the reason and what to do instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from pydantic import Field

from obsctl.errors import EXIT_FINDINGS, ObsError
from obsctl.schema import Shape, shape_problems
from obsctl.validators import load_yaml_mapping

SUPPORTED_STORES = ("boltdb-shipper", "tsdb")
SUPPORTED_SCHEMAS = ("v11", "v12", "v13")
# boltdb-shipper and tsdb need daily index tables (Loki 2.9 and 3 refuse any other index period).
INDEX_PERIOD = "24h"
# The key prefix under the object store where both shippers upload index tables (Loki 2.9 default
# of boltdb_shipper.shared_store_key_prefix; Loki 3 removed the setting and always uses it).
SHARED_KEY_PREFIX = "index/"
S3_STORES = ("s3", "aws")
# The 2.9 package's default path_prefix is under it; a reboot may empty it (not a file we create).
VOLATILE_ROOT = PurePosixPath("/tmp")  # noqa: S108

# Name of each legacy directory in the inventory → its place under the new Loki's /loki.
TARGETS = {
    "chunks": "chunks",
    "boltdb_shipper_active": "boltdb-shipper-active",
    "boltdb_shipper_cache": "boltdb-shipper-cache",
    "tsdb_shipper_active": "tsdb-index",
    "tsdb_shipper_cache": "tsdb-cache",
    "wal": "wal",
}


class Refused(ObsError):
    """The old layout is readable but this procedure cannot migrate it (a finding, exit 1)."""

    exit_code = EXIT_FINDINGS


class _Index(Shape):
    prefix: str | None = None
    period: str | None = None


class _Period(Shape):
    from_: dt.date | str | None = Field(default=None, alias="from")
    store: str | None = None
    object_store: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    index: _Index | None = None


class _SchemaConfig(Shape):
    configs: list[_Period] | None = None


class _Shipper(Shape):
    active_index_directory: str | None = None
    cache_location: str | None = None
    shared_store: str | None = None
    shared_store_key_prefix: str | None = None


class _Filesystem(Shape):
    directory: str | None = None


class _StorageConfig(Shape):
    filesystem: _Filesystem | None = None
    boltdb_shipper: _Shipper | None = None
    tsdb_shipper: _Shipper | None = None


class _CommonFilesystem(Shape):
    chunks_directory: str | None = None


class _CommonStorage(Shape):
    filesystem: _CommonFilesystem | None = None


class _Common(Shape):
    path_prefix: str | None = None
    storage: _CommonStorage | None = None


class _Wal(Shape):
    enabled: bool | None = None
    dir: str | None = None
    flush_on_shutdown: bool | None = None


class _Ingester(Shape):
    wal: _Wal | None = None


class LegacyLokiFile(Shape):
    """The parts of a Loki 2.9 config that decide where its data is and how it is indexed."""

    schema_config: _SchemaConfig | None = None
    storage_config: _StorageConfig | None = None
    common: _Common | None = None
    ingester: _Ingester | None = None


@dataclass(frozen=True)
class Period:
    from_: str
    store: str
    object_store: str
    schema: str
    index_prefix: str
    index_period: str

    def as_inventory(self) -> dict[str, Any]:
        return {
            "from": self.from_,
            "store": self.store,
            "object_store": self.object_store,
            "schema": self.schema,
            "index": {"prefix": self.index_prefix, "period": self.index_period},
        }


@dataclass(frozen=True)
class Plan:
    source: Path
    sha256: str
    periods: list[Period]
    dirs: dict[str, str]
    wal_enabled: bool
    flush_on_shutdown: bool
    notes: list[str] = field(default_factory=list)

    def inventory(self) -> dict[str, Any]:
        return {
            "monitoring_stack_loki_legacy": "migrate",
            "monitoring_stack_loki_legacy_periods": [p.as_inventory() for p in self.periods],
            "monitoring_stack_loki_legacy_dirs": dict(self.dirs),
        }


def _where(path: Path, field_name: str) -> str:
    return f"{path}: {field_name}"


def _absolute(path: Path, field_name: str, value: str, why: str) -> str:
    if not PurePosixPath(value).is_absolute():
        raise Refused(
            f"{_where(path, field_name)} is the relative path {value!r} ({why}); it is relative to the "
            "old Loki's working directory, which the config does not tell",
            fix=f"set {field_name} to the absolute path in the old config (the unit's WorkingDirectory=, "
            "or / when the unit sets none, joined with it) and run plan-migration again",
        )
    return str(PurePosixPath(value))


def _period(path: Path, position: int, raw: _Period) -> Period:
    here = f"schema_config.configs[{position}]"
    if raw.from_ is None:
        raise ObsError(f"{_where(path, here)} has no `from`", fix="this is not a config Loki 2.9 starts with")
    try:
        start = raw.from_ if isinstance(raw.from_, dt.date) else dt.date.fromisoformat(raw.from_)
    except ValueError:
        raise ObsError(
            f"{_where(path, here + '.from')} is {raw.from_!r}, not a date YYYY-MM-DD",
            fix="pass the config the old Loki actually runs with (/etc/loki/config.yml)",
        ) from None
    store = raw.store or ""
    if store not in SUPPORTED_STORES:
        raise Refused(
            f"{_where(path, here + '.store')} is {store or '(unset)'!r}: Loki 3 reads only boltdb-shipper "
            "and tsdb indexes",
            fix="this period's logs cannot move to Loki 3 by copying files; keep the old Loki running read-only "
            "until they are past retention (or re-ingest them), and migrate only boltdb-shipper/tsdb periods",
        )
    object_store = raw.object_store or ""
    if object_store in S3_STORES:
        raise Refused(
            f"{_where(path, here + '.object_store')} is {object_store!r}: this period's chunks and shipped index "
            "are in S3, not on the old host's disk, so this procedure has no files to copy; the newest lines "
            "are still only in the old Loki's memory and its local WAL",
            fix="drain the old Loki first (docs/loki-migration.md step 3: POST /flush until "
            "loki_ingester_memory_chunks is 0, then stop it) so they reach the bucket; then give the new host's "
            "instance profile read access to that bucket, set monitoring_stack_loki_s3_bucket/_region to it and "
            "list this period unchanged in monitoring_stack_loki_schema_periods by hand "
            "(docs/loki-migration.md, 'Legacy data in S3')",
        )
    if object_store != "filesystem":
        raise Refused(
            f"{_where(path, here + '.object_store')} is {object_store or '(unset)'!r}: only the local "
            "filesystem object store can be copied by this procedure",
            fix="move that store's data with its own tools and list the period by hand in "
            "monitoring_stack_loki_schema_periods",
        )
    schema = raw.schema_ or ""
    if schema not in SUPPORTED_SCHEMAS:
        raise Refused(
            f"{_where(path, here + '.schema')} is {schema or '(unset)'!r}: the procedure migrates "
            f"{', '.join(SUPPORTED_SCHEMAS)} periods only",
            fix="upgrade the old install to a v11+ period first (a new period with a future `from`) and "
            "migrate once the older period is past retention",
        )
    tables = raw.index or _Index()
    if not tables.prefix:
        raise ObsError(
            f"{_where(path, here + '.index.prefix')} is missing",
            fix="Loki 2.9 does not start without it: pass the config the old Loki actually runs with",
        )
    if tables.period != INDEX_PERIOD:
        raise Refused(
            f"{_where(path, here + '.index.period')} is {tables.period!r}: {store} needs {INDEX_PERIOD} "
            "index tables (Loki 2.9 and 3 refuse other periods), so this is not the config Loki runs with",
            fix="pass the config the old Loki actually runs with (see `ExecStart` of its systemd unit)",
        )
    return Period(start.isoformat(), store, object_store, schema, tables.prefix, tables.period)


def _shipper_dirs(
    path: Path, name: str, block: _Shipper | None, prefix: str | None, default_names: tuple[str, str]
) -> dict[str, str]:
    block = block or _Shipper()
    section = f"storage_config.{name}"
    if block.shared_store not in (None, "", "filesystem"):
        raise Refused(
            f"{_where(path, section + '.shared_store')} is {block.shared_store!r}: the shipped index is in "
            "an object store, not on the old host's disk",
            fix="this procedure copies a filesystem store only; see docs/loki-migration.md, 'Legacy data in S3'",
        )
    if block.shared_store_key_prefix not in (None, SHARED_KEY_PREFIX):
        raise Refused(
            f"{_where(path, section + '.shared_store_key_prefix')} is {block.shared_store_key_prefix!r}: "
            f"Loki 3 removed the setting and looks for the index under {SHARED_KEY_PREFIX!r}",
            fix=f"the index tables would be unreadable after the move; rename <chunks>/"
            f"{block.shared_store_key_prefix} to <chunks>/{SHARED_KEY_PREFIX} on a stopped old Loki first",
        )
    found: dict[str, str] = {}
    for key, setting, default in (
        ("active", "active_index_directory", default_names[0]),
        ("cache", "cache_location", default_names[1]),
    ):
        value = getattr(block, setting) or (f"{prefix.rstrip('/')}/{default}" if prefix else None)
        if not value:
            raise Refused(
                f"{_where(path, section + '.' + setting)} is unset and there is no common.path_prefix: "
                "Loki 2.9 then uses a directory this command cannot know",
                fix=f"set {section}.{setting} explicitly in the old config (where its files are) and re-run",
            )
        found[f"{name}_{key}"] = _absolute(path, f"{section}.{setting}", value, f"{name} {key} index files")
    return found


def _directories(path: Path, parsed: LegacyLokiFile, stores: set[str]) -> tuple[dict[str, str], bool, bool, list[str]]:
    """(directories by kind, WAL on, flush on shutdown, notes for the operator)."""
    common = parsed.common or _Common()
    prefix = common.path_prefix or None
    if prefix is not None:
        prefix = _absolute(path, "common.path_prefix", prefix, "the base of every data directory")
    storage = parsed.storage_config or _StorageConfig()
    chunks = (storage.filesystem.directory if storage.filesystem else None) or (
        common.storage.filesystem.chunks_directory if common.storage and common.storage.filesystem else None
    )
    if not chunks:
        raise Refused(
            f"{path}: neither storage_config.filesystem.directory nor common.storage.filesystem.chunks_directory "
            "is set: Loki 2.9 then writes chunks into its working directory (-local.chunk-directory defaults to "
            "'', used as '.'), which the config does not tell",
            fix="find the chunks (the unit's WorkingDirectory=, or / when it sets none: a directory per tenant such "
            "as fake/, and index/); on the stopped old Loki move them into a directory of their own, set "
            "storage_config.filesystem.directory to it, start it again and re-run plan-migration",
        )
    dirs = {"chunks": _absolute(path, "storage_config.filesystem.directory", chunks, "the chunks")}
    if "boltdb-shipper" in stores:
        dirs |= _shipper_dirs(
            path, "boltdb_shipper", storage.boltdb_shipper, prefix, ("boltdb-shipper-active", "boltdb-shipper-cache")
        )
    if "tsdb" in stores:
        dirs |= _shipper_dirs(
            path, "tsdb_shipper", storage.tsdb_shipper, prefix, ("tsdb-shipper-active", "tsdb-shipper-cache")
        )
    wal = (parsed.ingester.wal if parsed.ingester else None) or _Wal()
    wal_enabled = wal.enabled is not False  # Loki 2.9 default: enabled
    notes: list[str] = []
    if wal_enabled:
        wal_dir = wal.dir or (f"{prefix.rstrip('/')}/wal" if prefix else "wal")
        dirs["wal"] = _absolute(path, "ingester.wal.dir", wal_dir, "the write-ahead log")
        if not wal.flush_on_shutdown:
            notes.append(
                "ingester.wal.flush_on_shutdown is off (the 2.9 default): stopping the old Loki does NOT flush its "
                "in-memory chunks; the newest lines are only in the WAL, which is copied too"
            )
    else:
        dirs["wal"] = ""
        notes.append("the old Loki runs without a WAL: drain it with POST /flush before stopping it")
    targets = [dirs[k] for k in dirs if dirs[k]]
    if any(PurePosixPath(t).is_relative_to(VOLATILE_ROOT) for t in targets):
        notes.append(
            "data under /tmp (the 2.9 package's default path_prefix /tmp/loki): a reboot may have emptied it "
            "(tmpfs or tmp cleaning); the role refuses missing directories, but a partly cleaned one is not "
            "detectable: check the oldest chunk's date before relying on older logs"
        )
    for a in targets:
        for b in targets:
            if a != b and PurePosixPath(b).is_relative_to(PurePosixPath(a)):
                raise Refused(
                    f"{path}: the directory {b} is inside {a}: it would be copied twice",
                    fix="give each of chunks, index, cache and WAL its own directory in the old config",
                )
    if len(set(targets)) != len(targets):
        raise Refused(f"{path}: two kinds of data share one directory ({targets})", fix="separate them first")
    return dirs, wal_enabled, bool(wal.flush_on_shutdown), notes


def plan(path: Path) -> Plan:
    """The migration settings for the Loki 2.9 config at ``path``; ObsError/Refused with the reason."""
    config = load_yaml_mapping(path)
    shape = shape_problems(LegacyLokiFile, config)
    if shape:
        raise ObsError(
            f"{path} is not a Loki config of the expected shape:\n    " + "\n    ".join(shape),
            fix="pass the config file the old Loki runs with (-config.file of its systemd unit)",
        )
    parsed = LegacyLokiFile.model_validate(config)
    configs = (parsed.schema_config or _SchemaConfig()).configs or []
    if not configs:
        raise ObsError(
            f"{_where(path, 'schema_config.configs')} is missing or empty",
            fix="pass the config the old Loki actually runs with (it does not start without schema periods)",
        )
    periods = [_period(path, i, raw) for i, raw in enumerate(configs)]
    dates = [p.from_ for p in periods]
    if dates != sorted(dates) or len(set(dates)) != len(dates):
        raise ObsError(
            f"{_where(path, 'schema_config.configs')} is not sorted by `from` without repeats: {dates}",
            fix="pass the config the old Loki actually runs with (Loki refuses unsorted periods)",
        )
    dirs, wal_enabled, flush_on_shutdown, notes = _directories(path, parsed, {p.store for p in periods})
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Plan(path, digest, periods, dirs, wal_enabled, flush_on_shutdown, notes)


def render(result: Plan) -> str:
    """The inventory settings as YAML for the monitoring host's vars, with where they came from."""
    header = [
        "---",
        f"# Generated by `obsctl loki plan-migration` from {result.source}",
        f"# (sha256 {result.sha256}). Every legacy period is the old config's, unchanged: do not edit",
        "# it, re-run the command if the old config changes. Directories are on the host the role copies",
        "# from (docs/loki-migration.md); add monitoring_stack_loki_v13_from (a day not yet begun, UTC).",
    ]
    header += [f"# NOTE: {note}" for note in result.notes]
    body = yaml.safe_dump(result.inventory(), sort_keys=False, default_flow_style=False)
    return "\n".join(header) + "\n" + body
