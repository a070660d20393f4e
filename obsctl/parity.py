"""Data parity of a host switched from node_exporter + promtail to Alloy, read from Prometheus and Loki.

Metrics: the metric names of the host's ``job="node"`` series in a window before the switch (the
legacy node_exporter, scraped by Prometheus) must all still exist in a window after it (Alloy's
unix exporter, remote-written). Logs: Loki must hold at least one stream with ``host=<host>`` in
the last minutes. Both are asked through the clients layer (``obsctl.clients.prometheus``
``query_range``, ``obsctl.clients.loki`` ``series``).
"""

from __future__ import annotations

import fnmatch
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from obsctl.clients.loki import LokiClient
from obsctl.clients.prometheus import PrometheusClient
from obsctl.common import duration_seconds
from obsctl.errors import ObsError

# node_exporter's own process and Go runtime metrics: Alloy's embedded exporter does not expose
# them (Alloy reports its own under job="alloy"), so their absence is not a gap in host data.
DEFAULT_IGNORED = ("go_*", "process_*", "promhttp_*", "node_exporter_build_info")

_RELATIVE = re.compile(r"^-(\d+(?:ms|s|m|h|d))$")


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    def describe(self) -> str:
        def fmt(ts: float) -> str:
            return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return f"{fmt(self.start)} .. {fmt(self.end)}"


def parse_time(text: str, now: float) -> float:
    """``now``, ``-2h`` (relative to now), unix seconds, or RFC 3339 (``2026-02-18T10:00:00Z``)."""
    value = text.strip()
    if value == "now":
        return now
    rel = _RELATIVE.match(value)
    if rel:
        return now - duration_seconds(rel.group(1))
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        # float() also reads "nan", "inf" and "-15" (a relative time without its unit): none is a time.
        if not math.isfinite(number) or number < 0:
            raise ObsError(
                f"'{text}' is not a time",
                fix="relative times need a unit (-15m, -2h, -7d); unix seconds are a positive number",
            )
        return number
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ObsError(
            f"'{text}' is not a time",
            fix="use now, a relative time like -2h, unix seconds, or RFC 3339 like 2026-02-18T10:00:00Z",
        ) from None
    if parsed.tzinfo is None:
        raise ObsError(f"'{text}' has no time zone", fix="append Z (UTC) or an offset like +09:00")
    return parsed.timestamp()


def parse_window(text: str, now: float) -> Window:
    """``START..END``, e.g. ``-7d..-1h`` or ``2026-02-18T09:00:00Z..2026-02-18T10:00:00Z``."""
    if ".." not in text:
        raise ObsError(f"'{text}' is not a time range", fix="write START..END, e.g. -7d..-1h or -10m..now")
    start_text, end_text = text.split("..", 1)
    window = Window(parse_time(start_text, now), parse_time(end_text, now))
    if window.start >= window.end:
        raise ObsError(f"time range '{text}' ends before it starts", fix="put the earlier time first")
    return window


def logs_window(since: str, now: float) -> Window:
    """The window ``--logs-since`` names: a duration with its unit (``15m``), ending now.

    A bare number is refused rather than read as unix seconds (``15`` was once the window from
    1970 to now).
    """
    try:
        seconds = duration_seconds(since)
    except ObsError:
        raise ObsError(
            f"--logs-since '{since}' is not a duration", fix="give it with its unit, e.g. --logs-since 15m"
        ) from None
    if seconds <= 0:
        raise ObsError(f"--logs-since '{since}' is zero", fix="give a positive duration, e.g. --logs-since 15m")
    return Window(now - seconds, now)


def label_selector(labels: dict[str, str]) -> str:
    def quote(value: str) -> str:
        return value.replace("\\", "\\\\").replace('"', '\\"')

    return "{" + ",".join(f'{k}="{quote(v)}"' for k, v in sorted(labels.items())) + "}"


def _step_seconds(window: Window) -> int:
    """At most ~250 evaluation steps per window (Prometheus caps a range query at 11,000 points)."""
    return max(1, math.ceil((window.end - window.start) / 250))


