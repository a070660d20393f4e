"""The lab's `terraform apply`: the production root module with envs/lab.tfvars, against moto.

The state lives in a bucket inside the emulator (envs/lab.s3.tfbackend) and Terraform's
working data in ``.obs/lab/terraform`` (TF_DATA_DIR), never in terraform/ and never in the
prod backend. Where this machine has a filesystem mirror of the AWS provider, a CLI config
pointing at it (``.obs/lab/terraform.tfrc``) makes `terraform init` work offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsctl.doctor import terraform_mirror
from obsctl.localaws import LocalAws
from obsctl.paths import repo_root
from obsctl.terraform import Terraform

STATE_BUCKET = "obs-lab-tfstate"


def cli_config(state: Path) -> Path | None:
    """Write the offline CLI config when a provider mirror exists (None: use the registry)."""
    mirror = terraform_mirror()
    if mirror is None:
        return None
    path = state / "terraform.tfrc"
    text = (
        "# Written by `obsctl lab up`: install providers from this machine's filesystem mirror only.\n"
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n"
    )
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def lab_terraform(aws: LocalAws, state: Path) -> Terraform:
    env = dict(aws.env(), TF_DATA_DIR=str(state / "terraform"))
    return Terraform(repo_root() / "terraform", env=env, cli_config=cli_config(state))


def apply(aws: LocalAws, state: Path, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """init (state bucket in the emulator) + apply; returns the root outputs. ``variables`` (the
    lab's generated public keys) override the discarded placeholders of envs/lab.tfvars."""
    envs = repo_root() / "terraform" / "envs"
    aws.ensure_bucket(STATE_BUCKET)
    tf = lab_terraform(aws, state)
    tf.init(backend=True, backend_config=envs / "lab.s3.tfbackend")
    tf.apply(var_files=[envs / "lab.tfvars"], variables=variables)
    return tf.output()


def destroy(aws: LocalAws, state: Path, variables: dict[str, Any] | None = None) -> None:
    envs = repo_root() / "terraform" / "envs"
    tf = lab_terraform(aws, state)
    tf.init(backend=True, backend_config=envs / "lab.s3.tfbackend")
    tf.destroy(var_files=[envs / "lab.tfvars"], variables=variables)
