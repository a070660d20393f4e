"""requirements.lock is the whole installed tree with hashes, generated from requirements.txt.

The venv is installed from the lock with ``pip install --require-hashes``; these tests fail when the
two files drift (a pin edited in requirements.txt without ``make lock``) or when a lock entry has no
hash (pip would then refuse the whole install).
"""

from __future__ import annotations

import re
from pathlib import Path

from obsctl.doctor import parse_requirements
from tests.support import REPO

LOCK = REPO / "requirements.lock"
ENTRY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(path: Path = LOCK) -> dict[str, list[tuple[str, list[str]]]]:
    """name -> [(version, hashes)] (a name can appear once per environment marker)."""
    entries: dict[str, list[tuple[str, list[str]]]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = ENTRY.match(line)
        if match:
            current = []
            entries.setdefault(_norm(match["name"]), []).append((match["version"], current))
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            current.append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return entries


def test_every_hand_pin_is_locked_at_the_same_version() -> None:
    pins = parse_requirements(REPO / "requirements.txt")
    locked = lock_entries()
    drift = {
        name: (want, [v for v, _ in locked.get(_norm(name), [])])
        for name, want in pins.items()
        if want not in [v for v, _ in locked.get(_norm(name), [])]
    }
    assert len(pins) > 20
    assert not drift, f"requirements.lock is stale for {drift}: run `make lock`"


def test_every_locked_package_has_a_sha256() -> None:
    locked = lock_entries()
    assert len(locked) >= len(parse_requirements(REPO / "requirements.txt"))
    missing = [name for name, versions in locked.items() for _, hashes in versions if not hashes]
    assert not missing, f"no --hash for {missing}: pip --require-hashes would refuse the install"
    malformed = [h for versions in locked.values() for _, hashes in versions for h in hashes if len(h) != 64]
    assert not malformed


def test_the_parser_reads_a_lock_entry_with_marker_and_hashes(tmp_path: Path) -> None:
    lock = tmp_path / "r.lock"
    lock.write_text(
        "colorama==0.4.6 ; sys_platform == 'win32' \\\n"
        f"    --hash=sha256:{'a' * 64} \\\n"
        f"    --hash=sha256:{'b' * 64}\n"
        "    # via click\n"
        "ruamel-yaml==0.19.1 \\\n"
        f"    --hash=sha256:{'c' * 64}\n",
        encoding="utf-8",
    )
    assert lock_entries(lock) == {
        "colorama": [("0.4.6", ["a" * 64, "b" * 64])],
        "ruamel-yaml": [("0.19.1", ["c" * 64])],
    }


def test_the_venv_is_installed_from_the_lock_with_hashes_required() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    installs = [line for line in makefile.splitlines() if "pip install" in line and "-r requirements" in line]
    assert installs, "the Makefile no longer installs the pinned tools"
    assert all("--require-hashes -r requirements.lock" in line for line in installs), installs
