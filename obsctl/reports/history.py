"""The reports' local history (SQLite): KPI values per period, deliveries, deployments.

Baselines and trend charts read it, so they work without Google Sheets. A KPI computed without
data is stored as NULL ("no data"), which differs from a period never computed (no row at all).
A delivery row per (kind, period, channel) makes a re-run for the same period skip the channels
that already received it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from obsctl.errors import ObsError
from obsctl.reports.kpis import Values

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kpi_values (
    kind TEXT NOT NULL, period TEXT NOT NULL, service TEXT NOT NULL, kpi TEXT NOT NULL, value REAL,
    PRIMARY KEY (kind, period, service, kpi)
);
CREATE TABLE IF NOT EXISTS computed (
    kind TEXT NOT NULL, period TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (kind, period)
);
CREATE TABLE IF NOT EXISTS deliveries (
    kind TEXT NOT NULL, period TEXT NOT NULL, channel TEXT NOT NULL, at TEXT NOT NULL, ref TEXT NOT NULL,
    PRIMARY KEY (kind, period, channel)
);
CREATE TABLE IF NOT EXISTS deployments (
    service TEXT NOT NULL, version TEXT NOT NULL, at TEXT NOT NULL, regressions INTEGER NOT NULL,
    PRIMARY KEY (service, version, at)
);
"""


class History:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ObsError(
                f"cannot open the report history {self.path}: {exc}",
                fix="set OBS_REPORT_HISTORY_DB to a file this user may write",
            ) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def has(self, kind: str, period: str) -> bool:
        row = self._db.execute("SELECT 1 FROM computed WHERE kind = ? AND period = ?", (kind, period)).fetchone()
        return row is not None

    def store(self, kind: str, period: str, values: Values) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM kpi_values WHERE kind = ? AND period = ?", (kind, period))
            self._db.executemany(
                "INSERT INTO kpi_values (kind, period, service, kpi, value) VALUES (?, ?, ?, ?, ?)",
                [(kind, period, service, kpi, value) for (service, kpi), value in values.items()],
            )
            self._db.execute(
                "INSERT OR REPLACE INTO computed (kind, period, at) VALUES (?, ?, ?)",
                (kind, period, datetime.now(UTC).isoformat()),
            )

    def values(self, kind: str, period: str) -> Values:
        rows = self._db.execute(
            "SELECT service, kpi, value FROM kpi_values WHERE kind = ? AND period = ?", (kind, period)
        )
        return {(s, k): v for s, k, v in rows}

    def delivered(self, kind: str, period: str, channel: str) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM deliveries WHERE kind = ? AND period = ? AND channel = ?", (kind, period, channel)
        ).fetchone()
        return row is not None

    def mark_delivered(self, kind: str, period: str, channel: str, ref: str = "") -> None:
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO deliveries (kind, period, channel, at, ref) VALUES (?, ?, ?, ?, ?)",
                (kind, period, channel, datetime.now(UTC).isoformat(), ref),
            )

    def record_deployment(self, service: str, version: str, at: datetime, regressions: int) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO deployments (service, version, at, regressions) VALUES (?, ?, ?, ?)",
                (service, version, at.isoformat(), regressions),
            )
