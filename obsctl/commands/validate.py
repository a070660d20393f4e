"""``obsctl validate <kind> <file>``: check a configuration file; exit 1 listing the problems."""

from __future__ import annotations

import argparse
from pathlib import Path

from obsctl import validators


def _validate(args: argparse.Namespace) -> int:
    check = validators.checker(args.kind)
    problems = check(Path(args.file))
    if not problems:
        print(f"{args.file}: valid {args.kind} config")
        return 0
    print(f"{args.file}: {len(problems)} problem(s) as {args.kind} config:")
    for problem in problems:
        print(f"  - {problem}")
    return 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kinds = validators.kinds()
    epilog = "kinds:\n" + "\n".join(f"  {name:12} {validators.summary(mod)}" for name, mod in kinds.items())
    parser = sub.add_parser(
        "validate",
        help="check a rendered config file (loki, compose, prometheus, ...)",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=sorted(kinds), help="what the file is")
    parser.add_argument("file", help="path of the file to check")
    parser.set_defaults(handler=_validate)
