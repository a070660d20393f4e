"""Subcommands. Each module here defines ``register(subparsers)``; the CLI finds them itself.

A module sets the parser's ``handler`` default to a function ``(argparse.Namespace) -> int``.
Adding a capability is adding one module: no central list to edit.
"""
