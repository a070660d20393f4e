"""Bumping alloy_version moves the held package (issue 12, Found 7).

The role's install step (roles/alloy/tasks/install_package.yml) runs for real, through include_role,
against a throwaway Debian 12 container (no network) whose apt source is a local file repository
holding a stand-in package named ``alloy`` in three versions (not Grafana's build: only apt's and
dpkg's hold handling is under test). Without ``allow_change_held_packages`` the bump fails with
apt's "Held packages were changed" error.
"""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, require_image, tool

IMAGE = "obs/debian12-systemd:latest"
VERSIONS = ("1.20.0", "1.21.2", "1.22.0")

# A file repository of stand-in `alloy` packages (trusted=yes: no signing here), as the only apt source.
SETUP = textwrap.dedent(
    """\
    set -eu
    mkdir -p /repo
    for v in {versions}; do
      mkdir -p /tmp/pkg-$v/DEBIAN
      printf 'Package: alloy\\nVersion: %s-1\\nArchitecture: all\\n' "$v" > /tmp/pkg-$v/DEBIAN/control
      printf 'Maintainer: test <t@example.org>\\nDescription: test stand-in\\n' >> /tmp/pkg-$v/DEBIAN/control
      dpkg-deb -b /tmp/pkg-$v /repo/alloy_$v-1_all.deb >/dev/null
    done
    cd /repo && : > Packages
    for f in *.deb; do
      dpkg-deb -f "$f" >> Packages
      sum=$(sha256sum "$f" | cut -d' ' -f1)
      printf 'Filename: ./%s\\nSize: %s\\nSHA256: %s\\n\\n' "$f" "$(stat -c %s "$f")" "$sum" >> Packages
    done
    rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
    echo 'deb [trusted=yes] file:/repo ./' > /etc/apt/sources.list.d/local.list
    apt-get update -qq
    """
).format(versions=" ".join(VERSIONS))

PLAY = textwrap.dedent(
    """\
    - name: The alloy role's install step
      hosts: all
      gather_facts: false
      tasks:
        - name: Install and hold
          ansible.builtin.include_role:
            name: alloy
            tasks_from: install_package.yml
          vars:
            alloy_start: false
            _alloy_package_deb: "{{ deb | default('') }}"
            _alloy_update_cache: false
    """
)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_image(IMAGE, "built by `obsctl images build`")
    name = f"obs-test-alloy-held-{uuid.uuid4().hex[:8]}"
    run = ["docker", "run", "-d", "--rm", "--name", name, "--network", "none"]
    subprocess.run(
        [*run, "--entrypoint", "sleep", IMAGE, "infinity"],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(["docker", "exec", name, "bash", "-c", SETUP], check=True, capture_output=True, timeout=300)
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def converge(host: str, tmp: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    play = tmp / "play.yml"
    play.write_text(PLAY, encoding="utf-8")
    args = [tool("ansible-playbook"), "-i", f"{host},", "-c", "community.docker.docker", str(play)]
    for key, value in extra.items():
        args += ["-e", f"{key}={value}"]
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0", NO_COLOR="1"),
        timeout=600,
    )


def changed(proc: subprocess.CompletedProcess[str]) -> int:
    match = re.search(r"changed=(\d+)", proc.stdout)
    assert match, proc.stdout[-2000:]
    return int(match.group(1))


def package_state(host: str) -> tuple[str, str]:
    query = "dpkg-query -W -f='${Version}' alloy; echo; dpkg --get-selections alloy | awk '{print $2}'"
    out = subprocess.run(["docker", "exec", host, "bash", "-c", query], capture_output=True, text=True, check=True)
    version, selection = out.stdout.split()
    return version, selection


@pytest.mark.integration
def test_bumping_alloy_version_replaces_the_held_package_and_holds_it_again(host: str, tmp_path: Path) -> None:
    first, bumped, from_file = VERSIONS
    proc = converge(host, tmp_path, alloy_version=first)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert package_state(host) == (f"{first}-1", "hold")

    # The bump: the installed release is held, the new pin must still be installed, then held again.
    proc = converge(host, tmp_path, alloy_version=bumped)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert changed(proc) >= 1
    assert package_state(host) == (f"{bumped}-1", "hold")

    # At the pinned version: nothing to do.
    proc = converge(host, tmp_path, alloy_version=bumped)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert changed(proc) == 0, proc.stdout[-3000:]

    # The air-gapped source (a .deb on the host, dpkg -i) over the held release, then again.
    deb = f"/repo/alloy_{from_file}-1_all.deb"
    proc = converge(host, tmp_path, alloy_version=from_file, deb=deb)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert package_state(host) == (f"{from_file}-1", "hold")
    proc = converge(host, tmp_path, alloy_version=from_file, deb=deb)
    assert changed(proc) == 0, proc.stdout[-3000:]
