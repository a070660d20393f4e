from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from obsctl import cli
from obsctl.errors import (
    EXIT_FINDINGS,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    EXTRA_OF_MODULE,
    REPORT_BUGS_TO,
    ObsError,
)
from tests.support import REPO


def test_every_subcommand_registers_and_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    parser = cli.build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in ("doctor", "images"):
        assert name in out


def test_no_subcommand_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: obsctl" in capsys.readouterr().out


def test_user_errors_print_the_fix_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom() -> list[object]:
        raise ObsError("the thing is broken", fix="run the fixer")

    monkeypatch.setattr("obsctl.doctor.run_checks", boom)
    assert cli.main(["doctor"]) == 2
    err = capsys.readouterr().err
    assert "the thing is broken" in err
    assert "fix: run the fixer" in err


def test_an_unexpected_exception_is_an_internal_error_with_where_to_report_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def bug() -> list[object]:
        raise KeyError("obs_common_ports")

    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    monkeypatch.setattr("obsctl.doctor.run_checks", bug)
    assert cli.main(["doctor"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "obsctl doctor: internal error: KeyError" in err
    assert REPORT_BUGS_TO in err
    assert "Traceback" not in err
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    assert cli.main(["doctor"]) == EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-command"])
    assert exc.value.code == EXIT_USAGE
    with pytest.raises(SystemExit) as exc:
        cli.main(["parity", "--host"])
    assert exc.value.code == EXIT_USAGE
    capsys.readouterr()


def test_findings_exit_1_and_environment_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's exit-code table, command by command where each case can be produced here."""
    bad_loki = tmp_path / "loki.yml"
    bad_loki.write_text("schema_config:\n  configs: []\n", encoding="utf-8")
    assert cli.main(["validate", "loki", str(bad_loki)]) == EXIT_FINDINGS
    assert cli.main(["validate", "loki", str(tmp_path / "missing.yml")]) == EXIT_USAGE
    assert cli.main(["alerts", "build", "--catalog", str(tmp_path / "missing.yml")]) == EXIT_USAGE
    assert cli.main(["annotate", "--service", "chat", "--version", "1", "--grafana-url", "ftp://x"]) == EXIT_USAGE
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code, meaning in (
        (EXIT_OK, "ok"),
        (EXIT_FINDINGS, "findings"),
        (EXIT_USAGE, "usage"),
        (EXIT_INTERNAL, "internal"),
    ):
        assert f"| {code} | {meaning}" in readme, f"README's exit-code table lacks {code}"
    capsys.readouterr()


def test_command_modules_import_no_optional_dependency_up_front() -> None:
    """`obsctl --help` must work without the extras: building the parser imports no extra's package."""
    code = (
        "import sys; from obsctl import cli; cli.build_parser(); "
        "extras = ('grafana_foundation_sdk', 'moto', 'boto3', 'docker', 'fastapi', 'uvicorn', 'prometheus_client'); "
        "heavy = [m for m in extras if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert proc.stdout.strip() == ""


def test_every_optional_extra_has_its_modules_named_for_the_missing_extra_error() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert set(EXTRA_OF_MODULE.values()) == set(extras)


@pytest.mark.parametrize(("module", "extra"), [("fastapi", "analyzer"), ("discord.ext", "bot")])
def test_a_missing_extra_names_the_extra_and_exits_2(
    module: str, extra: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def needs_extra() -> list[object]:
        raise ModuleNotFoundError(f"No module named '{module}'", name=module)

    monkeypatch.setattr("obsctl.doctor.run_checks", needs_extra)
    assert cli.main(["doctor"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"pip install 'obsctl[{extra}]'" in err
    assert "internal error" not in err


def test_a_missing_module_that_is_no_extra_stays_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken() -> list[object]:
        raise ModuleNotFoundError("No module named 'obsctl.gone'", name="obsctl.gone")

    monkeypatch.setattr("obsctl.doctor.run_checks", broken)
    assert cli.main(["doctor"]) == EXIT_INTERNAL
    assert "internal error" in capsys.readouterr().err
