"""``obsctl verify -i inventories/<env>``: read-only checks of a deployed platform."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from obsctl import verify
from obsctl.errors import ObsError
from obsctl.lab import secrets
from obsctl.lab.layout import vault_password_file


def _handle(args: argparse.Namespace) -> int:
    inventory = Path(args.inventory)
    if not inventory.exists():
        raise ObsError(f"inventory {inventory} does not exist", fix="pass -i inventories/<env> (lab, dev or prod)")
    password_file = _password_file(args, inventory)
    hosts = verify.load_inventory(inventory, password_file)
    mon = next((h for h in hosts if "monitoring" in h.groups), None)
    if mon is None:
        raise ObsError(
            f"{inventory} has no host in group 'monitoring'", fix="add the monitoring server to the inventory"
        )
    # Lab and prod alike: through the tunnel, from this machine as an operator peer.
    address = str(mon.vars.get("wireguard_address") or mon.vars.get("ansible_host"))
    extra = ["--vault-password-file", str(password_file)] if password_file else []
    transport = verify.TunnelTransport(inventory, address, extra)
    local_wg = verify.local_handshakes()
    vault = inventory / "group_vars" / "all" / "vault.yml"
    password = secrets.read(vault, password_file).get("vault_grafana_admin_password") if vault.exists() else None
    report = verify.verify(hosts, transport, password, local_wg=local_wg)
    print(report.as_json() if args.json else report.render())
    return 1 if report.failed else 0


def _password_file(args: argparse.Namespace, inventory: Path) -> Path | None:
    if args.vault_password_file:
        return Path(args.vault_password_file)
    if os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE"):
        return Path(os.environ["ANSIBLE_VAULT_PASSWORD_FILE"])
    # The lab's generated password (obsctl lab up) serves inventories/lab.
    if inventory.resolve().name == "lab" and vault_password_file().exists():
        return vault_password_file()
    return None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "verify", help="read-only checks: tunnel handshakes, Prometheus targets, Loki, Grafana, agents"
    )
    parser.add_argument("-i", "--inventory", required=True, help="inventory directory, e.g. inventories/prod")
    parser.add_argument("--vault-password-file", help="to read vault_grafana_admin_password (or set the env var)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=_handle)
