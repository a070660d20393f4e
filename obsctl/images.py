"""Local container images for Molecule and the lab, buildable with no registry at all.

Each recipe is a directory ``molecule/images/<name>/`` with a Dockerfile. Every Dockerfile
starts ``FROM ${ROOTFS_IMAGE}`` (a plain Debian 12 root file system) or
``FROM ${SYSTEMD_IMAGE}`` (the systemd base built from the ``debian12-systemd`` recipe).
The plain root file system is ``debian:bookworm`` when a registry answers and otherwise a
``debootstrap`` import from the Debian mirror apt already uses. An image is rebuilt only
when the hash of its recipe (its directory's files plus the base it was built on) changes.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from obsctl.errors import ObsError
from obsctl.paths import repo_root
from obsctl.proc import require, run

IMAGE_PREFIX = "obs"
ROOTFS_IMAGE = f"{IMAGE_PREFIX}/debian12-rootfs"
SYSTEMD_RECIPE = "debian12-systemd"
SYSTEMD_IMAGE = f"{IMAGE_PREFIX}/{SYSTEMD_RECIPE}:latest"
RECIPE_LABEL = "org.obsctl.recipe-hash"
_UPSTREAM_DEBIAN = "debian:bookworm"
_SOURCES_FILES = (Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list"))


@dataclass(frozen=True)
class Recipe:
    name: str
    directory: Path

    @property
    def image(self) -> str:
        return f"{IMAGE_PREFIX}/{self.name}:latest"

    @property
    def needs_systemd_base(self) -> bool:
        return "${SYSTEMD_IMAGE}" in (self.directory / "Dockerfile").read_text(encoding="utf-8")

    def content_hash(self, base_id: str) -> str:
        digest = hashlib.sha256(base_id.encode())
        for path in sorted(p for p in self.directory.rglob("*") if p.is_file()):
            digest.update(path.relative_to(self.directory).as_posix().encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]


def recipes_dir() -> Path:
    return repo_root() / "molecule" / "images"


def list_recipes() -> list[Recipe]:
    root = recipes_dir()
    found = [Recipe(p.name, p) for p in sorted(root.iterdir()) if (p / "Dockerfile").is_file()]
    # The systemd base first: the others may build on it.
    return sorted(found, key=lambda r: (r.name != SYSTEMD_RECIPE, r.name))


def image_id(ref: str) -> str | None:
    proc = run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def image_label(ref: str, label: str) -> str | None:
    fmt = '{{ index .Config.Labels "' + label + '" }}'
    proc = run(["docker", "image", "inspect", "--format", fmt, ref], check=False)
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value not in ("", "<no value>") else None


def debian_mirror() -> str:
    """The Debian mirror apt on this machine is configured with (the only one reachable offline)."""
    for path in _SOURCES_FILES:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        deb822 = re.search(r"^URIs:\s*(\S+/debian)/?\s*$", text, re.MULTILINE)
        if deb822:
            return deb822.group(1)
        one_line = re.search(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+/debian)/?\s+bookworm\b", text, re.MULTILINE)
        if one_line:
            return one_line.group(1)
    return "http://deb.debian.org/debian"


def apt_check_valid_until() -> str:
    """The host apt's ``Acquire::Check-Valid-Until`` ("true" unless configured otherwise).

    Recipes that read a Debian testing suite (forky) get it as the build argument
    ``APT_CHECK_VALID_UNTIL``: a machine whose mirror is a frozen snapshot turns the check off for
    apt as a whole, and a testing suite's Release file expires within a week of the snapshot.
    """
    if not shutil.which("apt-config"):
        return "true"
    proc = run(["apt-config", "shell", "V", "Acquire::Check-Valid-Until"], check=False)
    match = re.search(r"^V='(\w+)'", proc.stdout, re.MULTILINE)
    return match.group(1) if proc.returncode == 0 and match else "true"


def try_pull(ref: str, timeout: float = 45.0) -> bool:
    try:
        proc = subprocess.run(
            ["docker", "pull", "-q", ref], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def _unmount_below(target: Path) -> None:
    """Unmount what a failed debootstrap leaves mounted (its /proc, /sys), so the temporary
    directory can be removed and the real error is the one reported, not "Directory not empty"."""
    for sub in ("proc", "sys", "dev/pts"):
        mountpoint = target / sub
        if mountpoint.is_dir() and subprocess.run(["mountpoint", "-q", str(mountpoint)], check=False).returncode == 0:
            subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def ensure_rootfs(log: list[str]) -> str:
    """Return a plain Debian 12 image reference, building it with debootstrap if needed."""
    if image_id(_UPSTREAM_DEBIAN):
        log.append(f"rootfs: using local {_UPSTREAM_DEBIAN}")
        return _UPSTREAM_DEBIAN
    mirror = debian_mirror()
    tag = f"{ROOTFS_IMAGE}:" + hashlib.sha256(mirror.encode()).hexdigest()[:12]
    if image_id(tag):
        log.append(f"rootfs: cached {tag}")
        return tag
    if try_pull(_UPSTREAM_DEBIAN):
        log.append(f"rootfs: pulled {_UPSTREAM_DEBIAN}")
        return _UPSTREAM_DEBIAN
    debootstrap = require("debootstrap", "sudo apt-get install -y debootstrap (needed to build the base image offline)")
    with tempfile.TemporaryDirectory(prefix="obs-rootfs-") as tmp:
        target = Path(tmp) / "rootfs"
        log.append(f"rootfs: no registry; debootstrap bookworm from {mirror}")
        try:
            run(
                [
                    debootstrap,
                    "--variant=minbase",
                    "--include=python3,python3-apt,ca-certificates",
                    "bookworm",
                    str(target),
                    mirror,
                ],
                # Measured over 20 minutes on a loaded 2-core CI machine (download and dpkg unpack).
                timeout=3600,
            )
        finally:
            _unmount_below(target)
        tar = subprocess.Popen(["tar", "-C", str(target), "-c", "."], stdout=subprocess.PIPE)
        imp = subprocess.run(
            ["docker", "import", "-", tag], stdin=tar.stdout, capture_output=True, text=True, check=False
        )
        tar.wait()
        if imp.returncode != 0 or tar.returncode != 0:
            raise ObsError(f"docker import of the debootstrap root file system failed: {imp.stderr.strip()}")
    return tag


def _optional_build_args(recipe: Recipe) -> list[str]:
    """Build arguments only some recipes declare (docker warns about unused ones)."""
    dockerfile = (recipe.directory / "Dockerfile").read_text(encoding="utf-8")
    if re.search(r"^ARG APT_CHECK_VALID_UNTIL\b", dockerfile, re.MULTILINE):
        return ["--build-arg", f"APT_CHECK_VALID_UNTIL={apt_check_valid_until()}"]
    return []


def build_recipe(recipe: Recipe, rootfs: str, log: list[str], force: bool = False) -> str:
    base_ref = SYSTEMD_IMAGE if recipe.needs_systemd_base else rootfs
    base_id = image_id(base_ref)
    if base_id is None:
        raise ObsError(
            f"base image {base_ref} for recipe {recipe.name} is missing",
            fix="run `obsctl images build` (builds the systemd base first)",
        )
    wanted = recipe.content_hash(base_id)
    if not force and image_label(recipe.image, RECIPE_LABEL) == wanted:
        log.append(f"{recipe.image}: up to date ({wanted})")
        return recipe.image
    log.append(f"{recipe.image}: building (recipe {wanted})")
    run(
        [
            "docker",
            "build",
            "--pull=false",
            "--label",
            f"{RECIPE_LABEL}={wanted}",
            "--build-arg",
            f"ROOTFS_IMAGE={rootfs}",
            "--build-arg",
            f"SYSTEMD_IMAGE={SYSTEMD_IMAGE}",
            *_optional_build_args(recipe),
            "-t",
            recipe.image,
            str(recipe.directory),
        ],
        timeout=1800,
    )
    return recipe.image


def build_all(names: list[str] | None = None, force: bool = False) -> list[str]:
    require("docker", "sudo apt-get install -y docker.io")
    if run(["docker", "info"], check=False, timeout=20).returncode != 0:
        raise ObsError(
            "the Docker daemon does not answer",
            fix="start it: sudo systemctl start docker (or run scripts/bootstrap-ci.sh on a CI machine)",
        )
    log: list[str] = []
    rootfs = ensure_rootfs(log)
    recipes = list_recipes()
    unknown = set(names or []) - {r.name for r in recipes}
    if unknown:
        raise ObsError(
            f"unknown image recipe(s): {', '.join(sorted(unknown))}",
            fix=f"choose from: {', '.join(r.name for r in recipes)}",
        )
    for recipe in recipes:
        if names and recipe.name not in names and recipe.name != SYSTEMD_RECIPE:
            continue
        build_recipe(recipe, rootfs, log, force=force)
    return log
