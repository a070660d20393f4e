"""The incident log: one SQLite file (WAL) shared by the analyzer (writer), the bot and the reports.

An incident is one alert group firing from ``started_at`` until it resolves. The analyzer opens or
updates it from each webhook notification, keyed by a dedup key it computes (group key +
fingerprints + start time), so Grafana's repeat notifications land on the same row. The bot
acknowledges incidents; the reports count them. Every change made by a person is also written to
the ``audit`` table.

Concurrency: WAL lets readers (bot, reports) read while the analyzer writes; every write is one
short transaction; ``busy_timeout`` absorbs the rare overlap of two writers.
Schema changes are migrations keyed on ``PRAGMA user_version``: old files are upgraded in place.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from obsctl.errors import ObsError

Status = Literal["firing", "resolved"]
SEVERITIES = ("P1", "P2", "P3", "P4")
DEFAULT_DB = "/var/lib/obs-analyzer/incidents.db"  # the analyzer's log on the monitoring host

_MIGRATIONS: tuple[str, ...] = (
    # 1: incidents and audit
    """
    CREATE TABLE incidents (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        dedup_key       TEXT NOT NULL UNIQUE,
        alertname       TEXT NOT NULL,
        severity        TEXT NOT NULL,
        service         TEXT NOT NULL DEFAULT '',
        host            TEXT NOT NULL DEFAULT '',
        status          TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
        started_at      TEXT NOT NULL,
        resolved_at     TEXT,
        summary         TEXT NOT NULL DEFAULT '',
        labels          TEXT NOT NULL DEFAULT '{}',
        annotations     TEXT NOT NULL DEFAULT '{}',
        owner           TEXT NOT NULL DEFAULT '',
        notifications   INTEGER NOT NULL DEFAULT 1,
        evidence        TEXT,
        analysis        TEXT,
        provider        TEXT NOT NULL DEFAULT '',
        model           TEXT NOT NULL DEFAULT '',
        cost_usd        REAL NOT NULL DEFAULT 0,
        analysis_seconds REAL,
        outcome         TEXT NOT NULL DEFAULT 'pending',
        acked_by        TEXT,
        acked_at        TEXT,
        message_id      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
    );
    CREATE INDEX incidents_status ON incidents (status, started_at);
    CREATE INDEX incidents_started ON incidents (started_at);
    CREATE TABLE audit (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        detail      TEXT NOT NULL DEFAULT '',
        incident_id INTEGER REFERENCES incidents (id)
    );
    """,
    # 2: the analyzer's work queue (accepted webhook bodies, kept until processed) and its LLM ledger
    """
    CREATE TABLE queue (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at TEXT NOT NULL,
        source      TEXT NOT NULL,
        body        TEXT NOT NULL,
        state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'working', 'failed')),
        attempts    INTEGER NOT NULL DEFAULT 0,
        not_before  REAL NOT NULL DEFAULT 0,
        last_error  TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX queue_state ON queue (state, id);
    CREATE TABLE llm_calls (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          REAL NOT NULL,
        provider    TEXT NOT NULL,
        model       TEXT NOT NULL,
        ok          INTEGER NOT NULL,
        input_tokens  INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd    REAL NOT NULL DEFAULT 0,
        incident_id INTEGER
    );
    CREATE INDEX llm_calls_at ON llm_calls (at);
    """,
)


def _ts(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the incident log: attach a time zone (UTC)")
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Incident:
    id: int
    dedup_key: str
    alertname: str
    severity: str
    service: str
    host: str
    status: Status
    started_at: datetime
    resolved_at: datetime | None
    summary: str
    labels: dict[str, str]
    annotations: dict[str, str]
    owner: str
    notifications: int
    evidence: dict[str, Any] | None
    analysis: dict[str, Any] | None
    provider: str
    model: str
    cost_usd: float
    analysis_seconds: float | None
    outcome: str
    acked_by: str | None
    acked_at: datetime | None
    message_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def duration_seconds(self) -> float | None:
        if self.resolved_at is None:
            return None
        return (self.resolved_at - self.started_at).total_seconds()

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Incident:
        return cls(
            id=row["id"],
            dedup_key=row["dedup_key"],
            alertname=row["alertname"],
            severity=row["severity"],
            service=row["service"],
            host=row["host"],
            status=row["status"],
            started_at=datetime.fromisoformat(row["started_at"]),
            resolved_at=_dt(row["resolved_at"]),
            summary=row["summary"],
            labels=json.loads(row["labels"]),
            annotations=json.loads(row["annotations"]),
            owner=row["owner"],
            notifications=row["notifications"],
            evidence=json.loads(row["evidence"]) if row["evidence"] else None,
            analysis=json.loads(row["analysis"]) if row["analysis"] else None,
            provider=row["provider"],
            model=row["model"],
            cost_usd=row["cost_usd"],
            analysis_seconds=row["analysis_seconds"],
            outcome=row["outcome"],
            acked_by=row["acked_by"],
            acked_at=_dt(row["acked_at"]),
            message_id=row["message_id"],
            created_at=datetime.fromisoformat(row["created_at"]),
            updated_at=datetime.fromisoformat(row["updated_at"]),
        )


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    detail: str
    incident_id: int | None


@dataclass(frozen=True)
class NewAlert:
    """What the analyzer knows when a notification arrives."""

    dedup_key: str
    alertname: str
    severity: str
    started_at: datetime
    service: str = ""
    host: str = ""
    summary: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    owner: str = ""


class IncidentStore:
    """Open with ``IncidentStore(path)``; the file and its directory are created when missing."""

    def __init__(
        self, path: Path | str, *, timeout: float = 5.0, synchronous: Literal["FULL", "NORMAL"] = "FULL"
    ) -> None:
        """``synchronous``: FULL (default) makes every commit durable on its own (an fsync each);
        NORMAL, in WAL mode, survives a crash of the process but may lose the last commits on a power
        loss — for a writer whose work is idempotent and redone from a durable record (the
        analyzer's worker: see :class:`WorkQueue`)."""
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise ObsError(
                f"cannot open the incident log {self.path}: {exc}",
                fix="check the path and that this user may write to its directory",
            ) from None
        self._db.row_factory = sqlite3.Row
        # One connection may serve several threads (the webhook's request threads): one
        # transaction at a time on it. Other processes are kept apart by SQLite's own locking.
        self._lock = threading.RLock()
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'NORMAL' if synchronous == 'NORMAL' else 'FULL'}")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise ObsError(
                f"{self.path} is not a usable incident log ({exc})",
                fix="point the service at the right file, or move this one aside to start a new log",
            ) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> IncidentStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > len(_MIGRATIONS):
            raise ObsError(
                f"the incident log {self.path} has schema version {version}, newer than this obsctl knows "
                f"({len(_MIGRATIONS)})",
                fix="upgrade obsctl on this host to the version that wrote the log",
            )
        for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            with self._tx() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- writes ----------------------------------------------------------------------------------
    def open_or_update(self, alert: NewAlert, *, now: datetime | None = None) -> tuple[Incident, bool]:
        """Record a firing notification. Returns the incident and whether it was created now.

        A repeat of a known dedup key only counts the notification (and re-opens it if a resolved
        notification raced ahead of a late firing one with the same start time)."""
        at = _ts(now or _now())
        with self._tx() as db:
            row = db.execute("SELECT id FROM incidents WHERE dedup_key = ?", (alert.dedup_key,)).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE incidents SET notifications = notifications + 1, updated_at = ? WHERE id = ?",
                    (at, row["id"]),
                )
                created = False
                incident_id = int(row["id"])
            else:
                cursor = db.execute(
                    """INSERT INTO incidents (dedup_key, alertname, severity, service, host, status, started_at,
                       summary, labels, annotations, owner, created_at, updated_at)
                       VALUES (?, ?, ?, ?, ?, 'firing', ?, ?, ?, ?, ?, ?, ?)""",
                    (
                        alert.dedup_key,
                        alert.alertname,
                        alert.severity,
                        alert.service,
                        alert.host,
                        _ts(alert.started_at),
                        alert.summary,
                        json.dumps(dict(alert.labels), sort_keys=True),
                        json.dumps(dict(alert.annotations), sort_keys=True),
                        alert.owner,
                        at,
                        at,
                    ),
                )
                created = True
                incident_id = int(cursor.lastrowid or 0)
        incident = self.get(incident_id)
        assert incident is not None
        return incident, created

    def resolve(self, dedup_key: str, at: datetime) -> Incident | None:
        """Close the incident; None when the key is unknown. Resolving twice keeps the first time."""
        with self._tx() as db:
            db.execute(
                """UPDATE incidents SET status = 'resolved', resolved_at = COALESCE(resolved_at, ?), updated_at = ?
                   WHERE dedup_key = ?""",
                (_ts(at), _ts(_now()), dedup_key),
            )
        return self.get_by_key(dedup_key)

    def record_analysis(
        self,
        incident_id: int,
        *,
        evidence: Mapping[str, Any] | None,
        analysis: Mapping[str, Any] | None,
        outcome: str,
        provider: str = "",
        model: str = "",
        cost_usd: float = 0.0,
        seconds: float | None = None,
    ) -> Incident:
        with self._tx() as db:
            db.execute(
                """UPDATE incidents SET evidence = ?, analysis = ?, outcome = ?, provider = ?, model = ?,
                   cost_usd = cost_usd + ?, analysis_seconds = ?, updated_at = ? WHERE id = ?""",
                (
                    json.dumps(evidence, sort_keys=True, default=str) if evidence is not None else None,
                    json.dumps(analysis, sort_keys=True, default=str) if analysis is not None else None,
                    outcome,
                    provider,
                    model,
                    cost_usd,
                    seconds,
                    _ts(_now()),
                    incident_id,
                ),
            )
        return self._require(incident_id)

    def set_message_id(self, incident_id: int, message_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE incidents SET message_id = ?, updated_at = ? WHERE id = ?",
                (message_id, _ts(_now()), incident_id),
            )

    def acknowledge(self, incident_id: int, by: str, at: datetime | None = None) -> tuple[Incident, bool]:
        """Mark acknowledged. Returns (incident, first): ``first`` is False when someone acked it
        before — the incident then still names that first member in ``acked_by``."""
        when = at or _now()
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE incidents SET acked_by = ?, acked_at = ?, updated_at = ? WHERE id = ? AND acked_by IS NULL",
                (by, _ts(when), _ts(when), incident_id),
            )
            first = cursor.rowcount == 1
            if first:
                db.execute(
                    "INSERT INTO audit (at, actor, action, detail, incident_id) VALUES (?, ?, 'ack', '', ?)",
                    (_ts(when), by, incident_id),
                )
        return self._require(incident_id), first

    def audit(self, actor: str, action: str, detail: str = "", incident_id: int | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit (at, actor, action, detail, incident_id) VALUES (?, ?, ?, ?, ?)",
                (_ts(_now()), actor, action, detail, incident_id),
            )

    # -- reads -----------------------------------------------------------------------------------
    def _require(self, incident_id: int) -> Incident:
        incident = self.get(incident_id)
        if incident is None:
            raise ObsError(f"incident {incident_id} is not in {self.path}", fix="list them with: obsctl incidents list")
        return incident

    def get(self, incident_id: int) -> Incident | None:
        row = self._db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return Incident.from_row(row) if row else None

    def get_by_key(self, dedup_key: str) -> Incident | None:
        row = self._db.execute("SELECT * FROM incidents WHERE dedup_key = ?", (dedup_key,)).fetchone()
        return Incident.from_row(row) if row else None

    def find(self, ref: str) -> Incident | None:
        """An incident by id (``42`` or ``#42``), dedup key, or the alertname of the newest open one."""
        text = ref.strip().lstrip("#")
        if text.isdigit():
            return self.get(int(text))
        by_key = self.get_by_key(text)
        if by_key is not None:
            return by_key
        row = self._db.execute(
            "SELECT * FROM incidents WHERE alertname = ? AND status = 'firing' ORDER BY started_at DESC LIMIT 1",
            (text,),
        ).fetchone()
        return Incident.from_row(row) if row else None

    def list(
        self,
        status: Status | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
    ) -> builtins.list[Incident]:
        """Newest first. ``since``/``until`` filter on ``started_at`` (half-open [since, until))."""
        clauses: list[str] = []
        params: list[Any] = []
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        if since is not None:
            clauses.append("started_at >= ?")
            params.append(_ts(since))
        if until is not None:
            clauses.append("started_at < ?")
            params.append(_ts(until))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        params.append(max(1, limit))
        rows = self._db.execute(f"SELECT * FROM incidents {where} ORDER BY started_at DESC, id DESC LIMIT ?", params)  # noqa: S608 - clauses are fixed strings
        return [Incident.from_row(r) for r in rows]

    def open_incidents(self) -> builtins.list[Incident]:
        return self.list(status="firing", limit=1000)

    def count_by_severity(self, since: datetime, until: datetime) -> dict[str, int]:
        """Incidents that started in [since, until), per severity; every severity present (0 when none)."""
        counts = dict.fromkeys(SEVERITIES, 0)
        rows = self._db.execute(
            "SELECT severity, COUNT(*) AS n FROM incidents WHERE started_at >= ? AND started_at < ? GROUP BY severity",
            (_ts(since), _ts(until)),
        )
        for row in rows:
            counts[row["severity"]] = int(row["n"])
        return counts

    def audit_entries(self, incident_id: int | None = None, limit: int = 100) -> builtins.list[AuditEntry]:
        if incident_id is None:
            rows = self._db.execute("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._db.execute(
                "SELECT * FROM audit WHERE incident_id = ? ORDER BY id DESC LIMIT ?", (incident_id, limit)
            )
        return [
            AuditEntry(r["id"], datetime.fromisoformat(r["at"]), r["actor"], r["action"], r["detail"], r["incident_id"])
            for r in rows
        ]


