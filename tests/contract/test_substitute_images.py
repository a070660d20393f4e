"""The Debian-built substitutes (molecule/images/*-debian) follow the upstream images the stack pins.

Each substitute pins its Debian package version in its Dockerfile; its major.minor must be that of
the upstream image pinned in roles/monitoring_stack/defaults/main.yml. scripts/bootstrap-ci.sh must
install the tests' prometheus/promtool of that same pinned version (it reads the Dockerfile line),
and a built substitute must report that version when run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from obsctl import images, tools
from tests.support import REPO, require_image


@pytest.mark.parametrize("sub", tools.SUBSTITUTES, ids=[s.recipe for s in tools.SUBSTITUTES])
def test_substitute_is_of_the_pinned_upstream_series(sub: tools.Substitute) -> None:
    deb = tools.substitute_deb_version(sub)
    upstream = tools.pinned_image(sub.variable)
    assert tools.series(deb) == tools.pinned_series(sub), (
        f"molecule/images/{sub.recipe}/Dockerfile pins {sub.arg}={deb}, but {sub.variable} is {upstream}: "
        f"pin a Debian version of the same major.minor (apt-cache madison, forky) or move the upstream pin"
    )
    print(f"\n{sub.recipe}: Debian {deb} for {upstream}")


def test_bootstrap_plans_the_dockerfiles_prometheus_version(tmp_path: Path) -> None:
    if not (shutil.which("apt-get") and shutil.which("dpkg-query")):
        pytest.skip("scripts/bootstrap-ci.sh knows Debian/Ubuntu only (no apt-get/dpkg-query here)")
    env = {**os.environ, "OBS_NO_INSTALL": "1", tools.TOOLS_DIR_ENV: str(tmp_path / "tools")}
    proc = subprocess.run(
        ["bash", "scripts/bootstrap-ci.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version = tools.substitute_deb_version(tools.PROMETHEUS)
    plan = [line for line in proc.stdout.splitlines() if "prometheus/promtool" in line]
    assert len(plan) == 1, proc.stdout
    assert f"prometheus/promtool {version} from Debian forky" in plan[0]
    assert str(tmp_path / "tools" / f"prometheus-{version}") in plan[0]
    assert not (tmp_path / "tools").exists(), "OBS_NO_INSTALL=1 must change nothing"


@pytest.mark.parametrize(
    ("sub", "program"),
    [(tools.PROMETHEUS, None), (tools.PROMETHEUS, "promtool"), (tools.BLACKBOX, None)],
    ids=["prometheus", "promtool", "blackbox_exporter"],
)
def test_built_substitute_reports_the_pinned_version(sub: tools.Substitute, program: str | None) -> None:
    ref = (
        os.environ.get("OBS_SUBSTITUTE_TAG_" + sub.recipe.replace("-", "_").upper())
        or images.Recipe(sub.recipe, images.recipes_dir() / sub.recipe).image
    )
    require_image(ref, "obsctl images build " + sub.recipe)
    want = tools.substitute_deb_version(sub)
    built = images.image_label(ref, "org.opencontainers.image.version")
    if built != want:
        pytest.skip(f"{ref} was built from an older recipe ({built or 'no version label'}, the recipe pins {want})")
    argv = ["docker", "run", "--rm", "--network", "none"]
    argv += ["--entrypoint", program, ref] if program else [ref]
    proc = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    reported = tools.command_version(proc.stdout + proc.stderr)
    print(f"\n{ref} {program or ''}: {(proc.stdout + proc.stderr).splitlines()[0]}")
    assert reported == want.rsplit("-", 1)[0]
    assert tools.series(reported or "") == tools.pinned_series(sub)
