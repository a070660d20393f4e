"""The evidence pack: deterministic, built before (and without) any LLM.

For an alert that started at ``t``: every signal of :data:`APP_SIGNALS` / :data:`HOST_SIGNALS`
(expressions from the project's query catalog, :mod:`obsctl.signals.queries`, scoped with label
matchers, never new query strings) over [t - 5 min, t + 5 min], against the same window a day
earlier; the error log lines of the service in the window (catalog concept ``log_error_stream``)
grouped into at most :data:`MAX_PATTERNS` patterns with counts; the deployment annotations
(``obsctl annotate``'s tag) of the two hours before. Every item has an id (``A1`` the alert,
``M<n>`` metrics, ``L<n>`` log patterns, ``D<n>`` deploys) that an analysis must cite.
The pack is redacted (:mod:`obsctl.analyzer.redact`) as it is built: nothing unredacted leaves.
A source that fails is named in ``errors`` and the pack is built from the others.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from obsctl.analyzer.payload import WebhookAlert
from obsctl.analyzer.redact import redact, redact_tree
from obsctl.annotate import DEPLOYMENT_TAG
from obsctl.clients.http import ClientError
from obsctl.clients.loki import LokiClient
from obsctl.clients.prometheus import PrometheusClient, Series
from obsctl.signals import queries

WINDOW = timedelta(minutes=5)
BASELINE_SHIFT = timedelta(days=1)
DEPLOY_LOOKBACK = timedelta(hours=2)
STEP_SECONDS = 30.0
APP_SIGNALS = (
    "http_request_rate",
    "http_5xx_ratio",
    "http_latency_p99",
    "jvm_heap_used_ratio",
    "jvm_gc_pause_max",
    "jvm_threads_live",
    "hikari_pending",
)
HOST_SIGNALS = ("host_cpu_used_ratio", "host_memory_used_ratio", "host_disk_used_ratio")
LOG_QUERY = "log_error_stream"
MAX_SERIES_PER_SIGNAL = 5
MAX_LOG_LINES = 500
MAX_PATTERNS = 10
MAX_SAMPLE_CHARS = 300
MAX_DEPLOYS = 5

Kind = Literal["alert", "metric", "logs", "deploy"]
# Fetches deployment annotations: (start ms, end ms, tags) -> Grafana's annotation objects.
AnnotationFetcher = Callable[[int, int, list[str]], list[dict[str, Any]]]


@dataclass(frozen=True)
class EvidenceItem:
    id: str
    kind: Kind
    title: str
    detail: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvidencePack:
    window_start: datetime
    window_end: datetime
    baseline_start: datetime
    items: list[EvidenceItem]
    errors: list[str] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        return {item.id for item in self.items}

    def of_kind(self, kind: Kind) -> list[EvidenceItem]:
        return [item for item in self.items if item.kind == kind]

    def to_json(self) -> dict[str, Any]:
        return {
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "baseline_start": self.baseline_start.isoformat(),
            "items": [asdict(item) for item in self.items],
            "errors": list(self.errors),
        }

    def to_prompt(self) -> str:
        """The pack as the LLM sees it: one line per item, already redacted."""
        lines = [f"Window {self.window_start.isoformat()} .. {self.window_end.isoformat()} (baseline: one day earlier)"]
        lines += [f"[{item.id}] ({item.kind}) {item.title}: {item.detail}" for item in self.items]
        lines += [f"(source unavailable: {error})" for error in self.errors]
        return "\n".join(lines)


def _quote(value: str) -> str:
    return json.dumps(value)  # a PromQL/LogQL double-quoted string with Go-compatible escapes


def scope(alert: WebhookAlert) -> tuple[str, str]:
    """(application matcher, host matcher) for the catalog's ``%(m)s`` slot, from the alert's labels."""
    labels = alert.labels
    service = labels.get("app") or labels.get("service") or ""
    instance = re.sub(r"^[a-z][a-z0-9+.-]*://", "", labels.get("host") or labels.get("instance") or "", flags=re.I)
    host = instance.split("/", 1)[0].split(":", 1)[0]  # host:port, or a probed URL's host
    app_m = f"app={_quote(service)}" if service else ""
    host_m = f"instance=~{_quote(re.escape(host) + '(:[0-9]+)?')}" if host else ""
    return app_m, host_m


def _mean(series: Series) -> float | None:
    values = [v for v in series.values() if not math.isinf(v)]
    return sum(values) / len(values) if values else None


def _label_text(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")


def _change(now: float, base: float | None) -> float:
    """How much a signal moved: relative change, or the absolute one from a zero baseline."""
    if base is None:
        return abs(now)
    if base == 0:
        return abs(now)
    return abs(now - base) / abs(base)


_NORMALISE = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"\b\d+(?:\.\d+)?\b"), "<n>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<str>"),
)


def pattern_of(line: str) -> str:
    """A log line with its variable parts (ids, times, numbers, quoted values) replaced."""
    text = line.strip()
    for regex, token in _NORMALISE:
        text = regex.sub(token, text)
    return " ".join(text.split())[:MAX_SAMPLE_CHARS]


class EvidenceCollector:
    """Any source may be None (not configured): its part of the pack is then empty and named."""

    def __init__(
        self,
        prometheus: PrometheusClient | None,
        loki: LokiClient | None = None,
        annotations: AnnotationFetcher | None = None,
        *,
        app_signals: Sequence[str] = APP_SIGNALS,
        host_signals: Sequence[str] = HOST_SIGNALS,
    ) -> None:
        for key in (*app_signals, *host_signals, LOG_QUERY):
            queries.get(key)  # an unknown concept fails here, at start-up, naming the known ones
        self.prometheus = prometheus
        self.loki = loki
        self.annotations = annotations
        self.app_signals = tuple(app_signals)
        self.host_signals = tuple(host_signals)

    def collect(self, alert: WebhookAlert, summary: str = "") -> EvidencePack:
        start = alert.starts_at
        window = (start - WINDOW, start + WINDOW)
        errors: list[str] = []
        items: list[EvidenceItem] = [self._alert_item(alert, summary)]
        items += self._metrics(alert, window, errors)
        items += self._logs(alert, window, errors)
        items += self._deploys(start, errors)
        pack = EvidencePack(window[0], window[1], window[0] - BASELINE_SHIFT, items, errors)
        return EvidencePack(
            pack.window_start,
            pack.window_end,
            pack.baseline_start,
            [EvidenceItem(i.id, i.kind, redact(i.title), redact(i.detail), redact_tree(i.data)) for i in pack.items],
            [redact(e) for e in errors],
        )

    @staticmethod
    def _alert_item(alert: WebhookAlert, summary: str) -> EvidenceItem:
        value = alert.value_text()
        detail = summary or alert.annotations.get("summary", "") or alert.annotations.get("description", "")
        if value:
            detail = f"{detail} (value: {value})" if detail else f"value: {value}"
        data = {"labels": dict(alert.labels), "starts_at": alert.starts_at.isoformat()}
        return EvidenceItem("A1", "alert", f"alert {alert.labels['alertname']} firing", detail or "-", data)

    def _metrics(self, alert: WebhookAlert, window: tuple[datetime, datetime], errors: list[str]) -> list[EvidenceItem]:
        if self.prometheus is None:
            errors.append("Prometheus: not configured")
            return []
        app_m, host_m = scope(alert)
        found: list[tuple[float, str, str, dict[str, Any]]] = []
        plan = [(k, app_m) for k in self.app_signals if app_m] + [(k, host_m) for k in self.host_signals]
        for key, matcher in plan:
            query = queries.get(key)
            expr = query.render(matcher)
            try:
                now = self.prometheus.query_range(expr, window[0], window[1], STEP_SECONDS)
                base = self.prometheus.query_range(
                    expr, window[0] - BASELINE_SHIFT, window[1] - BASELINE_SHIFT, STEP_SECONDS
                )
            except (ClientError, ValueError) as exc:
                errors.append(f"Prometheus {key}: {exc}")
                continue
            baseline = {_label_text(s.labels): _mean(s) for s in base}
            for series in now[:MAX_SERIES_PER_SIGNAL]:
                value = _mean(series)
                if value is None:
                    continue
                labels = _label_text(series.labels)
                before = baseline.get(labels)
                score = _change(value, before)
                shown = f"{value:.4g} {query.unit}" + (
                    f" vs {before:.4g} a day earlier" if before is not None else " (no baseline a day earlier)"
                )
                data = {"query": key, "labels": labels, "value": value, "baseline": before, "change": score}
                found.append((score, f"{key} {labels}".strip(), f"{query.meaning}: {shown}", data))
        found.sort(key=lambda f: (-f[0], f[1]))
        return [EvidenceItem(f"M{n}", "metric", t, d, data) for n, (_, t, d, data) in enumerate(found, start=1)]

    def _logs(self, alert: WebhookAlert, window: tuple[datetime, datetime], errors: list[str]) -> list[EvidenceItem]:
        if self.loki is None:
            errors.append("Loki: not configured")
            return []
        app_m, _ = scope(alert)
        logql = queries.get(LOG_QUERY).render(app_m)
        try:
            streams = self.loki.query_range(logql, window[0], window[1], limit=MAX_LOG_LINES)
        except ClientError as exc:
            errors.append(f"Loki: {exc}")
            return []
        counts: Counter[str] = Counter()
        samples: dict[str, str] = {}
        for stream in streams:
            for _, line in stream.lines:
                clean = redact(line)
                key = pattern_of(clean)
                counts[key] += 1
                samples.setdefault(key, clean[:MAX_SAMPLE_CHARS])
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_PATTERNS]
        return [
            EvidenceItem(
                f"L{n}",
                "logs",
                f"error log pattern seen {count} times",
                samples[key],
                {"pattern": key, "count": count, "patterns_total": len(counts)},
            )
            for n, (key, count) in enumerate(ranked, start=1)
        ]

    def _deploys(self, start: datetime, errors: list[str]) -> list[EvidenceItem]:
        if self.annotations is None:
            errors.append("Grafana annotations: not configured")
            return []
        begin, end = start - DEPLOY_LOOKBACK, start + WINDOW
        try:
            found = self.annotations(int(begin.timestamp() * 1000), int(end.timestamp() * 1000), [DEPLOYMENT_TAG])
        except ClientError as exc:
            errors.append(f"Grafana annotations: {exc}")
            return []
        found = sorted(found, key=lambda a: -int(a.get("time") or 0))[:MAX_DEPLOYS]
        items = []
        for n, annotation in enumerate(found, start=1):
            at = datetime.fromtimestamp(int(annotation.get("time") or 0) / 1000, tz=start.tzinfo)
            minutes = (start - at).total_seconds() / 60
            when = f"{minutes:.0f} min before the alert" if minutes >= 0 else f"{-minutes:.0f} min after the alert"
            tags = [str(t) for t in annotation.get("tags") or []]
            items.append(
                EvidenceItem(
                    f"D{n}",
                    "deploy",
                    f"deployment {when}",
                    str(annotation.get("text") or "").strip()[:MAX_SAMPLE_CHARS] or ", ".join(tags),
                    {"time": at.isoformat(), "tags": tags},
                )
            )
        return items


def deterministic_summary(pack: EvidencePack, *, top: int = 3) -> dict[str, Any]:
    """The analysis without an LLM: top changed signals, top log patterns, recent deploys; in the
    same shape as an LLM's answer (see :class:`obsctl.analyzer.llm.Analysis`), citing the pack."""
    metrics = pack.of_kind("metric")[:top]
    logs = pack.of_kind("logs")[:top]
    deploys = pack.of_kind("deploy")[:top]
    alert = pack.of_kind("alert")
    parts = []
    if metrics:
        parts.append("top changed signals: " + "; ".join(f"[{m.id}] {m.title}: {m.detail}" for m in metrics))
    if logs:
        parts.append("top error patterns: " + "; ".join(f"[{i.id}] x{i.data.get('count')}: {i.detail}" for i in logs))
    if deploys:
        parts.append("recent deploys: " + "; ".join(f"[{d.id}] {d.title}: {d.detail}" for d in deploys))
    if not parts:
        parts.append("no metric change, error log pattern or deployment found in the window")
    cause_from = deploys[:1] or logs[:1] or metrics[:1]
    cause = (
        f"a deployment shortly before the alert ({cause_from[0].detail})"
        if deploys
        else (f"{cause_from[0].title}: {cause_from[0].detail}" if cause_from else "not determined from the evidence")
    )
    return {
        "summary": (alert[0].detail if alert else "alert") + " — " + " | ".join(parts),
        "probable_cause": {"text": cause, "evidence": [i.id for i in cause_from] or [i.id for i in alert]},
        "impact": {
            "text": f"{metrics[0].title}: {metrics[0].detail}" if metrics else "not measured: no signal in the pack",
            "evidence": [m.id for m in metrics[:1]] or [i.id for i in alert],
        },
        "actions": [{"text": "check the deployment and roll back if it is the cause", "evidence": [deploys[0].id]}]
        if deploys
        else [],
        "confidence": "low",
    }
