"""Service -> owner map (YAML), validated when the analyzer starts.

    default: "role:123456789012345678"      # optional: who is pinged when a service has no entry
    services:
      chat: "user:234567890123456789"       # a Discord user id ...
      payments: "role:345678901234567890"   # ... or a role id (snowflakes: 17-20 digits)

An owner is written ``user:<id>`` or ``role:<id>``; anything else is refused at load time with
the file, the service and the fix, never at the moment an incident needs the mention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from obsctl.errors import ObsError

_OWNER = re.compile(r"^(user|role):(\d{17,20})$")


@dataclass(frozen=True)
class Owner:
    kind: Literal["user", "role"]
    id: str

    @property
    def mention(self) -> str:
        return f"<@{self.id}>" if self.kind == "user" else f"<@&{self.id}>"


def parse_owner(text: str, where: str) -> Owner:
    match = _OWNER.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ObsError(
            f"{where}: owner {text!r} is not 'user:<id>' or 'role:<id>'",
            fix="write the Discord user or role id (Developer Mode > Copy ID), e.g. role:123456789012345678",
        )
    kind: Literal["user", "role"] = "user" if match.group(1) == "user" else "role"
    return Owner(kind, match.group(2))


@dataclass(frozen=True)
class OwnerMap:
    services: dict[str, Owner]
    default: Owner | None = None

    def owner_of(self, service: str) -> Owner | None:
        return self.services.get(service, self.default)


def load_owners(path: Path | None) -> OwnerMap:
    if path is None:
        return OwnerMap({})
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ObsError(f"cannot read the owner map {path}: {exc}", fix="check the path and the YAML") from None
    if data is None:
        return OwnerMap({})
    if not isinstance(data, dict) or set(data) - {"default", "services"}:
        raise ObsError(
            f"{path}: expected a mapping with 'services' (and optionally 'default'), found {str(data)[:80]!r}",
            fix="see obsctl/analyzer/owners.py for the format",
        )
    services = data.get("services") or {}
    if not isinstance(services, dict):
        raise ObsError(f"{path}: services must be a mapping of service name to owner", fix="services: {chat: role:...}")
    default = data.get("default")
    return OwnerMap(
        {str(name): parse_owner(owner, f"{path}: services.{name}") for name, owner in services.items()},
        parse_owner(default, f"{path}: default") if default is not None else None,
    )
