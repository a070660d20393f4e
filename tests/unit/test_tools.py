"""obsctl.tools: where the Prometheus programs come from and which release they must be."""

from __future__ import annotations

from pathlib import Path

import pytest

from obsctl import doctor, images, tools
from obsctl.errors import ObsError

# First lines of `promtool --version`, as the real programs print them.
PROMTOOL_3_5 = "promtool, version 3.5.3+ds1 (branch: debian/sid, revision: 3.5.3+ds1-6)\n  build user: x"
PROMTOOL_2_42 = "promtool, version 2.42.0+ds (branch: debian/sid, revision: 2.42.0+ds-5+deb12u1)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v3.5.0", (3, 5)),
        ("3.5.3+ds1-6", (3, 5)),
        ("3.5.3+ds1", (3, 5)),
        ("0.28.0-2", (0, 28)),
        ("v0.28.0", (0, 28)),
        ("3.5", (3, 5)),
        ("latest", None),
        ("", None),
        ("35.0x", None),
    ],
)
def test_series(text: str, expected: tuple[int, int] | None) -> None:
    assert tools.series(text) == expected


def test_find_prefers_the_project_tools_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "some-tool"
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setenv(tools.TOOLS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("PATH", "/nonexistent")
    assert tools.find("some-tool") is None  # not executable: not taken
    program.chmod(0o755)
    assert tools.find("some-tool") == str(program)
    assert tools.find("not-there-either") is None


def test_pinned_series_reads_the_role_defaults() -> None:
    for sub in tools.SUBSTITUTES:
        image = tools.pinned_image(sub.variable)
        assert tools.pinned_series(sub) == tools.series(image.rsplit(":", 1)[1])


def test_untagged_pin_is_an_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "role_defaults", lambda role: {tools.PROMETHEUS.variable: "registry:5000/prom"})
    with pytest.raises(ObsError, match="monitoring_stack_prometheus_image = 'registry:5000/prom' has no version tag"):
        tools.pinned_series(tools.PROMETHEUS)


def test_every_substitute_pins_its_debian_version_in_its_dockerfile() -> None:
    for sub in tools.SUBSTITUTES:
        assert (images.recipes_dir() / sub.recipe / "Dockerfile").is_file()
        assert tools.series(tools.substitute_deb_version(sub)) is not None, sub


@pytest.mark.parametrize(
    ("output", "ok"),
    [(PROMTOOL_3_5, True), (PROMTOOL_2_42, False)],
)
def test_doctor_requires_promtool_of_the_pinned_series(monkeypatch: pytest.MonkeyPatch, output: str, ok: bool) -> None:
    assert tools.pinned_series(tools.PROMETHEUS) == (3, 5), "recorded outputs above assume the 3.5 pin"
    monkeypatch.setattr(tools, "find", lambda name: f"/opt/obs-tools/bin/{name}")
    monkeypatch.setattr(doctor, "_out", lambda argv, **_: (0, output))
    check = doctor.check_promtool()
    assert check.ok is ok
    assert check.required
    assert "need 3.5.x" in check.detail
    assert "bootstrap-ci.sh" in check.fix


def test_doctor_names_a_missing_promtool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "find", lambda name: None)
    check = doctor.check_promtool()
    assert not check.ok
    assert "not found" in check.detail
    assert "/opt/obs-tools" in check.fix


def test_only_recipes_declaring_the_arg_get_the_apt_setting(tmp_path: Path) -> None:
    declares = tmp_path / "declares"
    declares.mkdir()
    (declares / "Dockerfile").write_text("FROM x\nARG APT_CHECK_VALID_UNTIL=true\n", encoding="utf-8")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "Dockerfile").write_text("FROM x\n", encoding="utf-8")
    args = images._optional_build_args(images.Recipe("declares", declares))
    assert args[0] == "--build-arg"
    assert args[1] in ("APT_CHECK_VALID_UNTIL=true", "APT_CHECK_VALID_UNTIL=false")
    assert images._optional_build_args(images.Recipe("plain", plain)) == []
