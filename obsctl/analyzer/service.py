"""The analyzer's work: one queued notification -> incidents, analyses, Discord messages.

Per alert of a notification (one incident per alert instance and firing episode, see
:func:`obsctl.analyzer.payload.dedup_key`):

- firing, new, P1/P2: evidence pack, analysis chain (LLM or deterministic), incident log, Discord;
- firing, new, P3/P4 (or no known severity): recorded (outcome ``recorded``), nothing posted;
- firing, known: a repeat (outcome ``duplicate``), only counted;
- resolved: the incident is closed; for P1/P2 a short follow-up is posted, without an LLM call.

Every step is idempotent, so a notification whose processing failed half-way (Discord down, a
crash) is simply processed again from the queue: an analysed incident is not analysed twice, a
message not yet posted is posted from what the log holds, a follow-up is posted once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from obsctl.analyzer.evidence import EvidenceCollector, EvidenceItem, EvidencePack
from obsctl.analyzer.llm import AnalysisChain
from obsctl.analyzer.metrics import AnalyzerMetrics, fallback_reason
from obsctl.analyzer.owners import OwnerMap
from obsctl.analyzer.payload import WebhookAlert, dedup_key, parse
from obsctl.analyzer.render import analysis_message, footer, resolved_message
from obsctl.clients.discord import DiscordMessage
from obsctl.clients.http import ClientError
from obsctl.incidents.store import Incident, IncidentStore, NewAlert, QueueItem, WorkQueue

log = logging.getLogger("obsctl.analyzer")
ANALYSED = ("P1", "P2")
FOLLOWUP_ACTION = "resolved-followup"
Sender = Callable[[DiscordMessage], str | None]


def pack_from_json(data: dict[str, Any]) -> EvidencePack:
    return EvidencePack(
        datetime.fromisoformat(data["window_start"]),
        datetime.fromisoformat(data["window_end"]),
        datetime.fromisoformat(data["baseline_start"]),
        [EvidenceItem(i["id"], i["kind"], i["title"], i["detail"], i.get("data") or {}) for i in data["items"]],
        list(data.get("errors") or []),
    )


class Analyzer:
    def __init__(
        self,
        store: IncidentStore,
        queue: WorkQueue,
        collector: EvidenceCollector,
        chain: AnalysisChain,
        metrics: AnalyzerMetrics,
        *,
        send: Sender | None,
        owners: OwnerMap | None = None,
        intake: WorkQueue | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``queue`` is the worker's handle on the queue; ``intake`` (default: the same) the webhook's,
        on its own connection so that accepting never waits behind the worker's commits."""
        self.store = store
        self.queue = queue
        self.intake = intake or queue
        self.collector = collector
        self.chain = chain
        self.metrics = metrics
        self.send = send
        self.owners = owners or OwnerMap({})
        self.clock = clock
        self.wake = threading.Event()

    def close(self) -> None:
        """Close the incident log's connections (the worker's, and the intake's when separate)."""
        if self.intake is not self.queue:
            self.intake.close()
        self.store.close()

    # -- one queue item --------------------------------------------------------------------------
    def process(self, item: QueueItem) -> list[str]:
        """Handle every alert of one notification; returns the outcome of each."""
        payload = parse(item.body)
        group = payload.group()
        return [self._alert(group, alert, payload.common_annotations) for alert in payload.alerts]

    def _alert(self, group: str, alert: WebhookAlert, common: dict[str, str]) -> str:
        key = dedup_key(group, alert)
        labels = alert.labels
        severity = labels.get("severity", "").upper() or "P4"
        service = labels.get("app") or labels.get("service") or ""
        owner = self.owners.owner_of(service)
        if alert.status == "resolved":
            return self._resolved(key, alert, severity, service, common)
        incident, created = self.store.open_or_update(self._new(key, alert, severity, service, common, owner))
        if not created and incident.outcome != "pending":
            if incident.outcome in ("llm", "deterministic") and incident.message_id is None and self.send:
                self._post(incident, alert, incident.analysis or {}, pack_from_json(incident.evidence or {}))
            return self._count("duplicate")
        if severity not in ANALYSED:
            self.store.record_analysis(incident.id, evidence=None, analysis=None, outcome="recorded")
            return self._count("recorded")
        return self._analyse(incident, alert)

    @staticmethod
    def _new(  # noqa: PLR0917 - one alert's facts, all positional at two call sites
        key: str, alert: WebhookAlert, severity: str, service: str, common: dict[str, str], owner: object
    ) -> NewAlert:
        annotations = {**common, **alert.annotations}
        return NewAlert(
            dedup_key=key,
            alertname=alert.labels["alertname"],
            severity=severity,
            started_at=alert.starts_at,
            service=service,
            host=alert.labels.get("host") or alert.labels.get("instance", ""),
            summary=annotations.get("summary", ""),
            labels=alert.labels,
            annotations=annotations,
            owner=getattr(owner, "mention", ""),
        )

    def _analyse(self, incident: Incident, alert: WebhookAlert) -> str:
        started = self.clock()
        pack = self.collector.collect(alert, incident.summary)
        self.metrics.evidence_latency.observe(self.clock() - started)
        title = f"{incident.severity} {incident.alertname} on {incident.service or incident.host or '-'}"
        outcome = self.chain.analyse(title, pack, incident_id=incident.id)
        seconds = self.clock() - started
        analysis = dict(outcome.analysis)
        if outcome.note:
            analysis["note"] = outcome.note
            self.metrics.fallbacks.labels(reason=fallback_reason(outcome.note)).inc()
        recorded = self.store.record_analysis(
            incident.id,
            evidence=pack.to_json(),
            analysis=analysis,
            outcome=outcome.outcome,
            provider=outcome.provider,
            model=outcome.model,
            cost_usd=outcome.cost_usd,
            seconds=seconds,
        )
        if self.send is not None:
            self._post(recorded, alert, analysis, pack)
        return self._count(outcome.outcome)

    def _post(self, incident: Incident, alert: WebhookAlert, analysis: dict[str, Any], pack: EvidencePack) -> None:
        assert self.send is not None
        seconds, note = incident.analysis_seconds or 0.0, str(analysis.get("note", ""))
        text = footer(incident.provider, incident.model, seconds, incident.cost_usd, note)
        owner = self.owners.owner_of(incident.service)
        message = analysis_message(incident, alert, analysis, pack, owner=owner, footer_text=text)
        message_id = self.send(message)  # a ClientError leaves the item in the queue: posted on the retry
        self.store.set_message_id(incident.id, message_id or "sent")

    def _resolved(self, key: str, alert: WebhookAlert, severity: str, service: str, common: dict[str, str]) -> str:
        known = self.store.get_by_key(key)
        if known is None:  # a resolved notice for an incident never seen firing (e.g. before install)
            owner = self.owners.owner_of(service)
            known, _ = self.store.open_or_update(self._new(key, alert, severity, service, common, owner))
            self.store.record_analysis(known.id, evidence=None, analysis=None, outcome="recorded")
        incident = self.store.resolve(key, alert.ended_at or datetime.now(UTC))
        assert incident is not None
        posted = any(e.action == FOLLOWUP_ACTION for e in self.store.audit_entries(incident.id))
        if posted or self.send is None or incident.severity not in ANALYSED or incident.message_id is None:
            return self._count("duplicate" if posted else "resolved")
        self.send(resolved_message(incident, owner=self.owners.owner_of(incident.service)))
        self.store.audit("analyzer", FOLLOWUP_ACTION, incident_id=incident.id)
        return self._count("resolved")

    def _count(self, outcome: str) -> str:
        self.metrics.analyses.labels(outcome=outcome).inc()
        return outcome

    # -- the queue -------------------------------------------------------------------------------
    def process_pending(self, limit: int = 100) -> int:
        """Work through due items (at most ``limit``); returns how many were taken."""
        taken = 0
        while taken < limit:
            item = self.queue.claim()
            if item is None:
                break
            taken += 1
            try:
                self.process(item)
            except (ClientError, OSError) as exc:
                delay = min(300.0, 10.0 * 2 ** (item.attempts - 1))
                kept = self.queue.retry_later(item, str(exc), delay)
                log.warning("queue item %s failed (attempt %s): %s", item.id, item.attempts, exc)
                if not kept:
                    self._count("failed")
                continue
            except Exception as exc:  # a bug must not stop the worker nor lose the item
                log.exception("queue item %s: unexpected error", item.id)
                if not self.queue.retry_later(item, f"{type(exc).__name__}: {exc}", 60.0):
                    self._count("failed")
                continue
            self.queue.done(item.id)
        return taken

    def run(self, stop: threading.Event, idle: float = 5.0) -> None:
        while not stop.is_set():
            try:
                taken = self.process_pending()
            except Exception:  # the queue itself failed (disk full, locked file): keep the worker alive
                log.exception("the analyzer queue could not be read; retrying in %ss", idle)
                taken = 0
            if taken == 0:
                self.wake.wait(idle)
                self.wake.clear()
