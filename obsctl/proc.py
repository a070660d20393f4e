"""Running external programs with errors that name the program and the fix."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from obsctl.errors import ObsError


def which(program: str) -> str | None:
    return shutil.which(program)


def require(program: str, fix: str) -> str:
    """Return the absolute path of ``program`` or raise an error that says how to get it."""
    path = shutil.which(program)
    if path is None:
        raise ObsError(f"'{program}' is not on PATH", fix=fix)
    return path


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` capturing text output; on failure raise ObsError with the tail of stderr."""
    try:
        proc = subprocess.run(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input_text,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ObsError(f"cannot run '{argv[0]}': not installed", fix="run `obsctl doctor`") from exc
    except subprocess.TimeoutExpired as exc:
        raise ObsError(f"'{' '.join(argv)}' did not finish within {timeout}s") from exc
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise ObsError(f"'{' '.join(argv)}' failed with exit code {proc.returncode}:\n{tail}")
    return proc
