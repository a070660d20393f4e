"""Errors that reach the user: every one says what is wrong and what to do about it."""

from __future__ import annotations


class ObsError(Exception):
    """A failure the user can act on.

    ``fix`` is the concrete next step (a command, a variable to set). The CLI prints
    both and exits with ``exit_code`` instead of showing a traceback.
    """

    exit_code = 2

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if self.fix:
            return f"{self.message}\n  fix: {self.fix}"
        return self.message
