"""A small typed wrapper over the Terraform CLI (docs/decisions/0001-terraform-from-python.md).

Every call runs non-interactively (``-input=false``, ``TF_IN_AUTOMATION``) and every failure
raises :class:`~obsctl.errors.ObsError` naming the terraform command and a fix. Variables given
as a mapping go through a temporary ``*.tfvars.json`` file, so lists, maps, booleans and null
reach Terraform with their real types.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from obsctl import proc
from obsctl.errors import ObsError

TERRAFORM_INSTALL_FIX = "install Terraform >= 1.10 (HashiCorp apt repository or release zip); `obsctl doctor` checks it"
DEFAULT_TIMEOUT = 1800.0

# Known failure texts -> what the user should do. Checked in order; first match wins.
_FIXES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Backend initialization required|Initial configuration of the requested backend"),
        "run `terraform init -backend-config=envs/<env>.s3.tfbackend` in the module directory first",
    ),
    (
        re.compile(r"Failed to query available provider packages|could not connect to registry|Failed to install"),
        "no provider source: point TF_CLI_CONFIG_FILE at a CLI config with a filesystem_mirror "
        "(terraform/ci.tfrc) or allow access to registry.terraform.io",
    ),
    (
        re.compile(r"No valid credential sources|failed to refresh cached credentials|InvalidClientTokenId"),
        "give Terraform AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); "
        "for the lab set AWS_ENDPOINT_URL to the local emulator",
    ),
    (
        re.compile(r"NoSuchBucket|S3 bucket .* does not exist"),
        "create the state bucket named in the backend config first (docs/terraform.md, 'State bucket')",
    ),
    (
        re.compile(r"Error acquiring the state lock"),
        "another terraform run holds the state lock; wait for it, or `terraform force-unlock <ID>` if it died",
    ),
    (
        re.compile(r"Invalid value for variable|Resource precondition failed|No value for required variable"),
        "correct the variable named above in your tfvars file (terraform/variables.tf documents each one)",
    ),
    (
        re.compile(r"Instance cannot be destroyed|prevent_destroy"),
        "the resource is protected against destroy; see docs/terraform.md before removing the protection",
    ),
)


def _fix_for(output: str, default: str) -> str:
    for pattern, fix in _FIXES:
        if pattern.search(output):
            return fix
    return default


class Terraform:
    """Run Terraform commands in one module directory.

    ``env`` is added to this process's environment (e.g. AWS_ENDPOINT_URL for the lab, or
    TF_DATA_DIR to keep the working state out of the module directory). ``cli_config`` sets
    TF_CLI_CONFIG_FILE (the offline provider mirror).
    """

    def __init__(
        self,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        cli_config: Path | None = None,
        *,
        binary: str = "terraform",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.workdir = Path(workdir)
        if not self.workdir.is_dir():
            raise ObsError(
                f"Terraform module directory {self.workdir} does not exist",
                fix="pass the repository's terraform/ directory",
            )
        self.extra_env = dict(env or {})
        self.cli_config = Path(cli_config).resolve() if cli_config is not None else None
        self.binary = binary
        self.timeout = timeout

    # -- plumbing -------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        merged = dict(os.environ)
        merged.update(self.extra_env)
        merged["TF_IN_AUTOMATION"] = "1"
        merged["TF_INPUT"] = "0"
        if self.cli_config is not None:
            merged["TF_CLI_CONFIG_FILE"] = str(self.cli_config)
        return merged

    def run(self, args: Sequence[str], *, fix: str, ok_codes: Sequence[int] = (0,)) -> tuple[int, str]:
        """Run ``terraform <args>``; return (exit code, stdout). Other exit codes raise ObsError."""
        executable = proc.require(self.binary, TERRAFORM_INSTALL_FIX)
        argv = [executable, *args]
        result = proc.run(argv, cwd=self.workdir, env=self.environment(), check=False, timeout=self.timeout)
        if result.returncode not in ok_codes:
            output = (result.stderr or "") + "\n" + (result.stdout or "")
            tail = "\n".join(line for line in output.strip().splitlines()[-25:])
            command = "terraform " + " ".join(args[:1])
            raise ObsError(
                f"`{command}` failed in {self.workdir} (exit code {result.returncode}):\n{tail}",
                fix=_fix_for(output, fix),
            )
        return result.returncode, result.stdout

    @contextmanager
    def _var_args(self, var_files: Sequence[Path], variables: Mapping[str, object]) -> Iterator[list[str]]:
        args: list[str] = []
        for var_file in var_files:
            path = Path(var_file)
            if not path.is_absolute():
                path = (Path.cwd() / path).resolve()
            if not path.is_file():
                raise ObsError(f"variables file {var_file} does not exist", fix="pass terraform/envs/<env>.tfvars")
            args.append(f"-var-file={path}")
        if not variables:
            yield args
            return
        with tempfile.TemporaryDirectory(prefix="obsctl-tfvars-") as tmp:
            path = Path(tmp) / "obsctl.tfvars.json"
            path.write_text(json.dumps(dict(variables), default=str), encoding="utf-8")
            yield [*args, f"-var-file={path}"]

    # -- commands -------------------------------------------------------------------------

    def init(self, backend: bool = True, backend_config: Path | None = None, *, readonly_lock: bool = False) -> None:
        """``terraform init``. ``backend_config`` (``envs/<env>.s3.tfbackend``) implies ``-reconfigure``:
        the state lives remotely, so switching environments must not try to migrate it."""
        args = ["init", "-input=false", "-no-color"]
        if not backend:
            args.append("-backend=false")
        elif backend_config is not None:
            config = Path(backend_config).resolve()
            if not config.is_file():
                raise ObsError(
                    f"backend config {backend_config} does not exist",
                    fix="copy terraform/envs/<env>.s3.tfbackend.example to envs/<env>.s3.tfbackend and edit it",
                )
            args += [f"-backend-config={config}", "-reconfigure"]
        if readonly_lock:
            args.append("-lockfile=readonly")
        self.run(
            args,
            fix="check the backend config (bucket exists, credentials) and the provider source (`obsctl doctor`)",
        )

    def validate(self) -> dict[str, Any]:
        """``terraform validate -json``; raises with every diagnostic when the module is invalid."""
        _, out = self.run(["validate", "-json", "-no-color"], fix="fix the module", ok_codes=(0, 1))
        report: dict[str, Any] = json.loads(out)
        if not report.get("valid", False):
            messages = [
                f"{d.get('severity')}: {d.get('summary')} {d.get('detail', '')}".strip()
                for d in report.get("diagnostics", [])
            ]
            raise ObsError("`terraform validate` found errors:\n" + "\n".join(messages), fix="fix the module")
        return report

    def plan(
        self,
        var_files: Sequence[Path] = (),
        variables: Mapping[str, object] | None = None,
        *,
        out: Path | None = None,
        replace: Sequence[str] = (),
        destroy: bool = False,
    ) -> bool:
        """``terraform plan -detailed-exitcode``: True when changes are pending, False when none."""
        with self._var_args(var_files, variables or {}) as var_args:
            args = ["plan", "-input=false", "-no-color", "-detailed-exitcode", "-lock-timeout=120s", *var_args]
            args += [f"-replace={address}" for address in replace]
            if out is not None:
                args.append(f"-out={Path(out).resolve()}")
            if destroy:
                args.append("-destroy")
            code, _ = self.run(args, fix="read the error above", ok_codes=(0, 2))
        return code == 2

    def show_plan(self, plan_file: Path) -> dict[str, Any]:
        """The JSON representation of a saved plan (``terraform show -json <file>``)."""
        _, out = self.run(["show", "-json", "-no-color", str(Path(plan_file).resolve())], fix="re-create the plan")
        data: dict[str, Any] = json.loads(out)
        return data

    def plan_json(
        self,
        var_files: Sequence[Path] = (),
        variables: Mapping[str, object] | None = None,
        *,
        replace: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Plan into a temporary file and return its JSON form (resource_changes, checks, ...)."""
        with tempfile.TemporaryDirectory(prefix="obsctl-plan-") as tmp:
            plan_file = Path(tmp) / "plan.tfplan"
            self.plan(var_files, variables, out=plan_file, replace=replace)
            return self.show_plan(plan_file)

    def apply(self, var_files: Sequence[Path] = (), variables: Mapping[str, object] | None = None) -> None:
        with self._var_args(var_files, variables or {}) as var_args:
            self.run(
                ["apply", "-input=false", "-no-color", "-auto-approve", "-lock-timeout=120s", *var_args],
                fix="read the error above; re-running apply continues where it stopped",
            )

    def destroy(self, var_files: Sequence[Path] = (), variables: Mapping[str, object] | None = None) -> None:
        with self._var_args(var_files, variables or {}) as var_args:
            self.run(
                ["destroy", "-input=false", "-no-color", "-auto-approve", "-lock-timeout=120s", *var_args],
                fix="read the error above; re-running destroy continues where it stopped",
            )

    def output(self) -> dict[str, Any]:
        """All root outputs as plain values (``terraform output -json`` without type metadata)."""
        _, out = self.run(
            ["output", "-json", "-no-color"],
            fix="run `terraform init` with the environment's backend config, then `terraform apply`",
        )
        return plain_outputs(json.loads(out or "{}"))

    def state_list(self) -> list[str]:
        """Addresses of every resource in the state (empty after a complete destroy)."""
        _, out = self.run(["state", "list", "-no-color"], fix="run `terraform init` first")
        return [line for line in out.splitlines() if line.strip()]