@dataclass(frozen=True)
class QueueItem:
    id: int
    received_at: datetime
    source: str
    body: str
    attempts: int


class QueueFull(ObsError):
    """The bounded queue holds ``capacity`` items: the sender must retry later (HTTP 503)."""


class WorkQueue:
    """The analyzer's persistent work queue, in the incident log's file (same WAL, migration 2).

    An accepted notification is committed here *before* the webhook answers 202, so a crash or a
    restart never loses it (open the intake's store with ``synchronous="FULL"``, the default: the
    commit is on disk before the answer). ``claim`` hands the oldest due item to the worker (state ``working``);
    ``done`` deletes it; ``retry_later`` puts it back with a delay, and after ``max_attempts`` the
    item is parked as ``failed`` (kept for a person, never dropped). Items left ``working`` by a
    process that died are pending again when the next process opens the queue.
    """

    def __init__(self, store: IncidentStore, *, capacity: int = 1000, max_attempts: int = 5) -> None:
        if capacity < 1:
            raise ObsError(f"queue capacity {capacity} is not positive", fix="give a capacity of at least 1")
        self._store = store
        self.capacity = capacity
        self.max_attempts = max_attempts
        with store._tx() as db:
            db.execute("UPDATE queue SET state = 'pending' WHERE state = 'working'")

    def close(self) -> None:
        self._store.close()

    def put(self, source: str, body: str, *, now: datetime | None = None) -> int:
        """Persist one accepted body; raise QueueFull when ``capacity`` items are waiting."""
        with self._store._tx() as db:
            waiting = int(db.execute("SELECT COUNT(*) FROM queue WHERE state != 'failed'").fetchone()[0])
            if waiting >= self.capacity:
                raise QueueFull(
                    f"the analyzer queue is full ({waiting}/{self.capacity} notifications waiting)",
                    fix="the sender retries; if it stays full, look at the analyzer's log (a stuck worker)",
                )
            cursor = db.execute(
                "INSERT INTO queue (received_at, source, body) VALUES (?, ?, ?)", (_ts(now or _now()), source, body)
            )
            return int(cursor.lastrowid or 0)

    def claim(self, *, now: float | None = None) -> QueueItem | None:
        due = now if now is not None else _now().timestamp()
        with self._store._tx() as db:
            row = db.execute(
                "SELECT * FROM queue WHERE state = 'pending' AND not_before <= ? ORDER BY id LIMIT 1", (due,)
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE queue SET state = 'working', attempts = attempts + 1 WHERE id = ?", (row["id"],))
        return QueueItem(
            int(row["id"]), datetime.fromisoformat(row["received_at"]), row["source"], row["body"], row["attempts"] + 1
        )

    def done(self, item_id: int) -> None:
        with self._store._tx() as db:
            db.execute("DELETE FROM queue WHERE id = ?", (item_id,))

    def retry_later(self, item: QueueItem, error: str, delay: float, *, now: float | None = None) -> bool:
        """Back to pending after ``delay`` seconds; False when the item is parked as failed."""
        parked = item.attempts >= self.max_attempts
        at = (now if now is not None else _now().timestamp()) + delay
        with self._store._tx() as db:
            db.execute(
                "UPDATE queue SET state = ?, not_before = ?, last_error = ? WHERE id = ?",
                ("failed" if parked else "pending", at, error[:1000], item.id),
            )
        return not parked

    def depth(self) -> int:
        """Items waiting or being worked on (failed ones are not counted)."""
        with self._store._lock:  # read from the metrics thread while the worker writes
            return int(self._store._db.execute("SELECT COUNT(*) FROM queue WHERE state != 'failed'").fetchone()[0])

    def failed(self) -> int:
        with self._store._lock:
            return int(self._store._db.execute("SELECT COUNT(*) FROM queue WHERE state = 'failed'").fetchone()[0])


@dataclass(frozen=True)
class Usage:
    calls: int
    cost_usd: float


class LlmLedger:
    """Every LLM call the analyzer made (also failed ones: they count against the call caps)."""

    def __init__(self, store: IncidentStore) -> None:
        self._store = store

    def record(
        self,
        provider: str,
        model: str,
        *,
        ok: bool,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost_usd: float = 0.0,
        incident_id: int | None = None,
        at: float | None = None,
    ) -> None:
        with self._store._tx() as db:
            db.execute(
                """INSERT INTO llm_calls (at, provider, model, ok, input_tokens, output_tokens, cost_usd, incident_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    at if at is not None else _now().timestamp(),
                    provider,
                    model,
                    int(ok),
                    input_tokens,
                    output_tokens,
                    cost_usd,
                    incident_id,
                ),
            )

    def since(self, start: float) -> Usage:
        with self._store._lock:
            row = self._store._db.execute(
                "SELECT COUNT(*) AS n, COALESCE(SUM(cost_usd), 0) AS cost FROM llm_calls WHERE at >= ?", (start,)
            ).fetchone()
        return Usage(int(row["n"]), float(row["cost"]))
