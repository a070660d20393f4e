"""The clients layer: one module per server the project talks to, all on ``obsctl.clients.http``.

Commands, services (analyzer, bot) and jobs (reports) reach servers only through these modules.
"""
