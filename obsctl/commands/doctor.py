"""``obsctl doctor``: is this machine ready to run the lab and the tests?"""

from __future__ import annotations

import argparse

from obsctl import doctor


def _handle(args: argparse.Namespace) -> int:
    results = doctor.run_checks()
    print(doctor.as_json(results) if args.json else doctor.render(results))
    failed = [c for c in results if c.required and not c.ok]
    return 1 if failed else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("doctor", help="check prerequisites and print the fix for each missing one")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(handler=_handle)
