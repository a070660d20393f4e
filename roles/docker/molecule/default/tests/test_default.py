"""Docker inside the systemd container: engine, Compose v2, daemon.json applied, a side-loaded image runs."""

from __future__ import annotations

import json
import os
import subprocess

import testinfra
from testinfra.host import Host

INSTANCE = "docker-host"
host: Host = testinfra.get_host(f"ansible://{INSTANCE}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.strip().lstrip("v").split("-")[0].split("."))


def test_engine_enabled_and_active() -> None:
    assert host.service("docker").is_enabled
    assert host.service("docker").is_running


def test_compose_v2_is_at_least_2_18() -> None:
    version = host.check_output("docker compose version --short")
    assert _version_tuple(version) >= (2, 18, 0), version
    plugin = host.file("/usr/local/lib/docker/cli-plugins/docker-compose")
    assert plugin.mode == 0o755


def test_daemon_json_is_applied() -> None:
    written = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert written["log-opts"] == {"max-size": "20m", "max-file": "3"}
    assert written["live-restore"] is True
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    # What the running daemon reports, not just the file: the config was loaded.
    assert info["Driver"] == "vfs"
    assert info["DockerRootDir"] == "/srv/docker-data"
    assert info["LoggingDriver"] == "json-file"
    assert info["LiveRestoreEnabled"] is True


def _local_image() -> str:
    """A Debian image already on the outer daemon (no registry is reachable here)."""
    listing = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "obs/debian12-rootfs"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return listing[0] if listing else "obs/debian12-systemd:latest"


def test_side_loaded_image_runs() -> None:
    image = _local_image()
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    load = subprocess.run(
        ["docker", "exec", "-i", INSTANCE, "docker", "load"],
        stdin=save.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert save.wait() == 0
    assert load.returncode == 0, load.stderr
    run = host.run(f"docker run --rm {image} cat /etc/debian_version")
    assert run.rc == 0, run.stderr
    assert run.stdout.strip().startswith("12.")
    log_config = host.check_output(f"docker run --rm -d {image} sleep 30")
    try:
        inspected = json.loads(
            host.check_output(f"docker inspect --format '{{{{json .HostConfig.LogConfig}}}}' {log_config}")
        )
        assert inspected == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "20m"}}
    finally:
        host.run(f"docker rm -f {log_config}")
