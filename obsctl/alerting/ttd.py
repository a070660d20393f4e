"""Worst-case time to detect: from a fault to the Discord message, per severity.

A fault is visible in the next sample (at most one scrape interval), the rule sees it at its next
evaluation (at most one group interval), fires once it has held for ``for``, and the notification
leaves after the route's ``group_wait``. Every term is read from the configuration that deploys it:
the scrape interval from roles/obs_common, the evaluation interval and ``for`` from the catalog's
rule groups and alerts, ``group_wait`` from the catalog's severity routing (which the generated
notification policy uses). Not included: the lag of a rate()/ratio window catching up with a change
(up to its range, 5m for most ratio concepts) and network delivery time.

The other side of the trade, a blip that must not page: a fault of ``d`` seconds shows in samples
that span less than ``d`` + one scrape interval (the first failed scrape comes at or after the fault,
the first good one less than a scrape interval after it ends). The rule fires only when two of its
evaluations that saw the fault lie ``for`` apart, so a fault no longer than ``for`` - scrape interval
never pages. The catalog keeps ``for`` a multiple of the evaluation interval, so neither bound
rounds up. Computed for each severity's fastest alert (the one a blip could trip first).
"""

from __future__ import annotations

from dataclasses import dataclass

from obsctl.alerting.catalog import Catalog
from obsctl.common import duration_seconds


@dataclass(frozen=True)
class Row:
    severity: str
    scrape_s: float
    evaluation_s: float
    for_s: float
    group_wait_s: float
    slowest_alert: str
    alerts: int
    fastest_for_s: float = 0.0
    fastest_alert: str = ""

    @property
    def total_s(self) -> float:
        return self.scrape_s + self.evaluation_s + self.for_s + self.group_wait_s

    @property
    def quiet_blip_s(self) -> float:
        """The longest fault that never pages (0: any fault seen by one evaluation may page)."""
        return max(0.0, self.fastest_for_s - self.scrape_s)


def table(catalog: Catalog, scrape_interval_s: float) -> list[Row]:
    rows = []
    for key in sorted(catalog.severities):
        sev = catalog.severities[key]
        alerts = [a for a in catalog.alerts if a.severity == key]
        if not alerts:
            continue
        slowest = max(alerts, key=lambda a: a.for_seconds)
        fastest = min(alerts, key=lambda a: a.for_seconds)
        rows.append(
            Row(
                severity=key,
                scrape_s=scrape_interval_s,
                evaluation_s=catalog.group_interval_seconds(sev.group),
                for_s=slowest.for_seconds,
                group_wait_s=duration_seconds(sev.group_wait),
                slowest_alert=slowest.uid,
                alerts=len(alerts),
                fastest_for_s=fastest.for_seconds,
                fastest_alert=fastest.uid,
            )
        )
    return rows


def human(seconds: float) -> str:
    seconds = round(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def markdown(rows: list[Row]) -> str:
    lines = [
        "| severity | alerts | scrape | evaluation | for (slowest alert) | group_wait | worst-case time to detect "
        "| never pages a fault up to (fastest alert) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.severity} | {r.alerts} | {human(r.scrape_s)} | {human(r.evaluation_s)} | "
            f"{human(r.for_s)} ({r.slowest_alert}) | {human(r.group_wait_s)} | **{human(r.total_s)}** | "
            f"{human(r.quiet_blip_s)} ({r.fastest_alert}) |"
        )
    return "\n".join(lines)
