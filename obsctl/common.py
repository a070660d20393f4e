"""The platform's shared facts, read from the one place Ansible reads them too."""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

from obsctl.errors import ObsError
from obsctl.paths import repo_root

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@functools.cache
def role_defaults(role: str) -> dict[str, Any]:
    """``roles/<role>/defaults/main.yml`` as a mapping (read once)."""
    path = repo_root() / "roles" / role / "defaults" / "main.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ObsError(f"{path} is not a YAML mapping")
    return data


def defaults() -> dict[str, Any]:
    """The shared role's defaults (ports and the like)."""
    return role_defaults("obs_common")


def port(service: str) -> int:
    ports: dict[str, int] = defaults()["obs_common_ports"]
    try:
        return int(ports[service])
    except KeyError:
        raise ObsError(
            f"no port defined for '{service}' in obs_common_ports",
            fix=f"add it to roles/obs_common/defaults/main.yml (known: {', '.join(ports)})",
        ) from None


def duration_seconds(text: str) -> float:
    """Parse a simple Prometheus duration such as ``15s`` or ``5m``."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ObsError(f"'{text}' is not a duration like 15s, 5m or 1h")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def scrape_interval_seconds() -> float:
    return duration_seconds(str(defaults()["obs_common_scrape_interval"]))
