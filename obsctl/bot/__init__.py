"""The Discord ChatOps bot (``obsctl bot run``, extra ``bot``).

``core`` holds every command's logic and needs no Discord: it takes a :class:`~obsctl.bot.core.Member`
and arguments and returns a :class:`~obsctl.bot.core.Reply`. ``discord_app`` is the thin discord.py
transport (guild slash commands, defer within Discord's 3 s, follow-up, confirmation buttons).
``panels`` draws /dashboard panels locally with matplotlib; ``config`` reads the settings.
"""
