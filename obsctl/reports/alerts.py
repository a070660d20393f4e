"""Alerts fired per severity in a report's period, from Grafana's alert state history.

Alerting in this stack is Grafana's (the rules come from ``alerting/catalog.yml``; Prometheus
evaluates no alerting rules, so its ``ALERTS`` series does not exist here). Grafana records every
state change of a Grafana-managed alert instance in its state history; with the default backend
(``[unified_alerting.state_history] backend = annotations``) each change is an annotation of type
``alert`` — ``GET /api/annotations?type=alert&from=&to=`` — whose ``text`` is
``"<rule title> {<labels>} - <values>"`` and whose ``newState``/``prevState`` are the formatted
states (``Alerting``, ``Normal``, ``Pending``, ``Alerting (Error)``...).

An alert *fired* is a change into ``Alerting`` from any other state. Its severity is the catalog's
severity of the rule with that title, else the ``severity`` label in the text, else ``unknown``.
Every catalog severity is listed (0 when none fired: Grafana answered, so 0 is a measurement);
when Grafana is not configured or does not answer the report says "no data" instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from obsctl.alerting import catalog
from obsctl.clients import grafana

MAX_ANNOTATIONS = 10_000  # one period's state changes; more is reported as "at least"
_SEVERITY_LABEL = re.compile(r"\bseverity=\"?([A-Za-z0-9_-]+)")


def severity_by_title() -> dict[str, str]:
    return {alert.title: alert.severity for alert in catalog.load().alerts}


def fired(text: str, new_state: str, prev_state: str, titles: Mapping[str, str]) -> str | None:
    """The severity of the alert this state change fired, or None when it fired nothing."""
    if not new_state.startswith("Alerting") or prev_state.startswith("Alerting"):
        return None
    title = text.split(" {", 1)[0]
    if title in titles:
        return titles[title]
    labels = text[len(title) :].split("} - ", 1)[0]
    found = _SEVERITY_LABEL.search(labels)
    return found.group(1) if found else "unknown"


def count_fired(
    items: Iterable[Mapping[str, Any]], titles: Mapping[str, str], severities: Iterable[str]
) -> dict[str, int]:
    counts = dict.fromkeys(severities, 0)
    for item in items:
        severity = fired(
            str(item.get("text", "")), str(item.get("newState", "")), str(item.get("prevState", "")), titles
        )
        if severity is not None:
            counts[severity] = counts.get(severity, 0) + 1
    return counts


def from_grafana(
    base_url: str,
    token: str,
    periods: Sequence[tuple[datetime, datetime]],
    *,
    fetch: Callable[..., list[dict[str, Any]]] = grafana.list_annotations,
) -> tuple[list[dict[str, int]], bool]:
    """Fired per severity in each half-open period [start, end) (one request over all of them),
    and whether the answer is complete (False when Grafana returned as many changes as asked for:
    there may be more)."""
    titles = severity_by_title()
    first = min(start for start, _ in periods)
    last = max(end for _, end in periods)
    items = fetch(
        base_url,
        token,
        start_ms=int(first.timestamp() * 1000),
        end_ms=int(last.timestamp() * 1000) - 1,
        kind="alert",
        limit=MAX_ANNOTATIONS,
        timeout=30.0,
    )
    severities = sorted(set(titles.values()))
    out = []
    for start, end in periods:
        lo, hi = start.timestamp() * 1000, end.timestamp() * 1000
        inside = [i for i in items if isinstance(i.get("time"), int | float) and lo <= float(i["time"]) < hi]
        out.append(count_fired(inside, titles, severities))
    return out, len(items) < MAX_ANNOTATIONS


def mean_counts(previous: Sequence[Mapping[str, int]]) -> dict[str, float] | None:
    """Per severity, the mean over the previous periods (None without any)."""
    if not previous:
        return None
    keys = sorted({k for counts in previous for k in counts})
    return {k: sum(c.get(k, 0) for c in previous) / len(previous) for k in keys}
