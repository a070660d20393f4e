#!/usr/bin/python3
"""Scan, copy and verify the directories of a Loki 2.x install (the migration's data handling).

One module instead of find/cp/stat commands, because each step must see the same files the same
way: a directory holds 10^5+ chunk files, so nothing here returns a per-file list (only counts,
bytes and at most ``MAX_NAMED`` example paths).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: monitoring_stack_loki_tree
short_description: Scan, copy (resumable, never deleting) and verify Loki data directories
description:
  - C(settle) scans every source twice, I(settle_seconds) apart, and fails naming the files whose size or
    modification time changed (a Loki, rsync or shipper still writing).
  - C(sync) copies each source directory to I(dest)/I(targets)[name]; a file whose size and mtime already
    match is skipped (resumable, like rsync's quick check); nothing is ever deleted, in the source or the
    destination; each file is written to a temporary name and renamed, so an interrupted copy never leaves
    a truncated file under its real name.
  - C(verify) fails unless I(dest) holds exactly the source's files (relative path and size), naming the
    missing, different and extra ones.
options:
  mode: {type: str, required: true, choices: [settle, sync, verify]}
  sources: {type: dict, required: true, description: name -> absolute source directory (empty = none)}
  targets: {type: dict, default: {}, description: name -> directory under dest}
  dest: {type: path, description: staging root (sync, verify)}
  settle_seconds: {type: float, default: 5}
  owner: {type: int, description: uid of the copied files (sync)}
  group: {type: int, description: gid of the copied files (sync)}
"""

MAX_NAMED = 20
TMP_SUFFIX = ".monitoring-stack-partial"

Tree = dict[str, tuple[int, int]]  # relative path -> (size, mtime_ns)
Params = dict[str, Any]


