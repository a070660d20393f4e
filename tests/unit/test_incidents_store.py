"""The incident log: dedup of repeated notifications, resolve, acknowledge once, queries, schema."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from obsctl.errors import ObsError
from obsctl.incidents import IncidentStore, NewAlert

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def alert(key: str = "g1|fp1|t0", name: str = "service-down", severity: str = "P1", start: datetime = T0) -> NewAlert:
    return NewAlert(
        dedup_key=key,
        alertname=name,
        severity=severity,
        started_at=start,
        service="api",
        host="app-1",
        labels={"app": "api", "severity": severity},
        annotations={"summary": "api is down"},
        owner="<@123>",
    )


@pytest.fixture
def store(tmp_path: Path) -> IncidentStore:
    return IncidentStore(tmp_path / "sub" / "incidents.db")


def test_repeated_notifications_are_one_incident(store: IncidentStore) -> None:
    first, created = store.open_or_update(alert())
    again, created_again = store.open_or_update(alert())
    assert created and not created_again
    assert first.id == again.id
    assert again.notifications == 2
    assert len(store.list()) == 1


def test_resolve_closes_with_duration_and_keeps_the_first_time(store: IncidentStore) -> None:
    store.open_or_update(alert())
    done = store.resolve("g1|fp1|t0", T0 + timedelta(minutes=7))
    assert done is not None and done.status == "resolved"
    assert done.duration_seconds == 420
    later = store.resolve("g1|fp1|t0", T0 + timedelta(minutes=9))
    assert later is not None and later.resolved_at == T0 + timedelta(minutes=7)
    assert store.resolve("unknown", T0) is None
    assert store.open_incidents() == []


def test_second_ack_names_the_first_member(store: IncidentStore) -> None:
    incident, _ = store.open_or_update(alert())
    acked, first = store.acknowledge(incident.id, "alice")
    assert first and acked.acked_by == "alice"
    again, first_again = store.acknowledge(incident.id, "bob")
    assert not first_again and again.acked_by == "alice"
    assert [(e.actor, e.action) for e in store.audit_entries(incident.id)] == [("alice", "ack")]


def test_find_by_id_key_or_open_alertname(store: IncidentStore) -> None:
    older, _ = store.open_or_update(alert(key="a", start=T0))
    newer, _ = store.open_or_update(alert(key="b", start=T0 + timedelta(hours=1)))
    assert store.find(str(older.id)) == older
    assert store.find(f"#{newer.id}") == newer
    assert store.find("a") == older
    found = store.find("service-down")
    assert found is not None and found.id == newer.id
    assert store.find("nothing-like-this") is None


def test_counts_and_windows(store: IncidentStore) -> None:
    store.open_or_update(alert(key="1", severity="P1", start=T0))
    store.open_or_update(alert(key="2", severity="P3", start=T0 + timedelta(hours=2)))
    store.open_or_update(alert(key="3", severity="P3", start=T0 + timedelta(days=1)))
    day = store.count_by_severity(T0, T0 + timedelta(days=1))
    assert day == {"P1": 1, "P2": 0, "P3": 1, "P4": 0}
    assert [i.dedup_key for i in store.list(since=T0, until=T0 + timedelta(days=1))] == ["2", "1"]


def test_analysis_is_recorded_and_cost_adds_up(store: IncidentStore) -> None:
    incident, _ = store.open_or_update(alert())
    store.record_analysis(
        incident.id,
        evidence={"e1": 1},
        analysis={"summary": "x"},
        outcome="llm",
        provider="anthropic",
        model="m",
        cost_usd=0.01,
        seconds=3.2,
    )
    done = store.record_analysis(incident.id, evidence=None, analysis=None, outcome="followup", cost_usd=0.02)
    assert done.cost_usd == pytest.approx(0.03)
    assert done.outcome == "followup"


def test_readers_see_writes_from_another_connection(tmp_path: Path) -> None:
    writer = IncidentStore(tmp_path / "i.db")
    reader = IncidentStore(tmp_path / "i.db")
    writer.open_or_update(alert())
    assert len(reader.open_incidents()) == 1
    assert sqlite3.connect(tmp_path / "i.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_naive_datetimes_are_refused(store: IncidentStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.open_or_update(alert(start=datetime(2026, 1, 1)))


def test_a_newer_schema_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    IncidentStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(ObsError, match="newer than this obsctl"):
        IncidentStore(path)


def test_a_file_that_is_not_sqlite_is_a_clean_error(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ObsError, match="not a usable incident log"):
        IncidentStore(path)


def test_a_version_1_log_is_upgraded_in_place_with_the_queue_and_ledger(tmp_path: Path) -> None:
    from obsctl.incidents.store import _MIGRATIONS, LlmLedger, WorkQueue  # noqa: PLC0415

    path = tmp_path / "i.db"
    db = sqlite3.connect(path)
    db.executescript(_MIGRATIONS[0])
    db.execute("PRAGMA user_version=1")
    db.execute(
        "INSERT INTO incidents (dedup_key, alertname, severity, status, started_at, created_at, updated_at)"
        " VALUES ('k', 'old', 'P2', 'firing', ?, ?, ?)",
        (T0.isoformat(), T0.isoformat(), T0.isoformat()),
    )
    db.commit()
    db.close()
    with IncidentStore(path) as store:
        assert store.schema_version == len(_MIGRATIONS) == 2
        assert [i.alertname for i in store.list()] == ["old"]
        queue = WorkQueue(store, capacity=2)
        queue.put("alertmanager", "{}")
        assert queue.depth() == 1
        LlmLedger(store).record("openai", "m", ok=True, cost_usd=0.5, at=T0.timestamp())
        assert LlmLedger(store).since(T0.timestamp() - 1).cost_usd == 0.5


def test_the_work_queue_parks_an_item_after_its_last_attempt_and_never_drops_it(tmp_path: Path) -> None:
    from obsctl.incidents.store import QueueFull, WorkQueue  # noqa: PLC0415

    with IncidentStore(tmp_path / "i.db") as store:
        queue = WorkQueue(store, capacity=1, max_attempts=2)
        queue.put("grafana", "a")
        with pytest.raises(QueueFull, match="1/1"):
            queue.put("grafana", "b")
        first = queue.claim(now=0)
        assert first is not None and first.attempts == 1
        assert queue.retry_later(first, "Discord down", 10, now=0) is True
        assert queue.claim(now=5) is None  # not due yet
        second = queue.claim(now=10)
        assert second is not None and second.attempts == 2
        assert queue.retry_later(second, "Discord down", 10, now=10) is False  # parked
        assert (queue.depth(), queue.failed()) == (0, 1)
        assert tuple(store._db.execute("SELECT body, last_error FROM queue").fetchone()) == ("a", "Discord down")
