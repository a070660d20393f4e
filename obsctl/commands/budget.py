"""``obsctl budget``: the monitoring host's memory budget per profile (the README's table)."""

from __future__ import annotations

import argparse


def _show(args: argparse.Namespace) -> int:
    from obsctl import budget  # noqa: PLC0415

    print(budget.markdown(budget.load_defaults(), budget.load_results()))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "budget",
        help="print the memory budget per profile (limits, their basis, the smallest instance type)",
    )
    parser.set_defaults(handler=_show)
