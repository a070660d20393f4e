"""``obsctl lab up|down|status|reboot|second-day|drill``: the whole platform on this machine (`make lab`)."""

from __future__ import annotations

import argparse

from obsctl.lab import alert_drills, drills, orchestrate


def _up(args: argparse.Namespace) -> int:
    result = orchestrate.up(stream=not args.quiet, run_verify=not args.no_verify)
    if result.site_recap is not None:
        print(f"site.yml: {result.site_recap.summary()}")
    if args.expect_no_changes and result.site_recap is not None and result.site_recap.changed:
        print(f"expected changed=0 on this run, got changed={result.site_recap.changed} (see .obs/lab/logs/site.log)")
        return 3
    return result.verify_exit or 0


def _down(_: argparse.Namespace) -> int:
    orchestrate.down()
    return 0


def _status(_: argparse.Namespace) -> int:
    return orchestrate.status()


def _second_day(args: argparse.Namespace) -> int:
    result = drills.second_day(stream=not args.quiet)
    if result.changed:
        print(f"second-day drill: expected changed=0, got changed={result.changed} (.obs/lab/logs/site-second-day.log)")
        return 3
    print("second-day drill: ok, changed=0")
    return 0


def _reboot(args: argparse.Namespace) -> int:
    result = drills.reboot(timeout=args.timeout)
    print(f"reboot drill: {'FAILED' if result.problems else 'ok'}, recovered in {result.seconds:.1f}s")
    return 1 if result.problems else 0


def _drill(args: argparse.Namespace) -> int:
    results: list[alert_drills.DrillResult] = []
    if args.which in ("blip", "all"):
        results.append(alert_drills.blip())
    if args.which in ("p1", "all"):
        results += alert_drills.p1()
    for r in results:
        took = f"{r.seconds:.1f}s" if r.seconds is not None else "-"
        what = {"blip": "down for", "p1": "delivered after", "e2e": "analysis posted after"}[r.name]
        print(f"{r.name} drill: {'ok' if r.ok else 'FAILED'}, {what} {took}" + "".join(f"; {p}" for p in r.problems))
    return 0 if all(r.ok for r in results) else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("lab", help="the whole platform on this machine: local AWS, lab hosts, site.yml, verify")
    lsub = parser.add_subparsers(dest="lab_command", metavar="<action>", required=True)
    up = lsub.add_parser("up", help="start or update the lab (idempotent) and verify it")
    up.add_argument("--quiet", action="store_true", help="Ansible output only to .obs/lab/logs/, not the console")
    up.add_argument("--no-verify", action="store_true", help="skip the final `verify`")
    up.add_argument(
        "--expect-no-changes", action="store_true", help="exit 3 unless site.yml reports changed=0 (idempotence)"
    )
    up.set_defaults(handler=_up)
    down = lsub.add_parser("down", help="remove every lab container, network, the local AWS and generated secrets")
    down.set_defaults(handler=_down)
    status = lsub.add_parser("status", help="what of the lab is running, and its memory use")
    status.set_defaults(handler=_status)
    reboot = lsub.add_parser(
        "reboot", help="reboot drill: restart mon-1, time until verify passes, check data and tunnel listeners"
    )
    reboot.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for recovery (default 600)")
    reboot.set_defaults(handler=_reboot)
    second = lsub.add_parser(
        "second-day", help="site.yml again with the hosts' clock a day ahead (libfaketime); exit 3 unless changed=0"
    )
    second.add_argument("--quiet", action="store_true", help="Ansible output only to .obs/lab/logs/")
    second.set_defaults(handler=_second_day)
    drill = lsub.add_parser(
        "drill",
        help="alert drills: blip (the demo api down < 30 s must not page), p1 (stop -> page within 90 s, "
        "and the analyzer's message end to end), all",
    )
    drill.add_argument("which", choices=["blip", "p1", "all"], help="which drill (all: blip, then p1)")
    drill.set_defaults(handler=_drill)
