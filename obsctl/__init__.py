"""obsctl: the one command-line tool of the observability platform repository."""

__version__ = "0.1.0"
