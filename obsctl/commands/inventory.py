"""``obsctl inventory from-terraform``: point the inventory's monitoring host at what Terraform built."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from obsctl import inventory
from obsctl.errors import ObsError
from obsctl.paths import repo_root
from obsctl.terraform import Terraform


def _read_outputs(args: argparse.Namespace) -> dict[str, Any]:
    if args.outputs:
        source = "standard input" if args.outputs == "-" else args.outputs
        try:
            text = sys.stdin.read() if args.outputs == "-" else Path(args.outputs).read_text(encoding="utf-8")
            data = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise ObsError(
                f"cannot read Terraform outputs from {source}: {exc}",
                fix="pass the output of `terraform output -json` (a JSON object)",
            ) from exc
        if not isinstance(data, dict):
            raise ObsError(f"{source} is not a JSON object", fix="pass the output of `terraform output -json`")
        return data
    workdir = Path(args.terraform_dir) if args.terraform_dir else repo_root() / "terraform"
    return Terraform(workdir).output()


def _from_terraform(args: argparse.Namespace) -> int:
    outputs = _read_outputs(args)
    target = inventory.inventory_file(Path(args.inventory))
    changed = inventory.update_from_terraform(outputs, target, host=args.host)
    server = inventory.parse_outputs(outputs)
    state = "updated" if changed else "already up to date"
    print(
        f"{target}: monitoring host {state} "
        f"(ansible_host={server.tunnel_address}, wireguard_endpoint={server.endpoint})"
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("inventory", help="maintain Ansible inventories")
    isub = parser.add_subparsers(dest="inventory_command", metavar="<action>", required=True)
    tf = isub.add_parser(
        "from-terraform",
        help="write the monitoring host (tunnel address, Elastic IP endpoint) from `terraform output -json`",
        description="Set ansible_host and wireguard_address to the server's tunnel address and "
        "wireguard_endpoint to its Elastic IP in the inventory's 'monitoring' group; the rest of "
        "the file (other hosts, variables, comments) is kept.",
    )
    tf.add_argument(
        "--inventory",
        "-i",
        required=True,
        help="inventory YAML file, or its directory (then its hosts.yml), e.g. inventories/prod",
    )
    source = tf.add_mutually_exclusive_group()
    source.add_argument(
        "--terraform-dir",
        help="initialised Terraform module to run `terraform output -json` in (default: the repo's terraform/)",
    )
    source.add_argument("--outputs", help="file with saved `terraform output -json` ('-' = standard input)")
    tf.add_argument("--host", help="inventory name of the monitoring host (default: the group's only host, or mon-1)")
    tf.set_defaults(handler=_from_terraform)