class TreeError(Exception):
    pass


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, lstat) of every regular file under root; a special file or link is an error."""
    for current, dirs, files in os.walk(root):
        dirs.sort()
        here = Path(current)
        for name in sorted(files) + [d for d in dirs if (here / d).is_symlink()]:
            full = here / name
            info = full.lstat()
            if not stat.S_ISREG(info.st_mode):
                raise TreeError(f"{full} is not a regular file (link, socket or device): move it aside and re-run")
            yield str(full.relative_to(root)), info


def _tree(root: Path) -> Tree:
    return {rel: (info.st_size, info.st_mtime_ns) for rel, info in _walk(root)}


def _sources(params: Params) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name, path in sorted((params["sources"] or {}).items()):
        if not path:
            continue
        if not Path(path).is_dir():
            raise TreeError(f"{name}: {path} is not a directory")
        found[name] = Path(path)
    return found


def _target(params: Params, name: str) -> Path:
    return Path(params["dest"]) / str(params["targets"].get(name, name))


def _totals(trees: dict[str, Tree]) -> tuple[dict[str, dict[str, int]], int, int]:
    per = {name: {"files": len(t), "bytes": sum(s for s, _ in t.values())} for name, t in trees.items()}
    return per, sum(p["files"] for p in per.values()), sum(p["bytes"] for p in per.values())


def _digest(trees: dict[str, Tree]) -> str:
    h = hashlib.sha256()
    for name in sorted(trees):
        for rel in sorted(trees[name]):
            size, mtime = trees[name][rel]
            h.update(f"{name}\0{rel}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()


def settle(params: Params, sources: dict[str, Path]) -> dict[str, Any]:
    first = {name: _tree(path) for name, path in sources.items()}
    time.sleep(float(params["settle_seconds"]))
    second = {name: _tree(path) for name, path in sources.items()}
    changed = [
        str(path / rel)
        for name, path in sources.items()
        for rel in sorted(set(first[name]) | set(second[name]))
        if first[name].get(rel) != second[name].get(rel)
    ]
    per, files, size = _totals(second)
    return {
        "trees": per,
        "files": files,
        "bytes": size,
        "digest": _digest(second),
        "changed_files": changed[:MAX_NAMED],
        "changed_count": len(changed),
    }


def _chown(path: Path, owner: int | None, group: int | None) -> None:
    if owner is not None or group is not None:
        os.lchown(path, -1 if owner is None else owner, -1 if group is None else group)


def _copy_file(src: Path, dst: Path, owner: int | None, group: int | None) -> None:
    tmp = dst.with_name(dst.name + TMP_SUFFIX)
    with src.open("rb") as fin, tmp.open("wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())
    shutil.copystat(src, tmp)
    _chown(tmp, owner, group)
    tmp.replace(dst)


def sync(params: Params, sources: dict[str, Path]) -> dict[str, Any]:
    owner, group = params["owner"], params["group"]
    copied = skipped = copied_bytes = 0
    for name, path in sources.items():
        target = _target(params, name)
        for current, dirs, _ in os.walk(path):
            dirs.sort()
            made = target / Path(current).relative_to(path)
            made.mkdir(parents=True, exist_ok=True)
            shutil.copymode(current, made)
            _chown(made, owner, group)
        for rel, info in _walk(path):
            dst = target / rel
            try:
                have = dst.lstat()
            except FileNotFoundError:
                have = None
            if have is not None and (have.st_size, have.st_mtime_ns) == (info.st_size, info.st_mtime_ns):
                skipped += 1
                if (owner is not None and have.st_uid != owner) or (group is not None and have.st_gid != group):
                    _chown(dst, owner, group)
                continue
            _copy_file(path / rel, dst, owner, group)
            copied += 1
            copied_bytes += info.st_size
    return {"copied": copied, "skipped": skipped, "copied_bytes": copied_bytes, "changed": copied > 0}


def verify(params: Params, sources: dict[str, Path]) -> dict[str, Any]:
    missing: list[str] = []
    different: list[str] = []
    extra: list[str] = []
    src_trees: dict[str, Tree] = {}
    dst_trees: dict[str, Tree] = {}
    for name, path in sources.items():
        target = _target(params, name)
        src = src_trees[name] = _tree(path)
        dst = dst_trees[name] = _tree(target) if target.is_dir() else {}
        missing += [str(target / r) for r in sorted(set(src) - set(dst))]
        extra += [str(target / r) for r in sorted(set(dst) - set(src))]
        different += [
            f"{target / r} ({dst[r][0]} bytes, source {src[r][0]})"
            for r in sorted(set(src) & set(dst))
            if src[r][0] != dst[r][0]
        ]
    per, files, size = _totals(src_trees)
    _, dst_files, dst_size = _totals(dst_trees)
    return {
        "trees": per,
        "files": files,
        "bytes": size,
        "dest_files": dst_files,
        "dest_bytes": dst_size,
        "missing": missing[:MAX_NAMED],
        "different": different[:MAX_NAMED],
        "extra": extra[:MAX_NAMED],
        "ok": not (missing or different or extra),
    }


def _settle_failure(params: Params, result: dict[str, Any]) -> str:
    return (
        f"{result['changed_count']} file(s) changed size or time within {params['settle_seconds']:g} s, "
        f"e.g. {', '.join(result['changed_files'][:5])}: something still writes the legacy data (the old Loki, a "
        "shipper through it, or an rsync still running). Stop it (docs/loki-migration.md, 'Drain the old "
        "Loki') and re-run; nothing was copied."
    )


def _verify_failure(params: Params, result: dict[str, Any]) -> str:
    return (
        f"the copy in {params['dest']} differs from the legacy data: {result['dest_files']} files / "
        f"{result['dest_bytes']} bytes vs {result['files']} / {result['bytes']}; missing {result['missing'][:5]}, "
        f"different size {result['different'][:5]}, extra {result['extra'][:5]}. Nothing was switched. "
        f"Re-run to resume the copy; if files are extra, remove {params['dest']} and re-run."
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "mode": {"type": "str", "required": True, "choices": ["settle", "sync", "verify"]},
            "sources": {"type": "dict", "required": True},
            "targets": {"type": "dict", "default": {}},
            "dest": {"type": "path"},
            "settle_seconds": {"type": "float", "default": 5.0},
            "owner": {"type": "int"},
            "group": {"type": "int"},
        },
        required_if=[("mode", "sync", ["dest"]), ("mode", "verify", ["dest"])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        sources = _sources(params)
        if params["mode"] == "settle":
            result = settle(params, sources)
            if result["changed_count"]:
                module.fail_json(msg=_settle_failure(params, result), **result)
            module.exit_json(changed=False, **result)
        if params["mode"] == "sync":
            if module.check_mode:
                module.exit_json(changed=True, msg="would copy")
            module.exit_json(**sync(params, sources))
        result = verify(params, sources)
        if not result["ok"]:
            module.fail_json(msg=_verify_failure(params, result), **result)
        module.exit_json(changed=False, **result)
    except (TreeError, OSError) as exc:
        module.fail_json(msg=f"{params['mode']}: {exc}")


if __name__ == "__main__":
    main()
