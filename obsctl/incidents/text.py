"""Plain-text views of the incident log for ``obsctl incidents list|show``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from obsctl.errors import EXIT_OK, ObsError
from obsctl.incidents.store import Incident, IncidentStore


def _open(db: str) -> IncidentStore:
    if not Path(db).is_file():
        raise ObsError(f"no incident log at {db}", fix="pass --db or set OBS_ANALYZER_DB to the analyzer's log")
    return IncidentStore(db)


def line(incident: Incident) -> str:
    duration = incident.duration_seconds
    took = f"{duration / 60:.1f} min" if duration is not None else "open"
    return (
        f"#{incident.id:<5} {incident.severity:<3} {incident.status:<8} {incident.started_at:%Y-%m-%d %H:%M} "
        f"{took:>10}  {incident.outcome:<13} {incident.alertname} ({incident.service or '-'})"
    )


def detail(incident: Incident) -> str:
    rows = [
        line(incident),
        f"dedup key:     {incident.dedup_key}",
        f"notifications: {incident.notifications}",
        f"owner:         {incident.owner or '-'}",
        f"analysis by:   {incident.provider + '/' + incident.model if incident.provider else 'no LLM'}"
        f" in {incident.analysis_seconds or 0:.1f} s, ${incident.cost_usd:.4f}",
        f"message id:    {incident.message_id or '-'}",
        "labels:        " + json.dumps(incident.labels, sort_keys=True),
        "analysis:      " + json.dumps(incident.analysis, indent=2, sort_keys=True, ensure_ascii=False),
        "evidence:      " + json.dumps(incident.evidence, indent=2, sort_keys=True, ensure_ascii=False),
    ]
    return "\n".join(rows)


def list_command(db: str, *, status: Literal["firing", "resolved"] | None, limit: int) -> int:
    with _open(db) as store:
        incidents = store.list(status=status, limit=limit)
    print("\n".join(line(i) for i in incidents) if incidents else "no incidents")
    return EXIT_OK


def show_command(db: str, ref: str) -> int:
    with _open(db) as store:
        incident = store.find(ref)
    if incident is None:
        raise ObsError(f"no incident {ref!r} in {db}", fix="list them with: obsctl incidents list")
    print(detail(incident))
    return EXIT_OK
