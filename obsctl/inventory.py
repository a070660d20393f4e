"""Write the monitoring server's entry of an Ansible inventory from Terraform's outputs.

Only the ``monitoring`` group's host entry is touched (``ansible_host``, ``wireguard_address``,
``wireguard_endpoint``); every other key, host, group and comment of the YAML file is preserved
(ruamel.yaml round-trip mode).
"""

from __future__ import annotations

import io
import ipaddress
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from obsctl.errors import ObsError
from obsctl.terraform import plain_outputs

GROUP = "monitoring"
DEFAULT_HOST = "mon-1"
INVENTORY_FILE = "hosts.yml"  # inventories/<env>/hosts.yml
_HEADER = (
    "# Ansible inventory. The monitoring host's address keys are written by\n"
    "# `obsctl inventory from-terraform`; everything else here is yours to edit.\n"
)


@dataclass(frozen=True)
class MonitoringHost:
    """What the inventory needs from Terraform's outputs."""

    tunnel_address: str
    endpoint: str

    def host_vars(self) -> dict[str, str]:
        return {
            "ansible_host": self.tunnel_address,
            "wireguard_address": self.tunnel_address,
            "wireguard_endpoint": self.endpoint,
        }


def _ip(outputs: Mapping[str, Any], name: str) -> str:
    if name not in outputs or outputs[name] in (None, ""):
        raise ObsError(
            f"Terraform output '{name}' is missing",
            fix="run `terraform apply` in terraform/ first (outputs exist only after an apply), "
            "and point --terraform-dir / --outputs at that module",
        )
    value = str(outputs[name])
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ObsError(
            f"Terraform output '{name}' is '{value}', not an IPv4 address",
            fix="check the module's outputs.tf and the tfvars used for the apply",
        ) from None


def parse_outputs(outputs: Mapping[str, Any]) -> MonitoringHost:
    """Validate Terraform outputs (plain or ``terraform output -json`` shape)."""
    plain = plain_outputs(outputs)
    return MonitoringHost(
        tunnel_address=_ip(plain, "monitoring_tunnel_address"),
        endpoint=_ip(plain, "monitoring_public_ip"),
    )


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: keeps comments, key order and quoting
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


def _mapping(parent: CommentedMap, key: str, where: str) -> CommentedMap:
    value = parent.get(key)
    if value is None:
        value = CommentedMap()
        parent[key] = value
    if not isinstance(value, CommentedMap):
        raise ObsError(
            f"'{where}' in the inventory is a {type(value).__name__}, not a mapping",
            fix=f"make '{where}' a YAML mapping (see docs/conventions.md)",
        )
    return value


def _choose_host(hosts: CommentedMap, host: str | None) -> str:
    if host:
        return host
    names = list(hosts)
    if len(names) > 1:
        raise ObsError(
            f"the '{GROUP}' group has {len(names)} hosts ({', '.join(map(str, names))})",
            fix="name the one to update with --host (the platform has exactly one monitoring server)",
        )
    return str(names[0]) if names else DEFAULT_HOST


def _split_preamble(text: str) -> tuple[str, str]:
    """Leading comments, blank lines, directives and ``---``, which ruamel drops, and the rest."""
    lines = text.splitlines(keepends=True)
    cut = 0
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "%")) and stripped != "---":
            break
        cut += 1
    return "".join(lines[:cut]), "".join(lines[cut:])


def render(text: str, server: MonitoringHost, host: str | None = None) -> str:
    """Return ``text`` (an inventory YAML document, may be empty) with the monitoring host updated."""
    yaml = _yaml()
    preamble, body = _split_preamble(text)
    try:
        doc = yaml.load(body) if body.strip() else None
    except Exception as exc:  # ruamel raises several unrelated types for bad YAML
        raise ObsError(f"the inventory is not valid YAML: {exc}", fix="fix the YAML syntax") from exc
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise ObsError("the inventory's top level is not a mapping", fix="start it with 'all:' (docs/conventions.md)")
    children = _mapping(_mapping(doc, "all", "all"), "children", "all.children")
    hosts = _mapping(_mapping(children, GROUP, f"all.children.{GROUP}"), "hosts", f"all.children.{GROUP}.hosts")
    name = _choose_host(hosts, host)
    entry = _mapping(hosts, name, f"all.children.{GROUP}.hosts.{name}")
    for key, value in server.host_vars().items():
        entry[key] = value
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    return (preamble if text.strip() else _HEADER) + buffer.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def inventory_file(path: Path) -> Path:
    """The YAML file to edit: ``path`` itself, or ``<path>/hosts.yml`` when ``path`` is an inventory directory."""
    if not path.is_dir():
        return path
    hosts = path / INVENTORY_FILE
    if hosts.is_file():
        return hosts
    raise ObsError(
        f"{path} is a directory without a {INVENTORY_FILE}",
        fix=f"pass the inventory file itself (-i {path}/<file>.yml) or an inventory directory holding {INVENTORY_FILE}",
    )


def update_from_terraform(outputs: Mapping[str, Any], inventory: Path, host: str | None = None) -> bool:
    """Write the ``monitoring`` host entry of ``inventory`` from Terraform outputs.

    Creates the file when missing; returns True when its content changed (nothing is written
    otherwise, so re-runs leave the file's timestamp alone).
    """
    server = parse_outputs(outputs)
    inventory = inventory_file(Path(inventory))
    try:
        before = inventory.read_text(encoding="utf-8") if inventory.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise ObsError(
            f"cannot read the inventory {inventory}: {exc}", fix="pass a readable YAML file, e.g. -i inventories/prod"
        ) from None
    after = render(before, server, host)
    if after == before:
        return False
    _write_atomically(inventory, after)
    return True
