"""``obsctl loki plan-migration``: inventory settings for moving a Loki 2.9 install to the stack's Loki 3."""

from __future__ import annotations

import argparse
from pathlib import Path

from obsctl.errors import ObsError


def _plan_migration(args: argparse.Namespace) -> int:
    from obsctl.loki import plan  # noqa: PLC0415 - commands import what they run inside the handler

    text = plan.render(plan.plan(Path(args.legacy_config)))
    if args.output is None:
        print(text, end="")
        return 0
    out = Path(args.output)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ObsError(f"cannot write {out}: {exc.strerror}", fix="pass a writable --output path") from None
    print(f"wrote {out}: add it to the monitoring host's vars (e.g. inventories/<env>/host_vars/<host>/)")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("loki", help="Loki 2.9 → 3 migration helpers")
    actions = parser.add_subparsers(dest="loki_command", metavar="<action>", required=True)
    plan_parser = actions.add_parser(
        "plan-migration",
        help="derive the role's legacy settings (periods, data and WAL directories) from the old Loki config",
        description="Read the old Loki 2.9 config and write the monitoring_stack settings that migrate its "
        "data: every schema period exactly, the chunks, index, cache and WAL directories. Layouts the "
        "procedure cannot copy (S3, an index store Loki 3 cannot read, relative paths) are refused with the "
        "reason (exit 1).",
    )
    plan_parser.add_argument("--legacy-config", required=True, metavar="OLD.yml", help="the old Loki's config file")
    plan_parser.add_argument("--output", metavar="FILE", help="write the YAML here instead of standard output")
    plan_parser.set_defaults(handler=_plan_migration)
