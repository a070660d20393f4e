"""Single entry point: ``obsctl <subcommand>``.

Command modules (``obsctl/commands``) only declare arguments and import what they run inside their
handler, so ``obsctl --help`` and a light command never import a heavy optional dependency.
Every exception ends here: an ``ObsError`` as its message and fix, anything else as an "internal
error" with where to report it; a user never sees a traceback (``OBSCTL_TRACEBACK=1`` shows it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import cast

from obsctl import __version__, commands
from obsctl.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, REPORT_BUGS_TO, ObsError, missing_extra

Handler = Callable[[argparse.Namespace], int]
TRACEBACK_ENV = "OBSCTL_TRACEBACK"


def command_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="obsctl",
        description="Tooling for the single-node observability platform.",
        epilog="exit codes: 0 ok, 1 findings, 2 usage or environment, 3 internal error (a bug: please report it)",
    )
    parser.add_argument("--version", action="version", version=f"obsctl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    for name in command_names():
        module = importlib.import_module(f"{commands.__name__}.{name}")
        module.register(sub)
    return parser


def _internal_error(command: str, exc: BaseException) -> int:
    where = f"obsctl {command}" if command else "obsctl"
    print(f"{where}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
    print(f"  this is a bug in obsctl, not in your input: please report it to {REPORT_BUGS_TO}", file=sys.stderr)
    if os.environ.get(TRACEBACK_ENV):
        traceback.print_exception(exc, file=sys.stderr)
    else:
        print(f"  (set {TRACEBACK_ENV}=1 to include the traceback in the report)", file=sys.stderr)
    return EXIT_INTERNAL


def _user_error(command: str, exc: ObsError) -> int:
    prefix = f"obsctl {command}" if command else "obsctl"
    print(f"{prefix}: error: {exc}", file=sys.stderr)
    return exc.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    command = ""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        command = str(getattr(args, "command", "") or "")
        handler = cast("Handler | None", getattr(args, "handler", None))
        if handler is None:
            parser.print_help()
            return EXIT_USAGE
        return handler(args)
    except ObsError as exc:
        return _user_error(command, exc)
    except ModuleNotFoundError as exc:
        extra = missing_extra(exc)
        return _internal_error(command, exc) if extra is None else _user_error(command, extra)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except SystemExit:
        raise  # argparse's usage errors (2) and --help (0)
    except Exception as exc:
        return _internal_error(command, exc)
