from __future__ import annotations

import pytest

from obsctl import cli
from obsctl.errors import ObsError


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
