from __future__ import annotations

import sys
from pathlib import Path

import pytest

from obsctl import doctor


def test_parse_requirements_reads_pins_and_strips_extras(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("# comment\nmolecule-plugins[docker]==26.10.12\nPyYAML==6.0.3  # why\nunpinned\n")
    assert doctor.parse_requirements(req) == {"molecule-plugins": "26.10.12", "pyyaml": "6.0.3"}


def test_package_check_names_each_mismatch(tmp_path: Path) -> None:
    req = tmp_path / "requirements.txt"
    req.write_text("pytest==0.0.1\nsurely-not-installed-pkg==1.0\n")
    result = doctor.check_packages(req)
    assert not result.ok
    assert "pytest" in result.detail and "!= 0.0.1" in result.detail
    assert "surely-not-installed-pkg missing" in result.detail
    assert "make setup" in result.fix


def test_python_check_reflects_interpreter() -> None:
    result = doctor.check_python()
    assert result.ok == (sys.version_info[:2] >= doctor.MIN_PYTHON)


def test_missing_docker_cli_gives_apt_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda _name: None)
    result = doctor.check_docker()
    assert not result.ok
    assert "apt-get install -y docker.io" in result.fix


def test_wireguard_needs_wg_and_an_implementation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda name: "/usr/bin/wg" if name == "wg" else None)
    monkeypatch.setattr(doctor.Path, "exists", lambda self: False)
    result = doctor.check_wireguard()
    assert not result.ok
    assert "wireguard-go" in result.fix


def test_chromium_is_required_and_installed_by_the_bootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda _name: None)
    result = doctor.check_chromium()
    assert not result.ok and result.required
    assert "apt-get install -y --no-install-recommends chromium" in result.fix
    plan = (Path(__file__).resolve().parents[2] / "scripts" / "bootstrap-ci.sh").read_text(encoding="utf-8")
    packages = plan.split("APT_PACKAGES=(", 1)[1].split(")", 1)[0]
    assert "chromium" in packages.split()


def test_ssh_client_is_required_for_the_tunnel_logins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda name: "/usr/bin/ssh" if name == "ssh" else None)
    result = doctor.check_ssh_client()
    assert not result.ok
    assert "ssh-keygen" in result.detail
    assert "openssh-client" in result.fix
    assert doctor.check_ssh_client in doctor.CHECKS


def test_render_shows_fix_only_for_failures() -> None:
    text = doctor.render(
        [
            doctor.Check("good", True, "fine", "never shown"),
            doctor.Check("bad", False, "broken", "do this"),
        ]
    )
    assert "never shown" not in text
    assert "fix: do this" in text
    assert "[FAIL] bad" in text.replace("[FAIL]", "[FAIL]")


def test_version_tuple_parses_tool_output() -> None:
    assert doctor._version_tuple("Docker Compose version v2.40.3") == (2, 40, 3)
    assert doctor._version_tuple("1.11") == (1, 11)
    assert doctor._version_tuple("garbage") == ()
