"""The role's data mover (roles/monitoring_stack/library/monitoring_stack_loki_tree.py), called directly."""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support import REPO

MODULE = REPO / "roles" / "monitoring_stack" / "library" / "monitoring_stack_loki_tree.py"
TARGETS = {"chunks": "chunks", "wal": "wal", "boltdb_shipper_active": "boltdb-shipper-active"}


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("monitoring_stack_loki_tree", MODULE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tree = _load()


def _legacy(root: Path) -> dict[str, str]:
    """Files laid out as Loki 2.9 lays them out (contents opaque), in three separate directories."""
    files = {
        "prefix/chunks/fake/ZmFrZQ==:18c2f1a:18c2f2b:1a2b3c4d": 3000,
        "prefix/chunks/index/index_19700/ingester-1-1700000000.gz": 900,
        "prefix/boltdb-shipper-active/index_19701/ingester-1-1700086400": 4096,
        "prefix/boltdb-shipper-active/uploader/name": 16,
        "elsewhere/wal/00000000": 32768,
        "elsewhere/wal/checkpoint.000001/00000000": 1200,
    }
    for rel, size in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
    return {
        "chunks": str(root / "prefix/chunks"),
        "boltdb_shipper_active": str(root / "prefix/boltdb-shipper-active"),
        "wal": str(root / "elsewhere/wal"),
    }


def _params(sources: dict[str, str], dest: Path, **extra: Any) -> dict[str, Any]:
    return {
        "sources": sources,
        "targets": TARGETS,
        "dest": str(dest),
        "owner": None,
        "group": None,
        "settle_seconds": 0.0,
        **extra,
    }


def _paths(sources: dict[str, str]) -> dict[str, Path]:
    checked: dict[str, Path] = tree._sources({"sources": sources})
    return checked


def test_sync_copies_everything_and_verify_agrees(tmp_path: Path) -> None:
    sources = _legacy(tmp_path / "old")
    dest = tmp_path / "staging"
    first = tree.sync(_params(sources, dest), _paths(sources))
    assert first["copied"] == 6 and first["skipped"] == 0
    result = tree.verify(_params(sources, dest), _paths(sources))
    assert result["ok"], result
    assert (result["dest_files"], result["dest_bytes"]) == (result["files"], result["bytes"])
    assert (dest / "wal" / "checkpoint.000001" / "00000000").is_file(), "the WAL from elsewhere is under /loki/wal"
    again = tree.sync(_params(sources, dest), _paths(sources))
    assert (again["copied"], again["skipped"], again["changed"]) == (0, 6, False), "a re-run copies nothing"


def test_verify_names_a_truncated_copy(tmp_path: Path) -> None:
    sources = _legacy(tmp_path / "old")
    dest = tmp_path / "staging"
    tree.sync(_params(sources, dest), _paths(sources))
    victim = dest / "chunks" / "index" / "index_19700" / "ingester-1-1700000000.gz"
    victim.write_bytes(victim.read_bytes()[:100])
    result = tree.verify(_params(sources, dest), _paths(sources))
    assert not result["ok"]
    assert result["different"] == [f"{victim} (100 bytes, source 900)"]
    assert result["dest_bytes"] == result["bytes"] - 800


def test_verify_names_missing_and_extra_files(tmp_path: Path) -> None:
    sources = _legacy(tmp_path / "old")
    dest = tmp_path / "staging"
    tree.sync(_params(sources, dest), _paths(sources))
    (dest / "wal" / "00000000").unlink()
    (dest / "chunks" / "stray").write_bytes(b"x")
    result = tree.verify(_params(sources, dest), _paths(sources))
    assert result["missing"] == [str(dest / "wal" / "00000000")]
    assert result["extra"] == [str(dest / "chunks" / "stray")]
    assert not result["ok"]


def test_interrupted_copy_resumes_and_repairs_a_partial_file(tmp_path: Path) -> None:
    sources = _legacy(tmp_path / "old")
    dest = tmp_path / "staging"
    tree.sync(_params(sources, dest), _paths(sources))
    partial = dest / "wal" / "00000000"
    partial.write_bytes(partial.read_bytes()[:10])  # what a copy cut off mid-file leaves
    resumed = tree.sync(_params(sources, dest), _paths(sources))
    assert (resumed["copied"], resumed["skipped"]) == (1, 5)
    assert tree.verify(_params(sources, dest), _paths(sources))["ok"]


def test_sync_never_deletes(tmp_path: Path) -> None:
    sources = _legacy(tmp_path / "old")
    dest = tmp_path / "staging"
    (dest / "chunks").mkdir(parents=True)
    (dest / "chunks" / "kept").write_bytes(b"k")
    before = {p: p.stat().st_size for p in (tmp_path / "old").rglob("*") if p.is_file()}
    tree.sync(_params(sources, dest), _paths(sources))
    assert (dest / "chunks" / "kept").exists()
    assert {p: p.stat().st_size for p in (tmp_path / "old").rglob("*") if p.is_file()} == before


def test_settle_catches_a_file_still_growing(tmp_path: Path) -> None:
    sources = _legacy(tmp_path / "old")
    segment = Path(sources["wal"]) / "00000001"
    stop = threading.Event()

    def writer() -> None:  # a Loki still appending to its WAL
        with segment.open("ab") as fh:
            while not stop.is_set():
                fh.write(b"line\n")
                fh.flush()
                time.sleep(0.05)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.1)
        result = tree.settle(_params(sources, tmp_path / "unused", settle_seconds=0.5), _paths(sources))
    finally:
        stop.set()
        thread.join()
    assert result["changed_files"] == [str(segment)]
    quiet = tree.settle(_params(sources, tmp_path / "unused", settle_seconds=0.2), _paths(sources))
    assert quiet["changed_count"] == 0
    assert quiet["files"] == 7


def test_missing_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(tree.TreeError, match="wal"):
        tree._sources({"sources": {"wal": str(tmp_path / "nope")}})
