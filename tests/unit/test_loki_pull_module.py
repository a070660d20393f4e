"""The role's cross-host copy (roles/monitoring_stack/library/monitoring_stack_loki_pull.py): the rsync
command it builds and how it reads rsync's output. The transfer itself runs for real (rsync over SSH
between two containers) in the Molecule scenario loki_migration: rsync is not installed on the build
machine."""

from __future__ import annotations

import importlib.util
import shlex
from types import ModuleType
from typing import Any

import pytest

from tests.support import REPO

MODULE = REPO / "roles" / "monitoring_stack" / "library" / "monitoring_stack_loki_pull.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("monitoring_stack_loki_pull", MODULE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pull = _load()


def _params(**extra: Any) -> dict[str, Any]:
    return {
        "sources": {
            "chunks": "/var/lib/loki/chunks",
            "boltdb_shipper_active": "/var/lib/loki/boltdb-shipper-active/",
            "wal": "/srv/loki-wal",
            "tsdb_shipper_active": "",
        },
        "host": "10.100.0.50",
        "port": 2222,
        "user": "admin",
        "identity_file": "/root/.ssh/obs-loki-legacy-copy",
        "known_hosts_file": "/root/.ssh/obs-loki-legacy-copy.known_hosts",
        "io_timeout": 300,
        **extra,
    }


def _ssh(argv: list[str]) -> list[str]:
    words: list[str] = shlex.split(argv[argv.index("--rsh") + 1])
    return words


def test_pulls_every_declared_directory_to_the_same_path_here() -> None:
    params = _params()
    argv = pull.rsync_argv(params)
    assert argv[0] == "rsync" and argv[-1] == "/", "pulled into / with --relative: the same absolute paths"
    assert "--relative" in argv and "--archive" in argv and "--numeric-ids" in argv
    remote = f"{params['user']}@{params['host']}"
    expected = sorted(
        f"{remote}:{path.rstrip('/')}" for path in params["sources"].values() if path
    )  # a trailing slash would copy the directory's contents instead of the directory
    assert sorted(a for a in argv if a.startswith(remote)) == expected
    assert not any(a.endswith(":") for a in argv), "an empty directory (no tsdb here) is not pulled"


def test_resumable_and_never_deleting() -> None:
    argv = pull.rsync_argv(_params())
    assert f"--partial-dir={pull.PARTIAL_DIR}" in argv, "an interrupted file waits in .rsync-partial/, not truncated"
    assert not [a for a in argv if a.startswith("--delete") or a in ("--del", "--remove-source-files")]
    assert "--itemize-changes" in argv, "changed is read from rsync's itemized output"


@pytest.mark.parametrize("flag", ["--delete", "--delete-after", "--del", "--remove-source-files", "-m", "-am"])
def test_guard_catches_deleting_flags(flag: str) -> None:
    assert pull.FORBIDDEN.search(flag)


@pytest.mark.parametrize("flag", ["--archive", "--relative", "--partial-dir=.rsync-partial", "--numeric-ids"])
def test_guard_lets_the_copy_flags_through(flag: str) -> None:
    assert not pull.FORBIDDEN.search(flag)


def test_ssh_is_explicit_no_agent_strict_host_key_own_identity() -> None:
    params = _params()
    ssh = _ssh(pull.rsync_argv(params))
    assert ssh[0] == "ssh"
    assert ssh[ssh.index("-i") + 1] == params["identity_file"]
    assert ssh[ssh.index("-p") + 1] == str(params["port"])
    options = {ssh[i + 1] for i, word in enumerate(ssh) if word == "-o"}
    assert {
        "IdentitiesOnly=yes",
        "BatchMode=yes",
        "StrictHostKeyChecking=yes",
        "ForwardAgent=no",
        f"UserKnownHostsFile={params['known_hosts_file']}",
    } <= options


def test_a_login_other_than_root_runs_the_old_side_through_sudo() -> None:
    argv = pull.rsync_argv(_params(user="admin"))
    assert argv[argv.index("--rsync-path") + 1] == "sudo -n rsync"
    assert "--rsync-path" not in pull.rsync_argv(_params(user="root"))


def test_check_mode_is_a_dry_run() -> None:
    assert "--dry-run" in pull.rsync_argv(_params(), dry_run=True)
    assert "--dry-run" not in pull.rsync_argv(_params())


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ({"chunks": "var/lib/loki/chunks"}, "not an absolute path"),
        ({"chunks": "", "wal": ""}, "no directory to copy"),
    ],
)
def test_bad_sources_are_refused(sources: dict[str, str], message: str) -> None:
    with pytest.raises(pull.PullError, match=message):
        pull.rsync_argv(_params(sources=sources))


def test_itemized_output_counts_transfers_not_directory_times() -> None:
    out = "\n".join(
        [
            "cd+++++++++ var/lib/loki/chunks/fake/",
            ">f+++++++++ var/lib/loki/chunks/fake/ZmFrZQ==:18c00001:18c00002:00001eef",
            ">f.st...... srv/loki-wal/00000004",
            ".d..t...... var/lib/loki/",
            "",
        ]
    )
    items = pull.itemized(out)
    assert [line.split()[1] for line in items] == [
        "var/lib/loki/chunks/fake/",
        "var/lib/loki/chunks/fake/ZmFrZQ==:18c00001:18c00002:00001eef",
        "srv/loki-wal/00000004",
    ]
    assert pull.itemized("") == [], "a re-run that transfers nothing is not a change"


def test_failure_says_nothing_was_deleted_and_how_to_resume() -> None:
    text = pull._failure(_params(), 255, "ssh: connect to host 10.100.0.50 port 2222: Connection timed out\n")
    assert "10.100.0.50" in text and "WireGuard" in text
    assert "Nothing was deleted" in text and "re-run to resume" in text
    assert "Connection timed out" in text
