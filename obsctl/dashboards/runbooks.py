"""Runbook links for panel descriptions, taken from the alert catalog (alerting/catalog.yml).

The catalog owns the alert uids and ``runbook_base_url`` (the web view of this repository's
default branch); dashboards read the same values so a panel and its alert point at the same
runbook. Runbooks exist for P1 and P2 alerts (docs/runbooks/<uid>.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from obsctl.errors import ObsError
from obsctl.paths import repo_root

RUNBOOK_SEVERITIES = ("P1", "P2")


@dataclass(frozen=True)
class Catalog:
    base_url: str
    severities: dict[str, str]  # alert uid -> P1..P4


def catalog_path() -> Path:
    return repo_root() / "alerting" / "catalog.yml"


@functools.cache
def catalog() -> Catalog:
    path = catalog_path()
    if not path.exists():
        return Catalog("", {})
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    alerts = data.get("alerts") or []
    return Catalog(
        str(data.get("runbook_base_url") or "").rstrip("/"),
        {str(a["uid"]): str(a.get("severity", "")) for a in alerts if isinstance(a, dict) and "uid" in a},
    )


def runbook_path(uid: str) -> str:
    return f"docs/runbooks/{uid}.md"


def runbook_url(uid: str) -> str | None:
    """Clickable URL when the catalog names a base URL, else None (the path is shown as text)."""
    base = catalog().base_url
    return f"{base}/{runbook_path(uid)}" if base else None


def check_uid(uid: str) -> None:
    """A panel may only link the runbook of a P1/P2 alert that the catalog defines."""
    known = catalog().severities
    if not known:
        return  # no catalog in this checkout: nothing to check against
    severity = known.get(uid)
    if severity is None:
        raise ObsError(
            f"dashboard links runbook '{uid}', which is not an alert uid in {catalog_path()}",
            fix=f"use one of: {', '.join(sorted(known))}",
        )
    if severity not in RUNBOOK_SEVERITIES:
        raise ObsError(
            f"dashboard links runbook '{uid}', but only P1/P2 alerts have runbooks ({uid} is {severity})",
            fix="drop the runbook from the panel or link the related P1/P2 alert",
        )
