"""requirements.lock is the whole installed tree with hashes, generated from requirements.txt.

The venv is installed from the lock with ``pip install --require-hashes``; these tests fail when the
two files drift (a pin edited in requirements.txt without ``make lock``) or when a lock entry has no
hash (pip would then refuse the whole install).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from obsctl.doctor import parse_requirements
from tests.support import REPO

LOCK = REPO / "requirements.lock"
# (hand pins, lock): the project's venv, and checkov's own venv (it needs an old boto3).
PAIRS = [
    (REPO / "requirements.txt", REPO / "requirements.lock"),
    (REPO / "requirements-checkov.txt", REPO / "requirements-checkov.lock"),
]
PAIR_IDS = [lock.name for _, lock in PAIRS]
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


@pytest.mark.parametrize(("pins_file", "lock"), PAIRS, ids=PAIR_IDS)
def test_every_hand_pin_is_locked_at_the_same_version(pins_file: Path, lock: Path) -> None:
    pins = parse_requirements(pins_file)
    locked = lock_entries(lock)
    drift = {
        name: (want, [v for v, _ in locked.get(_norm(name), [])])
        for name, want in pins.items()
        if want not in [v for v, _ in locked.get(_norm(name), [])]
    }
    assert pins
    assert not drift, f"requirements.lock is stale for {drift}: run `make lock`"


@pytest.mark.parametrize(("pins_file", "lock"), PAIRS, ids=PAIR_IDS)
def test_every_locked_package_has_a_sha256(pins_file: Path, lock: Path) -> None:
    locked = lock_entries(lock)
    assert len(locked) >= len(parse_requirements(pins_file))
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
    installed = {re.search(r"-r (requirements\S*)", line)[1] for line in installs}
    assert installed == {lock.name for _, lock in PAIRS}, installs
    assert all("--require-hashes" in line for line in installs), installs


# The obsctl image of the monitoring host (roles/monitoring_stack/files/obsctl/Dockerfile) installs
# requirements-runtime.lock: the package's own dependencies and the extras of the services it runs.
RUNTIME_LOCK = REPO / "requirements-runtime.lock"
RUNTIME_EXTRAS = ("analyzer", "bot", "reports")


def _pyproject() -> dict[str, object]:
    import tomllib  # noqa: PLC0415

    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _requirement(spec: str) -> tuple[str, str | None]:
    """(normalised name, pinned version or None) of a PEP 508 string such as ``fastapi==0.165.0``."""
    match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(==\s*([^\s,;]+))?", spec)
    assert match, spec
    return _norm(match[1]), match[3]


def test_runtime_lock_holds_every_dependency_and_extra_pin_of_pyproject() -> None:
    project = _pyproject()
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    wanted = [_requirement(s) for s in project["dependencies"]]  # type: ignore[union-attr]
    wanted += [_requirement(s) for extra in RUNTIME_EXTRAS for s in extras[extra]]
    locked = lock_entries(RUNTIME_LOCK)
    missing = [name for name, _ in wanted if name not in locked]
    drift = {
        name: (pin, [v for v, _ in locked[name]])
        for name, pin in wanted
        if pin and name in locked and pin not in [v for v, _ in locked[name]]
    }
    assert not missing and not drift, (
        f"requirements-runtime.lock is stale (missing {missing}, other versions {drift}): run `make lock`"
    )


def test_runtime_lock_is_only_the_runtime_tree_at_the_tested_versions() -> None:
    """No test or deploy tool in the image, and every version is the one the venv was tested with."""
    runtime = lock_entries(RUNTIME_LOCK)
    dev = lock_entries(LOCK)
    assert runtime
    for tool in ("pytest", "ansible-core", "molecule", "ruff", "mypy", "grafana-foundation-sdk"):
        assert tool not in runtime, f"{tool} is not needed at runtime"
    untested = {
        name: [v for v, _ in versions]
        for name, versions in runtime.items()
        if name in dev and not {v for v, _ in versions} & {v for v, _ in dev[name]}
    }
    assert not untested, f"versions not in requirements.lock: {untested}; run `make lock`"
    missing = [name for name, versions in runtime.items() for _, hashes in versions if not hashes]
    assert not missing, f"no --hash for {missing}: pip --require-hashes would refuse the image build"


def test_make_lock_regenerates_the_runtime_lock_from_the_extras() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    compile_line = next(line for line in makefile.splitlines() if "-o requirements-runtime.lock" in line)
    assert "pyproject.toml" in compile_line and "--generate-hashes" in compile_line
    assert {f"--extra {extra}" for extra in RUNTIME_EXTRAS} <= {
        f"--extra {word}" for word in re.findall(r"--extra (\S+)", compile_line)
    }
