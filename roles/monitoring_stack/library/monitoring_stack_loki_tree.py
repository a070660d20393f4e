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


class TreeError(Exception):
    pass


def _walk(root):
    """(relative path, lstat) of every regular file under root; a special file or link is an error."""
    for current, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(current, d))]:
            full = os.path.join(current, name)
            info = os.lstat(full)
            if not stat.S_ISREG(info.st_mode):
                raise TreeError(f"{full} is not a regular file (link, socket or device): move it aside and re-run")
            yield os.path.relpath(full, root), info


def _tree(root):
    """{relative path: (size, mtime_ns)} of a directory."""
    return {rel: (info.st_size, info.st_mtime_ns) for rel, info in _walk(root)}


def _sources(params):
    found = {}
    for name, path in sorted((params["sources"] or {}).items()):
        if not path:
            continue
        if not os.path.isdir(path):
            raise TreeError(f"{name}: {path} is not a directory")
        found[name] = path
    return found


def _totals(trees):
    per = {name: {"files": len(t), "bytes": sum(s for s, _ in t.values())} for name, t in trees.items()}
    return per, sum(p["files"] for p in per.values()), sum(p["bytes"] for p in per.values())


def _digest(trees):
    h = hashlib.sha256()
    for name in sorted(trees):
        for rel in sorted(trees[name]):
            size, mtime = trees[name][rel]
            h.update(f"{name}\0{rel}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()


def settle(params, sources):
    first = {name: _tree(path) for name, path in sources.items()}
    time.sleep(params["settle_seconds"])
    second = {name: _tree(path) for name, path in sources.items()}
    changed = []
    for name, path in sources.items():
        for rel in sorted(set(first[name]) | set(second[name])):
            if first[name].get(rel) != second[name].get(rel):
                changed.append(os.path.join(path, rel))
    per, files, size = _totals(second)
    return {"trees": per, "files": files, "bytes": size, "digest": _digest(second), "changed": changed[:MAX_NAMED],
            "changed_count": len(changed)}


def _copy_file(src, dst, owner, group):
    tmp = dst + TMP_SUFFIX
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())
    shutil.copystat(src, tmp)
    if owner is not None or group is not None:
        os.chown(tmp, -1 if owner is None else owner, -1 if group is None else group)
    os.replace(tmp, dst)


def sync(params, sources):
    dest = params["dest"]
    owner, group = params["owner"], params["group"]
    copied = skipped = copied_bytes = 0
    for name, path in sources.items():
        target = os.path.join(dest, params["targets"].get(name, name))
        for current, dirs, _ in os.walk(path):
            dirs.sort()
            rel_dir = os.path.relpath(current, path)
            made = os.path.normpath(os.path.join(target, rel_dir))
            os.makedirs(made, exist_ok=True)
            shutil.copymode(current, made)
            if owner is not None or group is not None:
                os.chown(made, -1 if owner is None else owner, -1 if group is None else group)
        for rel, info in _walk(path):
            dst = os.path.join(target, rel)
            try:
                have = os.lstat(dst)
                if have.st_size == info.st_size and have.st_mtime_ns == info.st_mtime_ns:
                    skipped += 1
                    continue
            except FileNotFoundError:
                pass
            _copy_file(os.path.join(path, rel), dst, owner, group)
            copied += 1
            copied_bytes += info.st_size
    return {"copied": copied, "skipped": skipped, "copied_bytes": copied_bytes, "changed": copied > 0}


def verify(params, sources):
    dest = params["dest"]
    missing, different, extra = [], [], []
    src_trees, dst_trees = {}, {}
    for name, path in sources.items():
        target = os.path.join(dest, params["targets"].get(name, name))
        src_trees[name] = _tree(path)
        dst_trees[name] = _tree(target) if os.path.isdir(target) else {}
        src, dst = src_trees[name], dst_trees[name]
        missing += [os.path.join(target, r) for r in sorted(set(src) - set(dst))]
        extra += [os.path.join(target, r) for r in sorted(set(dst) - set(src))]
        different += [
            f"{os.path.join(target, r)} ({dst[r][0]} bytes, source {src[r][0]})"
            for r in sorted(set(src) & set(dst))
            if src[r][0] != dst[r][0]
        ]
    per, files, size = _totals(src_trees)
    _, dst_files, dst_size = _totals(dst_trees)
    return {"trees": per, "files": files, "bytes": size, "dest_files": dst_files, "dest_bytes": dst_size,
            "missing": missing[:MAX_NAMED], "different": different[:MAX_NAMED], "extra": extra[:MAX_NAMED],
            "ok": not (missing or different or extra)}


def main():
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
                module.fail_json(msg=(
                    f"{result['changed_count']} file(s) changed size or time within {params['settle_seconds']:g} s, "
                    f"e.g. {', '.join(result['changed'][:5])}: something still writes the legacy data (the old "
                    "Loki, a shipper through it, or an rsync still running). Stop it (docs/loki-migration.md, "
                    "'Drain the old Loki') and re-run; nothing was copied."), **result)
            module.exit_json(changed=False, **result)
        if params["mode"] == "sync":
            if module.check_mode:
                module.exit_json(changed=True, msg="would copy")
            module.exit_json(**sync(params, sources))
        result = verify(params, sources)
        if not result["ok"]:
            module.fail_json(msg=(
                f"the copy in {params['dest']} differs from the legacy data: {result['dest_files']} files / "
                f"{result['dest_bytes']} bytes vs {result['files']} / {result['bytes']}; missing "
                f"{result['missing'][:5]}, different size {result['different'][:5]}, extra {result['extra'][:5]}. "
                f"Nothing was switched. Re-run to resume the copy; if files are extra, remove {params['dest']} "
                "and re-run."), **result)
        module.exit_json(changed=False, **result)
    except (TreeError, OSError) as exc:
        module.fail_json(msg=f"{params['mode']}: {exc}")


if __name__ == "__main__":
    main()