def metric_names(prometheus: PrometheusClient, host: str, job: str, window: Window) -> set[str]:
    """Names of the series with ``instance=<host>, job=<job>`` that had samples during ``window``.

    A range query of ``count by (__name__)`` rather than ``/api/v1/series``: the series endpoint
    counts a series as present when any sample falls in the window, including the staleness marker
    Prometheus writes when a target goes away, so a metric that stopped at the switch can still be
    listed "after" it. Instant selectors skip stale series.
    """
    series = prometheus.query_range(
        f"count by (__name__) ({label_selector({'instance': host, 'job': job})})",
        window.start,
        window.end,
        _step_seconds(window),
    )
    return {s.labels["__name__"] for s in series if "__name__" in s.labels}


def log_streams(loki: LokiClient, host: str, window: Window) -> list[dict[str, str]]:
    """Loki streams labelled ``host=<host>`` with entries in ``window``."""
    return loki.series(label_selector({"host": host}), window.start, window.end)


@dataclass
class ParityReport:
    host: str
    job: str
    before: Window
    after: Window
    before_names: set[str]
    after_names: set[str]
    ignored_patterns: tuple[str, ...]
    streams: list[dict[str, str]] | None = None
    logs_window: Window | None = None
    ignored: set[str] = field(default_factory=set)

    @property
    def missing(self) -> list[str]:
        return sorted(self.before_names - self.after_names - self.ignored)

    @property
    def added(self) -> list[str]:
        return sorted(self.after_names - self.before_names)

    @property
    def logs_ok(self) -> bool:
        return self.streams is None or len(self.streams) > 0

    @property
    def ok(self) -> bool:
        return not self.missing and bool(self.after_names) and self.logs_ok


def ignored_names(names: Iterable[str], patterns: Iterable[str]) -> set[str]:
    pats = list(patterns)
    return {n for n in names if any(fnmatch.fnmatchcase(n, p) for p in pats)}


def compare(
    prometheus: PrometheusClient,
    host: str,
    before: Window,
    after: Window,
    *,
    job: str = "node",
    loki: LokiClient | None = None,
    logs_window: Window | None = None,
    ignore: tuple[str, ...] = DEFAULT_IGNORED,
) -> ParityReport:
    before_names = metric_names(prometheus, host, job, before)
    if not before_names:
        raise ObsError(
            f'Prometheus has no series {{instance="{host}", job="{job}"}} in the "before" window {before.describe()}',
            fix="check the host name (inventory hostname) and pick a window when node_exporter still ran (--before)",
        )
    after_names = metric_names(prometheus, host, job, after)
    report = ParityReport(
        host=host,
        job=job,
        before=before,
        after=after,
        before_names=before_names,
        after_names=after_names,
        ignored_patterns=ignore,
        ignored=ignored_names(before_names - after_names, ignore),
    )
    if loki is not None and logs_window is not None:
        report.streams = log_streams(loki, host, logs_window)
        report.logs_window = logs_window
    return report


def render(report: ParityReport) -> str:
    lines = [
        f'parity of {report.host} (job="{report.job}")',
        f"  before {report.before.describe()}: {len(report.before_names)} metric names",
        f"  after  {report.after.describe()}: {len(report.after_names)} metric names",
    ]
    if report.ignored:
        lines.append(
            f"  not compared ({len(report.ignored)}, exporter self-metrics): {', '.join(report.ignored_patterns)}"
        )
    if not report.after_names:
        lines.append("  NO series at all after the switch: is Alloy running and remote-writing to this Prometheus?")
    if report.missing:
        lines.append(f"  MISSING after the switch ({len(report.missing)}):")
        lines.extend(f"    {name}" for name in report.missing)
    if report.added:
        lines.append(f"  new after the switch: {len(report.added)}")
    if report.streams is not None and report.logs_window is not None:
        if report.streams:
            jobs = sorted({s.get("job", "?") for s in report.streams})
            lines.append(
                f'  logs: {len(report.streams)} streams with host="{report.host}" in {report.logs_window.describe()}'
                f" (job: {', '.join(jobs)})"
            )
        else:
            lines.append(f'  logs: NO stream with host="{report.host}" in {report.logs_window.describe()}')
    verdict = "OK" if report.ok else "GAP"
    lines.append(f"result: {verdict}")
    return "\n".join(lines)


def now() -> float:
    return time.time()
