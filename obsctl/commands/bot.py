"""``obsctl bot run``: the Discord ChatOps bot (settings and secrets from the environment)."""

from __future__ import annotations

import argparse


def _run(args: argparse.Namespace) -> int:
    import logging  # noqa: PLC0415

    from obsctl.bot import wiring  # noqa: PLC0415 - the `bot` extra, imported only here
    from obsctl.bot.config import BotSettings  # noqa: PLC0415

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = BotSettings.from_env()
    settings.require_runnable()
    chatops = wiring.build(settings)
    from obsctl.bot import discord_app  # noqa: PLC0415 - discord.py only when connecting

    discord_app.run(chatops, settings.token, settings.guilds)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "bot",
        help="the Discord ChatOps bot (needs the 'bot' extra)",
        description="Slash commands /status, /silence, /unsilence, /ack, /dashboard in the configured guilds. "
        "Settings and secrets come from the environment (see obsctl/bot/config.py).",
    )
    actions = parser.add_subparsers(dest="action", metavar="<action>", required=True)
    run = actions.add_parser("run", help="connect to Discord and serve the slash commands")
    run.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    run.set_defaults(handler=_run)
