"""The Prometheus programs the tests and validators run, and the release they must match.

The stack runs the upstream images pinned in roles/monitoring_stack/defaults/main.yml (the one
place their versions are written). Where those cannot be pulled, the Debian-built substitutes of
molecule/images/ stand in; each pins its Debian package version in its Dockerfile (``ARG
<NAME>_DEB_VERSION=``), and its major.minor must be the upstream pin's. Bookworm's own
``prometheus`` package is 2.42, so scripts/bootstrap-ci.sh installs the substitute's version of
``promtool`` and ``prometheus`` (Debian forky's build, extracted with ``dpkg-deb -x``) into
``$OBS_TOOLS_DIR/bin`` (default /opt/obs-tools/bin), which :func:`find` searches before the PATH.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from obsctl.common import role_defaults
from obsctl.errors import ObsError
from obsctl.paths import repo_root

TOOLS_DIR_ENV = "OBS_TOOLS_DIR"
DEFAULT_TOOLS_DIR = Path("/opt/obs-tools")
INSTALL_FIX = "bash scripts/bootstrap-ci.sh  (installs Debian forky's promtool/prometheus into /opt/obs-tools/bin)"


@dataclass(frozen=True)
class Substitute:
    """A Debian-built stand-in for one pinned upstream image."""

    variable: str  # the role variable holding the upstream image
    recipe: str  # molecule/images/<recipe>/Dockerfile
    arg: str  # the Dockerfile ARG holding the Debian package version


PROMETHEUS = Substitute("monitoring_stack_prometheus_image", "prometheus-debian", "PROMETHEUS_DEB_VERSION")
BLACKBOX = Substitute("monitoring_stack_blackbox_image", "blackbox-debian", "BLACKBOX_DEB_VERSION")
SUBSTITUTES = (PROMETHEUS, BLACKBOX)


def tools_bin() -> Path:
    return Path(os.environ.get(TOOLS_DIR_ENV) or DEFAULT_TOOLS_DIR) / "bin"


def find(name: str) -> str | None:
    """``name`` from the project's tools directory, else from the PATH, else None."""
    own = tools_bin() / name
    if own.is_file() and os.access(own, os.X_OK):
        return str(own)
    return shutil.which(name)


def pinned_image(variable: str) -> str:
    """The pinned upstream image of ``variable``, read from the role's defaults."""
    try:
        return str(role_defaults("monitoring_stack")[variable])
    except KeyError:
        raise ObsError(
            f"{variable} is not set in roles/monitoring_stack/defaults/main.yml",
            fix=f"add {variable}: <image>:<tag> there (the one place image versions are pinned)",
        ) from None


def series(version: str) -> tuple[int, int] | None:
    """The (major, minor) of ``v3.5.0``, ``3.5.3+ds1-6`` or ``0.28.0``; None when there is none."""
    match = re.match(r"v?(\d+)\.(\d+)(?:\.|$|[+~-])", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def pinned_series(sub: Substitute) -> tuple[int, int]:
    """(major, minor) of the upstream image tag pinned for ``sub``."""
    image = pinned_image(sub.variable)
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    found = series(tag)
    if found is None:
        raise ObsError(
            f"{sub.variable} = {image!r} has no version tag",
            fix=f"pin a release in roles/monitoring_stack/defaults/main.yml, e.g. {image.split(':')[0]}:v3.5.0",
        )
    return found


def substitute_deb_version(sub: Substitute) -> str:
    """The Debian package version the substitute's Dockerfile pins (``ARG <arg>=<version>``)."""
    dockerfile = repo_root() / "molecule" / "images" / sub.recipe / "Dockerfile"
    match = re.search(rf"^ARG {sub.arg}=(\S+)\s*$", dockerfile.read_text(encoding="utf-8"), re.MULTILINE)
    if match is None:
        raise ObsError(
            f"{dockerfile} does not pin {sub.arg}",
            fix=f"add `ARG {sub.arg}=<Debian package version>` after its FROM line",
        )
    return match.group(1)


def command_version(output: str) -> str | None:
    """``<program>, version X.Y.Z (...)`` or ``<program> version X`` (first line of --version)."""
    words = output.strip().splitlines()[0].replace(",", " ").split() if output.strip() else []
    for i, word in enumerate(words[:-1]):
        if word == "version":
            return words[i + 1]
    return None
