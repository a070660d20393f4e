"""What is committed equals what the code builds, and `obsctl dashboards build --check` says so."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from obsctl import dashboards
from obsctl.cli import main


def test_committed_dashboards_are_in_sync_with_the_code() -> None:
    problems = dashboards.out_of_sync()
    assert not problems, f"run `obsctl dashboards build` and commit: {problems}"


def test_build_is_deterministic() -> None:
    first = {n: dashboards.render(m) for n, m in dashboards.build_all().items()}
    second = {n: dashboards.render(m) for n, m in dashboards.build_all().items()}
    assert first == second


def test_check_names_each_file_out_of_sync(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "build", "--output", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.json"))
    assert len(written) == len(dashboards.BUILDERS)
    assert main(["dashboards", "build", "--check", "--output", str(tmp_path)]) == 0

    jvm = tmp_path / "jvm.json"
    model = json.loads(jvm.read_text())
    model["title"] = "edited by hand"
    jvm.write_text(json.dumps(model))
    (tmp_path / "hosts.json").unlink()
    (tmp_path / "old.json").write_text("{}")
    capsys.readouterr()

    assert main(["dashboards", "build", "--check", "--output", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "jvm.json (differs)" in out
    assert "hosts.json (missing)" in out
    assert "old.json (not generated" in out
    assert "overview.json" not in out


def test_build_removes_dashboards_no_module_generates(tmp_path: Path) -> None:
    shutil.copytree(dashboards.output_dir(), tmp_path, dirs_exist_ok=True)
    (tmp_path / "retired.json").write_text("{}")
    dashboards.write(tmp_path)
    assert not (tmp_path / "retired.json").exists()
    assert dashboards.out_of_sync(tmp_path) == []
