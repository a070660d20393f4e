"""Loki 2.9 → 3 migration: planning from the old install's own config (``obsctl loki ...``)."""
