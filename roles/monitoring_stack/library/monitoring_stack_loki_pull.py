#!/usr/bin/python3
"""Pull the drained Loki 2.x directories from the old host to this one with rsync over SSH.

A module rather than ``ansible.posix.synchronize`` because every part of the transfer must be
explicit: the address is the one THIS host reaches the old host at (in prod its WireGuard address,
not the controller's view of it), the SSH identity is a dedicated key (no agent forwarding), the
old host's key is checked against a known_hosts file written from what Ansible read on that host,
and the rsync flags can never delete or move anything. ``rsync_argv`` is the one place the command
is built (tests/unit/test_loki_pull_module.py).
"""

from __future__ import annotations

import re
import shlex
from pathlib import PurePosixPath
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: monitoring_stack_loki_pull
short_description: Copy legacy Loki directories from the old host to the same paths here (rsync over SSH)
description:
  - Runs ONE rsync on this host that pulls every directory of I(sources) from I(user)@I(host) to the same
    absolute path here (C(--relative)), preserving times, modes and numeric owners.
  - Resumable: an interrupted file is kept in C(.rsync-partial/) beside it (C(--partial-dir)) and continued by
    the next run, never left truncated under its real name; a file already copied (same size and time) is skipped.
  - Never deletes or moves anything, on either side (no C(--delete*), no C(--remove-source-files)).
  - changed is true when rsync itemized a transfer or a created directory; check mode is rsync C(--dry-run).
options:
  sources: {type: dict, required: true, description: name -> absolute directory on the old host (empty = none)}
  host: {type: str, required: true, description: address of the old host as reached from this host}
  port: {type: int, default: 22}
  user: {type: str, required: true, description: login on the old host; not root runs the remote rsync via sudo -n}
  identity_file: {type: path, required: true, description: private key here (its public key authorized on the old host)}
  known_hosts_file: {type: path, required: true, description: known_hosts holding the old host's key (strict checking)}
  io_timeout: {type: int, default: 300, description: rsync --timeout (seconds without data before it gives up)}
"""

# Everything the command may never carry: it would delete or move data on one side.
FORBIDDEN = re.compile(r"^--(delete|del$|remove-source-files|prune-empty-dirs)|^-[a-zA-Z]*m")
PARTIAL_DIR = ".rsync-partial"
# rsync's --itemize-changes: an update (<>ch.), then the file type; "cd" = a directory created.
ITEM = re.compile(r"^[<>ch.*][fdLDS][.+?a-zA-Z]{9,}\s")


class PullError(Exception):
    pass


def _sources(raw: dict[str, Any]) -> list[str]:
    found = []
    for name, path in sorted(raw.items()):
        if not path:
            continue
        if not PurePosixPath(str(path)).is_absolute():
            raise PullError(f"{name}: {path!r} is not an absolute path (run `obsctl loki plan-migration` again)")
        # A trailing slash would make rsync copy the directory's contents, not the directory.
        found.append(str(PurePosixPath(str(path))))
    if not found:
        raise PullError("no directory to copy: monitoring_stack_loki_legacy_dirs has none")
    return found


def rsync_argv(params: dict[str, Any], dry_run: bool = False) -> list[str]:
    """The rsync command: pull every source to the same path under / on this host."""
    ssh = [
        "ssh",
        "-i",
        str(params["identity_file"]),
        "-p",
        str(params["port"]),
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        f"UserKnownHostsFile={params['known_hosts_file']}",
        "-o",
        "ForwardAgent=no",
        "-o",
        "ServerAliveInterval=30",
    ]
    argv = [
        "rsync",
        "--archive",  # recursive, times, modes, owners, groups, symlinks as links
        "--relative",  # /var/lib/loki/chunks lands at /var/lib/loki/chunks here
        "--numeric-ids",
        f"--partial-dir={PARTIAL_DIR}",
        f"--timeout={int(params['io_timeout'])}",
        "--itemize-changes",
        "--rsh",
        shlex.join(ssh),
    ]
    if params["user"] != "root":
        argv += ["--rsync-path", "sudo -n rsync"]
    if dry_run:
        argv.append("--dry-run")
    remote = f"{params['user']}@{params['host']}"
    argv += [f"{remote}:{path}" for path in _sources(params["sources"])]
    argv.append("/")
    unsafe = [arg for arg in argv[1 : argv.index("--rsh")] if FORBIDDEN.search(arg)]
    if unsafe:  # a guard for whoever edits the list above
        raise PullError(f"refusing rsync flags that delete or move data: {unsafe}")
    return argv


def itemized(stdout: str) -> list[str]:
    """The lines of rsync's itemized output that are a transfer or a creation (not a time-only update)."""
    return [line for line in stdout.splitlines() if ITEM.match(line) and not line.startswith(".d")]


def _failure(params: dict[str, Any], rc: int, err: str) -> str:
    hints = {
        23: "some files could not be read or written (partial transfer)",
        24: "files vanished on the old host during the copy: it is not drained",
        30: "no data for io_timeout seconds",
        255: "SSH failed: check that this host reaches the old host at that address and port (in prod through "
        "the WireGuard tunnel) and that the role authorized the copy key",
    }
    return (
        f"rsync from {params['user']}@{params['host']}:{params['port']} failed (rc {rc}: "
        f"{hints.get(rc, 'see stderr')}): {err.strip()[-600:]}. Nothing was deleted on either side; re-run to "
        "resume (files already copied are skipped, an interrupted one continues from .rsync-partial/), or copy "
        "by hand (docs/loki-migration.md, 'Copy to the new host')."
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "sources": {"type": "dict", "required": True},
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "default": 22},
            "user": {"type": "str", "required": True},
            "identity_file": {"type": "path", "required": True},
            "known_hosts_file": {"type": "path", "required": True},
            "io_timeout": {"type": "int", "default": 300},
        },
        supports_check_mode=True,
    )
    try:
        argv = rsync_argv(module.params, dry_run=module.check_mode)
    except PullError as exc:
        module.fail_json(msg=str(exc))
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg=_failure(module.params, rc, err), rc=rc, cmd=argv)
    items = itemized(out)
    module.exit_json(
        changed=bool(items),
        cmd=argv,
        transferred=len([i for i in items if i[1] == "f"]),
        items=items[:20],
        item_count=len(items),
    )


if __name__ == "__main__":
    main()
