"""The first-boot scripts cloud-init runs, rendered by Terraform's own templatefile() and executed
with TEST DOUBLES on PATH in place of apt-get, curl, dpkg, apt-mark, systemctl and sleep.

The doubles only record their arguments and fail or succeed as each test says; nothing is
installed and no network is used. What runs for real is the rendered bash: its retry loop, its
checksum check and its ordering. (terraform/tests/module.tftest.hcl checks that the same
templates end up in the instance's user_data.)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO

TEMPLATES = REPO / "terraform" / "templates"
REGION = "ap-northeast-2"
VERSION = "3.3.0.0"  # a fixture, not a real release: nothing is downloaded
DEB_CONTENT = b"test double of amazon-ssm-agent.deb\n"

# A test double: logs "<name> <args>" to $STUB_LOG; exits non-zero while $STUB_DIR/<name>.fail
# holds a positive count (decremented per call), or always when it holds "always".
STUB = """#!/bin/bash
name="${0##*/}"
echo "$name $*" >>"$STUB_LOG"
counter="$STUB_DIR/$name.fail"
if [ -f "$counter" ]; then
  left="$(cat "$counter")"
  if [ "$left" = always ]; then
    exit 100
  fi
  if [ "$left" -gt 0 ]; then
    echo $((left - 1)) >"$counter"
    exit 100
  fi
fi
if [ "$name" = curl ]; then
  # curl -fsSL -o FILE URL: write the fixture .deb where asked.
  while [ $# -gt 0 ]; do
    if [ "$1" = -o ]; then printf '%s' "$STUB_CURL_CONTENT" >"$2"; fi
    shift
  done
fi
exit 0
"""
STUBBED = ("apt-get", "curl", "dpkg", "apt-mark", "systemctl", "sleep", "install", "mountpoint", "aws")


def render(template: str, variables: dict[str, object]) -> str:
    """templatefile() evaluated by Terraform itself (`terraform console`, no providers needed)."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed (obsctl doctor)")
    expression = f"base64encode(templatefile({json.dumps(str(TEMPLATES / template))}, {_hcl(variables)}))"
    proc = subprocess.run(
        ["terraform", "console"],
        input=expression + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ, TF_CLI_CONFIG_FILE=str(REPO / "terraform" / "ci.tfrc")),
        cwd=REPO / "tests",  # no *.tf here: console evaluates the expression alone
    )
    assert proc.returncode == 0, proc.stderr
    return base64.b64decode(json.loads(proc.stdout.strip())).decode("utf-8")