def plain_outputs(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``terraform output -json`` ({name: {value, type, sensitive}}) into {name: value}.

    Already-plain mappings pass through unchanged, so callers may hand either shape.
    """
    plain: dict[str, Any] = {}
    for name, item in raw.items():
        if isinstance(item, Mapping) and "value" in item and ("type" in item or "sensitive" in item):
            plain[name] = item["value"]
        else:
            plain[name] = item
    return plain


def module_dir() -> Path:
    """The repository's Terraform root module."""
    from obsctl.paths import repo_root  # noqa: PLC0415 - keeps this module importable without a checkout

    return repo_root() / "terraform"


def cli_config_for_mirror(mirror: Path, dest: Path) -> Path:
    """Write a Terraform CLI config that installs providers only from the filesystem ``mirror``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path = {json.dumps(str(mirror))}\n  }}\n"
        '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
        "}\n",
        encoding="utf-8",
    )
    return dest


def offline_cli_config(scratch: Path) -> Path | None:
    """A CLI config for this machine's provider mirror, or None when there is no mirror.

    The committed terraform/ci.tfrc is used when the mirror is where it expects; otherwise an
    equivalent file is written into ``scratch``.
    """
    from obsctl.doctor import terraform_mirror  # noqa: PLC0415 - doctor pulls in more than we need here

    mirror = terraform_mirror()
    if mirror is None:
        return None
    committed = module_dir() / "ci.tfrc"
    if committed.is_file() and mirror.resolve() == Path("/opt/tf-plugins").resolve():
        return committed
    return cli_config_for_mirror(mirror, scratch / "terraform-offline.tfrc")
