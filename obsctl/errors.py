"""Errors that reach the user, and the one exit-code convention of every ``obsctl`` command.

Exit codes (README "Exit codes"): 0 ok; 1 findings (a check ran and found problems: a config that
does not validate, dashboards out of sync, a parity gap, a failed verify row, missing
prerequisites in ``doctor``); 2 usage or environment (a wrong argument or input file, a server that
does not answer, a tool that is missing for the command to run at all); 3 an internal error (a bug
in obsctl: the message says where to report it); 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

REPORT_BUGS_TO = (
    "the repository's issue tracker, with the command line, `obsctl --version` and the output with OBSCTL_TRACEBACK=1"
)


# The import name of each optional extra's packages (pyproject.toml [project.optional-dependencies]):
# a command that needs a missing one ends with the extra to install, not an internal error.
EXTRA_OF_MODULE = {
    "grafana_foundation_sdk": "dashboards",
    "fastapi": "analyzer",
    "uvicorn": "analyzer",
    "prometheus_client": "analyzer",
    "discord": "bot",
    "matplotlib": "bot",
    "cryptography": "reports",
}


class ObsError(Exception):
    """A failure the user can act on.

    ``fix`` is the concrete next step (a command, a variable to set). The CLI prints
    both and exits with ``exit_code`` instead of showing a traceback.
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if self.fix:
            return f"{self.message}\n  fix: {self.fix}"
        return self.message


def field_path(location: Sequence[object]) -> str:
    """``("alerts", 3, "threshold")`` -> ``alerts[3].threshold`` (how the messages name a field)."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def missing_extra(exc: ModuleNotFoundError) -> ObsError | None:
    """The user-facing error for an optional extra that is not installed; None for any other module."""
    extra = EXTRA_OF_MODULE.get((exc.name or "").split(".", 1)[0])
    if extra is None:
        return None
    return ObsError(
        f"this command needs {exc.name}, which is not installed (the optional extra '{extra}')",
        fix=f"pip install 'obsctl[{extra}]' (or: pip install -r requirements.txt)",
    )