def _hcl(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_hcl(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


class Doubles:
    """The stub directory and the calls the doubles recorded."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "test-doubles"
        self.dir.mkdir()
        self.log = tmp_path / "calls.log"
        self.log.touch()
        for name in STUBBED:
            stub = self.dir / name
            stub.write_text(STUB, encoding="utf-8")
            stub.chmod(0o755)
        self.env = dict(
            os.environ,
            PATH=f"{self.dir}:/usr/bin:/bin",
            STUB_DIR=str(self.dir),
            STUB_LOG=str(self.log),
            STUB_CURL_CONTENT=DEB_CONTENT.decode(),
            TMPDIR=str(tmp_path),
        )

    def fail(self, name: str, times: int | str) -> None:
        (self.dir / f"{name}.fail").write_text(str(times), encoding="utf-8")

    def calls(self, name: str | None = None) -> list[str]:
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [line for line in lines if name is None or line.split(" ", 1)[0] == name]


def run_function(script: Path, doubles: Doubles, call: str) -> subprocess.CompletedProcess[str]:
    """Source the rendered script (its main does not run when sourced) and call one function."""
    return subprocess.run(
        ["/bin/bash", "-c", f'source "{script}" && {call}'],
        capture_output=True,
        text=True,
        env=doubles.env,
        timeout=120,
        check=False,
    )


def packages_script(tmp_path: Path, sha256: str | None = None, ssm: bool = True) -> Path:
    ssm_agent = {"version": VERSION, "sha256": sha256 or hashlib.sha256(DEB_CONTENT).hexdigest()} if ssm else None
    script = tmp_path / "obs-packages"
    script.write_text(render("packages.sh.tftpl", {"region": REGION, "ssm_agent": ssm_agent, "deb_arch": "arm64"}))
    return script


def test_package_update_retries_until_the_mirror_answers(tmp_path: Path) -> None:
    doubles = Doubles(tmp_path)
    doubles.fail("apt-get", 3)  # e.g. no Elastic IP yet: the first three updates fail
    proc = run_function(packages_script(tmp_path), doubles, "update_package_lists")
    assert proc.returncode == 0, proc.stderr
    updates = doubles.calls("apt-get")
    assert len(updates) == 4, updates
    assert all("update" in c and "--error-on=any" in c for c in updates), updates
    assert doubles.calls("sleep") == ["sleep 10"] * 3
    assert "attempt 3/60 failed" in proc.stderr


def test_package_update_gives_up_after_its_bound_with_a_clear_message(tmp_path: Path) -> None:
    doubles = Doubles(tmp_path)
    doubles.fail("apt-get", "always")
    proc = run_function(packages_script(tmp_path), doubles, "update_package_lists")
    assert proc.returncode == 1
    assert len(doubles.calls("apt-get")) == 60, "bounded: 60 attempts, not forever"
    assert len(doubles.calls("sleep")) == 59, "no sleep after the last attempt"
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("obs-packages: apt-get update --error-on=any failed 60 times, 10 s apart: giving up")


def test_main_installs_wireguard_tools_then_the_pinned_ssm_agent(tmp_path: Path) -> None:
    doubles = Doubles(tmp_path)
    doubles.fail("curl", 1)  # one failed download is retried too
    script = packages_script(tmp_path)
    proc = subprocess.run(
        ["/bin/bash", str(script)], capture_output=True, text=True, env=doubles.env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    url = f"https://s3.{REGION}.amazonaws.com/amazon-ssm-{REGION}/{VERSION}/debian_arm64/amazon-ssm-agent.deb"
    calls = [c for c in doubles.calls() if not c.startswith("sleep")]
    kinds = [" ".join(c.split()[:2]) for c in calls]
    assert kinds == [
        "apt-get update",
        "apt-get install",
        "curl -fsSL",
        "curl -fsSL",
        "dpkg -i",
        "apt-mark hold",
        "systemctl enable",
    ], calls
    assert "wireguard-tools" in calls[1].split()
    assert calls[2].endswith(url)
    assert calls[-1] == "systemctl enable --now amazon-ssm-agent"
    assert not list(tmp_path.glob("tmp.*/*.deb")), "the downloaded .deb is removed"


def test_a_download_with_another_checksum_is_not_installed(tmp_path: Path) -> None:
    doubles = Doubles(tmp_path)
    pinned = "0" * 64
    proc = run_function(packages_script(tmp_path, sha256=pinned), doubles, "install_ssm_agent")
    assert proc.returncode == 1
    assert f"does not have the pinned sha256 {pinned}" in proc.stderr
    assert hashlib.sha256(DEB_CONTENT).hexdigest() in proc.stderr, "the message shows what was downloaded"
    assert doubles.calls("dpkg") == [] and doubles.calls("systemctl") == []


def test_without_ssm_agent_nothing_is_downloaded(tmp_path: Path) -> None:
    doubles = Doubles(tmp_path)
    script = packages_script(tmp_path, ssm=False)
    assert "amazon-ssm-agent" not in script.read_text()
    proc = subprocess.run(
        ["/bin/bash", str(script)], capture_output=True, text=True, env=doubles.env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert doubles.calls("curl") == [] and doubles.calls("dpkg") == []


def _etc_read_only() -> list[str]:
    """As root, run the script in a private mount namespace where /etc is read-only: should the
    guard ever break, the script's own writes (/etc/wireguard/wg0.key) must fail, not land here."""
    if os.geteuid() != 0:
        return []  # /etc is not writable anyway
    unshare, mount = shutil.which("unshare"), shutil.which("mount")
    if unshare is None or mount is None:
        pytest.skip("running as root without unshare/mount: /etc cannot be made read-only for the script")
    # Absolute paths: the script's PATH holds only the test doubles.
    wrapper = [
        unshare,
        "--mount",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        f'{mount} --bind /etc /etc && {mount} -o remount,bind,ro /etc && exec "$@"',
        "sh",
    ]
    probe = subprocess.run([*wrapper, "true"], capture_output=True, text=True, check=False, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"running as root, and /etc cannot be made read-only for the script: {probe.stderr.strip()}")
    return wrapper


def test_wg0_is_not_brought_up_without_wireguard_tools(tmp_path: Path) -> None:
    """As after a failed obs-packages: no wg, no wg-quick. PATH holds only the doubles, so this
    host's own wireguard-tools (if any) stay out of reach and nothing on it is touched."""
    doubles = Doubles(tmp_path)
    script = tmp_path / "obs-wireguard-bootstrap"
    script.write_text(
        render(
            "wireguard.sh.tftpl",
            {
                "mount_point": "/srv/obs-data",
                "region": REGION,
                "parameter": "/obs-monitoring/prod/wireguard/public-key",
            },
        )
    )
    proc = subprocess.run(
        [*_etc_read_only(), "/bin/bash", str(script)],
        capture_output=True,
        text=True,
        env=dict(doubles.env, PATH=str(doubles.dir)),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "wireguard-tools is not installed" in proc.stderr and "wg0 not brought up" in proc.stderr
    assert doubles.calls() == [], "nothing may run (no key, no systemctl enable wg-quick@wg0) without the tools"
